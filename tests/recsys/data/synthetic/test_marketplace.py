"""The marketplace kind: view-heavy, purchases follow earlier looks, learnable tastes."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.synthetic.sessions import FAVORITE
from recsys.data.synthetic.shop import Shop, generate_shop
from tests.recsys.data.synthetic.kinds import (
    ndcg_new_items,
    preceded_share,
    preferred_share,
    purchases,
    repeat_purchase_share,
)

PARAMS = {"customers": 1500, "items": 4000, "days": 14, "seed": 11, "kind": "marketplace"}


@pytest.fixture(scope="module")
def market() -> Shop:
    return generate_shop(**PARAMS)


def test_defaults_are_a_short_span_and_a_large_catalogue():
    shop = generate_shop(customers=50, kind="marketplace")
    assert (shop.end - shop.start).days == 14 and len(shop.items) == 5000
    assert shop.kind == "marketplace"
    assert len(generate_shop(customers=50, items=30_000, kind="marketplace").items) == 30_000


def test_same_seed_same_shop_other_seed_other_shop(market: Shop):
    again = generate_shop(**PARAMS)
    pd.testing.assert_frame_equal(market.events, again.events)
    pd.testing.assert_frame_equal(market.items, again.items)
    other = generate_shop(**{**PARAMS, "seed": 12})
    assert not market.events.equals(other.events)


def test_views_dominate_and_purchases_are_few(market: Shop):
    counts = market.events[C.EVENT_TYPE].value_counts()
    assert set(counts.index) == {C.VIEW, C.ADD_TO_CART, FAVORITE, C.PURCHASE, C.RETURN}
    assert counts[C.VIEW] >= 0.8 * len(market.events)
    assert counts[C.ADD_TO_CART] > counts[C.PURCHASE] > 0
    assert counts[FAVORITE] > 0.5 * counts[C.PURCHASE]
    assert counts[C.PURCHASE] <= 0.06 * len(market.events)
    assert market.events[C.TIMESTAMP].max() < market.end
    assert market.events[C.TIMESTAMP].min() >= market.start


def test_about_sixty_percent_of_purchases_follow_an_earlier_look_at_the_item(market: Shop):
    assert 0.5 <= preceded_share(market) <= 0.72


def test_repeat_purchases_are_rare(market: Shop):
    assert repeat_purchase_share(market) < 0.02
    assert purchases(market)[C.ORDER_ID].notna().all()


def test_purchases_concentrate_in_the_taste_groups_categories(market: Shop):
    assert preferred_share(market) >= 0.75


def test_a_collaborative_model_beats_popularity_on_new_items(market: Shop):
    events = market.events[market.events[C.EVENT_TYPE] != FAVORITE]
    ndcg = ndcg_new_items(events, test_days=3, names=["popular", "itemknn"])
    assert ndcg["itemknn"] >= 1.5 * ndcg["popular"], ndcg.to_dict()
