"""The buy-it-again ranker: hand-worked scores, returns, repeat rates, popularity fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.dataset import InteractionDataset, build_dataset
from recsys.errors import ConfigError
from recsys.models import make_model
from recsys.models.repeat import RECENT_DAYS, REPEAT_PRIOR, RepeatRecommender
from tests.recsys.models.test_contract import random_dataset

DAY0 = pd.Timestamp("2024-01-01")


def _events(rows: list[tuple[str, str, str, int]]) -> InteractionDataset:
    events = pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE, "day"])
    events[C.TIMESTAMP] = DAY0 + pd.to_timedelta(events.pop("day"), unit="D")
    return build_dataset(events)


@pytest.fixture
def shop() -> InteractionDataset:
    """The last event is on day 60, so with a 60-day half-life day 0 counts 0.5."""
    return _events(
        [
            ("a", "x", C.PURCHASE, 0),
            ("a", "x", C.PURCHASE, 60),
            ("a", "y", C.PURCHASE, 60),
            ("a", "z", C.PURCHASE, 0),
            ("a", "z", C.PURCHASE, 30),
            ("a", "z", C.RETURN, 31),  # one of the two z's went back: half of z's score stays
            ("b", "x", C.PURCHASE, 60),
            ("b", "w", C.VIEW, 10),
        ]
    )


def _scores(model: RepeatRecommender, customer: str, exclude_seen: bool = False) -> dict:
    recs = model.recommend([customer], k=10, exclude_seen=exclude_seen)
    return dict(zip(recs[C.ITEM_ID], recs[C.SCORE].astype(float), strict=True))


def test_history_scores_by_hand_without_repeat_rates(shop: InteractionDataset) -> None:
    model = RepeatRecommender(half_life_days=60, use_item_repeat_rate=False).fit(shop)
    hist = {"x": 0.5 + 1.0, "y": 1.0, "z": (0.5 + 0.5**0.5) * 1 / 2}
    floor = hist["z"]  # smallest history score anywhere (b's x is 1.0)
    # Tie-breaker: distinct customers per item (x: a, b; y, z: a; w: b's view) / (max + 1).
    tie = {
        "x": 0.5 * floor * 2 / 3,
        "y": 0.5 * floor / 3,
        "z": 0.5 * floor / 3,
        "w": 0.5 * floor / 3,
    }
    got = _scores(model, "a")
    assert list(got) == ["x", "y", "z", "w"]
    for item in "xyz":
        assert got[item] == pytest.approx(hist[item] + tie[item], rel=1e-6)
    assert got["w"] == pytest.approx(tie["w"], rel=1e-6)


def test_item_repeat_rates_are_shrunk_shares_of_repeat_buyers(shop: InteractionDataset) -> None:
    model = RepeatRecommender(half_life_days=60).fit(shop)
    overall = 1 / 4  # buyers: x (a twice, b once), y (a), z (a, net once) -> 1 repeater of 4
    prior = REPEAT_PRIOR * overall
    expected = {
        "x": (1 + prior) / (2 + REPEAT_PRIOR),
        "y": prior / (1 + REPEAT_PRIOR),
        "z": prior / (1 + REPEAT_PRIOR),
        "w": prior / REPEAT_PRIOR,
    }
    rates = dict(zip(shop.items.external_ids, model.item_repeat_rate_, strict=True))
    for item, rate in expected.items():
        assert rates[item] == pytest.approx(rate, rel=1e-6)
    hist = {
        "x": 1.5 * expected["x"],
        "y": 1.0 * expected["y"],
        "z": (0.5 + 0.5**0.5) / 2 * expected["z"],
    }
    floor = hist["z"]
    got = _scores(model, "a")
    assert got["x"] == pytest.approx(hist["x"] + 0.5 * floor * 2 / 3, rel=1e-6)
    assert got["z"] == pytest.approx(hist["z"] + 0.5 * floor / 3, rel=1e-6)
    b = _scores(model, "b")
    assert list(b)[0] == "x" and b["x"] == pytest.approx(expected["x"] + 0.5 * floor * 2 / 3)


def test_exclude_seen_leaves_popularity_among_items_not_bought(shop: InteractionDataset) -> None:
    model = RepeatRecommender().fit(shop)
    assert list(_scores(model, "a", exclude_seen=True)) == ["w"]
    b = _scores(model, "b", exclude_seen=True)  # b bought x; only viewed w: still a candidate
    assert sorted(b) == ["w", "y", "z"] and b["w"] == b["y"] == b["z"]


def test_a_fully_returned_item_has_no_history() -> None:
    ds = _events(
        [
            ("a", "v", C.PURCHASE, 0),
            ("a", "v", C.RETURN, 1),
            ("a", "x", C.PURCHASE, 5),
            ("b", "v", C.PURCHASE, 5),
        ]
    )
    model = RepeatRecommender().fit(ds)
    got = _scores(model, "a")
    assert list(got) == ["x", "v"]
    assert got["v"] < got["x"] / 2  # v is only a popularity tie-breaker now
    assert model.history_[ds.customers.to_internal(["a"])[0]].nnz == 1


def test_history_always_outranks_the_tie_breaker_on_random_data() -> None:
    ds = random_dataset(seed=4, n_customers=60, n_items=40)
    model = RepeatRecommender(half_life_days=7).fit(ds)
    scores = model._score(np.arange(ds.n_customers))
    has = model.history_.toarray() > 0
    for row in range(ds.n_customers):
        if has[row].any() and (~has[row]).any():
            assert scores[row, has[row]].min() > scores[row, ~has[row]].max()
    assert np.isfinite(scores).all()


def test_exclude_seen_gives_the_popular_models_lists() -> None:
    ds = random_dataset(seed=2)
    customers = ds.customers.external_ids
    repeat = RepeatRecommender().fit(ds).recommend(customers, k=8)
    popular = make_model("popular").fit(ds).recommend(customers, k=8)
    pd.testing.assert_frame_equal(repeat.drop(columns=C.SCORE), popular.drop(columns=C.SCORE))


def test_recency_decay_prefers_recent_purchases() -> None:
    ds = _events(
        [("a", "old", C.PURCHASE, 0), ("a", "new", C.PURCHASE, 90), ("b", "old", C.PURCHASE, 90)]
    )
    model = RepeatRecommender(half_life_days=30, use_item_repeat_rate=False).fit(ds)
    a = model.history_[ds.customers.to_internal(["a"])[0]].toarray()[0]
    old, new = ds.items.to_internal(["old", "new"])
    assert a[new] == pytest.approx(1.0) and a[old] == pytest.approx(0.5**3)
    assert list(_scores(model, "a")) == ["new", "old"]


@pytest.mark.parametrize(
    ("param", "value"),
    [("half_life_days", 0), ("half_life_days", -3.0), ("use_item_repeat_rate", "no")],
)
def test_bad_parameters_are_config_errors(param: str, value: object, shop) -> None:
    with pytest.raises(ConfigError, match=rf"repeat: {param} =="):
        RepeatRecommender(**{param: value}).fit(shop)


def test_purchase_timing_by_hand(shop: InteractionDataset) -> None:
    """Kept for the blend's re-ranker: days since the last purchase (+1), distinct purchase
    days, each customer's and each item's repurchase cycle, and re-buy shares."""
    model = make_model("repeat").fit(shop)
    a, b = shop.customers.to_internal(["a", "b"])
    x, y, z = shop.items.to_internal(["x", "y", "z"])
    last, days = model.last_age_.toarray(), model.n_days_.toarray()
    assert (last[a, x], last[a, y], last[a, z], last[b, x]) == (1.0, 1.0, 31.0, 1.0)
    assert (days[a, x], days[a, y], days[a, z], days[b, x]) == (2.0, 1.0, 2.0, 1.0)
    own = model.own_cycle_.toarray()
    assert (own[a, x], own[a, z], own[a, y]) == (60.0, 30.0, 0.0)
    assert (model.item_cycle_[x], model.item_cycle_[z], model.item_cycle_[y]) == (60.0, 30.0, -1.0)
    assert model.customer_days_[a] == 3 and model.customer_days_[b] == 1
    assert model.item_buyers_[x] == 2 and model.item_buyers_[y] == 1
    # a re-bought 2 of 3 items, b none of 1: shrunk towards the overall 2 / 4
    overall = 2 / 4
    expected = (2 + REPEAT_PRIOR * overall) / (3 + REPEAT_PRIOR)
    assert model.customer_repeat_share_[a] == pytest.approx(expected)
    assert model.customer_repeat_share_[b] == pytest.approx(REPEAT_PRIOR * overall / 6)


def test_in_season_buyers_and_days_since_any_purchase_by_hand() -> None:
    """Derived from the last purchase ages (not stored, so a loaded model has them too):
    buyers whose last purchase of the item is at most RECENT_DAYS old, and days since each
    customer's last purchase of anything (-1 for a customer who only viewed)."""
    ds = _events(
        [
            ("a", "x", C.PURCHASE, 100),
            ("a", "y", C.PURCHASE, 70),  # exactly 30 days old: in season
            ("b", "y", C.PURCHASE, 69),  # 31 days old: not
            ("b", "x", C.PURCHASE, 10),
            ("b", "x", C.PURCHASE, 95),
            ("c", "x", C.VIEW, 100),
        ]
    )
    assert RECENT_DAYS == 30
    model = make_model("repeat").fit(ds)
    a, b, c = ds.customers.to_internal(["a", "b", "c"])
    x, y = ds.items.to_internal(["x", "y"])
    assert (model.item_recent_buyers_[x], model.item_recent_buyers_[y]) == (2.0, 1.0)
    assert model.item_buyers_[y] == 2.0
    since = model.customer_since_
    assert (since[a], since[b], since[c]) == (0.0, 5.0, -1.0)
    loaded = make_model("repeat")
    loaded._set_state(model._get_state())
    np.testing.assert_array_equal(loaded.item_recent_buyers_, model.item_recent_buyers_)
    np.testing.assert_array_equal(loaded.customer_since_, model.customer_since_)
