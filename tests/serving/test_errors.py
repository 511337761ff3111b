"""Every error has the shape {"error": {"code", "message"}}; malformed input never 500s."""

from __future__ import annotations

from urllib.parse import quote

import orjson
import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.settings import Settings
from tests.serving.conftest import Publisher, assert_error, serve

REC = "/v1/customers/c1/recommendations"


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("k=0", "query.k: Input should be greater than or equal to 1 (got '0')"),
        ("k=-3", "(got '-3')"),
        ("k=101", "query.k: Input should be less than or equal to 100 (got '101')"),
        ("k=1000", "less than or equal to 100"),
        ("k=abc", "query.k"),
        ("k=1.5", "query.k"),
        ("k=", "query.k"),
        ("exclude=ok&exclude=%20lead", "query.exclude.1"),
        ("exclude=a%01b", "query.exclude.0"),
        ("exclude=" + "x" * 129, "exclude"),
        ("channel=sms", "query.channel"),
        ("include_purchased=maybe", "query.include_purchased"),
        ("category=" + "c" * 129, "query.category"),
        ("category=a%0Ab", "query.category"),
        ("k=1&k=2", "query.k: given 2 times; one value expected"),
        ("channel=web&channel=email", "query.channel: given 2 times"),
    ],
)
def test_bad_query_parameters_are_422(api: TestClient, query: str, fragment: str) -> None:
    error = assert_error(api.get(f"{REC}?{query}"), 422, "invalid_parameter")
    assert fragment in error["message"]


def test_too_many_excluded_ids_is_422(api: TestClient) -> None:
    exclude = [f"x{i}" for i in range(101)]
    assert_error(api.get(REC, params={"exclude": exclude}), 422, "invalid_parameter")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/customers/%20lead/recommendations",
        "/v1/customers/trail%20/recommendations",
        "/v1/customers/" + "c" * 129 + "/recommendations",
        "/v1/customers/a%01b/recommendations",
        "/v1/customers/a%C2%85b/recommendations",  # NEL, a C1 control character
        "/v1/items/%09x/similar",
        "/v1/customers/..%20/recommendations",
    ],
)
def test_ids_outside_the_alphabet_are_422(api: TestClient, path: str) -> None:
    error = assert_error(api.get(path), 422, "invalid_parameter")
    assert error["message"].startswith("path.")
    # Said in words (the rule ingest applies), not as the 200-character id pattern.
    if "c" * 129 not in path:
        assert "not a valid id: 1-128 characters, no control characters" in error["message"]
        assert "[^" not in error["message"]


def test_an_id_in_a_body_or_query_is_refused_in_words(api: TestClient) -> None:
    body = api.post("/v1/recommendations/session", json={"item_ids": ["ok", " lead"]})
    message = assert_error(body, 422, "invalid_parameter")["message"]
    assert message.startswith("item_ids.1: not a valid id: 1-128 characters"), message
    query = assert_error(api.get(f"{REC}?exclude=a%01b"), 422, "invalid_parameter")
    assert "query.exclude.0: not a valid id" in query["message"]


@pytest.mark.parametrize(
    "customer_id", ["bad id", "été", "a/b", "{x}", "a*b", "x+y@shop", "50%", "a,b", "..."]
)
def test_every_id_ingest_accepts_is_reachable(api: TestClient, customer_id: str) -> None:
    """Unknown but valid ids get the fallback (not a 404 or 422), percent-encoded."""
    path = f"/v1/customers/{quote(customer_id, safe='')}/recommendations"
    response = api.get(path)
    assert response.status_code == 200, response.text
    assert response.json()["customer_id"] == customer_id
    assert response.json()["source"] == "popular"
    item = api.get(f"/v1/items/{quote(customer_id, safe='')}/similar")
    assert_error(item, 404, "unknown_item")


def test_max_k_is_configurable(publish_shop: Publisher, settings: Settings) -> None:
    publish_shop("v1")
    with serve(settings.model_copy(update={"max_k": 5, "default_k": 2})) as c:
        assert len(c.get(REC).json()["items"]) == 2
        assert len(c.get(REC, params={"k": 5}).json()["items"]) == 5
        assert_error(c.get(REC, params={"k": 6}), 422, "invalid_parameter")


def test_unknown_route_and_wrong_method(api: TestClient) -> None:
    error = assert_error(api.get("/v1/nothing/here"), 404, "not_found")
    assert "/v1/nothing/here" in error["message"]
    response = api.delete(REC)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"
    assert_error(api.get("/v1/recommendations/session"), 405, "method_not_allowed")


def test_errors_carry_the_model_version_header(api: TestClient) -> None:
    assert api.get("/v1/nothing").headers["x-model-version"] == "v1"
    assert api.get(f"{REC}?k=0").headers["x-model-version"] == "v1"
    assert api.get("/v1/items/nope/similar").headers["x-model-version"] == "v1"


