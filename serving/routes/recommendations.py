"""``/v1/customers/{id}/recommendations`` and ``/v1/recommendations/session``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import SiteService, authorized
from serving.params import RECOMMENDATIONS, check_ids, check_k
from serving.present import answer_response
from serving.routes import API_PREFIX, PARAMETER_ERRORS, DirectRoute
from serving.schemas import RecommendationsOut, SessionIn, SessionOut

router = APIRouter(prefix=API_PREFIX, tags=["recommendations"], route_class=DirectRoute)


@router.get(
    "/customers/{customer_id}/recommendations",
    response_model=RecommendationsOut,
    responses=PARAMETER_ERRORS,
    openapi_extra=RECOMMENDATIONS.openapi(),
)
async def customer_recommendations(request: Request) -> Response:
    """A customer's top-k: personal list, else their segment's, else popular.

    Unknown customers get the fallback. Already-purchased (unless ``include_purchased``),
    out-of-stock and excluded items never appear; ``category`` restricts; a short list is
    topped up from the next rung. ``channel`` (web or email) applies the same rules: bought
    items stay out of emails too unless ``include_purchased`` asks for them.
    """
    # A hot route: parameters are parsed by serving.params, not resolved by FastAPI.
    service = authorized(request, "site")
    customer_id, query = RECOMMENDATIONS.parse(request, service.settings)
    answer = await service.for_customer(
        customer_id,
        query.k,
        category=query.category,
        exclude=query.exclude,
        include_purchased=query.include_purchased,
    )
    return answer_response(request, answer, customer_id=customer_id)


@router.post("/recommendations/session", response_model=SessionOut, responses=PARAMETER_ERRORS)
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
