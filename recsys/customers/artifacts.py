"""Bundle tables for the customer side: what ``recsys train`` writes and publish stores.

From a segments frame (one row per customer, the columns of
:data:`recsys.customers.segments.SEGMENT_COLUMNS`):

- ``segments``: every column, plus ``segment``, the slug of the customer's RFM segment
  (``rfm:champions``) that the recommendation fallback's segment rung uses;
- ``segment_members``: ``(segment, sort, rank, customer_id)``: every RFM segment's and
  cluster's customers, once by predicted CLV and once by churn risk (highest first, ties
  by customer id), for the marketing lists;
- the manifest's ``segments`` entry: the per-segment summaries (:func:`summaries`).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.customers.segments import slug, summaries
from recsys.data.returns import held_in

#: Sort orders of the member lists: name -> profile column (highest first).
SORTS: Final = {"clv": "predicted_clv", "churn_risk": "churn_risk"}
_GROUPS: Final = (("rfm", "rfm_segment"), ("cluster", "cluster"))


def segment_tables(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``{"segments": ..., "segment_members": ...}`` for a segments frame (see module docs).

    Raises KeyError naming a missing column.
    """
    segments = frame.assign(**{C.SEGMENT: [slug("rfm", v) for v in frame["rfm_segment"].tolist()]})
    parts = []
    for kind, column in _GROUPS:
        slugs = frame[column].map(lambda v, kind=kind: slug(kind, v))
        for sort, value_col in SORTS.items():
            ordered = frame.assign(_slug=slugs).sort_values(
                ["_slug", value_col, C.CUSTOMER_ID], ascending=[True, False, True]
            )
            rank = ordered.groupby("_slug", sort=False).cumcount() + 1
            parts.append(
                pd.DataFrame(
                    {
                        C.SEGMENT: ordered["_slug"].to_numpy(),
                        "sort": sort,
                        C.RANK: rank.to_numpy(),
                        C.CUSTOMER_ID: ordered[C.CUSTOMER_ID].astype(str).to_numpy(),
                    }
                )
            )
    members = pd.concat(parts, ignore_index=True)
    return {"segments": segments, "segment_members": members}


def segment_manifest(frame: pd.DataFrame, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest's ``segments`` entry: ``summary`` (one object per segment: slug, kind,
    name, customers, revenue share, mean CLV, churn mix) and the fitted ``params``."""
    return {"summary": summaries(frame), "params": params or {}}


def _kept(events: pd.DataFrame) -> pd.Series:
    """Per event row: whether its (customer, item) is still held after returns."""
    codes, _ = pd.factorize(
        events[C.CUSTOMER_ID].astype(str) + "\x00" + events[C.ITEM_ID].astype(str)
    )
    pair = codes.astype(np.int64)
    h = held_in(events, pair)
    bought = np.zeros(int(pair.max()) + 1 if len(pair) else 0, dtype=bool)
    bought[h.pairs] = h.bought
    return pd.Series(bought[pair], index=events.index)


def segment_popular(
    events: pd.DataFrame, frame: pd.DataFrame, n: int, *, half_life_days: float = 30.0
) -> pd.DataFrame:
    """Popular lists per RFM segment and per cluster, for the fallback's segment rung.

    An item's score within a segment is the recency-weighted count of its purchases by the
    segment's customers (weight ``2 ** (-age / half_life_days)``, age from the last event);
    returns the table ``segment, rank, item_id, score`` (top ``n`` per segment, ties by item
    id). Purchases of an item the customer returned whole (:mod:`recsys.data.returns`) do not
    count. Segments whose customers bought nothing get no list.
    """
    purchases = events
    if C.EVENT_TYPE in events.columns:
        purchases = events[events[C.EVENT_TYPE].astype(str) == C.PURCHASE]
        purchases = purchases[_kept(events).reindex(purchases.index, fill_value=False)]
    if purchases.empty:
        return pd.DataFrame(columns=[C.SEGMENT, C.RANK, C.ITEM_ID, C.SCORE])
    ts = pd.to_datetime(purchases[C.TIMESTAMP])
    age_days = (ts.max() - ts).dt.total_seconds().to_numpy() / 86400.0
    weighted = purchases[[C.CUSTOMER_ID, C.ITEM_ID]].assign(_w=2.0 ** (-age_days / half_life_days))
    parts = []
    for kind, column in _GROUPS:
        slugs = frame.set_index(C.CUSTOMER_ID)[column].map(lambda v, kind=kind: slug(kind, v))
        seg = weighted.assign(**{C.SEGMENT: weighted[C.CUSTOMER_ID].map(slugs)}).dropna(
            subset=[C.SEGMENT]
        )
        scores = seg.groupby([C.SEGMENT, C.ITEM_ID], sort=False)["_w"].sum().reset_index()
        scores = scores.sort_values([C.SEGMENT, "_w", C.ITEM_ID], ascending=[True, False, True])
        scores[C.RANK] = scores.groupby(C.SEGMENT).cumcount() + 1
        top = scores[scores[C.RANK] <= n]
        parts.append(
            pd.DataFrame(
                {
                    C.SEGMENT: top[C.SEGMENT].to_numpy(),
                    C.RANK: top[C.RANK].to_numpy().astype("int32"),
                    C.ITEM_ID: top[C.ITEM_ID].astype(str).to_numpy(),
                    C.SCORE: top["_w"].to_numpy().astype("float32"),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
