"""The generated offer catalog is sensible, and some offers are running now."""

from __future__ import annotations

import pandas as pd

from recsys import columns as C
from recsys.data.synthetic.offers import OFFER_KINDS
from recsys.data.synthetic.shop import Shop


def test_offers_are_sensible(small_shop: Shop) -> None:
    offers = small_shop.offers
    assert 8 <= len(offers) <= 12 and offers["offer_id"].is_unique
    assert offers["value"].gt(0).all() and offers["cost"].ge(0).all()
    start, end = pd.to_datetime(offers["start"]), pd.to_datetime(offers["end"])
    assert (start < end).all()
    assert set(offers["kind"]) == set(OFFER_KINDS)
    categories = set(small_shop.items[C.CATEGORY])
    assert offers["categories"].map(lambda c: c == "" or c in categories).all()
    assert (offers["categories"] == "").any()  # some are site-wide
    for channels in offers["channels"]:
        assert channels and set(channels.split("|")) <= {"web", "email", "app"}
    assert (offers["min_basket"] >= 0).all()
    assert offers["fallback"].sum() == 1
    assert (offers["segments"] != "").any()  # some are aimed at RFM segments
    running_now = (start <= small_shop.end) & (end > small_shop.end)
    assert running_now.sum() >= 2
