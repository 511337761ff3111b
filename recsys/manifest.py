"""The bundle manifest as a typed, validated record.

A training run writes ``OUT/<version>/manifest.json`` from a :class:`Manifest`; the JSON shape
is what :class:`recsys.store.bundle.Bundle` reads and ``recsys publish`` ships to Redis
(``{ns}:v:{version}:manifest``), so it stays a flat object of plain JSON values. Reading one
back with :meth:`Manifest.load` checks every field (pydantic) and turns any problem into a
one-line :class:`~recsys.errors.DataError`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from recsys.errors import ConfigError, DataError

MANIFEST_FILE = "manifest.json"


class RowCounts(BaseModel):
    """How many rows came in and what the model was trained on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: int = Field(ge=0)
    accepted: int = Field(ge=0)
    customers: int = Field(ge=0)
    items: int = Field(ge=0)
    interactions: int = Field(ge=0)
    customer_profiles: int = Field(default=0, ge=0)


class ProtocolFigures(BaseModel):
    """Holdout metrics of the shipped lists under one protocol (means over judged customers)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    applies: bool
    reason: str = ""
    n_customers: int = Field(ge=0)
    metrics: dict[str, float] = Field(default_factory=dict)


class Manifest(BaseModel):
    """Everything a reader needs to know about one bundle.

    Fields
    ------
    version:
        ``<UTC time>Z-<fingerprint prefix>``; the bundle directory's name.
    created_at:
        ISO 8601 time the run started (with its UTC offset).
    data_fingerprint:
        sha256 over the input files' bytes and the effective config.
    rows, rejects:
        Row counts and the ingest reject report (``RejectReport.to_dict``).
    candidates, chosen_model, model_params, model_file:
        What was compared, what shipped, with which hyperparameters, in which file.
    selection_metric, metrics, relative_scores:
        The evaluation table (one record per model and protocol) and each model's metric
        relative to the best on each protocol.
    notes:
        Candidates skipped or restricted and why (e.g. a catalog over EASE's limit).
    holdout, holdout_of, holdout_split:
        Protocol -> whether it applies (votes in selection) and the chosen model's metrics on
        the holdout; ``holdout_of`` says whose lists were scored: ``"bundle"`` (``recsys
        evaluate --bundle-out``: this bundle's own lists, the numbers its served answers
        reproduce) or ``"chosen model before the cutoff"`` (``recsys train``, whose bundle is
        refitted on all data); ``holdout_split`` is the one-line description of the split.
    top_n:
        Longest personal list stored per customer (>= 1).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    version: str
    created_at: str
    top_n: int = Field(ge=1)
    data_fingerprint: str = ""
    inputs: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    rows: RowCounts | None = None
    rejects: dict[str, Any] = Field(default_factory=dict)
    candidates: list[str] = Field(default_factory=list)
    chosen_model: str = ""
    model_params: dict[str, Any] = Field(default_factory=dict)
    model_file: str = ""
    selection_metric: str = "ndcg"
    metrics: list[dict[str, Any]] = Field(default_factory=list)
    relative_scores: dict[str, dict[str, float]] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    holdout: dict[str, ProtocolFigures] = Field(default_factory=dict)
    holdout_of: str = ""
    holdout_split: str = ""
    library_versions: dict[str, str] = Field(default_factory=dict)
    #: Customer segments: ``summary`` (one object per RFM segment and cluster) and the fitted
    #: ``params`` (BG/NBD, Gamma-Gamma, RFM cut points, clusters, churn model); empty when the
    #: job computed none. Serving answers GET /v1/segments from it.
    segments: dict[str, Any] = Field(default_factory=dict)
    #: The offer allocation (method, value, LP bound, budgets, rejected catalog rows); empty
    #: when the job allocated none.
    offers: dict[str, Any] = Field(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _valid_version(cls, value: str) -> str:
        from recsys.store.keys import check_version  # the store owns the version alphabet

        try:
            return check_version(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("created_at")
    @classmethod
    def _iso_time(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"created_at {value!r} is not an ISO 8601 time") from None
        return value

    def to_json_dict(self) -> dict[str, Any]:
        """The manifest as plain JSON values (what ``manifest.json`` holds)."""
        return self.model_dump(mode="json", exclude_none=True)

    def write(self, directory: str | Path) -> Path:
        """Write ``directory/manifest.json`` (indented, UTF-8); returns its path."""
        path = Path(directory) / MANIFEST_FILE
        path.write_bytes(orjson.dumps(self.to_json_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        return path

    @classmethod
    def from_dict(cls, data: object, where: str = "manifest") -> Manifest:
        """Validate a decoded manifest; DataError naming the first bad field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "manifest"
            raise DataError(f"{where}: {field}: {first['msg']}") from None

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Read and validate a ``manifest.json`` file (or a bundle directory holding one)."""
        p = Path(path)
        if p.is_dir():
            p = p / MANIFEST_FILE
        try:
            data = orjson.loads(p.read_bytes())
        except OSError as exc:
            raise DataError(f"cannot read {p}: {exc.strerror}") from None
        except orjson.JSONDecodeError as exc:
            raise DataError(f"cannot parse {p}: {exc}") from None
        return cls.from_dict(data, str(p))
