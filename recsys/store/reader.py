"""Async reads for the request path: one command per lookup, no scans.

A request resolves the active version once (:meth:`StoreReader.active_version`) and then reads
only that version's keys, so a publish switching the pointer mid-request cannot mix versions.
Lists are decoded with the catalog of the same version, cached in-process (a few versions).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis
import redis.asyncio

from recsys.errors import ConfigError, StoreError
from recsys.store import keys as K
from recsys.store.codec import Catalog, RankedList, decode_list

#: Per-customer HASH fields that hold ranked lists; every other field is UTF-8 text.
RANKED_CUSTOMER_FIELDS = frozenset({K.FIELD_RECOMMENDATIONS.decode(), K.FIELD_BUY_AGAIN.decode()})


@dataclass(frozen=True)
class CustomerRecord:
    """One customer's HASH, decoded: ranked lists (catalog indices) and text fields."""

    lists: dict[str, RankedList] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


class StoreReader:
    """Reads one namespace of the artifact store with an asyncio redis client.

    Parameters
    ----------
    client
        A ``redis.asyncio.Redis`` (or cluster) client, owned by the caller.
    namespace
        Key prefix the versions were published under.
    catalog_cache_size
        Catalogs kept in memory (the active version plus the one before, for rollbacks).
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        namespace: str = K.DEFAULT_NAMESPACE,
        *,
        catalog_cache_size: int = 3,
    ) -> None:
        pool = getattr(client, "connection_pool", None)
        if getattr(pool, "connection_kwargs", {}).get("decode_responses"):
            raise ConfigError(
                "StoreReader needs a client with decode_responses=False (binary values)"
            )
        self.client = client
        self.namespace = K.check_namespace(namespace)
        self.catalog_cache_size = catalog_cache_size
        self._catalogs: OrderedDict[str, Catalog] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Catalog]] = {}

    async def _call(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except redis.RedisError as exc:
            raise StoreError(f"reading {what} failed: {type(exc).__name__}: {exc}") from exc

    async def active_version(self) -> str | None:
        """The active version id (one GET), or None when nothing is published.

        StoreError if the pointer holds something that is not a version id (corrupt store).
        """
        raw = await self._call("the active version", self.client.get(K.active_key(self.namespace)))
        if raw is None:
            return None
        try:
            return K.check_version(_text(raw) or "")
        except (UnicodeDecodeError, ConfigError):
            raise StoreError(
                f"corrupt active-version pointer in namespace {self.namespace!r}: {raw[:80]!r} "
                "is not a version id"
            ) from None

    async def customer_record(self, version: str, customer_id: str) -> CustomerRecord | None:
        """The customer's HASH in ``version`` (one HGETALL); None for an unknown customer."""
        key = K.customer_key(self.namespace, version, customer_id)
        raw = await self._call("a customer", self.client.hgetall(key))
        if not raw:
            return None
        record = CustomerRecord()
        for name, value in raw.items():
            fname = _text(name) or ""
            if fname in RANKED_CUSTOMER_FIELDS:
                record.lists[fname] = decode_list(value)
            else:  # text fields; unknown (newer) fields must not break old readers
                record.values[fname] = value.decode(errors="replace")
        return record

    async def customer(
        self, version: str, customer_id: str
    ) -> dict[str, list[tuple[str, float]]] | None:
        """The customer's ranked lists by field (``rec``, ``again``) as (item_id, score) pairs."""
        record = await self.customer_record(version, customer_id)
        if record is None:
            return None
        catalog = await self.catalog(version)
        return {name: catalog.pairs(ranked) for name, ranked in record.lists.items()}

    async def similar_list(self, version: str, item_id: str) -> RankedList | None:
        """The item's similar-items list (catalog indices), or None when it has none."""
        key = K.item_key(self.namespace, version, item_id)
        raw = await self._call("similar items", self.client.hget(key, K.FIELD_SIMILAR))
        return None if raw is None else decode_list(raw)

    async def similar_lists(self, version: str, item_ids: Sequence[str]) -> list[RankedList | None]:
        """Similar-items lists of several items in one round trip (a non-transactional
        pipeline of single-key reads: cluster-safe); None where an item has no list."""
        pipe = self.client.pipeline(transaction=False)
        for item_id in item_ids:
            pipe.hget(K.item_key(self.namespace, version, item_id), K.FIELD_SIMILAR)
        raw = await self._call("similar items", pipe.execute())
        return [None if value is None else decode_list(value) for value in raw]

    async def similar(self, version: str, item_id: str) -> list[tuple[str, float]] | None:
        """The item's similar items as (item_id, score) pairs, or None when it has none.

        None also for an item that is not in the catalog: check ``item_id in await
        self.catalog(version)`` to tell an unknown item from one without a list.
        """
        ranked = await self.similar_list(version, item_id)
        if ranked is None:
            return None
        return (await self.catalog(version)).pairs(ranked)

    async def popular_list(
        self, version: str, segment: str = K.GLOBAL_SEGMENT
    ) -> RankedList | None:
        """A segment's popular list (catalog indices); None for an unknown segment."""
        key = K.popular_key(self.namespace, version)
        raw = await self._call("popular items", self.client.hget(key, segment.encode()))
        return None if raw is None else decode_list(raw)

    async def popular(
        self, version: str, segment: str = K.GLOBAL_SEGMENT
    ) -> list[tuple[str, float]] | None:
        """A segment's popular items as (item_id, score) pairs; None for an unknown segment."""
        ranked = await self.popular_list(version, segment)
        if ranked is None:
            return None
        return (await self.catalog(version)).pairs(ranked)

    async def popular_segments(self, version: str) -> list[str]:
        """Segments that have a popular list in ``version``."""
        names = await self._call(
            "popular segments", self.client.hkeys(K.popular_key(self.namespace, version))
        )
        return sorted(_text(n) or "" for n in names)

    async def manifest(self, version: str) -> dict[str, Any] | None:
        """The version's manifest, or None when the version does not exist."""
        raw = await self._call(
            "a manifest", self.client.get(K.manifest_key(self.namespace, version))
        )
        return None if raw is None else orjson.loads(raw)

    async def info(self, version: str) -> dict[str, Any] | None:
        """What publish recorded about the version (counts, sizes), or None."""
        raw = await self._call("version info", self.client.get(K.info_key(self.namespace, version)))
        return None if raw is None else orjson.loads(raw)

    async def catalog(self, version: str) -> Catalog:
        """The version's catalog, loaded once and cached; StoreError if the version is gone."""
        cached = self._catalogs.get(version)
        if cached is not None:
            self._catalogs.move_to_end(version)
            return cached
        loading = self._loading.get(version)
        if loading is None:  # one load per version, however many requests wait for it
            loading = asyncio.ensure_future(self._load_catalog(version))
            self._loading[version] = loading
            loading.add_done_callback(lambda _f: self._loading.pop(version, None))
        return await asyncio.shield(loading)

    async def _load_catalog(self, version: str) -> Catalog:
        raw = await self._call("a catalog", self.client.get(K.catalog_key(self.namespace, version)))
        if raw is None:
            raise StoreError(
                f"version {version!r} has no catalog in namespace {self.namespace!r}: "
                "not published, or deleted"
            )
        catalog = Catalog.from_json(raw)
        self._catalogs[version] = catalog
        while len(self._catalogs) > self.catalog_cache_size:
            self._catalogs.popitem(last=False)
        return catalog
