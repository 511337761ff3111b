"""Live offer effects: budget use per unit, exhaustion, suppression days from the manifest."""

from __future__ import annotations

from recsys.offers.answer import OfferCatalog
from recsys.realtime.offers import (
    budget_remaining,
    budget_used,
    exhausted,
    is_suppressed,
    live_offer_answer,
    suppress_seconds,
)
from recsys.store.realtime import Redemptions

DAY = 86400.0
CATALOG = OfferCatalog.from_json(
    {
        "offers": [
            {"offer_id": "A", "budget": 10.0, "budget_unit": "redemptions"},
            {"offer_id": "B", "budget": 100.0, "budget_unit": "money", "cost": 20.0},
            {"offer_id": "C", "budget": 50.0, "cost_model": "basket_share", "cost": 0.1},
            {"offer_id": "F", "budget": 5.0, "budget_unit": "redemptions", "fallback": True},
        ],
        "fallback": {"web": "F"},
    }
)
STORED = {"offers": {"A": [1.0, 0.1, "r"], "B": [0.5, 0.1, "r"]}, "channels": {"web": ["A", "B"]}}


def test_budget_use_in_the_budgets_unit() -> None:
    a, b, c = (CATALOG.by_id[o] for o in "ABC")
    counts = Redemptions(n=3, unvalued=1, value=25.0)
    assert budget_used(a, counts) == 3.0  # redemptions
    assert budget_used(b, counts) == 25.0 + 20.0  # values given, plus the fixed cost
    assert budget_used(c, counts) == 25.0  # basket share: only the values given count
    assert budget_remaining(b, counts) == 55.0
    assert budget_remaining(b, Redemptions(n=9, value=900.0)) == 0.0
    assert budget_remaining({"offer_id": "X"}, counts) is None
    assert budget_remaining(a, None) == 10.0


def test_used_up_offers_leave_the_answer_and_a_used_up_fallback_leaves_nothing() -> None:
    counters = {"A": Redemptions(n=10), "F": Redemptions(n=5), "B": Redemptions(n=1, value=1)}
    used_up = exhausted(CATALOG, counters)
    assert used_up == frozenset({"A", "F"})
    answer = live_offer_answer(STORED, CATALOG, "web", suppressed=False, used_up=used_up)
    assert (answer.source, [o["offer_id"] for o in answer.offers]) == ("allocated", ["B"])
    assert answer.offers[0]["rank"] == 1
    only_a = {"channels": {"web": ["A"]}, "offers": STORED["offers"]}
    none = live_offer_answer(only_a, CATALOG, "web", suppressed=False, used_up=used_up)
    assert (none.source, none.offers) == ("none", [])
    fallback = live_offer_answer(only_a, CATALOG, "web", suppressed=False, used_up={"A"})
    assert [o["offer_id"] for o in fallback.offers] == ["F"]


def test_suppression_follows_the_versions_policy() -> None:
    held = live_offer_answer(STORED, CATALOG, "web", suppressed=True)
    assert (held.source, held.held, held.offers) == ("held", "suppressed", [])
    assert suppress_seconds(None) == 14 * DAY  # ContactPolicy's default
    assert suppress_seconds({"offers": {"policy": {"suppress_days": 3}}}) == 3 * DAY
    assert suppress_seconds({"offers": {"policy": {"suppress_days": "x"}}}) == 14 * DAY
    manifest = {"offers": {"policy": {"suppress_days": 2}}}
    assert is_suppressed(1000.0, manifest, 1000.0 + DAY)
    assert not is_suppressed(1000.0, manifest, 1000.0 + 3 * DAY)
    assert not is_suppressed(None, manifest, 0.0)
