"""One error shape for every failure: ``{"error": {"code": "...", "message": "..."}}``.

FastAPI's default validation and HTTP exception handlers are replaced so that bad
parameters, unknown routes, wrong methods and unexpected exceptions all answer in this shape
(an unexpected exception gives a 500 with no traceback in the body; it is logged).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from recsys.data.ids import readable_error
from serving.metrics import MODEL_VERSION_HEADER, SCOPE_VERSION_KEY

logger = logging.getLogger("serving")

# Codes for plain HTTP errors raised by the framework (unknown route, wrong method, ...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_parameter",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
_MAX_MESSAGE = 500


class OrjsonResponse(JSONResponse):
    """A JSON response rendered with orjson (fast, and strict about NaN / non-str keys)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    """An error the API reports to the caller: an HTTP status, a stable code and a message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> OrjsonResponse:
    """The JSON error body every failure uses."""
    return OrjsonResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def join_messages(parts: list[str]) -> str:
    """Several problems as one line (at most ``_MAX_MESSAGE`` characters)."""
    message = "; ".join(parts) or "invalid request"
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def validation_message(errors: Any) -> str:
    """Turn pydantic's error list into one readable line naming each bad parameter."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        message = f"{loc}: {readable_error(err)}"
        given = err.get("input")
        if isinstance(given, str | int | float) and not isinstance(given, bool):
            shown = repr(given)
            message += f" (got {shown if len(shown) <= 40 else shown[:37] + '...'})"
        parts.append(message)
    return join_messages(parts)


async def _api_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    from serving.auth import check_route_key  # auth imports this module

    try:
        check_route_key(request)  # no key, no word about the request's body
    except ApiError as denied:
        return error_response(denied.status, denied.code, denied.message, denied.headers)
    return error_response(422, "invalid_parameter", validation_message(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"no route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, message, headers)


async def _unexpected_error(request: Request, exc: Exception) -> OrjsonResponse:
    # Runs in Starlette's outermost middleware, outside the one that stamps the version
    # header on every other response: stamp it here.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    service = getattr(request.app.state, "service", None)
    version = request.scope.get(SCOPE_VERSION_KEY) or getattr(service, "last_version", None)
    headers = {MODEL_VERSION_HEADER.decode(): version} if version else None
    return error_response(500, "internal_error", "internal server error", headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the shared JSON shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
