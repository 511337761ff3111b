"""GET /v1/customers/{id}/recommendations against the tiny shop published to real Redis."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from recsys.events.recommendation_id import Attribution, parse_recommendation_id
from serving.settings import Settings
from tests.serving.conftest import ITEM_INFO, Publisher, assert_error, ids, serve

URL = "/v1/customers/{}/recommendations"


def test_known_customer_gets_the_bundle_in_order_with_catalog_facts(api: TestClient) -> None:
    r = api.get(URL.format("c1"), params={"k": 3})
    assert r.status_code == 200
    assert r.headers["x-model-version"] == "v1"
    body = r.json()
    rid = body.pop("recommendation_id")
    # New for every answer, naming what it was made of (attribution).
    assert parse_recommendation_id(rid) == Attribution("v1", "personal", "web", None, None)
    assert api.get(URL.format("c1"), params={"k": 3}).json()["recommendation_id"] != rid
    assert body == {
        "customer_id": "c1",
        "model_version": "v1",
        "experiment": None,
        "arm": None,
        "source": "personal",
        "items": [
            {
                "item_id": "i04",
                "score": 0.9,
                "source": "personal",
                "name": "Lamp",
                "category": "home",
                "price": 20.0,
            },
            {
                "item_id": "i05",
                "score": 0.7,
                "source": "personal",
                "name": "Rug",
                "category": "home",
                "price": 45.0,
            },
            {
                "item_id": "i07",
                "score": 0.6,
                "source": "personal",
                "name": "Pen",
                "category": "office",
                "price": 1.5,
            },
        ],
    }


def test_short_personal_list_is_topped_up_from_segment_then_popular(api: TestClient) -> None:
    # personal i04, i05, i07 (i03 is out of stock); segment s_home adds i06, i11 (i04, i05
    # already taken); popular adds i08, i10, i12 (i01, i02 bought; i03, i09 out of stock).
    body = api.get(URL.format("c1")).json()
    assert body["source"] == "personal"
    assert ids(body) == ["i04", "i05", "i07", "i06", "i11", "i08", "i10", "i12"]
    # Each item keeps the score of the list it came from.
    assert [i["score"] for i in body["items"]] == [0.9, 0.7, 0.6, 9.0, 8.0, 60.0, 50.0, 40.0]
    # ... and says which rung that was.
    assert [i["source"] for i in body["items"]] == ["personal"] * 3 + ["segment"] * 2 + [
        "popular"
    ] * 3
    assert len(set(ids(body))) == len(body["items"])


def test_top_up_of_a_single_item_list(api: TestClient) -> None:
    body = api.get(URL.format("c2"), params={"k": 4}).json()
    assert ids(body) == ["i08", "i12", "i07", "i01"]
    assert body["source"] == "personal"


def test_customer_with_only_a_segment_gets_the_segment_list(api: TestClient) -> None:
    body = api.get(URL.format("c3"), params={"k": 3}).json()
    assert body["source"] == "segment"
    assert ids(body) == ["i12", "i07", "i08"]


def test_unknown_customer_gets_popular(api: TestClient) -> None:
    r = api.get(URL.format("nobody"))
    assert r.status_code == 200
    body = r.json()
    assert body["source"] == "popular"
    assert body["customer_id"] == "nobody"
    assert ids(body) == ["i01", "i02", "i04", "i05", "i06", "i07", "i08", "i10", "i11", "i12"]


@pytest.mark.parametrize("customer", ["c1", "c2", "c3", "nobody"])
def test_filters_never_leak(api: TestClient, customer: str) -> None:
    excluded = {"i05", "i08", "i12"}
    for k in (1, 3, 10, 100):
        params = [("k", k), ("exclude", "i05"), ("exclude", "i08"), ("exclude", "i12")]
        body = api.get(URL.format(customer), params=params).json()
        got = ids(body)
        assert len(got) <= k
        assert not excluded & set(got)
        assert not {"i03", "i09"} & set(got)  # out of stock
        if customer == "c1":
            assert not {"i01", "i02"} & set(got)  # already purchased


def test_exclude_is_repeated_and_taken_as_is(api: TestClient) -> None:
    body = api.get(URL.format("c1") + "?exclude=i05&exclude=i08&exclude=i12").json()
    assert ids(body) == ["i04", "i07", "i06", "i11", "i10"]
    # A comma is part of an id (ids may contain one): "i05,i08" excludes neither item.
    body = api.get(URL.format("c1") + "?exclude=i05,i08").json()
    assert {"i05", "i08"} <= set(ids(body))


def test_category_restricts_every_rung(api: TestClient) -> None:
    body = api.get(URL.format("c1"), params={"category": "office"}).json()
    assert ids(body) == ["i07", "i08", "i12"]  # i09 out of stock
    assert {item["category"] for item in body["items"]} == {"office"}
    body = api.get(URL.format("nobody"), params={"category": "kitchen"}).json()
    assert (body["source"], ids(body)) == ("popular", ["i01", "i02", "i10"])
    # A category the catalog does not have is a mistake, not an empty list.
    error = assert_error(
        api.get(URL.format("c1"), params={"category": "garden"}), 422, "unknown_category"
    )
    assert "'garden'" in error["message"]


def test_include_purchased_serves_the_evaluated_list(api: TestClient) -> None:
    body = api.get(URL.format("c1"), params={"include_purchased": "true"}).json()
    # recommendations_all [i02, i04, i03*, i01] as it is, then segment and popular top-ups.
    assert ids(body)[:3] == ["i02", "i04", "i01"]
    assert [i["source"] for i in body["items"][:3]] == ["personal"] * 3
    assert ids(body)[3:] == ["i06", "i11", "i05", "i07", "i08", "i10", "i12"]


def test_include_purchased_on_a_version_without_the_evaluated_list(
    publish_shop: Publisher, settings: Settings
) -> None:
    """Versions published before bundles carried ``all`` interleave rec and buy-again."""
    publish_shop("v1")
    publish_shop("v2")
    with serve(settings) as c:
        body = c.get(URL.format("c1"), params={"include_purchased": "true"}).json()
    # v2: personal [i06, i10, i12] interleaved with buy-again [i01, i02].
    assert (body["model_version"], ids(body)[:5]) == ("v2", ["i06", "i01", "i10", "i02", "i12"])


@pytest.mark.parametrize("channel", ["web", "email"])
def test_channels_keep_purchased_items_out(api: TestClient, channel: str) -> None:
    body = api.get(URL.format("c1"), params={"channel": channel}).json()
    assert not {"i01", "i02"} & set(ids(body))


def test_items_carry_catalog_facts(api: TestClient) -> None:
    for item in api.get(URL.format("nobody"), params={"k": 10}).json()["items"]:
        _, name, category, price, in_stock = ITEM_INFO[item["item_id"]]
        assert (item["name"], item["category"], item["price"]) == (name, category, price)
        assert in_stock
