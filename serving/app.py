"""The FastAPI application factory.

``create_app(settings)`` builds an app whose lifespan opens ONE ``redis.asyncio`` client
(short timeouts, one immediate retry so a dropped connection is re-opened), loads the active
version's snapshot (the fallback), and closes the client on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from recsys import __version__
from recsys.store import StoreReader, connect_async, resolve_redis_url
from recsys.store.connection import initialize_async, redact_url
from serving import redis_mux
from serving.auth import API_KEY_HEADER
from serving.errors import install_error_handlers
from serving.metrics import MODEL_VERSION_HEADER, Metrics, ObservabilityMiddleware
from serving.queries import request_models
from serving.redis_mux import MultiplexedRedis
from serving.request_guard import RequestGuardMiddleware
from serving.routes import (
    docs,
    events,
    health,
    items,
    model,
    offers,
    recommendations,
    segments,
)
from serving.service import Service, freeze_long_lived
from serving.settings import Settings, get_settings

logger = logging.getLogger("serving")


def open_redis(settings: Settings) -> tuple[redis.asyncio.Redis | MultiplexedRedis, str]:
    """The service's client (lazy: nothing is sent until the first command) and its URL.

    A :class:`~serving.redis_mux.MultiplexedRedis` (one pipelined connection: far cheaper
    per command) unless ``redis_multiplex`` is off or the URL needs TLS or names a Redis
    Cluster (``redis+cluster://``: the mux speaks to one server only); else redis-py's
    client (``redis.asyncio.cluster.RedisCluster`` for a cluster), which has the same methods.
    """
    url = resolve_redis_url(settings.redis_url)
    if settings.redis_multiplex and redis_mux.supports(url):
        mux = MultiplexedRedis(
            url,
            socket_timeout=settings.redis_socket_timeout,
            socket_connect_timeout=settings.redis_connect_timeout,
        )
        return mux, url
    client = connect_async(
        url,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_connect_timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )
    return client, url


def open_loader(settings: Settings, url: str) -> redis.asyncio.Redis:
    """redis-py's client for loading version snapshots: rare, possibly large reads, kept off
    the request path's connection and given a longer timeout."""
    return connect_async(
        url,
        socket_timeout=settings.redis_load_timeout,
        socket_connect_timeout=settings.redis_connect_timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def create_app(settings: Settings | None = None, *, dependencies: Sequence[Any] = ()) -> FastAPI:
    """Build the API from ``settings`` (default: :func:`get_settings`, the environment).

    ``dependencies`` are app-level FastAPI dependencies run for every route (e.g. a gateway
    check); they are honoured everywhere, like the routers' own API-key checks.
    """
    conf = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not conf.api_keys:
            logger.warning("no API keys configured (RECSYS_API_KEYS): the API is open to anyone")
        client, url = open_redis(conf)
        loader_client = open_loader(conf, url)
        app.state.events_writer = writer = events.open_writer(conf, url)
        try:
            await initialize_async(client)  # Redis Cluster: read the slot map before serving
            await initialize_async(loader_client)
            # The mux has every method the reader's request-path reads use.
            reader = StoreReader(client, conf.namespace)  # type: ignore[arg-type]
            loader = StoreReader(loader_client, conf.namespace)
            service = Service(conf, reader, metrics, redis_url=url, loader=loader)
            app.state.service = service
            logger.info("serving namespace %r from %s", conf.namespace, redact_url(url))
            await service.start()
            if conf.gc_freeze:
                freeze_long_lived()  # see Settings.gc_freeze
            yield
        finally:
            await client.aclose()
            await loader_client.aclose()
            await writer.aclose()

    app = FastAPI(
        title="recsys",
        version=__version__,
        summary="Recommendations, similar items and session suggestions from precomputed models.",
        lifespan=lifespan,
        docs_url=None,  # served with local assets by serving.routes.docs
        redoc_url=None,
        dependencies=list(dependencies),
        telemetry=None
        if conf.opentelemetry
        else {"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = conf
    app.state.metrics = metrics

    def last_version() -> str | None:
        service = getattr(app.state, "service", None)
        return None if service is None else service.last_version

    # Inside the metrics middleware, so refused requests are counted too.
    app.add_middleware(RequestGuardMiddleware, max_bytes=conf.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, last_version=last_version)
    if conf.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=conf.cors_origins,
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=[API_KEY_HEADER, "Content-Type"],
            expose_headers=[MODEL_VERSION_HEADER.decode()],
        )
    install_error_handlers(app)
    models = request_models(conf)
    app.include_router(recommendations.router(conf, models))
    app.include_router(items.router(conf, models))
    app.include_router(segments.customer_router(conf))
    app.include_router(segments.router(conf))
    app.include_router(offers.customer_router(conf))
    app.include_router(offers.router(conf))
    app.include_router(model.router(conf))
    app.include_router(events.router(conf))
    app.include_router(health.router())
    app.include_router(docs.router(app.title))
    return app
