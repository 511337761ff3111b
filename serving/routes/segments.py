"""``/v1/segments``, ``/v1/segments/{segment}/customers`` (scope ``marketing``) and
``/v1/customers/{id}/segment`` (scope ``site``)."""

# No ``from __future__ import annotations``: FastAPI must see the per-app model classes
# that the endpoints' annotations name (local variables of router()).
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response, StreamingResponse

from serving.deps import ServiceDep
from serving.metrics import SCOPE_VERSION_KEY
from serving.present import json_response
from serving.queries import QueryModel
from serving.routes import UNAVAILABLE, CustomerId, api_router, get_and_head
from serving.schemas import CustomerSegmentOut, ErrorOut, SegmentCustomersOut, SegmentsOut
from serving.segments import Segments, SortKey
from serving.settings import Settings

SegmentSlug = Annotated[
    str,
    Path(
        pattern=r"^(rfm|cluster):[a-z0-9-]{1,100}$",
        description="A segment slug from GET /v1/segments (rfm:champions, cluster:3, ...).",
    ),
]
MAX_LIMIT = 1000


class SegmentCustomersQuery(BaseModel):
    """The query of ``GET /v1/segments/{segment}/customers``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Customers per page (1..1000).")
    cursor: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        description="The next_cursor of the previous page (bound to its model version).",
    )
    sort: SortKey = Field("clv", description="clv: highest predicted CLV first; churn_risk.")


_NOT_FOUND = {"model": ErrorOut}
_READ_QUERY = QueryModel(SegmentCustomersQuery)
_GONE = {410: {"description": "The cursor's model version is no longer kept", **_NOT_FOUND}}


def router(settings: Settings) -> APIRouter:
    """The marketing lists (scope ``marketing``)."""
    api = api_router("segments", "marketing", settings)

    @get_and_head(api, "/segments", response_model=SegmentsOut, responses=UNAVAILABLE)
    async def segments(request: Request, service: ServiceDep) -> Response:
        """Every segment: RFM segments and behavioural clusters, with size, revenue share,
        mean predicted CLV and churn-band mix."""
        version, summaries = await Segments(service).summaries()
        return json_response(request, version, {"model_version": version, "segments": summaries})

    @get_and_head(
        api,
        "/segments/{segment}/customers",
        response_model=SegmentCustomersOut,
        openapi_extra=_READ_QUERY.openapi(),
        responses={
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
            404: {"description": "No such segment in the active version", **_NOT_FOUND},
            **_GONE,
        },
    )
    async def segment_customers(
        request: Request,
        segment: SegmentSlug,
        query: Annotated[SegmentCustomersQuery, Depends(_READ_QUERY)],
        service: ServiceDep,
        accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Response:
        """A segment's customers with their profiles, a page at a time (``next_cursor``);
        with ``Accept: text/csv`` the whole segment streams as CSV."""
        lists = Segments(service)
        if accept is not None and "text/csv" in accept:
            version, chunks = await lists.csv(segment, query.sort, query.cursor)
            request.scope[SCOPE_VERSION_KEY] = version
            filename = segment.replace(":", "-")
            return StreamingResponse(
                chunks,
                media_type="text/csv; charset=utf-8",
                headers={"content-disposition": f'attachment; filename="{filename}.csv"'},
            )
        page = await lists.page(segment, query.sort, query.limit, query.cursor)
        body: dict[str, Any] = {
            "segment": segment,
            "model_version": page.version,
            "sort": query.sort,
            "customers": page.customers,
            "next_cursor": page.next_cursor,
        }
        return json_response(request, page.version, body)

    return api


def customer_router(settings: Settings) -> APIRouter:
    """A customer's own segment (scope ``site``)."""
    api = api_router("customers", "site", settings)

    @get_and_head(
        api,
        "/customers/{customer_id:path}/segment",
        response_model=CustomerSegmentOut,
        responses={404: {"description": "The customer has no segment profile", **_NOT_FOUND}},
    )
    async def customer_segment(
        request: Request, customer_id: CustomerId, service: ServiceDep
    ) -> Response:
        """The customer's segment and profile: orders, RFM scores and segment, cluster,
        P(alive), churn risk and band, expected orders, predicted CLV."""
        version, segment, profile = await Segments(service).profile(customer_id)
        body = {
            "customer_id": customer_id,
            "model_version": version,
            "segment": segment,
            "profile": profile,
        }
        return json_response(request, version, body)

    return api
