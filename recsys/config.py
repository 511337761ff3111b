"""Configuration for data, models and evaluation.

One :class:`Config` object with a section per concern; every field has a working default so a
config file only names what it changes. Files are TOML or JSON (``load_config``).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from recsys import columns as C
from recsys.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestConfig(_Section):
    """How raw exports become clean events.

    ``column_map`` renames source columns to the canonical names in :mod:`recsys.columns`
    (e.g. ``{"Customer ID": "customer_id"}``). ``preset`` names a built-in mapping and rule set
    (see :mod:`recsys.data.presets`); explicit fields here override it.
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
    max_reject_rate: float = Field(0.5, ge=0.0, le=1.0)
    # Timestamps without a zone are read as this zone and stored as naive UTC.
    timezone: str = "UTC"
    # Fewer usable events than this and the job stops: too small to train.
    min_events: int = Field(10, ge=1)


class MatrixConfig(_Section):
    """How events become the customers x items training matrix."""

    event_weights: dict[str, float] = Field(
        default_factory=lambda: {C.VIEW: 1.0, C.ADD_TO_CART: 3.0, C.PURCHASE: 5.0, C.RETURN: -5.0}
    )
    # Per-event contribution scaling by quantity: 1 ("count"), q ("linear") or 1+ln(q) ("log").
    quantity: Literal["count", "linear", "log"] = "log"
    # Exponential time decay of each event's weight (None: no decay).
    half_life_days: float | None = Field(None, gt=0)

    @field_validator("event_weights")
    @classmethod
    def _has_purchase(cls, v: dict[str, float]) -> dict[str, float]:
        if C.PURCHASE not in v:
            raise ValueError(f"event_weights must define {C.PURCHASE!r} (missing event type)")
        return v


class EvaluationConfig(_Section):
    """Temporal holdout settings."""

    k: int = Field(10, ge=1, le=1000)
    test_days: int = Field(30, ge=1)
    cutoff: str | None = None  # ISO date; overrides test_days
    metric: str = "ndcg"  # what "best" means when a job picks a model
    protocol: Literal["new_items", "all_purchases", "both"] = "both"


class Config(_Section):
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    matrix: MatrixConfig = Field(default_factory=MatrixConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    # Model name -> hyperparameters, for the models a job trains and compares.
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def with_overrides(self, **sections: Any) -> Config:
        """A copy with whole sections or fields replaced (``ingest={"preset": "x"}``)."""
        data = self.model_dump()
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
