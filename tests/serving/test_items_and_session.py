"""GET /v1/items/{id}/similar and POST /v1/recommendations/session on the tiny shop."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.serving.conftest import assert_error, ids

SESSION = "/v1/recommendations/session"


def test_similar_items_in_order(api: TestClient) -> None:
    r = api.get("/v1/items/i04/similar")
    assert r.status_code == 200
    assert r.headers["x-model-version"] == "v1"
    body = r.json()
    assert (body["item_id"], body["model_version"], body["source"]) == ("i04", "v1", "similar")
    assert [(i["item_id"], i["score"]) for i in body["items"]] == [
        ("i06", 0.8),
        ("i11", 0.6),
        ("i05", 0.5),
    ]
    assert ids(api.get("/v1/items/i04/similar", params={"k": 2}).json()) == ["i06", "i11"]


def test_similar_skips_out_of_stock_and_tops_up_from_same_category(api: TestClient) -> None:
    # i01 -> [i02, i10, i03*]; kitchen popular adds nothing new (i01 itself, i03 out of stock).
    assert ids(api.get("/v1/items/i01/similar").json()) == ["i02", "i10"]
    # i07 -> [i12]; office popular tops up with i08 (i07 itself, i09 out of stock).
    assert ids(api.get("/v1/items/i07/similar").json()) == ["i12", "i08"]


def test_similar_honours_exclude_and_category(api: TestClient) -> None:
    # i04 -> [i06, i11, i05], then home popular [i06*, i11*, i04 itself, i05*]: all taken.
    body = api.get("/v1/items/i04/similar", params={"exclude": ["i06", "i05"]}).json()
    assert ids(body) == ["i11"]
    # A category restricts the similar list and tops up from that category's popular items.
    body = api.get("/v1/items/i04/similar", params={"category": "office"}).json()
    assert ids(body) == ["i07", "i08", "i12"]  # no office item is similar to i04; i09 out
    assert {i["source"] for i in body["items"]} == {"popular"}
    error = assert_error(
        api.get("/v1/items/i04/similar", params={"category": "garden"}), 422, "unknown_category"
    )
    assert "garden" in error["message"]


def test_item_without_similar_list_gets_popular_of_its_category(api: TestClient) -> None:
    body = api.get("/v1/items/i08/similar").json()
    assert body["source"] == "popular"
    assert ids(body) == ["i07", "i12"]


def test_unknown_item_is_404_json(api: TestClient) -> None:
    error = assert_error(api.get("/v1/items/nope/similar"), 404, "unknown_item")
    assert "nope" in error["message"]


def test_session_blends_similar_lists_and_excludes_its_items(api: TestClient) -> None:
    r = api.post(SESSION, json={"item_ids": ["i04", "i06"], "k": 5})
    assert r.status_code == 200
    assert r.headers["x-model-version"] == "v1"
    body = r.json()
    # i04 -> i06 .8, i11 .6, i05 .5; i06 -> i04 .7, i11 .65: i11 sums to 1.25 and leads;
    # i04 and i06 are the session's own items; popular tops up (i03 out of stock).
    assert body["source"] == "similar"
    assert ids(body) == ["i11", "i05", "i01", "i02", "i07"]
    assert body["items"][0]["score"] == 1.25


def test_session_honours_exclude_in_its_body(api: TestClient) -> None:
    body = {"item_ids": ["i04", "i06"], "k": 5, "exclude": ["i11", "i01", "unknown-id"]}
    r = api.post(SESSION, json=body)
    assert r.status_code == 200, r.text
    assert ids(r.json()) == ["i05", "i02", "i07", "i08", "i10"]  # popular, minus exclude
    too_many = {"item_ids": ["i04"], "exclude": [f"x{i}" for i in range(101)]}
    assert_error(api.post(SESSION, json=too_many), 422, "invalid_parameter")


def test_session_ignores_unknown_items_and_falls_back_to_popular(api: TestClient) -> None:
    body = api.post(SESSION, json={"item_ids": ["new-item", "i08"], "k": 3}).json()
    assert body["source"] == "popular"
    assert ids(body) == ["i01", "i02", "i04"]
    body = api.post(SESSION, json={"item_ids": []}).json()
    assert body["source"] == "popular"
    assert len(body["items"]) == 10


def test_session_never_returns_given_or_out_of_stock_items(api: TestClient) -> None:
    given = ["i01", "i02", "i04", "i07"]
    got = ids(api.post(SESSION, json={"item_ids": given, "k": 100}).json())
    assert not set(got) & (set(given) | {"i03", "i09"})
    assert sorted(got) == ["i05", "i06", "i08", "i10", "i11", "i12"]


def test_session_bad_bodies_are_422(api: TestClient) -> None:
    assert_error(api.post(SESSION, json={"item_ids": ["ok", " lead"]}), 422, "invalid_parameter")
    assert_error(api.post(SESSION, json={"item_ids": ["i01"], "k": 0}), 422, "invalid_parameter")
    assert_error(api.post(SESSION, json={"item_ids": "i01"}), 422, "invalid_parameter")
    assert_error(api.post(SESSION, json={"items": ["i01"]}), 422, "invalid_parameter")
    assert_error(api.post(SESSION, json={"item_ids": ["i01"] * 101}), 422, "invalid_parameter")
    assert_error(
        api.post(SESSION, content=b"{not json", headers={"content-type": "application/json"}),
        422,
        "invalid_parameter",
    )
    assert_error(api.post(SESSION), 422, "invalid_parameter")
    # k is a JSON Schema integer: no strings, booleans or fractions standing in for a count.
    for k in ("3", 2.5, True, 10**30, 1e300):
        response = api.post(SESSION, json={"item_ids": ["i01"], "k": k})
        assert_error(response, 422, "invalid_parameter")


def test_session_k_may_be_an_integral_number(api: TestClient) -> None:
    body = api.post(SESSION, json={"item_ids": ["i01"], "k": 2.0}).json()
    assert len(body["items"]) == 2


def test_session_422_is_documented_as_the_json_error_shape(api: TestClient) -> None:
    responses = api.get("/openapi.json").json()["paths"][SESSION]["post"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
