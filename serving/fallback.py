"""Per-version data held in-process: the catalog, every popular list and the manifest.

A :class:`Snapshot` is loaded once per version (two round trips) and then serves, with no
round trip, the popular rung, catalog filters and ``/v1/model``. The snapshot of the newest
version seen is also the fallback: while Redis is unreachable every recommendation request is
answered from it (``source: popular``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from recsys.errors import StoreError
from recsys.store import GLOBAL_SEGMENT, StoreReader, decode_list
from recsys.store import keys as K
from serving.present import ItemEncoder
from serving.ranking import CatalogView, Scored, in_category


@dataclass(eq=False)
class Snapshot:
    """One published version's small, shared data."""

    version: str
    view: CatalogView
    popular: dict[str, list[Scored]]
    manifest: dict[str, Any]
    encoder: ItemEncoder = field(init=False, repr=False)
    _by_category: dict[str, list[Scored]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.encoder = ItemEncoder(self.view)

    @property
    def global_popular(self) -> list[Scored]:
        return self.popular.get(GLOBAL_SEGMENT, [])

    def popular_in(self, category: str | None) -> list[Scored]:
        """The global popular list restricted to one category (computed once per category)."""
        if category is None:
            return []
        cached = self._by_category.get(category)
        if cached is None:
            cached = in_category(self.global_popular, self.view, category)
            if len(self._by_category) < 10_000:  # categories are few; never grow unbounded
                self._by_category[category] = cached
        return cached


async def load_snapshot(reader: StoreReader, version: str) -> Snapshot:
    """Read one version's catalog, popular lists and manifest; StoreError if it is gone."""
    catalog = await reader.catalog(version)
    pipe = reader.client.pipeline(transaction=False)
    pipe.hgetall(K.popular_key(reader.namespace, version))
    pipe.get(K.manifest_key(reader.namespace, version))
    try:
        popular_raw, manifest_raw = await pipe.execute()
    except redis.RedisError as exc:
        raise StoreError(f"reading version {version}: {type(exc).__name__}: {exc}") from exc
    if manifest_raw is None:
        raise StoreError(f"version {version!r} has no manifest (deleted while being read?)")
    try:
        manifest = orjson.loads(manifest_raw)
        popular = {
            (name.decode() if isinstance(name, bytes) else str(name)): catalog.pairs(
                decode_list(raw)
            )
            for name, raw in popular_raw.items()
        }
    except (ValueError, UnicodeDecodeError) as exc:  # orjson's JSONDecodeError is a ValueError
        raise StoreError(f"version {version!r} is corrupt: {type(exc).__name__}: {exc}") from None
    if not isinstance(manifest, dict):
        raise StoreError(f"version {version!r} is corrupt: its manifest is not a JSON object")
    return Snapshot(
        version=version,
        view=CatalogView.from_catalog(catalog),
        popular=popular,
        manifest=manifest,
    )


class Snapshots:
    """The snapshots of the last few versions, and which one is the fallback.

    ``current`` is the snapshot of the version the pointer named most recently; every request
    gets the snapshot of the version it resolved, so each answer comes whole from one version.
    """

    def __init__(
        self,
        reader: StoreReader,
        size: int = 3,
        *,
        on_load: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.reader = reader
        self.size = size
        self.on_load = on_load
        self.current: Snapshot | None = None
        self._cache: OrderedDict[str, Snapshot] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Snapshot]] = {}

    async def get(self, version: str) -> Snapshot:
        """The snapshot of ``version``, loaded once however many requests ask at once.

        ``version`` is what the pointer named for this request, so it becomes the fallback.
        """
        snap = self._cache.get(version)
        if snap is None:
            loading = self._loading.get(version)
            if loading is None:
                loading = asyncio.ensure_future(self._load(version))
                self._loading[version] = loading
                loading.add_done_callback(lambda _f: self._loading.pop(version, None))
            snap = await asyncio.shield(loading)
        if self.current is not snap:
            self.current = snap
        return snap

    async def _load(self, version: str) -> Snapshot:
        snap = await load_snapshot(self.reader, version)
        self._cache[version] = snap
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        if self.on_load is not None:
            self.on_load(snap)
        return snap
