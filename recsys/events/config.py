"""Settings of the event pipeline, read from ``RECSYS_EVENTS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventsConfig(BaseSettings):
    """How long event ids are remembered and how long the stream may grow.

    ``stream_maxlen``: the stream is capped near this many entries (``XADD MAXLEN ~``); the
    export deletes what it has written, so only a stalled export ever reaches the cap (then
    the oldest unexported events are dropped: size it for the longest export outage).
    ``dedup_ttl``: seconds an accepted ``event_id`` is remembered (a retry within it counts
    once); 7 days by default.
    """

    model_config = SettingsConfigDict(
        env_prefix="RECSYS_EVENTS_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    stream_maxlen: int = Field(default=1_000_000, ge=1000)
    dedup_ttl: int = Field(default=7 * 86400, ge=60)