def test_unexpected_exception_is_500_json_without_traceback(
    publish_shop: Publisher, settings: Settings
) -> None:
    publish_shop("v1")
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    error = assert_error(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert error["message"] == "internal server error"
    assert response.headers["x-model-version"] == "v1"


def test_no_published_version_and_no_fallback_is_503(settings: Settings) -> None:
    with serve(settings) as c:
        assert_error(c.get(REC), 503, "no_model")
        assert_error(c.get("/v1/items/i01/similar"), 503, "no_model")
        assert_error(c.post("/v1/recommendations/session", json={}), 503, "no_model")
        assert_error(c.get("/v1/model"), 503, "no_model")
        assert_error(c.get("/readyz"), 503, "no_model")
        assert c.get("/healthz").status_code == 200
        assert "x-model-version" not in c.get("/healthz").headers


@pytest.mark.parametrize(
    "path",
    [
        "/v1/customers/%00/recommendations",
        "/v1/customers/c1/recommendations?k=99999999999999999999999",
        "/v1/customers/c1/recommendations?k=%00",
        "/v1/customers/c1/recommendations?exclude=%FF%FE",
        "/v1/customers/c1/recommendations?category=%FF",
        "/v1/customers/c1/recommendations?exclude=,,,&exclude=",
        "/v1/items/%2e%2e/similar",
        "/v1/items/i01/similar?k=1e3",
        "/v1//similar",
        "/v1/model?x=%zz",
    ],
)
def test_odd_input_never_500s(api: TestClient, path: str) -> None:
    response = api.get(path)
    assert response.status_code in (200, 400, 404, 422), response.text
    assert response.headers["content-type"].startswith("application/json")
    if response.status_code != 200:
        assert set(response.json()) == {"error"}


def test_a_body_over_the_limit_is_413_before_it_is_read(publish_shop, settings: Settings) -> None:
    publish_shop("v1")
    small = settings.model_copy(update={"max_body_bytes": 4096})
    with serve(small) as api:
        events = [{"event_id": "e", "event_type": "view", "customer_id": "c1", "item_id": "i01"}]
        assert api.post("/v1/events", json={"events": events[:1]}).status_code == 202
        big = {"events": [dict(events[0], event_id=f"e{i}") for i in range(200)]}
        response = api.post("/v1/events", json=big)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert "4,096 byte limit (RECSYS_MAX_BODY_BYTES)" in response.json()["error"]["message"]
        session = {"item_ids": ["i01"] * 100 + ["x" * 100] * 40}
        response = api.post("/v1/recommendations/session", json=session)
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/json")

        # No Content-Length (a chunked upload): counted as it is read, same JSON answer.
        def chunks():
            body = orjson.dumps(big)
            for start in range(0, len(body), 1000):
                yield body[start : start + 1000]

        response = api.post(
            "/v1/events", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "payload_too_large"
        # Under the limit, a chunked body is read as usual.
        small_body = orjson.dumps({"events": [dict(events[0], event_id="chunked")]})
        response = api.post(
            "/v1/events", content=iter([small_body]), headers={"content-type": "application/json"}
        )
        assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("path", "part"),
    [
        ("/v1/customers/%FF/recommendations", "path"),
        ("/v1/items/i0%C3/similar", "path"),
        ("/v1/customers/c1/recommendations?category=%FF", "query string"),
        ("/v1/customers/c1/recommendations?exclude=%E9t%E9", "query string"),
        ("/v1/customers/a%0Ab/recommendations", "path holds a line break"),
    ],
)
def test_a_url_that_is_not_utf8_is_a_400_not_a_replacement_character(
    api: TestClient, path: str, part: str
) -> None:
    # Starlette would decode %FF as U+FFFD and answer for a customer nobody asked about.
    response = api.get(path)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith(f"the {part}")


def test_percent_encoded_utf8_ids_still_reach_the_route(api: TestClient) -> None:
    # "é" as UTF-8 (%C3%A9) and an encoded slash are ids like any other.
    for path in ("/v1/customers/%C3%A9/recommendations", "/v1/customers/a%2Fb/recommendations"):
        response = api.get(path)
        assert response.status_code == 200, response.text
        assert response.json()["source"] in ("segment", "popular")


def test_every_api_route_documents_400_413_where_it_can_answer_them(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert "400" in codes, (method, path)
            assert ("413" in codes) == (method == "post"), (method, path)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/customers/c1/offers?channel=web&channel=email",
        "/v1/offers/OF01/audience?limit=5&limit=3",
        "/v1/items/i04/audience?limit=abc&limit=5",
        "/v1/segments/rfm:champions/customers?sort=clv&sort=churn_risk",
        "/v1/items/i04/similar?k=1&k=2",
    ],
)
def test_a_repeated_single_valued_parameter_is_422_on_every_route(api: TestClient, path: str):
    error = assert_error(api.get(path), 422, "invalid_parameter")
    assert "times; one value expected" in error["message"]
