"""``offer_redeemed`` events through the API (real Redis, TestClient): the offer's budget is
used up live and the redeemer is suppressed by the contact policy (tiny shop of
tests/serving/conftest.py: HOME10 has a money budget of 100 and goes to c1 and c2 on web and
email; VIP to c1 on web and app; SHIP is the fallback everywhere)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis
from fastapi.testclient import TestClient

from recsys.offers.artifacts import SUPPRESSED
from recsys.realtime.offers import SUPPRESSED as LIVE_SUPPRESSED
from recsys.realtime.offers import budget_remaining
from recsys.store import keys as K
from recsys.store.live_reader import LiveReader
from recsys.store.realtime import Redemptions
from tests.serving.test_realtime import event, post

URL = "/v1/customers/{}/offers"


def offers(api: TestClient, customer: str, channel: str) -> dict:
    r = api.get(URL.format(customer), params={"channel": channel})
    assert r.status_code == 200, r.text
    return r.json()


def offer_ids(body: dict) -> list[str]:
    return [o["offer_id"] for o in body["offers"]]


def catalog(api: TestClient) -> dict[str, dict]:
    r = api.get("/v1/offers")
    assert r.status_code == 200, r.text
    return {row["offer_id"]: row for row in r.json()["offers"]}


def test_a_redemption_suppresses_the_redeemer_and_uses_budget(
    api: TestClient, redis_client: redis.Redis, namespace: str
) -> None:
    assert offer_ids(offers(api, "c2", "web")) == ["HOME10"]
    before = catalog(api)["HOME10"]
    assert (before["redemptions"], before["budget_remaining"]) == (0, 100.0)
    redeemed = event("offer_redeemed", customer_id="c2", offer_id="HOME10", value=30.0)
    assert post(api, redeemed)["accepted"] == 1
    for channel in ("web", "email", "app"):
        body = offers(api, "c2", channel)
        assert (body["source"], body["held"], body["offers"]) == ("held", "suppressed", [])
    row = catalog(api)["HOME10"]
    assert (row["redemptions"], row["budget_remaining"]) == (1, 70.0)
    assert row["budget_left"] == 40.0  # the allocation's planned figure is unchanged
    # Others still get the offer: 70 of its budget is left.
    assert offer_ids(offers(api, "c1", "web")) == ["HOME10", "VIP"]
    # The same event again is a duplicate: counted once.
    assert post(api, redeemed)["duplicates"] == 1
    assert catalog(api)["HOME10"]["redemptions"] == 1
    # The suppression lives as long as the policy's suppress_days (default 14).
    ttl = redis_client.ttl(K.offer_suppressed_key(namespace, "c2"))
    assert 14 * 86400 - 120 < ttl <= 14 * 86400


def test_an_exhausted_offer_is_offered_to_nobody(api: TestClient) -> None:
    post(api, event("offer_redeemed", customer_id="c2", offer_id="HOME10", value=100.0))
    assert catalog(api)["HOME10"]["budget_remaining"] == 0.0
    assert offer_ids(offers(api, "c1", "web")) == ["VIP"]  # re-ranked
    assert offers(api, "c1", "web")["offers"][0]["rank"] == 1
    email = offers(api, "c1", "email")  # HOME10 was c1's only email offer
    assert (email["source"], offer_ids(email)) == ("fallback", ["SHIP"])


def test_an_exhausted_offer_has_an_empty_audience(api: TestClient) -> None:
    audience = "/v1/offers/HOME10/audience"
    before = api.get(audience).json()
    assert before["budget_remaining"] == 100.0 and len(before["customers"]) == 2
    post(api, event("offer_redeemed", customer_id="c2", offer_id="HOME10", value=40.0))
    assert api.get(audience).json()["budget_remaining"] == 60.0  # still open: same list
    post(api, event("offer_redeemed", customer_id="c1", offer_id="HOME10", value=60.0))
    after = api.get(audience).json()
    assert (after["budget_remaining"], after["customers"], after["next_cursor"]) == (0.0, [], None)
    csv = api.get(audience, headers={"accept": "text/csv"})
    assert csv.status_code == 200
    assert csv.text.splitlines() == ["customer_id,expected_value,uplift,reason"]
    # An offer without a budget never runs out.
    assert api.get("/v1/offers/SHIP/audience").json()["budget_remaining"] is None


def test_budgetless_and_session_redemptions_count_and_old_ones_do_not_suppress(
    api: TestClient,
) -> None:
    # A session-only redemption uses budget and suppresses nobody; SHIP has no budget, so
    # redemptions count but never exhaust it.
    post(api, event("offer_redeemed", session_id="s1", offer_id="SHIP"))
    assert catalog(api)["SHIP"]["redemptions"] == 1
    assert catalog(api)["SHIP"]["budget_remaining"] is None
    assert offer_ids(offers(api, "c3", "web")) == ["SHIP"]
    # A redemption 30 days ago is past the 14 suppression days: c1 keeps its offers.
    post(api, event("offer_redeemed", customer_id="c1", offer_id="VIP", ago=30 * 86400))
    assert offers(api, "c1", "app")["source"] == "allocated"


def test_the_hold_reason_is_the_one_training_writes() -> None:
    assert LIVE_SUPPRESSED == SUPPRESSED


def test_suppressed_redeemers_leave_offer_audiences_with_short_pages(api: TestClient) -> None:
    audience = "/v1/offers/HOME10/audience"
    item_audience = api.get("/v1/items/i05/audience").json()
    assert [c["customer_id"] for c in api.get(audience).json()["customers"]] == ["c1", "c2"]
    # c1 redeems VIP (no budget): the contact policy holds c1, HOME10's budget is untouched.
    post(api, event("offer_redeemed", customer_id="c1", offer_id="VIP"))
    body = api.get(audience).json()
    assert [c["customer_id"] for c in body["customers"]] == ["c2"]
    assert (body["budget_remaining"], body["next_cursor"]) == (100.0, None)
    # A page of one: the first stored row (c1) is held, so the page is empty yet leads on.
    first = api.get(audience, params={"limit": 1}).json()
    assert first["customers"] == [] and first["next_cursor"] is not None
    second = api.get(audience, params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert ([c["customer_id"] for c in second["customers"]], second["next_cursor"]) == (
        ["c2"],
        None,
    )
    csv = api.get(audience, headers={"accept": "text/csv"})
    assert csv.status_code == 200
    assert [line.split(",")[0] for line in csv.text.splitlines()] == ["customer_id", "c2"]
    # Item audiences are not offers: c1 stays.
    assert api.get("/v1/items/i05/audience").json() == item_audience
    assert "c1" in {c["customer_id"] for c in item_audience["customers"]}


def test_an_old_redemption_keeps_its_customer_in_the_audience(api: TestClient) -> None:
    post(api, event("offer_redeemed", customer_id="c2", offer_id="VIP", ago=30 * 86400))
    body = api.get("/v1/offers/HOME10/audience").json()
    assert [c["customer_id"] for c in body["customers"]] == ["c1", "c2"]


def test_budget_remaining_is_rounded_money(api: TestClient) -> None:
    for customer in ("c1", "c2", "c3"):
        post(api, event("offer_redeemed", customer_id=customer, offer_id="HOME10", value=33.33))
    assert catalog(api)["HOME10"]["budget_remaining"] == 0.01  # not 0.010000000000005116
    assert api.get("/v1/offers/HOME10/audience").json()["budget_remaining"] == 0.01
    row = {"budget": 100.0, "budget_unit": "money"}
    assert budget_remaining(row, Redemptions(3, 0, 33.33 * 3)) == 0.01
    assert budget_remaining(row, Redemptions(1, 0, 100.0000000001)) == 0.0
    assert str(budget_remaining(row, Redemptions(1, 0, 100.0000000001))) == "0.0"  # not -0.0


def test_an_audience_page_reads_its_suppressions_in_one_call(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    read = LiveReader.suppressions

    async def counted(self: LiveReader, customer_ids: Sequence[str]) -> list[float | None]:
        calls.append(list(customer_ids))
        return await read(self, customer_ids)

    monkeypatch.setattr(LiveReader, "suppressions", counted)
    assert len(api.get("/v1/offers/HOME10/audience").json()["customers"]) == 2
    assert calls == [["c1", "c2"]]
    assert len(api.get("/v1/offers/HOME10/audience", headers={"accept": "text/csv"}).text) > 0
    assert calls == [["c1", "c2"], ["c1", "c2"]]
    api.get("/v1/items/i05/audience")  # not an offer: no suppression read
    assert len(calls) == 2
