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
    """A customer's list. ``source`` is the rung that answered: personal, segment or popular."""

    customer_id: str
    model_version: str
    source: Source
    items: list[ItemOut]


class SimilarOut(_Out):
    """Items similar to ``item_id`` (``source`` is ``popular`` when the list was topped up
    entirely from the popular items of the same category)."""

    item_id: str
    model_version: str
    source: Source
    items: list[ItemOut]


class SessionOut(_Out):
    """Suggestions for a session: ``source`` is ``similar`` or ``popular``."""

    model_version: str
    source: Source
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
