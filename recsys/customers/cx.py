"""Customer-experience metrics: surveys (NPS, CSAT, CES) and support tickets.

Inputs are validated like events: every row ends up clean or rejected with the first failing
reason, and ``accepted + rejected == input rows`` (both carry ``source_row``).

* NPS (Reichheld 2003): % promoters (9-10) minus % detractors (0-6) on a 0-10 scale, in
  points; CI from the multinomial variance var = (p + d - (p - d)^2) / n, normal approximation.
* CSAT: % of 4-5 answers on a 1-5 scale; Wilson score interval.
* CES: mean effort on a 1-7 scale; t interval (``scipy.stats.t``).
* Tickets: mean and p90 first-response and resolution time (hours), first-contact resolution
  rate (resolved with ``contacts == 1`` among resolved tickets, Wilson interval).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from recsys import columns as C
from recsys.data.parsing import clean_ids
from recsys.data.timestamps import parse_timestamps
from recsys.errors import DataError

METRIC: Final = "metric"
SCORE: Final = "score"
SCALES: Final = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
SURVEY_COLUMNS: Final = (C.CUSTOMER_ID, C.TIMESTAMP, METRIC, SCORE)
TICKET_COLUMNS: Final = (
    "ticket_id",
    C.CUSTOMER_ID,
    "opened_at",
    "first_response_at",
    "resolved_at",
    "contacts",
)
Z95: Final = 1.959963984540054


def _require(raw: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in raw.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing}; columns found: {list(raw.columns)}")


def _split(
    raw: pd.DataFrame, fails: list[tuple[str, np.ndarray]], clean: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    reason = np.full(len(raw), None, dtype=object)
    for name, mask in fails:
        reason[(reason == None) & mask] = name  # noqa: E711 - elementwise on object array
    ok = reason == None  # noqa: E711
    clean = clean.loc[ok].reset_index(drop=True)
    clean[C.SOURCE_ROW] = np.flatnonzero(ok)
    rejects = raw.loc[~ok].reset_index(drop=True)
    rejects[C.SOURCE_ROW] = np.flatnonzero(~ok)
    rejects[C.REJECT_REASON] = reason[~ok].astype(str)
    return clean, rejects


def validate_surveys(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean survey answers and rejects (reasons, first failing wins): ``missing_customer_id``,
    ``bad_timestamp``, ``unknown_metric`` (not nps/csat/ces), ``bad_score`` (not a number),
    ``score_out_of_range`` (outside the metric's scale or not an integer).

    Returns ``(clean, rejects)``; clean has ``customer_id, timestamp, metric, score,
    source_row``. Raises :class:`DataError` when a column is missing."""
    _require(raw, SURVEY_COLUMNS, "surveys")
    cust = clean_ids(raw[C.CUSTOMER_ID])
    ts = parse_timestamps(raw[C.TIMESTAMP])
    metric = raw[METRIC].astype(str).str.strip().str.lower()
    score = pd.to_numeric(raw[SCORE], errors="coerce")
    lo = metric.map({k: v[0] for k, v in SCALES.items()})
    hi = metric.map({k: v[1] for k, v in SCALES.items()})
    with np.errstate(invalid="ignore"):
        out_of_range = ~((score >= lo) & (score <= hi) & (score == np.round(score)))
    fails = [
        ("missing_customer_id", cust.isna().to_numpy()),
        ("bad_timestamp", ts.isna().to_numpy()),
        ("unknown_metric", ~metric.isin(list(SCALES)).to_numpy()),
        ("bad_score", score.isna().to_numpy()),
        ("score_out_of_range", out_of_range.to_numpy()),
    ]
    clean = pd.DataFrame({C.CUSTOMER_ID: cust, C.TIMESTAMP: ts, METRIC: metric, SCORE: score})
    return _split(raw, fails, clean)


