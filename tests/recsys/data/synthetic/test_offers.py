"""The offers table is sensible and some offers are running now."""

from __future__ import annotations

from recsys import columns as C
from recsys.data.synthetic.offers import DISCOUNT_PCT, ENDS, OFFER_KINDS, STARTS
from recsys.data.synthetic.shop import Shop


def test_offers_are_sensible(small_shop: Shop) -> None:
    offers = small_shop.offers
    assert 8 <= len(offers) <= 12 and offers["offer_id"].is_unique
    assert offers[DISCOUNT_PCT].gt(0).all() and offers[DISCOUNT_PCT].le(90).all()
    assert (offers[STARTS] < offers[ENDS]).all()
    assert set(offers["kind"]) == set(OFFER_KINDS)
    categories = set(small_shop.items[C.CATEGORY])
    assert offers[C.CATEGORY].map(lambda c: c == "" or c in categories).all()
    assert (offers[C.CATEGORY] == "").any()  # some are site-wide
    for channels in offers["channels"]:
        assert channels and set(channels.split(",")) <= {"web", "email"}
    assert (offers["min_spend"] >= 0).all()
    running_now = (offers[STARTS] <= small_shop.end) & (offers[ENDS] > small_shop.end)
    assert running_now.sum() >= 2
