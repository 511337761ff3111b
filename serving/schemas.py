"""Request and response models of the HTTP API (separate from the store's types)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

# External ids on the wire: 1-128 characters of letters, digits and ``. _ : -``.
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
# Categories are free text, but short and without control characters.
CATEGORY_PATTERN = r"^[^\x00-\x1f\x7f]{1,128}$"

ExternalId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]

Source = Literal["personal", "segment", "similar", "popular"]
Channel = Literal["web", "email"]


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
    """One recommended item: its id, the score of the list it came from, and catalog facts."""

    item_id: str
    score: float
    name: str | None = None
    category: str | None = None
    price: float | None = None


class RecommendationsOut(_Out):
    """A customer's list. ``source`` is the rung that answered: personal, segment or popular."""

    customer_id: str
    model_version: str | None
    source: Source
    items: list[ItemOut]


class SimilarOut(_Out):
    """Items similar to ``item_id`` (``source`` is ``popular`` when the list was topped up
    entirely from the popular items of the same category)."""

    item_id: str
    model_version: str | None
    source: Source
    items: list[ItemOut]


class SessionIn(BaseModel):
    """An anonymous visitor's items (viewed, in cart); unknown ids are ignored."""

    model_config = ConfigDict(extra="forbid")

    # The hard cap is max_ids' upper bound; the configured max_ids is checked by the route.
    item_ids: list[ExternalId] = Field(
        default_factory=list,
        max_length=10_000,
        description="Items the visitor looked at or has in the cart (at most max_ids).",
    )
    # Strict, as on the GET routes: "3" and 2.0 are not numbers of items.
    k: StrictInt | None = Field(
        None, description="Number of items to return, 1..max_k (default: the service's)."
    )


class SessionOut(_Out):
    """Suggestions for a session: ``source`` is ``similar`` or ``popular``."""

    model_version: str | None
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
