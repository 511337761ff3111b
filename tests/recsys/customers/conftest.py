"""Hand-made order histories for the customer-side tests."""

from __future__ import annotations

import pandas as pd
import pytest


def make_events(rows: list[tuple]) -> pd.DataFrame:
    """Events from (customer_id, timestamp, order_id, event_type, quantity, price) tuples."""
    frame = pd.DataFrame(
        rows, columns=["customer_id", "timestamp", "order_id", "event_type", "quantity", "price"]
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame["item_id"] = "i1"
    return frame


@pytest.fixture
def tiny_events() -> pd.DataFrame:
    # A: 3 orders (one with two lines), one return; B: 1 order; C: orders after as_of only
    # besides one before; views are ignored.
    return make_events(
        [
            ("A", "2024-01-01 10:00", "o1", "purchase", 2, 10.0),
            ("A", "2024-01-01 10:05", "o1", "purchase", 1, 5.0),
            ("A", "2024-01-08 09:00", "o2", "purchase", 1, 30.0),
            ("A", "2024-01-09 09:00", "r1", "return", 1, 5.0),
            ("A", "2024-01-15 12:00", "o3", "purchase", 1, 40.0),
            ("A", "2024-01-20 12:00", None, "view", 1, 40.0),
            ("B", "2024-01-10 08:00", "o4", "purchase", 3, 10.0),
            ("C", "2024-01-05 08:00", "o5", "purchase", 1, 100.0),
            ("C", "2024-02-05 08:00", "o6", "purchase", 1, 100.0),
        ]
    )
