"""Checks of a request's framing before it is routed, answered in the API's JSON error shape.

**The URL's encoding.** A percent-encoded path or query string must decode to UTF-8:
``/v1/customers/%FF`` would otherwise reach the route as U+FFFD (Starlette decodes with
replacement) and be answered for a customer nobody asked about. It is a 400 ``bad_request``
naming the part. (Raw non-ASCII bytes in a request line are refused by the HTTP server itself,
before the app, with its own plain-text 400.)

**The body's size.** A request body over ``RECSYS_MAX_BODY_BYTES`` is refused with 413.
FastAPI's own ``max_body_size`` answers in plain text (``Content Too Large``, sent by
Starlette's outer middleware, past every exception handler), so the limit is kept here as a
plain ASGI middleware:

- a declared ``Content-Length`` over the limit is answered at once, before the route runs
  and before a byte of the body is read;
- a body without a length (chunked) is counted as the route reads it, and the read that
  crosses the limit raises Starlette's ``HTTPException(413)``, which FastAPI passes to the
  API's handler (:mod:`serving.errors`).

Either way the answer is ``413 {"error": {"code": "payload_too_large", "message": ...}}``.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import error_response


def _too_large(limit: int, size: int | None = None) -> str:
    got = "" if size is None else f" of {size:,} bytes"
    return (
        f"request body{got} is over the {limit:,} byte limit (RECSYS_MAX_BODY_BYTES); "
        "send fewer events or items per request"
    )


def undecodable_part(scope: Scope) -> str | None:
    """``"path"`` or ``"query string"`` if that part's percent-encoded bytes are not UTF-8,
    else ``None``."""
    for part, raw in (("path", scope.get("raw_path")), ("query string", scope["query_string"])):
        if raw and b"%" in raw:
            try:
                unquote_to_bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                return part
    return None


class RequestGuardMiddleware:
    """Refuse a URL that is not UTF-8 (400) and a body over ``max_bytes`` (413), in JSON."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad_part = undecodable_part(scope)
        if bad_part is not None:
            message = f"the {bad_part} is not UTF-8 once percent-decoded (%-escapes of UTF-8 only)"
            await error_response(400, "bad_request", message)(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(
                413, "payload_too_large", _too_large(self.max_bytes, int(declared))
            )
            await response(scope, receive, send)
            return
        total = 0

        async def counted() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.max_bytes:
                    raise HTTPException(413, _too_large(self.max_bytes))
            return message

        await self.app(scope, counted, send)