def validate_tickets(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean tickets and rejects: ``missing_ticket_id``, ``duplicate_ticket_id``,
    ``missing_customer_id``, ``bad_timestamp`` (opened_at unreadable, or a response/resolution
    time given but unreadable), ``response_before_open``, ``resolved_before_open``,
    ``bad_contacts`` (not an integer >= 1). Empty ``first_response_at``/``resolved_at`` mean
    not yet answered/resolved."""
    _require(raw, TICKET_COLUMNS, "tickets")
    tid = clean_ids(raw["ticket_id"])
    cust = clean_ids(raw[C.CUSTOMER_ID])
    opened = parse_timestamps(raw["opened_at"])
    times = {}
    bad_time = opened.isna().to_numpy().copy()
    for col in ("first_response_at", "resolved_at"):
        given = raw[col].notna() & (raw[col].astype(str).str.strip() != "")
        times[col] = parse_timestamps(raw[col])
        bad_time |= (given & times[col].isna()).to_numpy()
    contacts = pd.to_numeric(raw["contacts"], errors="coerce")
    fails = [
        ("missing_ticket_id", tid.isna().to_numpy()),
        ("duplicate_ticket_id", (tid.duplicated(keep="first") & tid.notna()).to_numpy()),
        ("missing_customer_id", cust.isna().to_numpy()),
        ("bad_timestamp", bad_time),
        ("response_before_open", (times["first_response_at"] < opened).to_numpy()),
        ("resolved_before_open", (times["resolved_at"] < opened).to_numpy()),
        ("bad_contacts", ~((contacts >= 1) & (contacts == np.round(contacts))).to_numpy()),
    ]
    hour = np.timedelta64(1, "h")
    clean = pd.DataFrame(
        {
            "ticket_id": tid,
            C.CUSTOMER_ID: cust,
            "opened_at": opened,
            "first_response_hours": (times["first_response_at"] - opened).to_numpy() / hour,
            "resolution_hours": (times["resolved_at"] - opened).to_numpy() / hour,
            "contacts": contacts,
        }
    )
    return _split(raw, fails, clean)


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval for k successes of n (0, 1 when n == 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + Z95**2 / n
    mid = (p + Z95**2 / (2 * n)) / den
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / den
    return float(mid - half), float(mid + half)


def nps(scores: Any) -> dict[str, Any]:
    """NPS in points (-100..100) with n and a 95% CI."""
    s = np.asarray(scores, dtype=float)
    n = len(s)
    if n == 0:
        return {"value": None, "n": 0, "ci_low": None, "ci_high": None}
    p, d = float(np.mean(s >= 9)), float(np.mean(s <= 6))
    value = p - d
    se = np.sqrt(max(p + d - value**2, 0.0) / n)
    return {
        "value": 100 * value,
        "n": n,
        "ci_low": 100 * max(value - Z95 * se, -1.0),
        "ci_high": 100 * min(value + Z95 * se, 1.0),
    }


def csat(scores: Any) -> dict[str, Any]:
    """CSAT: % of 4-5 answers, with n and a 95% Wilson CI (in %)."""
    s = np.asarray(scores, dtype=float)
    k, n = int(np.sum(s >= 4)), len(s)
    lo, hi = wilson(k, n)
    return {"value": 100 * k / n if n else None, "n": n, "ci_low": 100 * lo, "ci_high": 100 * hi}


def ces(scores: Any) -> dict[str, Any]:
    """CES: mean score (1-7), n and a 95% t interval."""
    s = np.asarray(scores, dtype=float)
    n = len(s)
    if n == 0:
        return {"value": None, "n": 0, "ci_low": None, "ci_high": None}
    mean = float(np.mean(s))
    if n < 2:
        return {"value": mean, "n": n, "ci_low": None, "ci_high": None}
    half = float(stats.t.ppf(0.975, n - 1) * np.std(s, ddof=1) / np.sqrt(n))
    return {"value": mean, "n": n, "ci_low": mean - half, "ci_high": mean + half}


SURVEY_METRICS: Final[dict[str, Callable[[Any], dict[str, Any]]]] = {
    "nps": nps,
    "csat": csat,
    "ces": ces,
}


def survey_table(clean: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """One row per (metric[, group]): value, n, ci_low, ci_high. ``by`` aligns with ``clean``
    (e.g. the month or the customer's segment); None gives the overall figures."""
    rows = []
    keys = by if by is not None else pd.Series("all", index=clean.index)
    for (metric, group), g in clean.groupby([clean[METRIC], keys.rename("group")], sort=True):
        rows.append(
            {"metric": metric, "group": group, **SURVEY_METRICS[str(metric)](g[SCORE].to_numpy())}
        )
    return pd.DataFrame(rows, columns=["metric", "group", "value", "n", "ci_low", "ci_high"])


def ticket_table(clean: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """Per group: tickets, mean/p90 first-response hours, mean/p90 resolution hours, the
    first-contact-resolution rate (%) with its Wilson CI and the number resolved."""
    rows = []
    keys = by if by is not None else pd.Series("all", index=clean.index)
    for group, g in clean.groupby(keys.rename("group"), sort=True):
        fr = g["first_response_hours"].dropna()
        res = g["resolution_hours"].dropna()
        resolved = g[g["resolution_hours"].notna()]
        k = int((resolved["contacts"] == 1).sum())
        lo, hi = wilson(k, len(resolved))
        rows.append(
            {
                "group": group,
                "tickets": len(g),
                "first_response_mean_h": float(fr.mean()) if len(fr) else None,
                "first_response_p90_h": float(fr.quantile(0.9)) if len(fr) else None,
                "resolution_mean_h": float(res.mean()) if len(res) else None,
                "resolution_p90_h": float(res.quantile(0.9)) if len(res) else None,
                "resolved": len(resolved),
                "fcr_pct": 100 * k / len(resolved) if len(resolved) else None,
                "fcr_ci_low": 100 * lo,
                "fcr_ci_high": 100 * hi,
            }
        )
    return pd.DataFrame(rows)
