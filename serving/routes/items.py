"""``/v1/items/{item_id}/similar``."""

# No ``from __future__ import annotations``: FastAPI must see the per-app model classes
# that the endpoints' annotations name (local variables of router()).
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from serving.deps import ServiceDep
from serving.present import answer_response
from serving.queries import QueryModel, RequestModels, SimilarQuery
from serving.routes import ItemId, api_router, get_and_head
from serving.schemas import ErrorOut, SimilarOut
from serving.settings import Settings


def router(settings: Settings, models: RequestModels) -> APIRouter:
    """The item routes (scope ``site``)."""
    api = api_router("items", "site", settings)
    read_query = QueryModel(models.similar)
    Query_ = Annotated[models.similar, Depends(read_query)]  # type: ignore[name-defined]

    @get_and_head(
        api,
        "/items/{item_id:path}/similar",
        response_model=SimilarOut,
        openapi_extra=read_query.openapi(),
        responses={
            404: {
                "description": "The item is not in the active version's catalog",
                "model": ErrorOut,
            }
        },
    )
    async def similar_items(
        request: Request, item_id: ItemId, query: Query_, service: ServiceDep
    ) -> Response:
        """Items similar to ``item_id`` (in stock, never the item itself nor ``exclude``).

        Topped up with popular items of the item's category (or of ``category``, which also
        restricts the list) when it is short; 404 for an item the active version's catalog
        does not know.
        """
        q: SimilarQuery = query
        answer = await service.similar(
            item_id, q.k, category=q.category, exclude=frozenset(q.exclude)
        )
        return answer_response(request, answer, item_id=item_id)

    return api
