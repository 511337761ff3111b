"""Planted survey answers and support tickets for a shop's customers (tests, demos, report).

Planted effects, known exactly so tests can check they are recovered:

* NPS improves linearly over the period: P(promoter) from 0.35 to 0.60, P(detractor) from
  0.30 to 0.15 (expected NPS +5 at the start, +45 at the end, +25 overall);
* CSAT: P(4 or 5) = 0.80; CES: mean 3.0 on 1-7 (scores 1-5 with fixed probabilities);
* tickets: first response lognormal with mean 4 h, resolution = first response + exponential
  (mean 20 h), 10% still open, first-contact resolution 70% of resolved tickets;
* a few bad rows of every reject reason, counted in :attr:`CxData.bad`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

CES_LEVELS = np.array([1, 2, 3, 4, 5])
CES_PROBS = np.array([0.1, 0.25, 0.3, 0.25, 0.1])  # mean 3.0
PLANTED = {
    "nps": 25.0,
    "nps_start": 5.0,
    "nps_end": 45.0,
    "csat": 80.0,
    "ces": 3.0,
    "fcr": 70.0,
    "first_response_mean_h": 4.0,
    "resolution_extra_mean_h": 20.0,
}


@dataclass
class CxData:
    surveys: pd.DataFrame  # customer_id, timestamp, metric, score (text, as a file would be)
    tickets: pd.DataFrame  # ticket_id, customer_id, opened_at, first_response_at, ...
    bad: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> reason -> rows

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"surveys": out / "surveys.csv", "tickets": out / "tickets.csv"}
        self.surveys.to_csv(paths["surveys"], index=False)
        self.tickets.to_csv(paths["tickets"], index=False)
        return paths


def _fmt(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(pd.Series(ts).dt.strftime("%Y-%m-%d %H:%M:%S").fillna(""), dtype=object)


def generate_cx(
    customer_ids: list[str] | np.ndarray,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    surveys: int = 6000,
    tickets: int = 2000,
    seed: int = 0,
) -> CxData:
    """Surveys and tickets from random customers at uniform times in ``[start, end)``."""
    rng = np.random.default_rng(seed)
    ids = np.asarray(customer_ids, dtype=object)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    span = (t1 - t0).total_seconds()

    frac = np.sort(rng.random(surveys))
    ts = t0 + pd.to_timedelta(frac * span, unit="s")
    metric = rng.choice(["nps", "csat", "ces"], size=surveys, p=[0.5, 0.3, 0.2])
    u = rng.random(surveys)
    p_prom, p_det = 0.35 + 0.25 * frac, 0.30 - 0.15 * frac
    nps_score = np.where(
        u < p_det,
        rng.integers(0, 7, surveys),
        np.where(u < p_det + p_prom, rng.integers(9, 11, surveys), rng.integers(7, 9, surveys)),
    )
    csat_score = np.where(
        rng.random(surveys) < 0.8, rng.integers(4, 6, surveys), rng.integers(1, 4, surveys)
    )
    ces_score = rng.choice(CES_LEVELS, size=surveys, p=CES_PROBS)
    score = np.select([metric == "nps", metric == "csat"], [nps_score, csat_score], ces_score)
    sv = pd.DataFrame(
        {
            "customer_id": rng.choice(ids, surveys),
            "timestamp": _fmt(ts),
            "metric": metric,
            "score": score.astype(str),
        }
    )
    bad_s = {
        "missing_customer_id": 3,
        "bad_timestamp": 4,
        "unknown_metric": 2,
        "bad_score": 3,
        "score_out_of_range": 5,
    }
    bad_rows = []
    good = sv.iloc[0]
    for reason, n in bad_s.items():
        for _ in range(n):
            row = dict(good)
            if reason == "missing_customer_id":
                row["customer_id"] = ""
            elif reason == "bad_timestamp":
                row["timestamp"] = "31/31/2024"
            elif reason == "unknown_metric":
                row["metric"] = "ces2"
            elif reason == "bad_score":
                row["score"] = "n/a"
            else:
                row["metric"], row["score"] = "nps", "11"
            bad_rows.append(row)
    sv = pd.concat([sv, pd.DataFrame(bad_rows)], ignore_index=True)

    opened = t0 + pd.to_timedelta(np.sort(rng.random(tickets)) * span, unit="s")
    sigma = 0.8
    first = rng.lognormal(np.log(4.0) - sigma**2 / 2, sigma, tickets)
    resolved = first + rng.exponential(20.0, tickets)
    is_open = rng.random(tickets) < 0.10
    contacts = np.where(rng.random(tickets) < 0.7, 1, rng.integers(2, 5, tickets))
    hours = pd.to_timedelta(1, unit="h")
    tk = pd.DataFrame(
        {
            "ticket_id": [f"T{i:06d}" for i in range(tickets)],
            "customer_id": rng.choice(ids, tickets),
            "opened_at": _fmt(opened),
            "first_response_at": _fmt(opened + first * hours),
            "resolved_at": np.where(is_open, "", _fmt(opened + resolved * hours)),
            "contacts": contacts.astype(str),
        }
    )
    bad_t = {"resolved_before_open": 2, "bad_contacts": 3, "duplicate_ticket_id": 2}
    extra = []
    for reason, n in bad_t.items():
        for i in range(n):
            row = dict(tk.iloc[i])
            if reason == "resolved_before_open":
                row["ticket_id"], row["resolved_at"] = f"B{i}", "2000-01-01 00:00:00"
            elif reason == "bad_contacts":
                row["ticket_id"], row["contacts"] = f"C{i}", "0"
            extra.append(row)  # duplicate_ticket_id: an exact copy of an earlier ticket
    tk = pd.concat([tk, pd.DataFrame(extra)], ignore_index=True)
    return CxData(sv, tk, {"surveys": bad_s, "tickets": bad_t})
