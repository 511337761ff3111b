"""API keys with scopes, sent in the ``X-API-Key`` header.

Scopes: ``site`` (recommendations, similar items, session, model), ``marketing`` (lists) and
``events`` (writes). A missing or unknown key is 401; a known key without the needed scope is
403. With no keys configured the service is open (a warning is logged at start-up).
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import FastAPI

from serving.errors import ApiError
from serving.settings import Settings

API_KEY_HEADER = "X-API-Key"
SECURITY_SCHEME = "ApiKey"


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


def document_api_keys(app: FastAPI, prefix: str) -> None:
    """Declare the API-key scheme in OpenAPI for every operation under ``prefix``.

    The key is read as a plain header inside the one dependency each route has (a separate
    ``APIKeyHeader`` dependency would cost every request another dependency resolution), so
    the scheme is added to the generated schema here; /docs then shows "Authorize".
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[SECURITY_SCHEME] = {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
            for path, operations in schema.get("paths", {}).items():
                if path.startswith(prefix):
                    for operation in operations.values():
                        operation["security"] = [{SECURITY_SCHEME: []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
