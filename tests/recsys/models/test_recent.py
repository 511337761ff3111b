"""The recently-engaged ranker: hand-worked scores, returns, and what the default answer keeps."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.dataset import build_dataset
from recsys.models.recent import RecentRecommender

DAY0 = pd.Timestamp("2024-01-01")


@pytest.fixture
def shop():
    """Last event on day 20; with a 10-day half-life day 10 counts 1/2 and day 0 counts 1/4.
    Default weights: view 1, cart 3, purchase 5, return -5 (quantity 1)."""
    rows = [
        ("a", "v", C.VIEW, 20),  # 1
        ("a", "c", C.ADD_TO_CART, 10),  # 3 * 1/2 = 1.5
        ("a", "p", C.PURCHASE, 0),  # 5 * 1/4 = 1.25
        ("a", "r", C.PURCHASE, 10),  # 5/2 - 5 = net negative: nothing
        ("a", "r", C.RETURN, 20),
        ("b", "v", C.VIEW, 0),  # 1/4
        ("b", "p", C.VIEW, 20),  # 1
    ]
    events = pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE, "day"])
    events[C.TIMESTAMP] = DAY0 + pd.to_timedelta(events.pop("day"), unit="D")
    return build_dataset(events)


def _scores(model, customer, exclude_seen=False):
    recs = model.recommend([customer], k=10, exclude_seen=exclude_seen)
    return dict(zip(recs[C.ITEM_ID], recs[C.SCORE].astype(float), strict=True))


def test_interest_is_the_decayed_signed_weight_with_a_popularity_tiebreak(shop):
    model = RecentRecommender(half_life_days=10.0).fit(shop)
    a = _scores(model, "a")
    assert list(a)[:3] == ["c", "p", "v"]
    # tie-break: distinct engaged customers (v 2, p 2, c 1; r 0 after the return) / (2 + 1),
    # scaled to half the smallest interest (b's v: 0.25).
    tie = {"v": 0.125 * 2 / 3, "p": 0.125 * 2 / 3, "c": 0.125 / 3, "r": 0.0}
    assert a["c"] == pytest.approx(1.5 + tie["c"], rel=1e-5)
    assert a["p"] == pytest.approx(1.25 + tie["p"], rel=1e-5)
    assert a["v"] == pytest.approx(1.0 + tie["v"], rel=1e-5)
    assert a["r"] == pytest.approx(tie["r"], abs=1e-7)
    b = _scores(model, "b")
    assert list(b)[:2] == ["p", "v"] and b["v"] == pytest.approx(0.25 + tie["v"], rel=1e-5)


def test_default_answer_drops_bought_items_and_keeps_what_was_viewed_or_carted(shop):
    model = RecentRecommender(half_life_days=10.0).fit(shop)
    a = _scores(model, "a", exclude_seen=True)
    assert list(a)[:2] == ["c", "v"] and "p" not in a
    assert "r" in a  # bought and returned: a candidate again
    assert list(_scores(model, "b", exclude_seen=True))[:2] == ["p", "v"]  # b only viewed p


def test_bad_half_life_is_refused():
    from recsys.errors import ConfigError

    with pytest.raises(ConfigError, match="half_life_days"):
        RecentRecommender(half_life_days=0).fit(build_dataset(pd.DataFrame(
            {C.CUSTOMER_ID: ["a"], C.ITEM_ID: ["x"], C.TIMESTAMP: [DAY0]})))  # fmt: skip


def test_view_factor_scales_views_only():
    """Customer a viewed x five times and viewed then carted y, all on the last day: with the
    matrix's weights the views win (5 > 1 + 3); with a view factor of 0.25 the cart does
    (1.25 < 0.25 + 3)."""
    rows = [("a", "x", C.VIEW)] * 5 + [("a", "y", C.VIEW), ("a", "y", C.ADD_TO_CART)]
    events = pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE])
    events[C.TIMESTAMP] = DAY0
    data = build_dataset(events)
    plain = RecentRecommender(half_life_days=10.0).fit(data).interest_.toarray()[0]
    scaled = RecentRecommender(half_life_days=10.0, view_factor=0.25).fit(data)
    ix = dict(zip(("x", "y"), data.items.to_internal(["x", "y"]), strict=True))
    assert plain[ix["x"]] == pytest.approx(5.0) and plain[ix["y"]] == pytest.approx(4.0)
    got = scaled.interest_.toarray()[0]
    assert got[ix["x"]] == pytest.approx(1.25) and got[ix["y"]] == pytest.approx(3.25)
    assert list(_scores(scaled, "a"))[:2] == ["y", "x"]


def test_view_factor_one_is_the_default_and_bad_values_are_refused(shop):
    from recsys.errors import ConfigError

    a = RecentRecommender(half_life_days=10.0).fit(shop).interest_
    b = RecentRecommender(half_life_days=10.0, view_factor=1.0).fit(shop).interest_
    assert (a != b).nnz == 0
    with pytest.raises(ConfigError, match="view_factor"):
        RecentRecommender(view_factor=0.0).fit(shop)
