"""The event schema: what a shop reports back (impressions, clicks, carts, purchases, offers).

One :class:`Event` per thing that happened, validated per event so a batch with one bad event
keeps the others (:func:`validate_batch` gives each rejected event its reason). The fields
follow the usual interaction-event shape of Segment's e-commerce spec, AWS Personalize
``PutEvents`` and Recombee: who (``customer_id`` or ``session_id``), what (``item_id`` or
``item_ids``, ``offer_id``), which answer it follows (``recommendation_id``), where
(``channel``), when (``timestamp``) and how much (``value``, in the shop's currency).

Impressions also carry what the answer was made of (``model_version``, ``rung``,
``experiment``, ``arm``, ``position``): outcomes that echo the ``recommendation_id`` are
attributed to those (see ``training/online_report.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from recsys.data.ids import ID_PATTERN, MAX_ID_LENGTH, readable_error
from recsys.events.recommendation_id import PATTERN as RECOMMENDATION_ID_PATTERN

EventType = Literal[
    "impression",
    "click",
    "view",
    "add_to_cart",
    "purchase",
    "return",
    "offer_shown",
    "offer_redeemed",
]
EVENT_TYPES: Final[tuple[str, ...]] = get_args(EventType)
#: Types about one or more catalog items (they need ``item_id`` or ``item_ids``).
ITEM_EVENTS: Final = frozenset({"impression", "click", "view", "add_to_cart", "purchase", "return"})
#: Types about an offer (they need ``offer_id``).
OFFER_EVENTS: Final = frozenset({"offer_shown", "offer_redeemed"})
#: Most events in one ``POST /v1/events`` batch, and most items one event may name.
MAX_BATCH: Final = 500
MAX_ITEMS: Final = 100

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=MAX_ID_LENGTH)]
Label = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
# A UUID hex, optionally followed by the answer's attribution (recsys.events.recommendation_id).
_RECOMMENDATION_ID: Final = RECOMMENDATION_ID_PATTERN


#: Event times outside [EARLIEST, now + FUTURE_SLACK] are rejected (``timestamp: ...``).
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK: Final = timedelta(days=1)


class Event(BaseModel):
    """One event as accepted by ``POST /v1/events`` (unknown fields are refused).

    ``timestamp`` must carry a time zone (ISO 8601, ``...Z``); when absent, the time the
    service received the event is used. ``value`` is money (purchase or return amount, offer
    value) in the shop's currency, >= 0; ``quantity`` the units of each item (> 0, default 1),
    so returns net by quantity in training. Errors: pydantic's ``ValidationError`` (see
    :func:`validate_event` for the one-line reason).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    event_id: Id
    event_type: EventType
    customer_id: Id | None = None
    session_id: Id | None = None
    item_id: Id | None = None
    item_ids: list[Id] | None = Field(None, min_length=1, max_length=MAX_ITEMS)
    offer_id: Id | None = None
    recommendation_id: Annotated[str, StringConstraints(pattern=_RECOMMENDATION_ID)] | None = None
    channel: Label | None = None
    timestamp: AwareDatetime | None = None
    # Strict: a JSON number, never a string or a boolean read as one ("3" or true).
    value: StrictFloat | None = Field(None, ge=0, allow_inf_nan=False)
    # Units of each item (purchases and returns: 24 bought, 2 returned keeps the item bought).
    quantity: StrictFloat | None = Field(None, gt=0, le=1e9, allow_inf_nan=False)
    # What the answer was made of (on impressions; echoed by others at will).
    model_version: Label | None = None
    rung: Label | None = None
    experiment: Label | None = None
    arm: Label | None = None
    position: StrictInt | None = Field(None, ge=1, le=1000)

    @field_validator("timestamp")
    @classmethod
    def _plausible_time(cls, v: datetime | None) -> datetime | None:
        # A year-2999 view would stay a customer's newest event until its state expires,
        # and training rejects such rows: refuse them here, per event, with the reason.
        if v is None:
            return v
        if v < EARLIEST:
            raise ValueError(f"before {EARLIEST:%Y-%m-%d}")
        if v > datetime.now(UTC) + FUTURE_SLACK:
            raise ValueError(f"more than {FUTURE_SLACK.days} day in the future (clock skew?)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Event:
        if self.customer_id is None and self.session_id is None:
            raise ValueError("needs customer_id or session_id")
        if self.item_id is not None and self.item_ids is not None:
            raise ValueError("give item_id or item_ids, not both")
        if self.event_type in ITEM_EVENTS and not self.items:
            raise ValueError(f"a {self.event_type} event needs item_id or item_ids")
        if self.event_type in OFFER_EVENTS and self.offer_id is None:
            raise ValueError(f"an {self.event_type} event needs offer_id")
        if self.event_type == "impression" and self.recommendation_id is None:
            raise ValueError("an impression event needs the answer's recommendation_id")
        return self

    @property
    def items(self) -> list[str]:
        """The event's items, in order (``item_ids``, or ``[item_id]``, or none)."""
        if self.item_ids is not None:
            return list(self.item_ids)
        return [] if self.item_id is None else [self.item_id]

    def record(self, received_at: datetime) -> dict[str, Any]:
        """The event as stored in the stream: JSON-ready, ``timestamp`` filled in (ISO 8601
        UTC) and ``received_at`` added; absent fields left out."""
        data = self.model_dump(mode="json", exclude_none=True)
        when = self.timestamp or received_at
        data["timestamp"] = when.astimezone(UTC).isoformat()
        data["received_at"] = received_at.astimezone(UTC).isoformat()
        return data


_EVENT: Final = TypeAdapter(Event)


def reason(exc: ValidationError) -> str:
    """One line naming every problem of an event: ``"item_id: String should match ..."``."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        msg = readable_error(err).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


@dataclass(frozen=True)
class Rejected:
    """An event refused with its reason; ``index`` is its position in the batch."""

    index: int
    event_id: str | None
    reason: str


@dataclass(frozen=True)
class Checked:
    """A batch split into valid events (with their batch positions) and rejected ones."""

    valid: list[tuple[int, Event]]
    rejected: list[Rejected]


def validate_event(raw: object) -> Event | str:
    """The event, or the one-line reason it is refused (never raises)."""
    if not isinstance(raw, dict):
        return f"an event is a JSON object, got {type(raw).__name__}"
    try:
        return _EVENT.validate_python(raw)
    except ValidationError as exc:
        return reason(exc)


def validate_batch(raw_events: Sequence[object]) -> Checked:
    """Each event of a batch validated on its own: valid ones kept in order, others with
    their reasons (``event_id`` echoed when it is a string)."""
    valid: list[tuple[int, Event]] = []
    rejected: list[Rejected] = []
    for index, raw in enumerate(raw_events):
        checked = validate_event(raw)
        if isinstance(checked, Event):
            valid.append((index, checked))
        else:
            eid = raw.get("event_id") if isinstance(raw, dict) else None
            rejected.append(Rejected(index, eid if isinstance(eid, str) else None, checked))
    return Checked(valid, rejected)
