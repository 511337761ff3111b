from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.customers import churn
from recsys.customers.summary import order_table, summarize
from recsys.data.synthetic.shop import generate_shop


def test_bands_and_cuts() -> None:
    bands = churn.churn_bands(np.array([0.0, 0.29, 0.3, 0.69, 0.7, 1.0]), (0.3, 0.7))
    assert bands.tolist() == ["low", "low", "medium", "medium", "high", "high"]


def test_lift_and_metrics() -> None:
    y = np.array([1] * 10 + [0] * 90)
    perfect = np.linspace(1, 0, 100)
    assert churn.lift_at(y, perfect, 0.1) == pytest.approx(10.0)
    m = churn.metrics(y, perfect)
    assert m["auc"] == pytest.approx(1.0) and m["lift_at_10"] == pytest.approx(10.0)
    assert churn.metrics(y, np.full(100, 0.1))["brier"] == pytest.approx(0.09)


def test_features_are_finite(tiny_events: pd.DataFrame) -> None:
    f = churn.features(summarize(order_table(tiny_events), "2024-02-01"))
    assert list(f.columns) == list(churn.FEATURES)
    assert np.isfinite(f.to_numpy()).all()


@pytest.fixture(scope="module")
def year_orders() -> pd.DataFrame:
    shop = generate_shop(customers=700, items=150, days=330, seed=3)
    return order_table(shop.events)


def test_compare_on_a_temporal_holdout(year_orders: pd.DataFrame) -> None:
    as_of = year_orders["timestamp"].max().normalize() + pd.Timedelta(days=1)
    res = churn.compare(year_orders, as_of, 90)
    assert set(res.metrics) == {"bgnbd", "bgnbd_window", "supervised"}
    assert res.chosen == max(res.metrics, key=lambda k: res.metrics[k]["auc"])
    assert res.cutoff == str((as_of - pd.Timedelta(days=90)).date())
    # Both real models rank churners clearly above chance on planted data.
    # (~120 churners: an AUC standard error of about 0.03.)
    assert res.metrics["supervised"]["auc"] > 0.6
    assert res.metrics["bgnbd_window"]["auc"] > 0.6
    assert 0 < res.churn_rate < 1
    risk = churn.supervised_risk(
        year_orders, as_of, 90, summarize(year_orders, as_of), time_unit_days=7.0
    )
    assert risk is not None and ((risk >= 0) & (risk <= 1)).all()


def test_short_history_falls_back(year_orders: pd.DataFrame) -> None:
    start = year_orders["timestamp"].min()
    res = churn.compare(year_orders, start + pd.Timedelta(days=100), 90)
    assert "supervised" not in res.metrics and res.reason
    res = churn.compare(year_orders, start + pd.Timedelta(days=30), 90)
    assert res.metrics == {} and res.chosen == "bgnbd" and "shorter" in (res.reason or "")
