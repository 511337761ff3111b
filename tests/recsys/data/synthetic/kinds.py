"""Measures of a generated shop's behaviour, shared by the tests of each kind."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.data.synthetic.sessions import FAVORITE
from recsys.data.synthetic.shop import Shop
from recsys.evaluation import evaluate, temporal_split
from recsys.models import make_model


def purchases(shop: Shop) -> pd.DataFrame:
    return shop.events[shop.events[C.EVENT_TYPE] == C.PURCHASE]


def preceded_share(shop: Shop) -> float:
    """Share of purchases whose buyer viewed, carted or marked the item strictly before."""
    e = shop.events
    looks = e[e[C.EVENT_TYPE].isin([C.VIEW, C.ADD_TO_CART, FAVORITE])]
    first = looks.groupby([C.CUSTOMER_ID, C.ITEM_ID])[C.TIMESTAMP].min()
    p = purchases(shop)
    when = first.reindex(pd.MultiIndex.from_arrays([p[C.CUSTOMER_ID], p[C.ITEM_ID]]))
    return float(np.mean(when.to_numpy() < p[C.TIMESTAMP].to_numpy()))


def repeat_purchase_share(shop: Shop) -> float:
    """Share of purchases of an item the customer had already bought."""
    p = purchases(shop)
    return float(p.duplicated([C.CUSTOMER_ID, C.ITEM_ID]).mean())


def preferred_share(shop: Shop) -> float:
    """Share of purchases in the buyer's taste group's preferred categories."""
    p = purchases(shop)
    category = p[C.ITEM_ID].map(shop.items.set_index(C.ITEM_ID)[C.CATEGORY])
    preferred = p[C.CUSTOMER_ID].map(shop.truth["preferred_categories"])
    inside = [c in prefs.split(",") for c, prefs in zip(category, preferred, strict=True)]
    return float(np.mean(inside))


def ndcg_new_items(events: pd.DataFrame, test_days: int, names: list[str]) -> pd.Series:
    """NDCG@10 on new items after a temporal split, per model name."""
    split = temporal_split(events, test_days=test_days)
    res = evaluate({n: make_model(n) for n in names}, split, k=10, protocols=("new_items",))
    return res.table.set_index("model")["ndcg"]
