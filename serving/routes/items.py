"""``/v1/items/{item_id}/similar``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import authorized
from serving.params import SIMILAR
from serving.present import answer_response
from serving.routes import API_PREFIX, PARAMETER_ERRORS, DirectRoute
from serving.schemas import SimilarOut

router = APIRouter(prefix=API_PREFIX, tags=["items"], route_class=DirectRoute)


@router.get(
    "/items/{item_id}/similar",
    response_model=SimilarOut,
    responses={
        404: {"description": "The item is not in the active version's catalog"},
        **PARAMETER_ERRORS,
    },
    openapi_extra=SIMILAR.openapi(),
)
async def similar_items(request: Request) -> Response:
    """Items similar to ``item_id`` (in stock, never the item itself).

    Topped up with popular items of the same category when the list is short; 404 for an
    item the active version's catalog does not know.
    """
    # A hot route: parameters are parsed by serving.params, not resolved by FastAPI.
    service = authorized(request, "site")
    item_id, query = SIMILAR.parse(request, service.settings)
    answer = await service.similar(item_id, query.k)
    return answer_response(request, answer, item_id=item_id)
