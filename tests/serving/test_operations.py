"""/v1/model, /healthz, /readyz, /metrics, /docs and the X-Model-Version header."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from serving.schemas import (
    HealthOut,
    ModelOut,
    ReadyOut,
    RecommendationsOut,
    SessionOut,
    SimilarOut,
)
from serving.settings import Settings
from tests.serving.conftest import Publisher, assert_error, serve


def test_model_returns_version_and_manifest(api: TestClient) -> None:
    r = api.get("/v1/model")
    assert r.status_code == 200
    assert r.headers["x-model-version"] == "v1"
    body = r.json()
    assert body["model_version"] == "v1"
    manifest = body["manifest"]
    assert (manifest["version"], manifest["created_at"], manifest["top_n"]) == (
        "v1",
        "2024-01-01T00:00:00Z",
        10,
    )
    assert {s["segment"] for s in manifest["segments"]["summary"]} == {
        "rfm:champions",
        "rfm:lost",
        "cluster:0",
        "cluster:1",
    }


def test_health_and_ready(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    r = api.get("/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ready", "model_version": "v1"})


def test_every_response_carries_the_model_version(api: TestClient) -> None:
    requests = [
        ("GET", "/v1/customers/c1/recommendations"),
        ("GET", "/v1/customers/nobody/recommendations"),
        ("GET", "/v1/items/i04/similar"),
        ("GET", "/v1/items/unknown/similar"),
        ("POST", "/v1/recommendations/session"),
        ("GET", "/v1/model"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/no/such/route"),
        ("PUT", "/v1/model"),
    ]
    for method, path in requests:
        response = api.request(method, path, json={} if method == "POST" else None)
        assert response.headers.get("x-model-version") == "v1", (method, path)


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(re.escape(name) + r"\{(.*)\} (\S+)", line)
        if match and dict(re.findall(r'(\w+)="([^"]*)"', match.group(1))) == labels:
            return float(match.group(2))
    return 0.0


def test_metrics_count_requests_sources_and_latency(api: TestClient) -> None:
    for _ in range(3):
        api.get("/v1/customers/c1/recommendations")
    api.get("/v1/customers/nobody/recommendations")
    api.get("/v1/customers/c1/recommendations?k=0")
    api.get("/v1/items/i08/similar")
    api.post("/v1/recommendations/session", json={"item_ids": ["i04"]})
    api.get("/nope")
    r = api.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    route = "/v1/customers/{customer_id}/recommendations"
    assert _sample(text, "recsys_http_requests_total", route=route, method="GET", status="200") == 4
    assert _sample(text, "recsys_http_requests_total", route=route, method="GET", status="422") == 1
    assert (
        _sample(text, "recsys_http_requests_total", route="unmatched", method="GET", status="404")
        == 1
    )
    assert (
        _sample(text, "recsys_http_request_duration_seconds_count", route=route, method="GET") == 5
    )
    answers = "recsys_answers_total"
    assert _sample(text, answers, endpoint="recommendations", source="personal") == 3
    assert _sample(text, answers, endpoint="recommendations", source="popular") == 1
    assert _sample(text, answers, endpoint="similar", source="popular") == 1
    assert _sample(text, answers, endpoint="session", source="similar") == 1
    assert _sample(text, "recsys_model_version_info", version="v1") == 1
    assert "recsys_redis_errors_total" in text.replace("# TYPE recsys_redis_errors", "")


def test_openapi_documents_the_api(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths) >= {
        "/v1/customers/{customer_id}/recommendations",
        "/v1/items/{item_id}/similar",
        "/v1/recommendations/session",
        "/v1/model",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    # The service runs open (no keys configured): no security is declared, no 401/403.
    assert "securitySchemes" not in spec.get("components", {})
    assert "security" not in paths["/v1/model"]["get"]
    assert not {"401", "403"} & set(paths["/v1/model"]["get"]["responses"])
    params = {
        p["name"] for p in paths["/v1/customers/{customer_id}/recommendations"]["get"]["parameters"]
    }
    assert params == {"customer_id", "k", "exclude", "category", "channel", "include_purchased"}
    assert api.get("/docs").status_code == 200


def test_openapi_declares_the_key_when_keys_are_configured(
    publish_shop: Publisher, settings: Settings
) -> None:
    publish_shop("v1")
    with serve(settings.model_copy(update={"api_keys": {"k1": ["site"]}})) as c:
        spec = c.get("/openapi.json").json()
    paths = spec["paths"]
    assert spec["components"]["securitySchemes"]["ApiKey"]["in"] == "header"
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"
    assert paths["/v1/model"]["get"]["security"] == [{"ApiKey": []}]
    assert paths["/v1/recommendations/session"]["post"]["security"] == [{"ApiKey": []}]
    assert {"401", "403"} <= set(paths["/v1/model"]["get"]["responses"])
    assert "security" not in paths["/healthz"]["get"]


def test_docs_work_offline(api: TestClient) -> None:
    """/docs and /redoc load their scripts from this service, never from a CDN."""
    for page in ("/docs", "/redoc"):
        html = api.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), (page, asset)  # no http(s):// host
            response = api.get(asset)
            assert response.status_code == 200, asset
            assert len(response.content) > 1000 or asset.endswith(".png"), asset
    assert_error(api.get("/docs/assets/nothing.js"), 404, "not_found")
    assert api.head("/docs").status_code == 200


def test_answers_match_the_documented_response_models(api: TestClient) -> None:
    checks = [
        (RecommendationsOut, api.get("/v1/customers/c1/recommendations")),
        (RecommendationsOut, api.get("/v1/customers/nobody/recommendations?k=100")),
        (SimilarOut, api.get("/v1/items/i04/similar")),
        (SessionOut, api.post("/v1/recommendations/session", json={"item_ids": ["i01"]})),
        (ModelOut, api.get("/v1/model")),
        (HealthOut, api.get("/healthz")),
        (ReadyOut, api.get("/readyz")),
    ]
    for model, response in checks:
        assert response.status_code == 200
        body = response.json()
        parsed = model.model_validate(body, strict=True)
        # Nothing undocumented, and unknown values are left out rather than null (but
        # ``experiment`` and ``arm`` are always there, null outside an experiment).
        always = {"experiment", "arm"} & set(model.model_fields)
        assert parsed.model_dump(exclude_none=True) | {k: None for k in always} == body


def test_head_answers_every_get_route_without_a_body(api: TestClient) -> None:
    for path in (
        "/v1/customers/c1/recommendations",
        "/v1/items/i04/similar",
        "/v1/model",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        get, head = api.get(path), api.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.headers["x-model-version"] == "v1", path


def test_cors_origins_come_from_the_setting(publish_shop: Publisher, settings: Settings) -> None:
    publish_shop("v1")
    origin = "https://shop.example"
    conf = settings.model_copy(update={"cors_origins": [origin]})
    with serve(conf) as c:
        preflight = c.options(
            "/v1/customers/c1/recommendations",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "X-API-Key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        answer = c.get("/v1/customers/c1/recommendations", headers={"Origin": origin})
        assert answer.headers["access-control-allow-origin"] == origin
        assert "x-model-version" in answer.headers["access-control-expose-headers"].lower()
        other = c.get(
            "/v1/customers/c1/recommendations", headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
    with serve(settings) as c:  # no origins configured: no CORS headers at all
        answer = c.get("/v1/customers/c1/recommendations", headers={"Origin": origin})
        assert "access-control-allow-origin" not in answer.headers


def test_cors_origins_parse_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("RECSYS_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.setenv("RECSYS_CORS_ORIGINS", '["https://c.example"]')
    assert Settings().cors_origins == ["https://c.example"]
