"""API keys with scopes, sent in the ``X-API-Key`` header: one check for every route.

Scopes: ``site`` (a customer's recommendations, similar items, session, model), ``marketing``
(lists) and ``events`` (writes). A missing or unknown key is 401; a known key without the
needed scope is 403. Each router declares its scope once (:func:`require`), as a router-level
dependency that FastAPI runs for every route of the router. With no keys configured the
service is open: no check runs, the OpenAPI document declares no security, and a warning is
logged at start-up.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader

from serving.errors import ApiError
from serving.schemas import ErrorOut
from serving.settings import Scope, Settings

API_KEY_HEADER = "X-API-Key"

_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ApiKey",
    description="An API key; each key has scopes (site, marketing, events).",
    auto_error=False,  # a missing key is answered by authorize(), in the JSON error shape
)


def key_scopes(settings: Settings, key: str) -> frozenset[str] | None:
    """The scopes of ``key``, or None if it is not configured (compared in constant time)."""
    found: frozenset[str] | None = None
    given = key.encode()
    for known, scopes in settings.api_keys.items():
        if hmac.compare_digest(given, known.encode()):
            found = frozenset(scopes)
    return found


def authorize(settings: Settings, api_key: str | None, scope: str) -> None:
    """Raise ApiError 401/403 unless ``api_key`` carries ``scope`` (or no keys are set)."""
    if not settings.api_keys:
        return
    if not api_key:
        raise ApiError(401, "missing_api_key", f"this endpoint needs the {API_KEY_HEADER} header")
    scopes = key_scopes(settings, api_key)
    if scopes is None:
        raise ApiError(401, "invalid_api_key", "the API key is not valid")
    if scope not in scopes:
        raise ApiError(403, "forbidden", f"the API key lacks the {scope!r} scope")


def require(scope: Scope, settings: Settings) -> list[Any]:
    """Router-level dependencies: a key with ``scope`` (none while the service runs open)."""
    if not settings.api_keys:
        return []

    async def check(api_key: Annotated[str | None, Security(_api_key)]) -> None:
        authorize(settings, api_key, scope)

    check.__name__ = f"require_{scope}"
    # FastAPI reads a JSON body before it runs dependencies: the 422 handler asks this first,
    # so a request without a valid key learns nothing about the body (401/403 come first).
    check.authorize_header = lambda key: authorize(settings, key, scope)  # type: ignore[attr-defined]
    return [Depends(check)]


def check_route_key(request: Any) -> None:
    """Run the matched route's API-key check on ``request`` (ApiError 401/403), if it has one:
    for errors FastAPI raises before the route's dependencies run (a malformed body)."""
    route = request.scope.get("route")
    for dep in getattr(route, "dependencies", ()):
        check = getattr(dep.dependency, "authorize_header", None)
        if check is not None:
            check(request.headers.get(API_KEY_HEADER))


def auth_responses(settings: Settings) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a guarded router (none while the service runs open)."""
    if not settings.api_keys:
        return {}
    return {
        401: {"description": "Missing or unknown API key", "model": ErrorOut},
        403: {"description": "The API key lacks the scope", "model": ErrorOut},
    }
