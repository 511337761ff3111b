"""Request and response models of the HTTP API (separate from the store's types)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from recsys.answers.ranking import Source
from recsys.data.ids import ID_DESCRIPTION, ID_PATTERN, MAX_ID_LENGTH

# Categories are free text, but short and without control characters.
CATEGORY_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]{1,128}$"

#: An external id on the wire: the one id alphabet of ingest (recsys.data.ids).
ExternalId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN, min_length=1, max_length=MAX_ID_LENGTH),
    Field(description=ID_DESCRIPTION),
]

#: Where a list is shown: selects the channel's rules (and, once offers land, its offers).
Channel = Literal["web", "email", "app"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorDetail(_Out):
    """What went wrong: a stable ``code`` and a readable ``message``."""

    code: str
    message: str


class ErrorOut(_Out):
    """The shape of every error response."""

    error: ErrorDetail


class ItemOut(_Out):
    """One recommended item: its id, the score and rung of the list it came from, and
    catalog facts."""

    item_id: str
    score: float
    source: Source
    name: str | None = None
    category: str | None = None
    price: float | None = None


class RecommendationsOut(_Out):
    """A customer's list. ``source`` is the rung that answered: personal, segment or popular,
    or realtime (items similar to the customer's recent views, clicks and carts, from events
    posted since the model was made)."""

    customer_id: str
    model_version: str
    source: Source
    experiment: str | None = Field(
        None, description="The running experiment whose arm answered (null: none)."
    )
    arm: str | None = Field(None, description="The experiment arm that answered (null: none).")
    recommendation_id: str = Field(
        description="New for every answer, naming its version, rung, channel, experiment and "
        "arm; echo it verbatim in events (POST /v1/events) to attribute them."
    )
    items: list[ItemOut]


class SimilarOut(_Out):
    """Items similar to ``item_id`` (``source`` is ``popular`` when the list was topped up
    entirely from the popular items of the same category)."""

    item_id: str
    model_version: str
    source: Source
    experiment: str | None = Field(
        None, description="The running experiment whose arm answered (null: none)."
    )
    arm: str | None = Field(None, description="The experiment arm that answered (null: none).")
    recommendation_id: str = Field(
        description="New for every answer, naming its version, rung, channel, experiment and "
        "arm; echo it verbatim in events (POST /v1/events) to attribute them."
    )
    items: list[ItemOut]


class SessionOut(_Out):
    """Suggestions for a session: ``source`` is ``similar``, ``realtime`` (from the events
    posted with the ``session_id``) or ``popular``."""

    model_version: str
    source: Source
    experiment: str | None = Field(
        None, description="The running experiment whose arm answered (null: none)."
    )
    arm: str | None = Field(None, description="The experiment arm that answered (null: none).")
    recommendation_id: str = Field(
        description="New for every answer, naming its version, rung, channel, experiment and "
        "arm; echo it verbatim in events (POST /v1/events) to attribute them."
    )
    items: list[ItemOut]


class ModelOut(_Out):
    """The active model version and its manifest."""

    model_version: str
    manifest: dict[str, Any]


class HealthOut(_Out):
    """Liveness: the process answers."""

    status: Literal["ok"] = "ok"


class ReadyOut(_Out):
    """Readiness: Redis answers and a model version is published."""

    status: Literal["ready"] = "ready"
    model_version: str


class SegmentSummaryOut(_Out):
    """One segment: ``segment`` is a slug (``rfm:cant-lose-them``, ``cluster:3``)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    segment: str
    kind: Literal["rfm", "cluster"]
    name: str
    customers: int
    revenue_share: float
    mean_clv: float
    churn_mix: dict[str, float]


class SegmentsOut(_Out):
    """Every segment of the active version (RFM segments and behavioural clusters)."""

    model_version: str
    segments: list[SegmentSummaryOut]


class CustomerProfileOut(_Out):
    """One customer's row of ``segments.parquet``: orders, RFM, cluster, churn, CLV."""

    model_config = ConfigDict(frozen=True, extra="allow")
    customer_id: str


class CustomerSegmentOut(_Out):
    """A customer's segment (the slug the recommendation fallback uses) and profile."""

    customer_id: str
    model_version: str
    segment: str | None
    profile: dict[str, Any]


class SegmentCustomersOut(_Out):
    """A page of a segment's customers; ``next_cursor`` is null on the last page."""

    segment: str
    model_version: str
    sort: Literal["clv", "churn_risk"]
    customers: list[CustomerProfileOut]
    next_cursor: str | None


# -- offers (issue #10) ------------------------------------------------------------------------


class CustomerOfferOut(_Out):
    """One offer shown to a customer: catalog facts, expected incremental value (money),
    uplift (probability) and why (``fallback``, or the uplift source: the prior says so)."""

    rank: int
    offer_id: str
    name: str | None = None
    kind: str | None = None
    value: float | None = None
    expected_value: float | None
    uplift: float | None
    reason: str | None


class CustomerOffersOut(_Out):
    """A customer's offers on a channel, best first. ``source``: ``allocated``, ``fallback``
    (nothing else eligible, or an unknown customer), ``held`` (the contact policy holds the
    channel: ``held`` says why, e.g. ``suppressed`` after a redemption) or ``none`` (no
    fallback offer on the channel). Offers whose budget redemptions used up are left out."""

    customer_id: str
    model_version: str
    channel: Channel
    source: Literal["allocated", "fallback", "held", "none"]
    held: str | None
    offers: list[CustomerOfferOut]
    experiment: str | None = Field(
        None, description="The running experiment whose arm answered (null: none)."
    )
    arm: str | None = Field(None, description="The experiment arm that answered (null: none).")
    recommendation_id: str | None = Field(
        None,
        description="New for every answer, naming its version, source, channel, experiment "
        "and arm; echo it in offer events (POST /v1/events) to attribute them.",
    )


class OfferOut(_Out):
    """One offer of the catalog (every catalog field), with ``active``, ``audience``
    (customers allocated it) and ``budget_left`` after this version's allocation; live:
    ``redemptions`` posted as ``offer_redeemed`` events and ``budget_remaining`` (the budget
    minus what they used, in its ``budget_unit``; null without a budget; at 0 the offer is
    no longer offered)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    offer_id: str
    budget_left: float | None = None
    redemptions: int = 0
    budget_remaining: float | None = None


class OffersOut(_Out):
    """The offer catalog of the active version."""

    model_version: str
    offers: list[OfferOut]


class OfferAudienceCustomerOut(_Out):
    """A customer allocated the offer: expected incremental value, uplift, reason."""

    customer_id: str
    expected_value: float | None
    uplift: float | None
    reason: str | None


class OfferAudienceOut(_Out):
    """A page of an offer's audience, highest expected value first, less the customers the
    contact policy holds now (so maybe fewer than ``limit``, even none); ``next_cursor`` is
    null on the last page."""

    offer_id: str
    #: Live: the budget minus what redemptions used (null: the offer has no budget); at 0
    #: the audience is empty.
    budget_remaining: float | None = None
    model_version: str
    customers: list[OfferAudienceCustomerOut]
    next_cursor: str | None


class ItemAudienceCustomerOut(_Out):
    """A customer whose recommendations hold the item: its ``position`` there and score."""

    customer_id: str
    position: int
    score: float


class ItemAudienceOut(_Out):
    """A page of an item's audience: customers with the item highest in their list first."""

    item_id: str
    model_version: str
    customers: list[ItemAudienceCustomerOut]
    next_cursor: str | None
