"""Shared rows for the ingest tests: text rows as read from a CSV."""

import pandas as pd

from recsys.config import IngestConfig

VOCAB = ("view", "add_to_cart", "purchase", "return")
LOOSE = IngestConfig(max_reject_rate=1.0, min_events=1)

GOOD = {
    "customer_id": "c1",
    "item_id": "i1",
    "event_type": "purchase",
    "timestamp": "2024-01-01 10:00:00",
    "quantity": "1",
    "price": "2.5",
    "order_id": "o1",
}


def raw_rows(*rows: dict) -> pd.DataFrame:
    """Text rows (as read from a CSV); each row is GOOD with the given overrides."""
    return pd.DataFrame([{**GOOD, **r} for r in rows], dtype="str")
