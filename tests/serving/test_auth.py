"""API keys: 401 without or with an unknown key, 403 without the scope, open when unset."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from serving.settings import Settings
from tests.serving.conftest import Publisher, assert_error, serve

KEYS = {"site-key": ["site"], "mkt-key": ["marketing"], "both-key": ["site", "marketing"]}
SITE_PATHS = [
    ("GET", "/v1/customers/c1/recommendations"),
    ("GET", "/v1/items/i04/similar"),
    ("POST", "/v1/recommendations/session"),
    ("GET", "/v1/model"),
]


@pytest.fixture
def keyed(publish_shop: Publisher, settings: Settings) -> Iterator[TestClient]:
    publish_shop("v1")
    with serve(settings.model_copy(update={"api_keys": KEYS})) as c:
        yield c


@pytest.mark.parametrize(("method", "path"), SITE_PATHS)
def test_site_endpoints_need_a_site_key(keyed: TestClient, method: str, path: str) -> None:
    body = {"item_ids": ["i04"]} if method == "POST" else None

    def send(**kw: object) -> httpx.Response:
        return keyed.request(method, path, json=body, **kw)  # type: ignore[arg-type]

    assert_error(send(), 401, "missing_api_key")
    assert_error(send(headers={"X-API-Key": ""}), 401, "missing_api_key")
    assert_error(send(headers={"X-API-Key": "wrong"}), 401, "invalid_api_key")
    assert_error(send(headers={"X-API-Key": "site-key "}), 401, "invalid_api_key")
    assert_error(send(headers={"X-API-Key": "mkt-key"}), 403, "forbidden")
    for key in ("site-key", "both-key"):
        response = send(headers={"X-API-Key": key})
        assert response.status_code == 200, response.text
        assert response.headers["x-model-version"] == "v1"


def test_operations_endpoints_are_open(keyed: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
        assert keyed.get(path).status_code == 200, path


def test_auth_is_checked_before_parameters(keyed: TestClient) -> None:
    assert_error(keyed.get("/v1/customers/c1/recommendations?k=0"), 401, "missing_api_key")


@pytest.mark.parametrize("body", [b"{", b"[1, 2", b"not json"])
def test_auth_is_checked_before_a_malformed_body(keyed: TestClient, body: bytes) -> None:
    """FastAPI reads a JSON body before the route's dependencies: without a key the caller
    used to get the body's 422, learning the route exists and what it parses."""
    path = "/v1/recommendations/session"
    json_type = {"content-type": "application/json"}
    assert_error(keyed.post(path, content=body, headers=json_type), 401, "missing_api_key")
    wrong = {**json_type, "X-API-Key": "wrong"}
    assert_error(keyed.post(path, content=body, headers=wrong), 401, "invalid_api_key")
    no_scope = {**json_type, "X-API-Key": "mkt-key"}
    assert_error(keyed.post(path, content=body, headers=no_scope), 403, "forbidden")
    allowed = {**json_type, "X-API-Key": "site-key"}
    assert_error(keyed.post(path, content=body, headers=allowed), 422, "invalid_parameter")


def test_open_mode_without_keys_warns(
    publish_shop: Publisher, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    publish_shop("v1")
    with caplog.at_level("WARNING", logger="serving"), serve(settings) as c:
        assert c.get("/v1/customers/c1/recommendations").status_code == 200
        assert c.get("/v1/model", headers={"X-API-Key": "anything"}).status_code == 200
    assert any("no API keys configured" in r.getMessage() for r in caplog.records)


def test_api_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_API_KEYS", '{"k1": ["site"], "k2": ["site", "events"]}')
    monkeypatch.setenv("RECSYS_MAX_K", "50")
    settings = Settings()
    assert settings.api_keys == {"k1": ["site"], "k2": ["site", "events"]}
    assert settings.max_k == 50
    monkeypatch.setenv("RECSYS_API_KEYS", '{"k1": ["admin"]}')
    with pytest.raises(ValueError, match="admin"):
        Settings()
