"""The ratings kind: purchases only, no item twice per customer, long tails, learnable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.synthetic.shop import Shop, generate_shop
from tests.recsys.data.synthetic.kinds import (
    ndcg_new_items,
    preferred_share,
    purchases,
    repeat_purchase_share,
)

PARAMS = {"customers": 1500, "items": 1200, "seed": 5, "kind": "ratings"}


@pytest.fixture(scope="module")
def ratings() -> Shop:
    return generate_shop(**PARAMS)


def test_same_seed_same_shop(ratings: Shop):
    pd.testing.assert_frame_equal(ratings.events, generate_shop(**PARAMS).events)
    assert (ratings.end - ratings.start).days == 365 and ratings.kind == "ratings"


def test_purchases_only_and_no_repeat_pairs(ratings: Shop):
    assert set(ratings.events[C.EVENT_TYPE]) == {C.PURCHASE}
    assert repeat_purchase_share(ratings) == 0.0
    assert not ratings.events.duplicated([C.CUSTOMER_ID, C.ITEM_ID]).any()
    assert ratings.truth["repeat_habit"].sum() == 0


def test_long_tails_of_appetite_and_popularity(ratings: Shop):
    p = purchases(ratings)
    per_customer = p.groupby(C.CUSTOMER_ID).size()
    assert per_customer.min() >= 1
    assert per_customer.max() >= 6 * per_customer.median()
    per_item = p[C.ITEM_ID].value_counts().to_numpy()
    top = per_item[: len(per_item) // 10].sum() / per_item.sum()
    assert top >= 0.35  # the top 10% of items take a large share ...
    assert (
        per_item[len(per_item) // 2 :].sum() <= 0.2 * per_item.sum()
    )  # ... the bottom half little
    assert per_item[0] >= 20 * np.median(per_item)


def test_no_purchase_before_signup_or_release(ratings: Shop):
    p = purchases(ratings)
    signup = p[C.CUSTOMER_ID].map(ratings.customers.set_index(C.CUSTOMER_ID)[C.SIGNUP_DATE])
    release = p[C.ITEM_ID].map(ratings.items.set_index(C.ITEM_ID)["release_date"])
    assert (p[C.TIMESTAMP] >= signup.clip(lower=ratings.start)).all()
    assert (p[C.TIMESTAMP] >= release.dt.normalize()).all()
    assert np.all(p[C.TIMESTAMP].to_numpy() < np.datetime64(ratings.end))


def test_tastes_are_learnable_so_a_collaborative_model_beats_popularity(ratings: Shop):
    assert preferred_share(ratings) >= 0.75
    ndcg = ndcg_new_items(ratings.events, test_days=60, names=["popular", "ease"])
    assert ndcg["ease"] >= 1.8 * ndcg["popular"], ndcg.to_dict()
