"""``recsys report online``: what the answers did, from exported events (attribution).

Every answer carries a ``recommendation_id`` that names what the answer was made of (model
version, rung, channel, experiment, arm: :mod:`recsys.events.recommendation_id`); the
impression event reports it shown (an id without attribution falls back to what the
impression says: ``channel``, ``rung``, ``model_version``, ``experiment``, ``arm``), and later
events that echo the id (click, add_to_cart, purchase) are attributed to it, at the position
of their item in the impression (:func:`attributed_outcomes`). Per channel x rung x model
version x experiment x arm this gives impressions (answers shown), CTR, add-to-cart
rate and conversion (shares of impressions followed by at least one such event), with Wilson
score intervals (scipy ``binomtest(...).proportion_ci(method="wilson")``; Wilson 1927), and
revenue per impression (attributed purchase value / impressions) with a percentile bootstrap
interval (``scipy.stats.bootstrap``; Efron & Tibshirani 1993).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats

from recsys import columns as C
from recsys.data.io import read_table
from recsys.errors import ConfigError, DataError
from recsys.events.ingest import EVENT_ID, LINE
from recsys.events.recommendation_id import parse_recommendation_id
from training.report_page import Report, note
from training.report_page import table as _table

GROUPS: Final = ("channel", "rung", "model_version", "experiment", "arm")
#: What a recommendation_id names (and an impression may report).
ATTRIBUTION: Final = ("model_version", "rung", "channel", "experiment", "arm")
OUTCOMES: Final = ("click", "add_to_cart", "purchase")
RATES: Final = (("ctr", "click"), ("add_to_cart_rate", "add_to_cart"), ("conversion", "purchase"))
UNKNOWN: Final = "(none)"
CONFIDENCE: Final = 0.95


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion (NaNs when ``n`` is 0)."""
    if n == 0:
        return (float("nan"), float("nan"))
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def bootstrap_mean(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean (2,000 resamples, seeded); a constant sample
    gives its value twice."""
    if len(values) == 0:
        return (float("nan"), float("nan"))
    if np.all(values == values[0]):
        return (float(values[0]), float(values[0]))
    res = stats.bootstrap(
        (values,),
        np.mean,
        confidence_level=confidence,
        n_resamples=2000,
        method="percentile",
        random_state=np.random.default_rng(0),
    )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def load_exported(path: str | Path, since: pd.Timestamp | None = None) -> pd.DataFrame:
    """The exported events (a folder of partitions or one file), from ``since`` on."""
    frame = read_table(path)
    missing = [
        c for c in (EVENT_ID, C.EVENT_TYPE, "recommendation_id", C.TIMESTAMP) if c not in frame
    ]
    if missing:
        raise DataError(f"{path}: not an events export (missing column(s) {missing})")
    if since is not None:
        frame = frame[pd.to_datetime(frame[C.TIMESTAMP]) >= since]
    return frame.reset_index(drop=True)


def answers_shown(events: pd.DataFrame) -> pd.DataFrame:
    """One row per answer reported shown (an impression with a ``recommendation_id``),
    indexed by the id: its :data:`ATTRIBUTION` (from the id when it carries them, else from
    the impression's own fields; None where unknown), ``customer_id``, ``session_id`` and the
    first impression's ``timestamp``."""
    shown = events[(events[C.EVENT_TYPE] == "impression") & events["recommendation_id"].notna()]
    first = shown.drop_duplicates("recommendation_id").set_index("recommendation_id")
    out = pd.DataFrame(index=first.index)
    for column in (C.CUSTOMER_ID, "session_id", C.TIMESTAMP):
        out[column] = first[column] if column in first else None
    parsed = [parse_recommendation_id(rid) for rid in first.index]
    carried = np.array([p is not None for p in parsed], dtype=bool)
    for name in ATTRIBUTION:
        from_id = pd.Series([getattr(p, name, None) for p in parsed], index=first.index)
        told = first[name] if name in first else pd.Series(None, index=first.index)
        out[name] = from_id.where(carried, told.astype(object)).astype(object)
        out[name] = out[name].where(out[name].notna(), None)
    return out


def attributed_outcomes(events: pd.DataFrame) -> pd.DataFrame:
    """The outcome events (click, add_to_cart, purchase) that echo an answer reported shown,
    with that answer's :data:`ATTRIBUTION` and the ``position`` (1-based) of the event's item
    in the impression (the event's own ``position`` when it gives one; NaN when the item was
    not in the impression)."""
    answers = answers_shown(events)
    outcomes = events[
        events[C.EVENT_TYPE].isin(OUTCOMES) & events["recommendation_id"].isin(answers.index)
    ]
    out = outcomes.drop(columns=[c for c in ATTRIBUTION if c in outcomes]).join(
        answers[list(ATTRIBUTION)], on="recommendation_id"
    )
    shown = events[(events[C.EVENT_TYPE] == "impression") & events[C.ITEM_ID].notna()]
    place = shown.drop_duplicates(["recommendation_id", C.ITEM_ID]).set_index(
        ["recommendation_id", C.ITEM_ID]
    )[LINE]
    where = pd.MultiIndex.from_frame(out[["recommendation_id", C.ITEM_ID]])
    found = place.reindex(where).to_numpy(dtype=float) + 1
    own = outcomes["position"] if "position" in outcomes else pd.Series(np.nan, outcomes.index)
    out["position"] = own.astype(float).fillna(pd.Series(found, index=out.index))
    return out


def online_report(events: pd.DataFrame) -> pd.DataFrame:
    """One row per channel x rung x model_version x experiment x arm with impressions,
    attributed clicks, carts, purchases and revenue, rates with ``*_low``/``*_high`` 95%
    intervals, and ``revenue_per_impression`` with its interval. Outcomes whose
    ``recommendation_id`` was never reported shown are not attributed (counted in
    ``unattributed`` of :func:`summary`).
    """
    answers = answers_shown(events)
    keys = answers[list(GROUPS)].astype(object).where(answers[list(GROUPS)].notna(), UNKNOWN)
    per = pd.DataFrame(index=answers.index).join(keys)
    outcomes = events[events["recommendation_id"].isin(answers.index)]
    for _, kind in RATES:
        hit = outcomes.loc[outcomes[C.EVENT_TYPE] == kind, "recommendation_id"].unique()
        per[kind] = per.index.isin(hit)
    bought = outcomes[outcomes[C.EVENT_TYPE] == "purchase"]
    revenue = bought.groupby("recommendation_id")["value"].sum(min_count=1)
    per["revenue"] = revenue.reindex(per.index).fillna(0.0).to_numpy(dtype=float)
    rows = []
    for group, part in per.groupby(list(GROUPS), sort=True, dropna=False):
        n = len(part)
        row: dict[str, object] = dict(zip(GROUPS, group, strict=True)) | {"impressions": n}
        for rate, kind in RATES:
            k = int(part[kind].sum())
            low, high = wilson(k, n)
            row |= {f"{kind}s": k, rate: k / n, f"{rate}_low": low, f"{rate}_high": high}
        values = part["revenue"].to_numpy(dtype=float)
        low, high = bootstrap_mean(values)
        row |= {
            "revenue": float(values.sum()),
            "revenue_per_impression": float(values.mean()),
            "revenue_per_impression_low": low,
            "revenue_per_impression_high": high,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def summary(events: pd.DataFrame) -> dict[str, int]:
    """Counts behind the report: events, impressions, and outcome events with and without a
    reported impression."""
    shown = set(events.loc[events[C.EVENT_TYPE] == "impression", "recommendation_id"].dropna())
    outcome = events[events[C.EVENT_TYPE].isin([kind for _, kind in RATES])]
    echo = outcome.drop_duplicates(EVENT_ID)
    attributed = echo["recommendation_id"].isin(shown)
    return {
        "events": int(events[EVENT_ID].nunique()),
        "impressions": len(shown),
        "attributed": int(attributed.sum()),
        "unattributed": int((~attributed).sum()),
    }


def write_report(table: pd.DataFrame, out: str | Path) -> Path:
    """The report as CSV (``.csv``), Parquet (``.parquet``) or JSON records (``.json``);
    ConfigError for another suffix (nothing is written)."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".json"}:
        raise ConfigError(f"--out {out}: write .csv, .parquet or .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        table.to_csv(path, index=False)
    elif suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_json(path, orient="records", indent=2)
    return path


def online_section(report: Report, path: str | Path, since: pd.Timestamp | None = None) -> None:
    """The CX report's "Online" section: :func:`online_report` of the exported events at
    ``path`` (from ``since`` on) as a table, with the counts of :func:`summary` above it.

    Raises :class:`DataError` when ``path`` is not an events export.
    """
    frame = load_exported(path, since)
    counts = summary(frame)
    table = online_report(frame)
    lead = note(
        f"{counts['events']:,} events exported, {counts['impressions']:,} answers reported shown "
        f"(impressions), {counts['attributed']:,} outcomes attributed to them through their "
        f"recommendation_id ({counts['unattributed']:,} not). Rates are shares of impressions "
        "followed by at least one such event, with Wilson 95% intervals; revenue per "
        "impression with a bootstrap interval. Per experiment arm: recsys experiments report."
    )
    body = _table(table) if len(table) else note("no impressions in these events")
    report.section("online", "Online: what the answers did", lead, body)
