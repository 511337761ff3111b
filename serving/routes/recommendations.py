"""``/v1/customers/{id}/recommendations`` and ``/v1/recommendations/session``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from serving.deps import (
    CategoryQuery,
    CustomerIdPath,
    ExcludeQuery,
    KQuery,
    SiteService,
    check_ids,
    check_k,
    parse_exclude,
)
from serving.present import answer_response
from serving.routes import API_PREFIX
from serving.schemas import Channel, RecommendationsOut, SessionIn, SessionOut

router = APIRouter(prefix=API_PREFIX, tags=["recommendations"])


@router.get("/customers/{customer_id}/recommendations", response_model=RecommendationsOut)
async def customer_recommendations(
    request: Request,
    service: SiteService,
    customer_id: CustomerIdPath,
    k: KQuery = None,
    exclude: ExcludeQuery = [],  # noqa: B006 - FastAPI copies defaults
    category: CategoryQuery = None,
    channel: Annotated[Channel, Query(description="Where the list is shown.")] = "web",
    include_purchased: Annotated[
        bool, Query(description="Merge the customer's buy-again list into the personal rung.")
    ] = False,
) -> Response:
    """A customer's top-k: personal list, else their segment's, else popular.

    Unknown customers get the fallback. Already-purchased (unless ``include_purchased``),
    out-of-stock and excluded items never appear; ``category`` restricts; a short list is
    topped up from the next rung. ``channel`` (web or email) applies the same rules: bought
    items stay out of emails too unless ``include_purchased`` asks for them.
    """
    settings = service.settings
    answer = await service.for_customer(
        customer_id,
        check_k(k, settings),
        category=category,
        exclude=parse_exclude(exclude, settings),
        include_purchased=include_purchased,
    )
    return answer_response(request, answer, customer_id=customer_id)


@router.post("/recommendations/session", response_model=SessionOut)
async def session_recommendations(
    request: Request, service: SiteService, body: SessionIn
) -> Response:
    """Suggestions for an anonymous visitor or cart from the items they touched.

    Combines the similar-items lists of ``item_ids`` (summed scores), never returns those
    items or out-of-stock ones, ignores unknown ids, and tops up from popular items.
    """
    k = check_k(body.k, service.settings)
    check_ids(body.item_ids, "item_ids", service.settings)
    answer = await service.session(body.item_ids, k)
    return answer_response(request, answer)
