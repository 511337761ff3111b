"""The offer routes against the tiny shop's offers (tests/serving/conftest.py) in real Redis."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from recsys import columns as C
from recsys.offers.artifacts import item_audience_table
from recsys.store import write_bundle_tables
from recsys.store.publish import publish
from serving.settings import Settings
from tests.serving.conftest import OFFER_ROWS, Publisher, assert_error, serve, shop_tables
from tests.serving.redis_server import ThrowawayRedis

URL = "/v1/customers/{}/offers"


def _offers(api: TestClient, customer: str, channel: str) -> dict:
    r = api.get(URL.format(customer), params={"channel": channel})
    assert r.status_code == 200, r.text
    assert r.headers["x-model-version"] == "v1"
    return r.json()


def test_allocated_offers_are_ranked_per_channel_with_reason_and_facts(api: TestClient) -> None:
    body = _offers(api, "c1", "web")
    assert body["source"] == "allocated" and body["held"] is None and body["channel"] == "web"
    assert body["offers"] == [
        {
            "rank": 1,
            "offer_id": "HOME10",
            "name": "10% off home",
            "kind": "percent_off",
            "value": 10.0,
            "expected_value": 3.5,
            "uplift": 0.1,
            "reason": "prior (no campaign history)",
        },
        {
            "rank": 2,
            "offer_id": "VIP",
            "name": "A gift for you",
            "kind": "gift",
            "value": 1.0,
            "expected_value": 1.2,
            "uplift": 0.05,
            "reason": "prior (no campaign history)",
        },
    ]
    assert [o["offer_id"] for o in _offers(api, "c1", "email")["offers"]] == ["HOME10"]
    assert [o["offer_id"] for o in _offers(api, "c1", "app")["offers"]] == ["VIP"]
    # web is the default channel
    assert api.get(URL.format("c1")).json()["offers"] == body["offers"]


def test_the_fallback_offer_when_nothing_is_allocated_and_for_unknown_customers(
    api: TestClient,
) -> None:
    for customer, channel in [("c2", "app"), ("c3", "web"), ("nobody", "email"), ("x/y", "app")]:
        body = _offers(api, customer, channel)
        assert body["source"] == "fallback", (customer, channel)
        # SHIP, not OLD: OLD is flagged fallback too but no longer active
        assert [(o["offer_id"], o["reason"], o["expected_value"]) for o in body["offers"]] == [
            ("SHIP", "fallback", 0.0)
        ]


def test_a_channel_held_by_the_contact_policy_gets_no_offer_not_even_the_fallback(
    api: TestClient,
) -> None:
    body = _offers(api, "c3", "email")
    assert body["source"] == "held" and body["held"] == "contact_cap" and body["offers"] == []


def test_every_answer_equals_the_published_offers_table(api: TestClient) -> None:
    table = pd.DataFrame(
        OFFER_ROWS, columns=["customer_id", "offer_id", "channel", "ev", "uplift", "reason"]
    )
    for customer in ("c1", "c2", "c3"):
        for channel in ("web", "email", "app"):
            rows = table[(table["customer_id"] == customer) & (table["channel"] == channel)]
            got = _offers(api, customer, channel)["offers"]
            assert [(o["offer_id"], o["expected_value"], o["reason"]) for o in got] == list(
                zip(rows["offer_id"], rows["ev"], rows["reason"], strict=True)
            ), (customer, channel)


def test_a_bad_channel_is_a_422(api: TestClient) -> None:
    assert_error(api.get(URL.format("c1"), params={"channel": "sms"}), 422, "invalid_parameter")


def test_the_catalog_has_the_budget_left_after_the_allocation(api: TestClient) -> None:
    r = api.get("/v1/offers")
    assert r.status_code == 200 and r.headers["x-model-version"] == "v1"
    offers = {o["offer_id"]: o for o in r.json()["offers"]}
    assert list(offers) == ["HOME10", "VIP", "OLD", "SHIP"]
    assert offers["HOME10"]["budget_left"] == 40.0 and offers["HOME10"]["budget"] == 100.0
    assert offers["VIP"]["budget_left"] is None
    assert [offers[o]["active"] for o in offers] == [True, True, False, True]
    assert offers["HOME10"]["audience"] == 2


def test_offer_audience_pages_and_csv(api: TestClient) -> None:
    url = "/v1/offers/HOME10/audience"
    first = api.get(url, params={"limit": 1}).json()
    assert first["offer_id"] == "HOME10" and first["model_version"] == "v1"
    assert first["customers"] == [
        {
            "customer_id": "c1",
            "expected_value": 3.5,
            "uplift": 0.1,
            "reason": "prior (no campaign history)",
        }
    ]
    second = api.get(url, params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [c["customer_id"] for c in second["customers"]] == ["c2"]
    assert second["next_cursor"] is None
    r = api.get(url, headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["customer_id"], float(row["expected_value"])) for row in rows] == [
        ("c1", 3.5),
        ("c2", 2.0),
    ]
    assert_error(api.get("/v1/offers/NOPE/audience"), 404, "unknown_offer")
    # the fallback offer's audience is who was allocated it: nobody here
    assert api.get("/v1/offers/SHIP/audience").json()["customers"] == []


def test_item_audience_ranks_customers_by_where_the_item_is_in_their_list(
    api: TestClient,
) -> None:
    body = api.get("/v1/items/i05/audience").json()
    assert body["item_id"] == "i05" and body["next_cursor"] is None
    assert body["customers"] == [{"customer_id": "c1", "position": 3, "score": 0.7}]
    assert api.get("/v1/items/i06/audience").json()["customers"] == []  # in nobody's list
    assert_error(api.get("/v1/items/nope/audience"), 404, "unknown_item")
    r = api.get("/v1/items/i08/audience", headers={"Accept": "text/csv"})
    assert list(csv.reader(io.StringIO(r.text))) == [
        ["customer_id", "position", "score"],
        ["c2", "1", "0.5"],
    ]


def test_segment_customers_carry_their_best_offer(api: TestClient) -> None:
    rows = api.get("/v1/segments/rfm:champions/customers").json()["customers"]
    best = {r["customer_id"]: (r["best_offer_id"], r["best_offer_value"]) for r in rows}
    assert best == {"c1": ("HOME10", 3.5), "c3": (None, None)}


def test_a_version_without_offers_answers_empty(
    publish_shop: Publisher, settings: Settings
) -> None:
    publish_shop("v2")  # v2 predates offers
    with serve(settings) as api:
        body = api.get(URL.format("c1"), params={"channel": "email"}).json()
        assert (body["source"], body["offers"]) == ("none", [])
        assert api.get("/v1/offers").json()["offers"] == []
        assert_error(api.get("/v1/offers/HOME10/audience"), 404, "unknown_offer")


def _big_shop(n: int) -> dict[str, pd.DataFrame]:
    """The tiny shop with ``n`` customers who all get HOME10 and have i01 in their list."""
    tables = shop_tables("v1")
    ids = [f"k{i:05d}" for i in range(n)]
    recs = pd.DataFrame(
        {
            C.CUSTOMER_ID: ids,
            C.RANK: [1 + i % 7 for i in range(n)],
            C.ITEM_ID: "i01",
            C.SCORE: [float(i % 13) for i in range(n)],
        }
    )
    tables["recommendations"] = pd.concat([tables["recommendations"], recs], ignore_index=True)
    tables["item_audiences"] = item_audience_table(tables["recommendations"], size=n)
    audience = tables["offer_audiences"]
    extra = pd.DataFrame(
        {
            "offer_id": "HOME10",
            "sort": "value",
            C.CUSTOMER_ID: ids,
            "expected_value": [1.0 - i / (2 * n) for i in range(n)],
            "uplift": 0.01,
            "reason": "prior (no campaign history)",
        }
    )
    audience = pd.concat([audience, extra], ignore_index=True).sort_values(
        ["offer_id", "expected_value"], ascending=[True, False], kind="mergesort"
    )
    audience[C.RANK] = audience.groupby("offer_id").cumcount() + 1
    tables["offer_audiences"] = audience
    return tables


def _walk(api: TestClient, url: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = api.get(url, params=params).json()
        seen += [c["customer_id"] for c in body["customers"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("settings", [True], indirect=True, ids=["multiplexed"])
def test_pagination_is_complete_and_stable_across_stored_pages(
    tmp_path: Path, redis_client: redis.Redis, namespace: str, settings: Settings
) -> None:
    n = 2300  # three stored pages of 1,000
    tables = _big_shop(n)
    manifest = {"version": "big", "created_at": "2024-01-01T00:00:00Z", "top_n": 10}
    publish(
        write_bundle_tables(tmp_path / "big", manifest, **tables), redis_client, namespace=namespace
    )
    with serve(settings) as api:
        walked = _walk(api, "/v1/offers/HOME10/audience", 700)
        want = tables["offer_audiences"].query("offer_id == 'HOME10'")[C.CUSTOMER_ID].tolist()
        assert walked == want and len(walked) == n + 2 and len(set(walked)) == n + 2
        assert _walk(api, "/v1/offers/HOME10/audience", 1000) == walked  # stable
        items = _walk(api, "/v1/items/i01/audience", 999)
        expected = tables["item_audiences"].query("item_id == 'i01'")[C.CUSTOMER_ID].tolist()
        assert items == expected and len(items) == n
        rows = list(
            csv.DictReader(
                io.StringIO(api.get("/v1/items/i01/audience", headers={"Accept": "text/csv"}).text)
            )
        )
        assert [r["customer_id"] for r in rows] == expected
        positions = [int(r["position"]) for r in rows]
        assert positions == sorted(positions)  # highest in their list first


def test_a_cursor_of_a_pruned_version_is_gone(publish_shop: Publisher, settings: Settings) -> None:
    publish_shop("v1")
    with serve(settings) as api:
        cursor = api.get("/v1/offers/HOME10/audience", params={"limit": 1}).json()["next_cursor"]
        publish_shop("v2")
        publish_shop("v3")  # keep=2: v1 is pruned
        gone = api.get("/v1/offers/HOME10/audience", params={"limit": 1, "cursor": cursor})
        assert_error(gone, 410, "cursor_expired")
        assert_error(
            api.get("/v1/offers/HOME10/audience", params={"cursor": "garbage!"}),
            422,
            "invalid_cursor",
        )


def test_redis_down_the_site_gets_the_fallback_offer_and_lists_are_503(tmp_path: Path) -> None:
    srv = ThrowawayRedis(tmp_path)
    srv.start()
    try:
        manifest = {"version": "v1", "created_at": "2024-01-01T00:00:00Z", "top_n": 10}
        path = write_bundle_tables(tmp_path / "bundle", manifest, **shop_tables("v1"))
        client = redis.Redis.from_url(srv.url)
        publish(path, client, namespace="shop", score_dtype="float32")
        client.close()
        settings = Settings(
            redis_url=srv.url, namespace="shop", version_cache_seconds=0, gc_freeze=False
        )
        with serve(settings) as api:
            assert _offers(api, "c1", "web")["source"] == "allocated"  # reads the catalog
            srv.stop()
            body = _offers(api, "c1", "web")
            assert (body["source"], [o["offer_id"] for o in body["offers"]]) == (
                "fallback",
                ["SHIP"],
            )
            assert_error(api.get("/v1/offers"), 503, "unavailable")
            assert_error(api.get("/v1/offers/HOME10/audience"), 503, "unavailable")
            srv.start()
            assert api.get("/readyz").status_code == 200
            assert _offers(api, "c1", "web")["source"] == "allocated"
    finally:
        srv.kill()
