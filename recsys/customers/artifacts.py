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

import pandas as pd

from recsys import columns as C
from recsys.customers.segments import slug, summaries

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
