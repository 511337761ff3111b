"""Configuration for data, models and evaluation.

One :class:`Config` object with a section per concern; every field has a working default so a
config file only names what it changes. Files are TOML or JSON (``load_config``).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from recsys import columns as C
from recsys.customers.config import CustomersConfig
from recsys.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestConfig(_Section):
    """How raw exports become clean events.

    ``column_map`` renames source columns to the canonical names in :mod:`recsys.columns`
    (e.g. ``{"Customer ID": "customer_id"}``). ``preset`` names a built-in mapping and rule set
    (see :mod:`recsys.data.presets`), merged in when the config is built: explicit fields here
    override it and explicit ``column_map`` entries take precedence over the preset's.
    """

    preset: str | None = None
    column_map: dict[str, str] = Field(default_factory=dict)
    # Orders whose id starts with this prefix are returns (UCI Online Retail: "C").
    return_order_prefix: str | None = None
    # Rows with a negative quantity and no event type become returns of |quantity|.
    negative_quantity_is_return: bool = False
    # Item ids that are not products (postage, fees, manual adjustments): rejected.
    non_product_items: list[str] = Field(default_factory=list)
    non_product_pattern: str | None = None
    zero_price: Literal["reject", "keep"] = "reject"
    duplicates: Literal["reject", "keep"] = "reject"
    # The job stops when more than this share of rows is rejected.
    max_reject_rate: float = Field(default=0.5, ge=0.0, le=1.0)
    # Timestamps without a zone are read as this zone and stored as naive UTC.
    timezone: str = "UTC"
    # Fewer usable events than this and the job stops: too small to train.
    min_events: int = Field(default=10, ge=1)
    # The price column holds the line total (quantity x unit price), e.g. dunnhumby
    # ``sales_value``; the unit price is price / |quantity|.
    price_is_line_total: bool = False
    # Source event type values -> vocabulary (``{"order": "purchase", "pageview": "view"}``).
    event_type_map: dict[str, str] = Field(default_factory=dict)
    # How day/month dates like 01/02/2024 are read: "day_first", "month_first" or a strptime
    # format. None: inferred per file from unambiguous values (13/02/2024); a file where no
    # value decides is refused, and a file mixing both orders is refused.
    timestamp_format: str | None = None
    # Id normalisation, for item and customer ids in events, items and customers files:
    # fold letter case ("85123a" is "85123A" with "upper"), strip surrounding white space,
    # drop the ".0" a float export adds ("13085.0" -> "13085").
    id_case: Literal["none", "upper", "lower"] = "none"
    id_strip: bool = True
    id_float_suffix: bool = True
    # CSV field separator and decimal mark; None: detected from the file's first lines
    # (";"-separated files with decimal commas, "2,55", are read as 2.55).
    sep: str | None = Field(default=None, min_length=1, max_length=1)
    decimal: Literal[".", ","] | None = None

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        # Merging here (not at use) keeps a preset's values through model_dump() round trips
        # such as Config.with_overrides; explicitly given fields win over the preset's.
        if isinstance(data, dict) and data.get("preset") is not None:
            from recsys.data.presets import merge_preset  # lazy: presets imports this module

            return merge_preset(data)
        return data

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r} (expected an IANA name like 'UTC')") from None
        return v

    @field_validator("non_product_pattern")
    @classmethod
    def _valid_pattern(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {v!r}: {exc}") from None
        return v


class MatrixConfig(_Section):
    """How events become the customers x items training matrix."""

    event_weights: dict[str, float] = Field(
        default_factory=lambda: {
            C.VIEW: 1.0,
            C.ADD_TO_CART: 3.0,
            C.PURCHASE: 5.0,
            C.RETURN: -5.0,
            # A favourite / wish-list mark: more than a look, less than a cart. Marketplaces
            # log it (the generated marketplace does); without a weight it was rejected.
            "favorite": 2.0,
            # POST /v1/events types (recsys.events): a click is a view's worth of interest;
            # being shown an item or an offer says nothing (counted, weight 0).
            "click": 1.0,
            "impression": 0.0,
            "offer_shown": 0.0,
            "offer_redeemed": 0.0,
        }
    )
    # Per-event contribution scaling by quantity: 1 ("count"), q ("linear") or 1+ln(q) ("log").
    quantity: Literal["count", "linear", "log"] = "log"
    # Exponential time decay of each event's weight (None: no decay).
    half_life_days: float | None = Field(default=None, gt=0)

    @field_validator("event_weights")
    @classmethod
    def _has_purchase(cls, v: dict[str, float]) -> dict[str, float]:
        if C.PURCHASE not in v:
            raise ValueError(f"event_weights must define {C.PURCHASE!r} (missing event type)")
        return v


class EvaluationConfig(_Section):
    """Temporal holdout settings."""

    k: int = Field(default=10, ge=1, le=1000)
    # None: fit the data's span (recsys.evaluation.split.default_test_days, at most 30 days)
    test_days: int | None = Field(default=None, ge=1)
    cutoff: str | None = None  # ISO date; overrides test_days
    metric: str = "ndcg"  # what "best" means when a job picks a model
    protocol: Literal["new_items", "all_purchases", "both"] = "both"


class Config(_Section):
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    matrix: MatrixConfig = Field(default_factory=MatrixConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    customers: CustomersConfig = Field(default_factory=CustomersConfig)
    # Model name -> hyperparameters. A model named here is compared too (with the defaults,
    # unless --models names the candidates); it does not narrow the comparison.
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def with_overrides(self, **sections: Any) -> Config:
        """A copy with whole sections or fields replaced (``ingest={"preset": "x"}``)."""
        data = self.model_dump(exclude_unset=True)
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return parse_config(data)


def parse_config(data: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid config at {where}: {first['msg']}") from None


def load_config(path: str | Path | None) -> Config:
    """Read a TOML or JSON config file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot parse config {p}: {exc}") from None
    return parse_config(data)
