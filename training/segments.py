"""The ``recsys segments`` job: events -> one row per customer + fitted parameters.

Reads an events or orders export through the shared ingest (order-level exports without item
ids and with an ``amount`` column are accepted, see :mod:`recsys.customers.ingest`), builds
the customer side with :func:`recsys.customers.segments.build_segments` and writes
``OUT/segments.parquet`` (columns :data:`~recsys.customers.segments.SEGMENT_COLUMNS`) and
``OUT/segments.json`` (parameters, cut points, profiles, churn model and metrics, holdout
check, cohort tables, per-segment figures). Rejected input rows go to ``OUT/rejects.csv``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import pandas as pd

from recsys.config import Config
from recsys.customers.ingest import load_order_events
from recsys.customers.segments import SEGMENT_COLUMNS, SegmentsResult, build_segments
from recsys.data.catalogs import load_items
from recsys.errors import DataError
from training.dates import read_date
from training.progress import Reporter

PARQUET_FILE: Final = "segments.parquet"
JSON_FILE: Final = "segments.json"
REJECTS_FILE: Final = "rejects.csv"


@dataclass(frozen=True)
class SegmentsJob:
    result: SegmentsResult
    outputs: dict[str, Path]


def parse_as_of(value: str | None) -> pd.Timestamp | None:
    """``--as-of``: a date read by the rule of every date a person gives
    (:func:`recsys.data.timestamps.parse_date`: ``01/02/2024`` is refused as ambiguous,
    ``13/02/2024`` is day-first), naive UTC; None for None. ``ConfigError`` otherwise."""
    return read_date(value, "--as-of")


def read_previous(directory: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The segments frame and parameters written by an earlier run (for migration/ids)."""
    d = Path(directory)
    try:
        frame = pd.read_parquet(d / PARQUET_FILE, columns=["customer_id", "rfm_segment"])
        params = orjson.loads((d / JSON_FILE).read_bytes())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the previous segments in {d}: {exc}") from None
    return frame, params


def write_outputs(result: SegmentsResult, out_dir: str | Path) -> dict[str, Path]:
    """Write segments.parquet and segments.json atomically (temp file + rename)."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {"segments": out / PARQUET_FILE, "params": out / JSON_FILE}
        tmp = out / f".{PARQUET_FILE}.tmp"
        result.frame.loc[:, list(SEGMENT_COLUMNS)].to_parquet(tmp, index=False)
        os.replace(tmp, paths["segments"])
        tmp = out / f".{JSON_FILE}.tmp"
        tmp.write_bytes(
            orjson.dumps(result.params, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
        )
        os.replace(tmp, paths["params"])
    except OSError as exc:
        raise DataError(f"cannot write segments to {out}: {exc.strerror or exc}") from None
    return paths


def run_segments(
    events_path: str | Path,
    *,
    out_dir: str | Path,
    config: Config | None = None,
    as_of: str | pd.Timestamp | None = None,
    items_path: str | Path | None = None,
    previous_dir: str | Path | None = None,
    reporter: Reporter | None = None,
) -> SegmentsJob:
    """Validate the events, build every customer's profile and write the two artifacts.

    ``config.customers`` holds the settings (horizon, churn window, discount...);
    ``previous_dir`` a directory with an earlier run's files (RFM migration matrix, stable
    cluster ids). Raises :class:`DataError` / :class:`ConfigError` for bad input.
    """
    cfg = config or Config()
    rep = reporter or Reporter(quiet=True)
    out = Path(out_dir)
    at = as_of if isinstance(as_of, pd.Timestamp) else parse_as_of(as_of)
    with rep.step(f"Validating {events_path}"):
        loaded = load_order_events(events_path, cfg.ingest, rejects_path=out / REJECTS_FILE)
    rep.info(f"  {loaded.report.n_accepted:,} clean rows, {loaded.report.n_rejected:,} rejected")
    items = load_items(items_path, cfg.ingest) if items_path is not None else None
    previous = read_previous(previous_dir) if previous_dir is not None else None
    with rep.step("Summaries, RFM, clusters, BG/NBD, Gamma-Gamma, churn"):
        result = build_segments(
            loaded.events, cfg.customers, as_of=at, items=items, previous=previous
        )
    result.params["rejects"] = loaded.report.to_dict()
    outputs = write_outputs(result, out)
    if loaded.report.n_rejected:
        outputs["rejects"] = out / REJECTS_FILE
    else:
        (out / REJECTS_FILE).unlink(missing_ok=True)
    return SegmentsJob(result, outputs)
