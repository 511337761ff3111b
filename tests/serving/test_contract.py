"""The API against its own OpenAPI document (schemathesis), and auth as a contract.

Schemathesis generates requests from ``/openapi.json`` (valid and invalid ones) and checks
every answer: no server error, a documented status code, a body of the documented shape,
and content types as declared. Fixed seed (``derandomize``) and a bounded number of examples
per operation keep the run reproducible and about a minute long.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import schemathesis
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from schemathesis.specs.openapi.checks import positive_data_acceptance

from serving.app import create_app
from serving.errors import ApiError, install_error_handlers
from serving.settings import Settings
from tests.serving.conftest import Publisher, assert_error

OPEN_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc"}
KEYS = {
    "site-key": ["site"],
    "marketing-key": ["marketing"],
    "events-key": ["events"],
    "all-key": ["site", "marketing", "events"],
}


def expected_scope(method: str, path: str) -> str:
    """The SPEC's rule: marketing lists (segments, the offer catalog, offer and item
    audiences) need ``marketing``; event writes need ``events``; every other /v1 route is a
    site read."""
    if path.startswith("/v1/segments") or path.endswith("/audience") or path == "/v1/offers":
        return "marketing"
    if path.startswith("/v1/events"):
        return "events"
    return "site"


# Values for the path parameters of every route (ids of the tiny shop in conftest).
PATH_VALUES = {
    "customer_id": "c1",
    "item_id": "i01",
    "name": "swagger-ui.css",
    "segment": "rfm:champions",
    "offer_id": "HOME10",
}
BODIES = {
    "/v1/recommendations/session": {"item_ids": ["i01"], "k": 3},
    "/v1/events": {
        "events": [{"event_id": "e1", "event_type": "view", "customer_id": "c1", "item_id": "i01"}]
    },
}
#: Routes whose success is not 200 (POST /v1/events answers 202 Accepted).
SUCCESS = {"/v1/events": 202}
EXAMPLES = 80  # per operation: about half a minute for the whole API


def _settings(redis_url: str, namespace: str, **update: Any) -> Settings:
    return Settings(
        redis_url=redis_url, namespace=namespace, version_cache_seconds=0, gc_freeze=False, **update
    )


def test_every_operation_keeps_its_contract(
    publish_shop: Publisher, redis_url: str, namespace: str
) -> None:
    """Each operation of /openapi.json, with schemathesis' default checks; every failure of
    every operation is reported (the first one found per operation)."""
    publish_shop("v1")
    app = create_app(_settings(redis_url, namespace))
    failures: dict[str, str] = {}
    with TestClient(app):  # the lifespan runs: the service is started for the generated calls
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 7
        for operation in operations:

            @hypothesis.given(case=operation.as_strategy())
            @hypothesis.settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                response = case.call()
                if response.status_code == 422 and _semantic_422(response):
                    # A value the schema cannot rule out (SEMANTIC_422): 422 by design;
                    # every other check still applies.
                    case.validate_response(response, excluded_checks=[positive_data_acceptance])
                else:
                    case.validate_response(response)

            try:
                check()
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                failures[operation.label] = f"{type(exc).__name__}: {exc}"[:2000]
    assert not failures, "\n\n".join(f"{op}: {text}" for op, text in failures.items())


#: 422s a static schema cannot rule out: a category the version lacks, a cursor not ours.
SEMANTIC_422 = {"unknown_category", "invalid_cursor"}


def _semantic_422(response: Any) -> bool:
    return response.json().get("error", {}).get("code") in SEMANTIC_422


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, through included routers (FastAPI keeps those as route groups whose
    ``effective_route_contexts()`` are the routes with the include's prefix and
    dependencies applied)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        else:
            yield route


def _api_routes(app: FastAPI, *, dependant_only: bool = False) -> list[tuple[str, str]]:
    """(method, concrete path) for every route of the app, derived from the app
    (``dependant_only``: FastAPI's routes, which run dependencies; not /openapi.json)."""
    out = []
    for route in _routes(app.routes):
        if dependant_only and getattr(route, "dependant", None) is None:
            continue
        path = route.path_format
        for name, value in PATH_VALUES.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no test value for a parameter of {route.path_format}"
        for method in sorted(route.methods):
            out.append((method, path))
    return out


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith("/docs/")


def _call(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    route_path = path if path in BODIES else None
    if route_path is not None:
        kwargs["json"] = BODIES[route_path]
    return client.request(method, path, **kwargs)


def test_every_route_needs_a_key_with_the_right_scope(
    publish_shop: Publisher, redis_url: str, namespace: str
) -> None:
    publish_shop("v1")
    app = create_app(_settings(redis_url, namespace, api_keys=KEYS))
    routes = _api_routes(app)
    guarded = [(m, p) for m, p in routes if not _is_open(p)]
    assert len(guarded) >= 7  # GET and HEAD of the data routes, and the session POST
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path in guarded:
            missing = _call(client, method, path)
            assert missing.status_code == 401, (method, path, missing.text)
            wrong = _call(client, method, path, headers={"X-API-Key": "not-a-key"})
            assert wrong.status_code == 401, (method, path)
            scope = expected_scope(method, path)
            for other in {"site", "marketing", "events"} - {scope}:
                response = _call(client, method, path, headers={"X-API-Key": f"{other}-key"})
                assert response.status_code == 403, (method, path, other)
            for key in (f"{scope}-key", "all-key"):
                ok = _call(client, method, path, headers={"X-API-Key": key})
                assert ok.status_code == SUCCESS.get(path, 200), (method, path, key, ok.text)
        for method, path in routes:
            if _is_open(path):
                assert _call(client, method, path).status_code == 200, (method, path)


async def _deny() -> None:
    raise ApiError(403, "forbidden", "denied by an app-level dependency")


def test_an_app_level_dependency_that_refuses_is_honoured_on_every_route(
    publish_shop: Publisher, redis_url: str, namespace: str
) -> None:
    publish_shop("v1")
    app = create_app(_settings(redis_url, namespace), dependencies=[Depends(_deny)])
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path in _api_routes(app, dependant_only=True):
            response = _call(client, method, path)
            assert response.status_code == 403, (method, path, response.status_code)
            if method != "HEAD":
                assert_error(response, 403, "forbidden")


def test_a_router_level_dependency_that_refuses_is_honoured(
    publish_shop: Publisher, redis_url: str, namespace: str
) -> None:
    """Our app mounted as a router of another app with an extra dependency on the include."""
    publish_shop("v1")
    inner = create_app(_settings(redis_url, namespace))
    outer = FastAPI(lifespan=inner.router.lifespan_context)
    outer.state = inner.state
    install_error_handlers(outer)
    outer.include_router(inner.router, dependencies=[Depends(_deny)])
    with TestClient(outer, raise_server_exceptions=False) as client:
        paths = [(m, p) for m, p in _api_routes(outer) if p.startswith("/v1/")]
        assert len(paths) >= 7  # GET and HEAD of the data routes, and the session POST
        for method, path in paths:
            assert _call(client, method, path).status_code == 403, (method, path)
