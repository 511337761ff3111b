"""The offer catalog: offers as data, validated row by row like events.

A catalog is a CSV/Parquet table (list fields separated by ``|``) or a JSON list of objects.
Each row is checked with the pydantic model :class:`Offer`; a row that fails is rejected with
the reason ``invalid_<field>`` of its first failing field (or ``duplicate_offer_id`` for a
second row with an id already taken) and its message, never dropped silently:
``accepted + rejected == rows``.

Fields (defaults in :class:`Offer`): ``offer_id``, ``name``, ``kind`` (:data:`KINDS`),
``value`` (percent, amount, multiplier...), ``cost_model`` (``fixed``: ``cost`` money per
redemption; ``basket_share``: ``cost`` share of the basket), ``margin`` (share of the basket
kept as margin), ``start``/``end``, ``channels`` (:data:`CHANNELS`), eligibility as data
(``segments``, ``clusters``, ``churn_bands``, ``clv_min``/``clv_max``, ``orders_min``/
``orders_max``, ``customer_type`` new/returning/any, ``countries``), what it applies to
(``items``, ``categories``, ``min_basket``), ``cap_per_customer`` per ``cap_period_days``,
``budget`` in ``budget_unit`` (money or redemptions), ``priority`` (a weight on the value)
and ``fallback`` (shown when nothing else is eligible).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from recsys.data.io import read_table
from recsys.data.parsing import NULL_TOKENS
from recsys.errors import DataError

KINDS = ("percent_off", "amount_off", "free_shipping", "gift", "points_multiplier")
CHANNELS = ("web", "email", "app")
DUPLICATE_OFFER_ID = "duplicate_offer_id"
LIST_SEPARATOR = "|"
_LIST_FIELDS = (
    "channels",
    "segments",
    "clusters",
    "churn_bands",
    "countries",
    "items",
    "categories",
)


class Offer(BaseModel):
    """One validated offer (immutable)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    offer_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._:@-]{1,128}$")
    name: str = ""
    kind: Literal["percent_off", "amount_off", "free_shipping", "gift", "points_multiplier"]
    value: float = Field(ge=0)
    cost_model: Literal["fixed", "basket_share"] = "fixed"
    cost: float = Field(default=0.0, ge=0)
    margin: float = Field(default=0.3, gt=0, le=1)
    start: datetime | None = None
    end: datetime | None = None
    channels: tuple[Literal["web", "email", "app"], ...] = ("web", "email", "app")
    segments: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    churn_bands: tuple[str, ...] = ()
    clv_min: float | None = None
    clv_max: float | None = None
    orders_min: int | None = Field(default=None, ge=0)
    orders_max: int | None = Field(default=None, ge=0)
    customer_type: Literal["any", "new", "returning"] = "any"
    countries: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_basket: float = Field(default=0.0, ge=0)
    cap_per_customer: int = Field(default=1, ge=1)
    cap_period_days: int = Field(default=30, ge=1)
    budget: float | None = Field(default=None, ge=0)
    budget_unit: Literal["money", "redemptions"] = "money"
    priority: float = Field(default=1.0, ge=0)
    fallback: bool = False

    @field_validator(*_LIST_FIELDS, mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(p.strip() for p in v.split(LIST_SEPARATOR) if p.strip())
        return v

    @field_validator("channels")
    @classmethod
    def _some_channel(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("at least one channel")
        return v

    @model_validator(mode="after")
    def _ranges(self) -> Offer:
        if self.start and self.end and self.end < self.start:
            raise ValueError("end: before start")
        if self.clv_min is not None and self.clv_max is not None and self.clv_min > self.clv_max:
            raise ValueError("clv_max: below clv_min")
        if (
            self.orders_min is not None
            and self.orders_max is not None
            and self.orders_min > self.orders_max
        ):
            raise ValueError("orders_max: below orders_min")
        if self.kind == "percent_off" and self.value > 100:
            raise ValueError("value: a percentage above 100")
        if self.cost_model == "basket_share" and self.cost > 1:
            raise ValueError("cost: a basket share above 1")
        return self

    def active(self, when: datetime | pd.Timestamp) -> bool:
        """True when ``start <= when <= end`` (open ends always match)."""
        t = pd.Timestamp(when)
        return (self.start is None or pd.Timestamp(self.start) <= t) and (
            self.end is None or t <= pd.Timestamp(self.end)
        )


@dataclass(frozen=True, eq=False)
class Catalog:
    """Validated offers in input order, the rejected rows with reasons, and the row count."""

    offers: tuple[Offer, ...]
    rejects: pd.DataFrame
    n_rows: int

    def __len__(self) -> int:
        return len(self.offers)

    def __getitem__(self, offer_id: str) -> Offer:
        for offer in self.offers:
            if offer.offer_id == offer_id:
                return offer
        raise KeyError(offer_id)

    @property
    def ids(self) -> list[str]:
        return [o.offer_id for o in self.offers]

    def to_frame(self) -> pd.DataFrame:
        """One row per offer, list fields joined with ``|`` (the CSV input format)."""
        rows = []
        for offer in self.offers:
            row = offer.model_dump()
            for name in _LIST_FIELDS:
                row[name] = LIST_SEPARATOR.join(row[name])
            rows.append(row)
        return pd.DataFrame(rows, columns=list(Offer.model_fields))


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str) and value.strip().lower() in NULL_TOKENS:
        return None
    return value.strip() if isinstance(value, str) else value


def _reason(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err["loc"] else ""
    message = str(err["msg"])
    if not field and ": " in message:  # model-level check: "Value error, end: before start"
        field, _, message = message.split(", ", 1)[-1].partition(": ")
    return f"invalid_{field or 'row'}", message


def validate_offers(rows: list[dict[str, Any]]) -> Catalog:
    """Validate raw offer rows (dicts). Empty/NaN values mean "use the default"."""
    offers: list[Offer] = []
    seen: set[str] = set()
    rejected: list[dict[str, Any]] = []
    for i, raw in enumerate(rows):
        data = {k: v for k, v in ((k, _clean(v)) for k, v in raw.items()) if v is not None}
        try:
            offer = Offer.model_validate(data)
        except ValidationError as exc:
            reason, detail = _reason(exc)
            rejected.append({"source_row": i, **raw, "reject_reason": reason, "detail": detail})
            continue
        if offer.offer_id in seen:
            rejected.append(
                {"source_row": i, **raw, "reject_reason": DUPLICATE_OFFER_ID, "detail": ""}
            )
            continue
        seen.add(offer.offer_id)
        offers.append(offer)
    rejects = pd.DataFrame(rejected, columns=None if rejected else ["source_row", "reject_reason"])
    return Catalog(tuple(offers), rejects, len(rows))


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog file (``.json``: a list of objects; else CSV/Parquet).

    Raises DataError for an unreadable file or one whose JSON is not a list of objects.
    """
    p = Path(path)
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read offer catalog {p}: {exc}") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DataError(f"offer catalog {p} must be a JSON list of objects")
        _check_columns(p, {str(k) for r in data for k in r})
        return validate_offers(data)
    frame = read_table(p)
    _check_columns(p, {str(c) for c in frame.columns})
    records = [{str(k): v for k, v in r.items()} for r in frame.astype(object).to_dict("records")]
    return validate_offers(records)


def _check_columns(path: Path, found: set[str]) -> None:
    """DataError naming a missing required column or an unknown one (a misspelt optional
    column such as ``budgt`` would otherwise be ignored and its offers left unlimited)."""
    fields = Offer.model_fields
    required = [name for name, f in fields.items() if f.is_required()]
    missing = [name for name in required if name not in found]
    if missing:
        raise DataError(f"offer catalog {path} has no column {missing[0]!r}; found {sorted(found)}")
    unknown = sorted(found - set(fields))
    if unknown:
        raise DataError(
            f"offer catalog {path}: unknown column(s) {unknown}; the known ones are {list(fields)}"
        )
