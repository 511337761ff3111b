"""Popularity baselines: hand-worked counts and decayed counts."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.dataset import InteractionDataset, build_dataset
from recsys.errors import ConfigError
from recsys.models import make_model

DAY0 = pd.Timestamp("2024-01-01")


@pytest.fixture
def shop() -> InteractionDataset:
    rows = [
        ("a", "x", C.PURCHASE, 0),
        ("a", "x", C.PURCHASE, 1),  # same customer again: still one customer for x
        ("b", "x", C.VIEW, 14),
        ("a", "y", C.PURCHASE, 28),
        ("b", "y", C.PURCHASE, 28),
        ("c", "y", C.PURCHASE, 28),
        ("c", "z", C.PURCHASE, 28),
        ("c", "z", C.RETURN, 28),  # returned: c no longer counts for z
    ]
    events = pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE, "day"])
    events[C.TIMESTAMP] = DAY0 + pd.to_timedelta(events.pop("day"), unit="D")
    return build_dataset(events)


def _scores(recs: pd.DataFrame) -> dict[str, float]:
    return dict(zip(recs[C.ITEM_ID], recs[C.SCORE].astype(float), strict=True))


def test_popular_counts_distinct_customers(shop: InteractionDataset) -> None:
    model = make_model("popular").fit(shop)
    recs = model.recommend(["c"], k=5, exclude_seen=False)
    assert _scores(recs) == {"y": 3.0, "x": 2.0, "z": 0.0}
    assert model.recommend(["a"], k=5)[C.ITEM_ID].tolist() == ["z"]


def test_trending_decays_each_positive_event(shop: InteractionDataset) -> None:
    model = make_model("trending", half_life_days=14.0).fit(shop)
    got = _scores(model.recommend(["c"], k=5, exclude_seen=False))
    # Positive events only (the return is negative, and z went back whole: its purchase
    # counts for nothing); ages from the last event, day 28.
    assert got["y"] == pytest.approx(3.0)
    assert got["x"] == pytest.approx(0.5**2 + 0.5 ** (27 / 14) + 0.5)
    assert got["z"] == pytest.approx(0.0)
    assert list(got) == ["y", "x", "z"]


def test_trending_rejects_a_non_positive_half_life(shop: InteractionDataset) -> None:
    with pytest.raises(ConfigError, match="half_life_days == 0"):
        make_model("trending", half_life_days=0).fit(shop)


def test_trending_ignores_purchases_returned_whole() -> None:
    """Twelve customers bought item BAD and sent all of it back: it led the global popular
    list (trending) and every fallback answer. A partial return still counts."""
    day = pd.Timestamp("2024-01-01")
    rows = []
    for c in range(12):
        rows += [(f"c{c}", "BAD", C.PURCHASE, 2.0, day), (f"c{c}", "BAD", C.RETURN, 2.0, day)]
    rows += [("a", "P1", C.PURCHASE, 1.0, day), ("b", "P1", C.PURCHASE, 1.0, day)]
    rows += [("a", "P2", C.PURCHASE, 5.0, day), ("a", "P2", C.RETURN, 1.0, day)]
    events = pd.DataFrame(
        rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE, C.QUANTITY, C.TIMESTAMP]
    )
    model = make_model("trending").fit(build_dataset(events))
    recs = model.recommend(["a"], k=3, exclude_seen=False)
    assert recs[C.ITEM_ID].tolist() == ["P1", "P2", "BAD"]
    assert recs[C.SCORE].tolist() == [2.0, 1.0, 0.0]
