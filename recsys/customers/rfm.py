"""RFM scores (quintiles with rank-based tie-breaking), named segments and migration.

Scores are 1-5 (5 best: most recent, most orders, most spend). Most customers of a shop have
one order, so plain quantile cuts (``pandas.qcut``) on frequency collapse (duplicate edges).
Here customers are ranked on the primary value with deterministic tie-breakers (frequency ties
by monetary total then recency; monetary ties by frequency then recency; recency ties by
frequency then monetary) and the ranks are cut into five equal-sized groups, as the R ``rfm``
package's ``rfm_table_order`` does with ranks. Segment names come from the rule table in
:mod:`recsys.customers.config` (first matching rule wins; ``Others`` when none does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from recsys.customers.config import OTHERS, RFM_SEGMENTS, RfmSegmentRule

N_SCORES = 5
NEW = "(new)"
GONE = "(gone)"


def rank_scores(keys: Sequence[np.ndarray], n_scores: int = N_SCORES) -> np.ndarray:
    """Scores 1..n_scores from a lexicographic ranking (larger keys rank higher).

    ``keys[0]`` is the primary key, later ones break its ties; the remaining ties keep input
    order. Each score holds ``n / n_scores`` customers (sizes differ by at most one).
    Returns an int8 array shaped like the keys.
    """
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    order = np.lexsort([np.asarray(k, dtype=np.float64) for k in reversed(keys)])
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    return (position * n_scores // n + 1).astype(np.int8)


def rfm_scores(summary: pd.DataFrame) -> pd.DataFrame:
    """``rfm_r``, ``rfm_f``, ``rfm_m`` (int 1-5) for a :func:`~recsys.customers.summary.summarize`
    frame (uses ``recency_days``, ``orders``, ``monetary_total``); same index."""
    rec = -summary["recency_days"].to_numpy(np.float64)  # recent is better
    freq = summary["orders"].to_numpy(np.float64)
    mon = summary["monetary_total"].to_numpy(np.float64)
    return pd.DataFrame(
        {
            "rfm_r": rank_scores([rec, freq, mon]),
            "rfm_f": rank_scores([freq, mon, rec]),
            "rfm_m": rank_scores([mon, freq, rec]),
        },
        index=summary.index,
    )


def cut_points(summary: pd.DataFrame, scores: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """For each dimension and score, the range of the raw value it covers (for the JSON)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for dim, col in (("r", "recency_days"), ("f", "orders"), ("m", "monetary_total")):
        frame = pd.DataFrame({"v": summary[col].to_numpy(), "s": scores[f"rfm_{dim}"].to_numpy()})
        g = frame.groupby("s")["v"].agg(["min", "max", "size"])
        out[dim] = [
            {
                "score": int(str(s)),
                "min": float(row["min"]),
                "max": float(row["max"]),
                "customers": int(row["size"]),
            }
            for s, row in g.iterrows()
        ]
    return out


def assign_segments(
    scores: pd.DataFrame, rules: Sequence[RfmSegmentRule] = RFM_SEGMENTS
) -> pd.Series:
    """Segment name per customer: the first rule whose three ranges contain its scores.

    ``scores`` has ``rfm_r, rfm_f, rfm_m``; returns a string Series on its index, ``Others``
    where no rule matches.
    """
    r, f, m = (scores[c].to_numpy() for c in ("rfm_r", "rfm_f", "rfm_m"))
    names = np.full(len(scores), OTHERS, dtype=object)
    free = np.ones(len(scores), dtype=bool)
    for rule in rules:
        hit = (
            free
            & (r >= rule.r[0])
            & (r <= rule.r[1])
            & (f >= rule.f[0])
            & (f <= rule.f[1])
            & (m >= rule.m[0])
            & (m <= rule.m[1])
        )
        names[hit] = rule.name
        free &= ~hit
    return pd.Series(names, index=scores.index, name="rfm_segment", dtype="str")


def migration_matrix(previous: pd.Series, current: pd.Series) -> pd.DataFrame:
    """Counts of customers moving from each previous segment (rows) to each current one.

    Both Series map customer_id -> segment. Customers only in ``current`` come from the row
    ``(new)``; customers only in ``previous`` go to the column ``(gone)``. Every customer
    appears once, so the total equals the size of the union of both indexes.
    """
    both = pd.concat([previous.rename("previous"), current.rename("current")], axis=1, join="outer")
    both["previous"] = both["previous"].astype(object).where(both["previous"].notna(), NEW)
    both["current"] = both["current"].astype(object).where(both["current"].notna(), GONE)
    table = pd.crosstab(both["previous"], both["current"])
    table.index.name, table.columns.name = "previous", "current"
    return table


def segment_table(frame: pd.DataFrame, column: str = "rfm_segment") -> pd.DataFrame:
    """Size and revenue per segment: ``customers, revenue, revenue_share, mean_clv`` (when
    ``predicted_clv`` is present), sorted by revenue."""
    g = frame.groupby(column, observed=True)
    out = pd.DataFrame({"customers": g.size(), "revenue": g["monetary_total"].sum()})
    total = float(out["revenue"].sum())
    out["revenue_share"] = out["revenue"] / total if total > 0 else 0.0
    if "predicted_clv" in frame.columns:
        out["mean_clv"] = g["predicted_clv"].mean()
    return out.sort_values("revenue", ascending=False)
