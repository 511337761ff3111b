"""Service settings, read from ``RECSYS_*`` environment variables.

``get_settings()`` reads the environment once (cached). :func:`serving.app.create_app` takes
its settings once, when it builds the app (the OpenAPI document states their bounds):
the ``settings`` given, else ``get_settings()``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

import orjson
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from recsys.errors import ConfigError
from recsys.store.connection import check_redis_url
from recsys.store.keys import check_namespace

Scope = Literal["site", "marketing", "events"]


class Settings(BaseSettings):
    """Everything the API needs to know; every field has a working default.

    ``api_keys`` maps a key to its scopes, e.g.
    ``RECSYS_API_KEYS='{"key1": ["site"], "key2": ["site", "marketing"]}'``; empty means
    the service runs open (a warning is logged at start-up).
    """

    model_config = SettingsConfigDict(
        env_prefix="RECSYS_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    redis_url: str | None = None
    namespace: str = "recsys"
    api_keys: dict[str, list[Scope]] = Field(default_factory=dict)
    # Origins a browser may call the API from (CORS), e.g. ``RECSYS_CORS_ORIGINS=
    # https://shop.example,https://www.shop.example`` or a JSON list; ``*`` allows any.
    # Empty: no CORS headers (same-origin and server-to-server callers only).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    default_k: int = Field(default=10, ge=1)
    max_k: int = Field(default=100, ge=1, le=1000)
    # Most ids a request may name (exclude=..., session item_ids).
    max_ids: int = Field(default=100, ge=1, le=10_000)

    # Redis client: short timeouts so a sick server turns into a fallback answer, not a hang.
    redis_socket_timeout: float = Field(default=0.25, gt=0)
    redis_connect_timeout: float = Field(default=0.25, gt=0)
    # Loading a version's snapshot (catalog and popular lists, up to megabytes) uses its own
    # connection with this read timeout.
    redis_load_timeout: float = Field(default=5.0, gt=0)
    # Carry every request's reads over one pipelined connection (serving/redis_mux.py);
    # off: redis-py's pooled client (also used for rediss:// URLs).
    redis_multiplex: bool = True
    # After a Redis failure, requests answer from the in-process fallback for this long
    # before trying Redis again (0: try on every request).
    redis_retry_seconds: float = Field(default=1.0, ge=0)
    # How long the active-version pointer may be reused in-process (0 disables the cache).
    version_cache_seconds: float = Field(default=0.5, ge=0, le=5)
    # After start-up and after each new version's snapshot is loaded, move every object then
    # alive into Python's permanent GC generation (gc.freeze): full collections then skip the
    # ~100k long-lived objects of the libraries and snapshots (each cost ~50 ms, several per
    # second under load). Off in tests that start many apps in one process.
    gc_freeze: bool = True
    # FastAPI's built-in OpenTelemetry (request spans, metrics, logs). Off by default: the
    # service exports Prometheus metrics itself, and the checks cost every request ~8 us
    # even with no OpenTelemetry provider configured (benchmarks/bench_request_path.py).
    opentelemetry: bool = False
    # Real-time answers (issue #11): accepted events update a live state per customer and per
    # session in Redis (recsys.store.realtime), read with the customer's HASH in one round
    # trip; recent items are folded in from their similar lists (recsys.answers.realtime).
    realtime: bool = True
    # Seconds the live state lives after its last event (3 days).
    realtime_ttl: int = Field(default=3 * 86400, ge=60)
    # Recent items kept per customer or session, and how many of the newest are folded in
    # (one pipeline of that many similar-list reads).
    realtime_recent: int = Field(default=20, ge=1, le=100)
    realtime_fold_in: int = Field(default=5, ge=1, le=20)
    # Largest request body accepted (bytes): 500 events with long ids fit in well under 1 MiB;
    # a bigger body is refused with 413 before it is read whole.
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return orjson.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        try:
            return None if value is None else check_redis_url(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        try:
            return check_namespace(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _k_range(self) -> Settings:
        if self.default_k > self.max_k:
            raise ValueError(f"default_k == {self.default_k}, must be <= max_k ({self.max_k})")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
