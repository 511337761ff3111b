"""Prometheus metrics and the ASGI middleware that records them.

Each app gets its own :class:`~prometheus_client.CollectorRegistry` so several apps (tests,
workers) never clash. The middleware is plain ASGI (no ``BaseHTTPMiddleware``: it is on every
request's path) and also stamps the ``X-Model-Version`` header.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MODEL_VERSION_HEADER = b"x-model-version"
# Set by handlers on the ASGI scope: the version that answered this request.
SCOPE_VERSION_KEY = "recsys.model_version"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """The service's counters, histograms and gauges in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "recsys_http_requests",
            "HTTP requests by route template, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "recsys_http_request_duration_seconds",
            "Time spent answering HTTP requests, by route template and method.",
            ("route", "method"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "recsys_answers",
            "Recommendation answers by endpoint and by the rung that answered "
            "(personal, segment, similar, popular).",
            ("endpoint", "source"),
            registry=self.registry,
        )
        self.redis_errors = Counter(
            "recsys_redis_errors",
            "Redis failures, by operation; the request was answered from the in-process fallback.",
            ("operation",),
            registry=self.registry,
        )
        self.degraded = Counter(
            "recsys_degraded_answers",
            "Answers served from the in-process fallback copy because Redis was unavailable.",
            ("endpoint",),
            registry=self.registry,
        )
        self.model_info = Gauge(
            "recsys_model_version_info",
            "1 for the model version last seen active.",
            ("version",),
            registry=self.registry,
        )
        # labels() takes a lock and builds a tuple each call: keep the children.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._answers: dict[tuple[str, str], Any] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request and record its latency (label children cached per route)."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def answered(self, endpoint: str, source: str) -> None:
        """Count one recommendation answer by the rung that answered."""
        key = (endpoint, source)
        child = self._answers.get(key)
        if child is None:
            child = self._answers[key] = self.answers.labels(endpoint, source)
        child.inc()

    def set_version(self, version: str | None) -> None:
        """Record the active version as the only version with value 1."""
        self.model_info.clear()
        if version is not None:
            self.model_info.labels(version=version).set(1)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class ObservabilityMiddleware:
    """Count and time every request; add ``X-Model-Version`` to every response.

    The header carries the version that answered (set by handlers on the scope under
    :data:`SCOPE_VERSION_KEY`) or else the last version the process saw, if any.
    """

    def __init__(
        self, app: ASGIApp, metrics: Metrics, last_version: Callable[[], str | None]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.last_version = last_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                version = scope.get(SCOPE_VERSION_KEY) or self.last_version()
                if version:
                    headers = list(message.get("headers", ()))
                    headers.append((MODEL_VERSION_HEADER, version.encode("latin-1", "replace")))
                    message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = (
                getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
            )
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.observe(template, method, status, time.perf_counter() - start)
