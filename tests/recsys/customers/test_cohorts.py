from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.customers.cohorts import cohort_record, cohort_retention, rates_over_time
from recsys.customers.summary import order_table
from tests.recsys.customers.conftest import make_events


def _orders() -> pd.DataFrame:
    return order_table(
        make_events(
            [
                ("A", "2024-01-03", "o1", "purchase", 1, 10.0),
                ("A", "2024-02-03", "o2", "purchase", 1, 10.0),
                ("A", "2024-03-03", "o3", "purchase", 1, 10.0),
                ("B", "2024-01-20", "o4", "purchase", 1, 10.0),
                ("B", "2024-03-20", "o5", "purchase", 1, 10.0),
                ("C", "2024-02-10", "o6", "purchase", 1, 10.0),
                ("C", "2024-05-10", "o7", "purchase", 1, 10.0),  # after as_of: unseen
            ]
        )
    )


def test_retention_table() -> None:
    t = cohort_retention(_orders(), pd.Timestamp("2024-04-01"), max_months=3)
    assert t.index.tolist() == ["2024-01", "2024-02"]
    assert t["customers"].tolist() == [2, 1]
    assert t.loc["2024-01", [0, 1, 2]].tolist() == [1.0, 0.5, 1.0]
    assert np.isnan(t.loc["2024-01", 3])
    assert t.loc["2024-02", [0, 1]].tolist() == [1.0, 0.0]
    assert np.isnan(t.loc["2024-02", 2])  # April is after as_of: unknown, not 0


def test_rates_over_time() -> None:
    r = rates_over_time(_orders(), pd.Timestamp("2024-04-01"), window_days=30).set_index("month")
    assert r.loc["2024-01", "repeat_rate"] == 0.0
    assert r.loc["2024-02", "repeat_rate"] == pytest.approx(0.5)  # A repeats, C is new
    assert r.loc["2024-03", "repeat_rate"] == 1.0
    # Buyers of Jan 2-31 (A, B): in Feb 1 - Mar 1 only A buys -> churn 1/2.
    assert r.loc["2024-02", "churn_rate"] == pytest.approx(0.5)
    rec = cohort_record(_orders(), pd.Timestamp("2024-04-01"), 30)
    assert rec["retention"]["share"][1][2] is None
