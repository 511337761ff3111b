"""``/v1/customers/{id}/recommendations`` and ``/v1/recommendations/session``."""

# No ``from __future__ import annotations``: FastAPI must see the per-app model classes
# that the endpoints' annotations name (local variables of router()).
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from starlette.responses import Response

from serving.deps import ServiceDep
from serving.present import answer_response
from serving.queries import QueryModel, RecommendationQuery, RequestModels, SessionIn
from serving.routes import BODY_TOO_LARGE, CustomerId, api_router, get_and_head
from serving.schemas import RecommendationsOut, SessionOut
from serving.settings import Settings


def router(settings: Settings, models: RequestModels) -> APIRouter:
    """The recommendation routes (scope ``site``)."""
    api = api_router("recommendations", "site", settings)
    read_query = QueryModel(models.recommendations)
    Query_ = Annotated[models.recommendations, Depends(read_query)]  # type: ignore[name-defined]
    Session_ = Annotated[models.session, Body()]  # type: ignore[name-defined]

    @get_and_head(
        api,
        "/customers/{customer_id:path}/recommendations",
        response_model=RecommendationsOut,
        openapi_extra=read_query.openapi(),
    )
    async def customer_recommendations(
        request: Request, customer_id: CustomerId, query: Query_, service: ServiceDep
    ) -> Response:
        """A customer's top-k: personal list, else their segment's, else popular.

        Events posted for the customer count at once: purchased items leave the answer, and
        recent views, clicks and carts bring in items similar to them (``source: realtime``;
        alternated with the personal list when the events are newer than the model).
        Unknown customers get the fallback, or a realtime answer once they have events.
        Already-purchased (unless ``include_purchased``), out-of-stock and excluded items
        never appear; ``category`` restricts; a short list is topped up from the next rung,
        and each item says which rung it came from.
        ``include_purchased=true`` serves the evaluated all-purchases ranking.
        """
        q: RecommendationQuery = query
        answer = await service.for_customer(
            customer_id,
            q.k,
            category=q.category,
            exclude=frozenset(q.exclude),
            include_purchased=q.include_purchased,
        )
        return answer_response(request, answer, channel=q.channel, customer_id=customer_id)

    @api.post("/recommendations/session", response_model=SessionOut, responses=BODY_TOO_LARGE)
    async def session_recommendations(
        request: Request, body: Session_, service: ServiceDep
    ) -> Response:
        """Suggestions for an anonymous visitor or cart from the items they touched.

        Combines the similar-items lists of ``item_ids`` (summed scores), never returns those
        items, ``exclude`` or out-of-stock ones, ignores unknown ids, and tops up from popular
        items. With a ``session_id`` whose events were posted (``POST /v1/events``), its
        recent views, clicks and carts are folded in as well (``source: realtime``) and its
        purchases left out, within seconds of the events.
        """
        b: SessionIn = body
        answer = await service.session(b.item_ids, b.k, b.session_id, frozenset(b.exclude))
        return answer_response(request, answer)

    return api
