"""``/v1/customers/{id}/offers`` (scope ``site``), ``/v1/offers``,
``/v1/offers/{offer_id}/audience`` and ``/v1/items/{item_id}/audience`` (scope ``marketing``)."""

# No ``from __future__ import annotations``: FastAPI must see the per-app model classes
# that the endpoints' annotations name (local variables of router()).
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response, StreamingResponse

from recsys.events.recommendation_id import new_recommendation_id
from serving.deps import ServiceDep
from serving.metrics import SCOPE_VERSION_KEY
from serving.offers import OfferCatalogs, Offers
from serving.present import json_response
from serving.queries import QueryModel
from serving.routes import UNAVAILABLE, CustomerId, ItemId, api_router, get_and_head
from serving.schemas import (
    Channel,
    CustomerOffersOut,
    ErrorOut,
    ItemAudienceOut,
    OfferAudienceOut,
    OffersOut,
)
from serving.segments import decode_cursor
from serving.settings import Settings

OfferId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9._:@-]{1,128}$", description="An offer id from GET /v1/offers."),
]
MAX_LIMIT = 1000


class OffersQuery(BaseModel):
    """The query of ``GET /v1/customers/{customer_id}/offers``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    channel: Channel = Field("web", description="Where the offers are shown: web, email or app.")


class AudienceQuery(BaseModel):
    """The query of the audience lists."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Customers per page (1..1000).")
    cursor: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        description="The next_cursor of the previous page (bound to its model version).",
    )


# Read by serving.queries.QueryModel: a single-valued parameter given twice is a 422.
_OFFERS_QUERY = QueryModel(OffersQuery)
_AUDIENCE_QUERY = QueryModel(AudienceQuery)
_ERROR = {"model": ErrorOut}
_CSV = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}
_GONE = {410: {"description": "The cursor's model version is no longer kept", **_ERROR}}


def _catalogs(request: Request) -> OfferCatalogs:
    """The app's offer catalog cache (made on first use)."""
    found = getattr(request.app.state, "offer_catalogs", None)
    if found is None:
        found = request.app.state.offer_catalogs = OfferCatalogs()
    return found


def _csv_response(request: Request, version: str, chunks: Any, name: str) -> Response:
    request.scope[SCOPE_VERSION_KEY] = version
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )


def _page_body(head: dict[str, Any], page: Any) -> dict[str, Any]:
    return {
        **head,
        "model_version": page.version,
        "customers": page.customers,
        "next_cursor": page.next_cursor,
    }


def customer_router(settings: Settings) -> APIRouter:
    """A customer's own offers (scope ``site``)."""
    api = api_router("offers", "site", settings)

    @get_and_head(
        api,
        "/customers/{customer_id:path}/offers",
        response_model=CustomerOffersOut,
        openapi_extra=_OFFERS_QUERY.openapi(),
    )
    async def customer_offers(
        request: Request,
        customer_id: CustomerId,
        query: Annotated[OffersQuery, Depends(_OFFERS_QUERY)],
        service: ServiceDep,
    ) -> Response:
        """The customer's offers on ``channel``, best first, each with its reason; the
        fallback offer when none is allocated (an unknown customer gets it too); none on a
        channel the contact policy holds for the customer."""
        ctx, answer = await Offers(service, _catalogs(request)).for_customer(
            customer_id, query.channel
        )
        rid = new_recommendation_id(
            ctx.version, answer.source, query.channel, ctx.experiment, ctx.arm
        )
        body = {
            "customer_id": customer_id,
            "model_version": ctx.version,
            "channel": query.channel,
            "source": answer.source,
            "held": answer.held,
            "offers": answer.offers,
            "experiment": ctx.experiment,
            "arm": ctx.arm,
            "recommendation_id": rid,
        }
        return json_response(request, ctx.version, body)

    return api


def router(settings: Settings) -> APIRouter:
    """The offer catalog and the audiences (scope ``marketing``)."""
    api = api_router("offers", "marketing", settings)

    @get_and_head(api, "/offers", response_model=OffersOut, responses=UNAVAILABLE)
    async def offers(request: Request, service: ServiceDep) -> Response:
        """Every offer of the active version's catalog, with ``active``, ``audience`` and the
        ``budget_left`` after its allocation."""
        version, rows = await Offers(service, _catalogs(request)).catalog()
        return json_response(request, version, {"model_version": version, "offers": rows})

    @get_and_head(
        api,
        "/offers/{offer_id}/audience",
        response_model=OfferAudienceOut,
        openapi_extra=_AUDIENCE_QUERY.openapi(),
        responses={
            **_CSV,
            404: {"description": "No such offer in the version", **_ERROR},
            **_GONE,
        },
    )
    async def offer_audience(
        request: Request,
        offer_id: OfferId,
        query: Annotated[AudienceQuery, Depends(_AUDIENCE_QUERY)],
        service: ServiceDep,
        accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Response:
        """The customers allocated the offer, highest expected value first, a page at a time
        (``next_cursor``); with ``Accept: text/csv`` the whole audience streams as CSV.
        Once ``offer_redeemed`` events used the offer's budget up (``budget_remaining`` 0),
        the audience is empty: nobody more can redeem it. Customers the contact policy holds
        now (a redemption within ``suppress_days``) are left out, so a page may hold fewer
        than ``limit`` customers, even none, while ``next_cursor`` still leads on."""
        lists = Offers(service, _catalogs(request))
        if accept is not None and "text/csv" in accept:
            if query.cursor is not None:  # the CSV is the whole audience; still check it
                decode_cursor(query.cursor, offer_id)
            version, chunks = await lists.offer_csv(offer_id)
            return _csv_response(request, version, chunks, f"offer-{offer_id}")
        page, remaining = await lists.offer_audience(offer_id, query.limit, query.cursor)
        head = {"offer_id": offer_id, "budget_remaining": remaining}
        return json_response(request, page.version, _page_body(head, page))

    @get_and_head(
        api,
        "/items/{item_id:path}/audience",
        response_model=ItemAudienceOut,
        openapi_extra=_AUDIENCE_QUERY.openapi(),
        responses={
            **_CSV,
            404: {"description": "The item is not in the version's catalog", **_ERROR},
            **_GONE,
        },
    )
    async def item_audience(
        request: Request,
        item_id: ItemId,
        query: Annotated[AudienceQuery, Depends(_AUDIENCE_QUERY)],
        service: ServiceDep,
        accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Response:
        """The customers most likely to buy the item: those whose recommendations hold it
        highest (then by score), a page at a time; CSV with ``Accept: text/csv``."""
        lists = Offers(service, _catalogs(request))
        if accept is not None and "text/csv" in accept:
            if query.cursor is not None:  # the CSV is the whole audience; still check it
                decode_cursor(query.cursor, item_id)
            version, chunks = await lists.item_csv(item_id)
            return _csv_response(request, version, chunks, "item-audience")
        page = await lists.item_audience(item_id, query.limit, query.cursor)
        return json_response(request, page.version, _page_body({"item_id": item_id}, page))

    return api
