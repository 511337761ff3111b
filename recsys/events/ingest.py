"""Events as rows of the ingest format, so exported events train (``recsys train --events``).

One row per (event, item): ``customer_id, item_id, event_type, timestamp, quantity`` as
:func:`recsys.data.events.validate_events` reads them, plus the event's own columns
(``event_id``, ``line``, ``session_id``, ``offer_id``, ``recommendation_id``, ``channel``,
``value``, ``model_version``, ``rung``, ``experiment``, ``arm``, ``position``,
``received_at``, ``stream_id``). An event without items (an offer shown) is one row with no
``item_id``; ``value`` is split evenly over an event's rows so sums stay right. Timestamps
are naive UTC (the ingest convention).

Training counts every type of the vocabulary (``MatrixConfig.event_weights``: impressions and
offer events weigh 0); rows without a customer (session-only events) or without an item are
rejected there with their reason (``missing_customer_id``, ``missing_item_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import pandas as pd
import pyarrow as pa

from recsys import columns as C

EVENT_ID: Final = "event_id"
LINE: Final = "line"
STREAM_ID: Final = "stream_id"
#: The columns of an exported partition, in order, with their Arrow types.
SCHEMA: Final = pa.schema(
    [
        (EVENT_ID, pa.string()),
        (LINE, pa.int32()),
        (C.EVENT_TYPE, pa.string()),
        (C.CUSTOMER_ID, pa.string()),
        ("session_id", pa.string()),
        (C.ITEM_ID, pa.string()),
        (C.QUANTITY, pa.float64()),
        ("value", pa.float64()),
        ("offer_id", pa.string()),
        ("recommendation_id", pa.string()),
        ("channel", pa.string()),
        ("model_version", pa.string()),
        ("rung", pa.string()),
        ("experiment", pa.string()),
        ("arm", pa.string()),
        ("position", pa.int32()),
        (C.TIMESTAMP, pa.timestamp("us")),
        ("received_at", pa.timestamp("us")),
        (STREAM_ID, pa.string()),
    ]
)
_COPIED: Final = (
    C.EVENT_TYPE,
    C.CUSTOMER_ID,
    "session_id",
    "offer_id",
    "recommendation_id",
    "channel",
    "model_version",
    "rung",
    "experiment",
    "arm",
    "position",
)


def _utc_naive(text: str | None) -> pd.Timestamp | None:
    if text is None:
        return None
    return pd.Timestamp(text).tz_convert("UTC").tz_localize(None)


def ingest_rows(record: Mapping[str, Any], stream_id: str = "") -> list[dict[str, Any]]:
    """The rows of one stored event record (``Event.record``), one per item."""
    items = record.get("item_ids") or ([record["item_id"]] if record.get("item_id") else [None])
    value = record.get("value")
    share = None if value is None else float(value) / len(items)
    base = {name: record.get(name) for name in _COPIED}
    base |= {
        EVENT_ID: record["event_id"],
        # units of each item (a partial return nets by quantity); 1 when not given
        C.QUANTITY: float(record.get("quantity") or 1.0),
        "value": share,
        C.TIMESTAMP: _utc_naive(record.get("timestamp")),
        "received_at": _utc_naive(record.get("received_at")),
        STREAM_ID: stream_id,
    }
    return [{**base, LINE: line, C.ITEM_ID: item} for line, item in enumerate(items)]


def ingest_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (of :func:`ingest_rows`) as a frame with exactly the columns of :data:`SCHEMA`."""
    table = pa.Table.from_pylist(list(rows), schema=SCHEMA)
    return table.to_pandas()


def to_table(frame: pd.DataFrame) -> pa.Table:
    """An ingest frame as an Arrow table of :data:`SCHEMA` (what a partition file holds)."""
    return pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
