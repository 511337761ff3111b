from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.customers.summary import calibration_holdout, order_table, shares, summarize
from recsys.errors import DataError
from tests.recsys.customers.conftest import make_events

AS_OF = pd.Timestamp("2024-01-29")


def test_summary_values(tiny_events: pd.DataFrame) -> None:
    s = summarize(order_table(tiny_events), AS_OF, time_unit_days=7)
    a = s.loc["A"]
    assert a["orders"] == 3 and a["frequency"] == 2
    assert a["monetary_total"] == pytest.approx(25 + 30 + 40 - 5)  # net of the return
    assert a["monetary_mean"] == pytest.approx(90 / 3)
    assert a["repeat_monetary_mean"] == pytest.approx((30 + 40) / 2)
    first, last = pd.Timestamp("2024-01-01 10:00"), pd.Timestamp("2024-01-15 12:00")
    assert a["T_days"] == pytest.approx((AS_OF - first) / pd.Timedelta(days=1))
    assert a["recency_days"] == pytest.approx((AS_OF - last) / pd.Timedelta(days=1))
    assert a["t_x"] == pytest.approx((last - first) / pd.Timedelta(days=7))
    assert s.loc["B", "frequency"] == 0 and s.loc["B", "t_x"] == 0


def test_no_leakage_after_as_of(tiny_events: pd.DataFrame) -> None:
    s = summarize(order_table(tiny_events), AS_OF)
    assert s.loc["C", "orders"] == 1 and s.loc["C", "monetary_total"] == 100
    later = summarize(order_table(tiny_events), "2024-03-01")
    assert later.loc["C", "orders"] == 2
    # Nothing at all before the date: a clear error.
    with pytest.raises(DataError, match="no orders before"):
        summarize(order_table(tiny_events), "2023-12-01")


def test_orders_are_days_without_order_ids() -> None:
    ev = make_events(
        [
            ("A", "2024-01-01 10:00", None, "purchase", 1, 1.0),
            ("A", "2024-01-01 18:00", None, "purchase", 1, 1.0),
            ("A", "2024-01-03 10:00", None, "purchase", 1, 1.0),
        ]
    ).drop(columns="order_id")
    s = summarize(order_table(ev), "2024-02-01")
    assert s.loc["A", "orders"] == 2


def test_calibration_holdout_counts(tiny_events: pd.DataFrame) -> None:
    split = calibration_holdout(order_table(tiny_events), "2024-01-09", "2024-03-01")
    cal = split.calibration
    assert set(cal.index) == {"A", "C"}  # B's first order is in the holdout
    assert cal.loc["A", "holdout_orders"] == 1 and cal.loc["A", "orders"] == 2
    assert cal.loc["C", "holdout_orders"] == 1
    assert cal.loc["A", "holdout_value"] == 40
    assert split.holdout_days == pytest.approx(52)


def test_shares_sum_to_one(tiny_events: pd.DataFrame) -> None:
    ev = tiny_events.assign(channel=["web", "web", "app", "app", "web", "web", "app", "web", "web"])
    s = summarize(order_table(ev), AS_OF)
    sh = shares(ev, "channel", AS_OF, customers=s.index, prefix="channel:")
    assert list(sh.columns) == ["channel:app", "channel:web"]
    np.testing.assert_allclose(sh.sum(axis=1), 1.0)
    assert sh.loc["A", "channel:web"] == pytest.approx(3 / 4)
