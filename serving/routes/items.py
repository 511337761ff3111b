"""``/v1/items/{item_id}/similar``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import ItemIdPath, KQuery, SiteService, check_k
from serving.present import answer_response
from serving.routes import API_PREFIX
from serving.schemas import SimilarOut

router = APIRouter(prefix=API_PREFIX, tags=["items"])


@router.get(
    "/items/{item_id}/similar",
    response_model=SimilarOut,
    responses={404: {"description": "The item is not in the active version's catalog"}},
)
async def similar_items(
    request: Request, service: SiteService, item_id: ItemIdPath, k: KQuery = None
) -> Response:
    """Items similar to ``item_id`` (in stock, never the item itself).

    Topped up with popular items of the same category when the list is short; 404 for an
    item the active version's catalog does not know.
    """
    answer = await service.similar(item_id, check_k(k, service.settings))
    return answer_response(request, answer, item_id=item_id)
