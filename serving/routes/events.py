"""``POST /v1/events`` (scope ``events``): what customers did with the answers.

Each event of a batch is validated on its own (:func:`recsys.events.validate_batch`): invalid
ones are answered with their reasons while the valid ones are accepted; 422 only when the
body as a whole is malformed (not JSON, no ``events`` list, more than 500 events).
Accepted events are in the Redis Stream before the 202 answer (XADD through the app's writer
client: the request path's multiplexed client is read-only), once per ``event_id``
(:func:`recsys.store.events.append_events`).

Then, still before the answer, the accepted events update the live state in one more
pipeline (:class:`recsys.store.realtime.LiveWriter`): each customer's and session's recent
items and purchases (so the next recommendation request reflects them), and for
``offer_redeemed`` the offer's redemption counters and the customer's suppression. A failure
there is logged and counted (``recsys_redis_errors{operation="realtime_write"}``) but does not
fail the batch: its events are durable in the stream already, and a retry would be answered
as duplicates.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import redis.asyncio
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.responses import Response

from recsys.events import MAX_BATCH, EventsConfig, validate_batch
from recsys.events.schema import Event
from recsys.realtime.offers import suppress_seconds
from recsys.store import connect_async
from recsys.store.events import append_events
from recsys.store.realtime import LiveWriter, plan
from serving.errors import ApiError
from serving.routes import BODY_TOO_LARGE, PARAMETER_ERRORS, api_router
from serving.schemas import ErrorOut
from serving.settings import Settings

logger = logging.getLogger("serving")
#: The JSON Schema of one event, as pydantic writes it for :class:`Event` (self-contained).
EVENT_SCHEMA = Event.model_json_schema()


class EventsIn(BaseModel):
    """A batch of events; each one is an object with the fields of the ``Event`` schema
    (``event_id``, ``event_type``, ``customer_id`` or ``session_id``, ``item_id`` or
    ``item_ids``, ``offer_id``, ``recommendation_id``, ``channel``, ``timestamp``, ``value``,
    and for impressions ``model_version``, ``rung``, ``experiment``, ``arm``, ``position``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Each item is read on its own (a bad event is refused alone, the others accepted), so it
    # is typed Any for validation; the document still shows the Event schema.
    events: list[Annotated[Any, WithJsonSchema(EVENT_SCHEMA)]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} events, each validated on its own.",
    )


class RejectedOut(BaseModel):
    """An event refused, with its position in the batch and why."""

    index: int
    event_id: str | None
    reason: str


class EventsOut(BaseModel):
    """What became of a batch: accepted (now in the stream), duplicates (an ``event_id``
    already accepted, within the batch or before), rejected (with reasons)."""

    accepted: int
    duplicates: int
    rejected: list[RejectedOut]


def open_writer(settings: Settings, url: str) -> redis.asyncio.Redis:
    """redis-py's asyncio client for appending events (XADD, SET NX), lazily connected."""
    return connect_async(
        url,
        socket_timeout=max(settings.redis_socket_timeout, 1.0),
        socket_connect_timeout=settings.redis_connect_timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def router(settings: Settings) -> APIRouter:
    """The event intake (scope ``events``)."""
    config = EventsConfig()
    api = api_router(
        "events",
        "events",
        settings,
        responses={
            **PARAMETER_ERRORS,
            **BODY_TOO_LARGE,
            503: {"description": "Redis is unavailable: nothing was accepted", "model": ErrorOut},
        },
    )

    @api.post("/events", status_code=202, response_model=EventsOut)
    async def post_events(request: Request, body: EventsIn) -> Response:
        """Record events: impressions, clicks, views, carts, purchases, returns, offers shown
        and redeemed. Idempotent by ``event_id``; accepted events are durable (in the Redis
        Stream) when the 202 is sent; ``recsys events export`` writes them to Parquet."""
        checked = validate_batch(body.events)
        received = datetime.now(UTC)
        records = [(event.event_id, event.record(received)) for _, event in checked.valid]
        writer: redis.asyncio.Redis = request.app.state.events_writer
        try:
            result = await append_events(
                writer,
                settings.namespace,
                records,
                maxlen=config.stream_maxlen,
                ttl=config.dedup_ttl,
            )
        except RedisError as exc:
            raise ApiError(503, "store_unavailable", f"events not recorded: {exc}") from None
        if settings.realtime and result.accepted:
            await _apply_live(request, writer, [records[i][1] for i in result.accepted])
        answer = {
            "accepted": len(result.accepted),
            "duplicates": len(result.duplicates),
            "rejected": [
                {"index": r.index, "event_id": r.event_id, "reason": r.reason}
                for r in checked.rejected
            ],
        }
        return Response(orjson.dumps(answer), status_code=202, media_type="application/json")

    async def _apply_live(
        request: Request, writer: redis.asyncio.Redis, accepted: list[dict[str, Any]]
    ) -> None:
        """Update the live state from the accepted event records (see the module docs)."""
        service = request.app.state.service
        current = service.snapshots.current
        now = datetime.now(UTC).timestamp()
        live = LiveWriter(
            writer,
            settings.namespace,
            ttl=settings.realtime_ttl,
            recent=settings.realtime_recent,
        )
        try:
            await live.write(
                plan(
                    settings.namespace,
                    accepted,
                    now,
                    None if current is None else current.data.normal_id,
                ),
                suppress_seconds=suppress_seconds(
                    None if current is None else current.data.manifest
                ),
                now=now,
            )
        except RedisError as exc:
            service.metrics.redis_errors.labels("realtime_write").inc()
            logger.warning("live state not updated for %d accepted events: %s", len(accepted), exc)

    return api
