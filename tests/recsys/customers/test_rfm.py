from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from recsys.customers.config import OTHERS, RFM_SEGMENTS, CustomersConfig, RfmSegmentRule
from recsys.customers.rfm import (
    GONE,
    NEW,
    assign_segments,
    cut_points,
    migration_matrix,
    rank_scores,
    rfm_scores,
)

NAMES = {
    "Champions",
    "Loyal Customers",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
}


def _grid() -> pd.DataFrame:
    combos = list(itertools.product(range(1, 6), repeat=3))
    return pd.DataFrame(combos, columns=["rfm_r", "rfm_f", "rfm_m"])


def test_rank_scores_do_not_collapse_on_ties() -> None:
    # 80% one-order customers: qcut would collapse; ranks give five equal groups.
    rng = np.random.default_rng(0)
    orders = np.where(rng.random(1000) < 0.8, 1, rng.integers(2, 10, 1000))
    money = rng.gamma(2, 20, 1000)
    scores = rank_scores([orders, money])
    assert np.bincount(scores)[1:].tolist() == [200] * 5
    # Monetary breaks the frequency ties: among one-order customers, higher spend, higher F.
    one = orders == 1
    assert np.corrcoef(money[one], scores[one])[0, 1] > 0.8
    # Primary key dominates: every multi-order customer outranks every one-order customer.
    assert scores[~one].min() >= scores[one].max() - 0  # ties only at the boundary score


def test_rfm_scores_directions() -> None:
    s = pd.DataFrame(
        {
            "recency_days": [1, 100, 50, 10, 300],
            "orders": [5, 1, 2, 3, 1],
            "monetary_total": [500, 10, 50, 300, 5],
        },
        index=list("abcde"),
    )
    sc = rfm_scores(s)
    assert sc.loc["a"].tolist() == [5, 5, 5]
    assert sc.loc["e"].tolist() == [1, 1, 1]
    cuts = cut_points(s, sc)
    assert [c["score"] for c in cuts["r"]] == [1, 2, 3, 4, 5]
    assert cuts["r"][4]["max"] == 1 and cuts["m"][0]["min"] == 5


def test_all_eleven_segments_reachable_and_order_documented() -> None:
    assert {r.name for r in RFM_SEGMENTS} == NAMES
    seg = assign_segments(_grid())
    assert set(seg) == NAMES | {OTHERS}
    lookup = dict(zip(map(tuple, _grid().to_numpy()), seg, strict=True))
    assert lookup[(5, 5, 5)] == "Champions"
    assert lookup[(1, 5, 5)] == "Can't Lose Them"  # before At Risk, which contains it
    assert lookup[(2, 4, 4)] == "At Risk"
    assert lookup[(5, 1, 1)] == "New Customers"
    assert lookup[(3, 1, 1)] == "Promising"
    assert lookup[(1, 1, 1)] == "Lost"
    assert lookup[(1, 2, 1)] == "Hibernating"
    assert lookup[(1, 3, 1)] == OTHERS


def test_rules_are_config_data() -> None:
    rules = (RfmSegmentRule(name="Everyone recent", r=(4, 5), f=(1, 5), m=(1, 5)),)
    cfg = CustomersConfig(rfm_segments=rules)
    seg = assign_segments(_grid(), cfg.rfm_segments)
    assert set(seg) == {"Everyone recent", OTHERS}
    assert (seg == "Everyone recent").sum() == 2 * 25
    with pytest.raises(ValidationError):
        RfmSegmentRule(name="bad", r=(0, 6), f=(1, 5), m=(1, 5))


def test_migration_matrix() -> None:
    prev = pd.Series({"a": "Champions", "b": "Lost", "c": "At Risk", "d": "Lost"})
    cur = pd.Series({"a": "At Risk", "b": "Lost", "c": "At Risk", "e": "New Customers"})
    m = migration_matrix(prev, cur)
    assert m.to_numpy().sum() == 5
    assert m.loc["Champions", "At Risk"] == 1
    assert m.loc["Lost", "Lost"] == 1 and m.loc["Lost", GONE] == 1
    assert m.loc[NEW, "New Customers"] == 1
