"""Checks of a request's framing before it is routed, answered in the API's JSON error shape.

**The URL's encoding.** A percent-encoded path or query string must decode to UTF-8:
``/v1/customers/%FF`` would otherwise reach the route as U+FFFD (Starlette decodes with
replacement) and be answered for a customer nobody asked about. It is a 400 ``bad_request``
naming the part; so is a path holding a line break (``%0A``), which no route pattern matches
and would otherwise be a 404 naming a route that exists. (Raw non-ASCII bytes in a request
line are refused by the HTTP server itself, before the app, with its own plain-text 400.)

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

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import error_response


def _too_large(limit: int, size: int | None = None) -> str:
    got = "" if size is None else f" of {size:,} bytes"
    return (
        f"request body{got} is over the {limit:,} byte limit (RECSYS_MAX_BODY_BYTES); "
        "send fewer events or items per request"
    )


def url_problem(scope: Scope) -> str | None:
    """What is wrong with the request's URL before routing, or ``None``: a path or query
    string whose percent-encoded bytes are not UTF-8, or a path holding a line break (no
    route pattern matches one, so it would be a 404 naming a route that exists)."""
    for part, raw in (("path", scope.get("raw_path")), ("query string", scope["query_string"])):
        if raw and b"%" in raw:
            try:
                unquote_to_bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                return f"the {part} is not UTF-8 once percent-decoded (%-escapes of UTF-8 only)"
    if "\n" in scope["path"]:
        return "the path holds a line break (%0A): ids cannot hold control characters"
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
        problem = url_problem(scope)
        if problem is not None:
            await error_response(400, "bad_request", problem)(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
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
