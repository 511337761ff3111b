"""Async reads of published versions: the only code that knows how the service's data is keyed.

The service never builds a key or decodes a value: it asks this reader for records (a
customer's lists, an item's similar items, a version's catalog and popular lists) as
``(item_id, score)`` pairs. A request resolves the active version once
(:meth:`StoreReader.active_version`) and then reads only that version's keys, so a publish
switching the pointer mid-request cannot mix versions.

Round trips: the pointer is one GET; a customer is one HGETALL; an item's similar list one
HGET; several items' lists one pipeline of HGETs (cluster-safe: single-key commands only); a
version's :class:`VersionData` (catalog, popular lists, manifest) two, once per version.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis
import redis.asyncio

from recsys.data.parsing import IdRule
from recsys.errors import ConfigError, StoreError
from recsys.store import keys as K
from recsys.store.catalog_view import CatalogView, Scored
from recsys.store.codec import Catalog
from recsys.store.connection import REDIS_ERRORS
from recsys.store.encoders import PAGE_SIZE, page_id
from recsys.store.families import (
    CUSTOMER,
    ITEM,
    ITEM_AUDIENCE_PAGE,
    OFFER_AUDIENCE_PAGE,
    OFFER_CATALOG,
    SEGMENT_PAGE,
)
from recsys.store.keyfamily import Kind

#: Per-customer HASH fields that hold ranked lists (declared in recsys.store.families);
#: every other field is UTF-8 text.
RANKED_CUSTOMER_FIELDS: frozenset[bytes] = CUSTOMER.names_of_kind(Kind.RANKED_LIST)
_SIMILAR = ITEM.fields[K.FIELD_SIMILAR.decode()].raw_name
_PROFILE_FIELD = CUSTOMER.fields[K.FIELD_PROFILE.decode()]
_PROFILE = _PROFILE_FIELD.raw_name
_OFFERS_FIELD = CUSTOMER.fields[K.FIELD_OFFERS.decode()]
_OFFERS = _OFFERS_FIELD.raw_name


def _profile_of(raw: bytes) -> dict[str, Any]:
    value = _PROFILE_FIELD.decode(raw)
    if not isinstance(value, dict):
        raise StoreError("corrupt customer profile: not a JSON object")
    return value


def _object_of(raw: bytes, decode: Any, what: str) -> dict[str, Any]:
    value = decode(raw)
    if not isinstance(value, dict):
        raise StoreError(f"corrupt {what}: not a JSON object")
    return value


def offers_of(record: CustomerRecord | None) -> dict[str, Any] | None:
    """The stored offers of a customer record read whole (the ``offers`` field, None when
    absent): the same value :meth:`StoreReader.customer_offers` reads alone."""
    raw = None if record is None else record.text.get(_OFFERS_FIELD.name)
    return None if raw is None else _object_of(raw.encode(), _OFFERS_FIELD.decode, "offers")


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


class CustomerRecord(Mapping[str, list[Scored]]):
    """One customer's HASH in one version, decoded on access.

    As a mapping: ranked-list field (``rec``: the default answer, ``again``: items bought,
    ``all``: the all-purchases answer) -> ``(item_id, score)`` pairs. Text fields (``seg``
    and any newer ones) are in :attr:`text`. Lists are decoded only when read.
    """

    __slots__ = ("_lists", "_profile", "_view", "text")

    def __init__(self, raw: Mapping[bytes, bytes], view: CatalogView) -> None:
        self._view = view
        self._lists: dict[str, bytes] = {}
        self._profile: bytes | None = None
        self.text: dict[str, str] = {}
        for name, value in raw.items():
            if name in RANKED_CUSTOMER_FIELDS:
                self._lists[name.decode()] = value
            elif name == _PROFILE:
                self._profile = value
            else:  # text fields; unknown (newer) fields must not break old readers
                self.text[name.decode(errors="replace")] = value.decode(errors="replace")

    @property
    def profile(self) -> dict[str, Any] | None:
        """The customer's profile (RFM, cluster, churn, CLV), None when not published."""
        return None if self._profile is None else _profile_of(self._profile)

    def __getitem__(self, field: str) -> list[Scored]:
        return self._view.decode(self._lists[field])

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)

    def __bool__(self) -> bool:
        """A record is there even with no ranked list (a customer with only a segment and a
        profile): ``if record`` must not read as "no record"."""
        return True

    def __contains__(self, field: object) -> bool:
        return field in self._lists

    def item_ids(self, field: str) -> frozenset[str]:
        """The item ids of a ranked field (empty when absent), scores unread."""
        raw = self._lists.get(field)
        return frozenset() if raw is None else self._view.item_set(raw)


@dataclass(frozen=True, slots=True, eq=False)
class VersionData:
    """What every request of one version shares: catalog, popular lists, manifest."""

    version: str
    view: CatalogView
    popular: dict[str, list[Scored]]
    manifest: dict[str, Any]
    #: The version's ingest id rule: an id asked for through the API is looked up as ingest
    #: stored it (``85123a`` is item ``85123A`` under the online-retail preset).
    normal_id: IdRule = IdRule()

    @property
    def global_popular(self) -> list[Scored]:
        """The global popular list (segment ``_all``), empty when the version has none."""
        return self.popular.get(K.GLOBAL_SEGMENT, [])


class StoreReader:
    """Reads one namespace of the artifact store with an asyncio redis client.

    Parameters
    ----------
    client
        A ``redis.asyncio.Redis`` client (``decode_responses=False``), or any client with
        its ``get``/``hget``/``hgetall``/``hkeys``/``pipeline`` methods; owned by the caller.
    namespace
        Key prefix the versions were published under.
    cache_size
        Versions whose :class:`VersionData` is kept in memory (the active one, the one
        before for rollbacks, and one being switched to).

    Every read raises :class:`~recsys.errors.StoreError` when Redis fails (the Redis
    exception is its ``__cause__``) or a stored value is corrupt.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        namespace: str = K.DEFAULT_NAMESPACE,
        *,
        cache_size: int = 3,
    ) -> None:
        pool = getattr(client, "connection_pool", None)
        if getattr(pool, "connection_kwargs", {}).get("decode_responses"):
            raise ConfigError(
                "StoreReader needs a client with decode_responses=False (binary values)"
            )
        self.client = client
        self.namespace = K.check_namespace(namespace)
        self.cache_size = cache_size
        self._versions: OrderedDict[str, VersionData] = OrderedDict()
        self._loading: dict[str, asyncio.Future[VersionData]] = {}

    async def _call(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except REDIS_ERRORS as exc:
            raise StoreError(f"reading {what} failed: {type(exc).__name__}: {exc}") from exc

    # -- the pointer ----------------------------------------------------------------------
    async def active_version(self) -> str | None:
        """The active version id (one GET), or None when nothing is published.

        StoreError if the pointer holds something that is not a version id (corrupt store).
        """
        raw = await self._call("the active version", self.client.get(K.active_key(self.namespace)))
        return self._pointer(raw)

    async def active_and_experiments(
        self, versions: Sequence[str] = ()
    ) -> tuple[str | None, bytes | None, set[str]]:
        """The active version (as :meth:`active_version`), the stored running experiments
        (family ``running_experiments``, raw; None when none run; decode with
        :func:`recsys.experiments.registry.decode_running`) and which of ``versions`` still
        exist (their ``info`` key), in one round trip (a pipeline of GETs)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(K.active_key(self.namespace))
        pipe.get(K.running_experiments_key(self.namespace))
        for version in versions:
            pipe.get(K.info_key(self.namespace, version))
        raw, running, *infos = await self._call("the active version", pipe.execute())
        present = {v for v, info in zip(versions, infos, strict=True) if info is not None}
        return self._pointer(raw), running, present

    def _pointer(self, raw: bytes | None) -> str | None:
        if raw is None:
            return None
        try:
            return K.check_version(_text(raw) or "")
        except (UnicodeDecodeError, ConfigError):
            raise StoreError(
                f"corrupt active-version pointer in namespace {self.namespace!r}: {raw[:80]!r} "
                "is not a version id"
            ) from None

    # -- per-version data -----------------------------------------------------------------
    async def version_data(self, version: str) -> VersionData:
        """The version's catalog, popular lists and manifest: loaded once, then cached.

        However many callers ask at once, one load runs. StoreError if the version is gone
        or corrupt.
        """
        cached = self._versions.get(version)
        if cached is not None:
            return cached
        loading = self._loading.get(version)
        if loading is None:
            loading = asyncio.ensure_future(self._load(version))
            self._loading[version] = loading
            loading.add_done_callback(lambda _f: self._loading.pop(version, None))
        return await asyncio.shield(loading)

    async def _load(self, version: str) -> VersionData:
        catalog = await self.catalog(version)
        view = CatalogView.from_catalog(catalog)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(K.popular_key(self.namespace, version))
        pipe.get(K.manifest_key(self.namespace, version))
        popular_raw, manifest_raw = await self._call(f"version {version}", pipe.execute())
        if manifest_raw is None:
            raise StoreError(f"version {version!r} has no manifest (deleted while being read?)")
        try:
            manifest = orjson.loads(manifest_raw)
            popular = {_text(name) or "": view.decode(raw) for name, raw in popular_raw.items()}
        except (ValueError, UnicodeDecodeError) as exc:  # orjson's JSONDecodeError: ValueError
            raise StoreError(
                f"version {version!r} is corrupt: {type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(manifest, dict):
            raise StoreError(f"version {version!r} is corrupt: its manifest is not a JSON object")
        data = VersionData(version, view, popular, manifest, IdRule.of_manifest(manifest))
        self._versions[version] = data
        while len(self._versions) > self.cache_size:
            self._versions.popitem(last=False)
        return data

    async def catalog(self, version: str) -> Catalog:
        """The version's catalog as numpy arrays (one GET, not cached: for tools and jobs)."""
        raw = await self._call("a catalog", self.client.get(K.catalog_key(self.namespace, version)))
        if raw is None:
            raise StoreError(
                f"version {version!r} has no catalog in namespace {self.namespace!r}: "
                "not published, or deleted"
            )
        return Catalog.from_json(raw)

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

    # -- records --------------------------------------------------------------------------
    async def customer(self, version: str, customer_id: str) -> CustomerRecord | None:
        """The customer's record in ``version`` (one HGETALL); None for an unknown customer."""
        data = await self.version_data(version)
        key = K.customer_key(self.namespace, version, customer_id)
        raw = await self._call("a customer", self.client.hgetall(key))
        return CustomerRecord(raw, data.view) if raw else None

    async def similar(self, version: str, item_id: str) -> list[Scored] | None:
        """The item's similar items (one HGET), or None when it has no list.

        None also for an item that is not in the catalog: check ``item_id in (await
        self.version_data(version)).view`` to tell an unknown item from one without a list.
        """
        data = await self.version_data(version)
        key = K.item_key(self.namespace, version, item_id)
        raw = await self._call("similar items", self.client.hget(key, _SIMILAR))
        return None if raw is None else data.view.decode(raw)

    async def similar_many(
        self, version: str, item_ids: Sequence[str]
    ) -> list[list[Scored] | None]:
        """The similar lists of several items in one round trip (a non-transactional pipeline
        of single-key reads: cluster-safe); None where an item has no list."""
        data = await self.version_data(version)
        pipe = self.client.pipeline(transaction=False)
        for item_id in item_ids:
            pipe.hget(K.item_key(self.namespace, version, item_id), _SIMILAR)
        raws = await self._call("similar items", pipe.execute())
        return [None if raw is None else data.view.decode(raw) for raw in raws]

    async def segment_members(
        self, version: str, segment: str, sort: str, offset: int, limit: int
    ) -> tuple[list[str], bool]:
        """Customer ids ``offset .. offset + limit`` of a segment's list in ``sort`` order (one
        round trip: the 1-2 stored pages that hold them), and whether more follow.

        An unknown segment or sort, or an offset past the end, gives ``([], False)``.
        """
        members, more = await self._pages(SEGMENT_PAGE, version, segment, sort, offset, limit)
        return [str(m) for m in members], more

    async def profiles(
        self, version: str, customer_ids: Sequence[str]
    ) -> list[dict[str, Any] | None]:
        """The profiles of several customers (one pipeline of HGETs); None where absent."""
        pipe = self.client.pipeline(transaction=False)
        for customer_id in customer_ids:
            pipe.hget(K.customer_key(self.namespace, version, customer_id), _PROFILE)
        raws = await self._call("customer profiles", pipe.execute())
        return [None if raw is None else _profile_of(raw) for raw in raws]

    async def popular(self, version: str, segment: str = K.GLOBAL_SEGMENT) -> list[Scored] | None:
        """A segment's popular items; None for a segment without a list."""
        return (await self.version_data(version)).popular.get(segment)

    async def popular_segments(self, version: str) -> list[str]:
        """Segments that have a popular list in ``version``."""
        return sorted((await self.version_data(version)).popular)

    # -- offers (issue #10) -----------------------------------------------------------------
    async def customer_offers(self, version: str, customer_id: str) -> dict[str, Any] | None:
        """The customer's stored offers (one HGET; see the ``offers`` field), or None."""
        key = K.customer_key(self.namespace, version, customer_id)
        raw = await self._call("a customer's offers", self.client.hget(key, _OFFERS))
        return None if raw is None else _object_of(raw, _OFFERS_FIELD.decode, "offers")

    async def offer_catalog(self, version: str) -> dict[str, Any] | None:
        """The version's offer catalog (one GET), or None when it has none."""
        raw = await self._call(
            "the offer catalog", self.client.get(OFFER_CATALOG.key(self.namespace, version))
        )
        return None if raw is None else _object_of(raw, OFFER_CATALOG.decode_value, "offers")

    async def _pages(
        self, family: Any, version: str, group: str, sort: str, offset: int, limit: int
    ) -> tuple[list[Any], bool]:
        """Entries ``offset .. offset + limit`` of a paged list (:func:`page_id`; one round
        trip: its 1-2 stored pages) and whether more follow; ``([], False)`` for an unknown
        list or past the end. StoreError for a page that is not a JSON array."""
        first, last = offset // PAGE_SIZE, (offset + limit) // PAGE_SIZE  # last: one past
        pipe = self.client.pipeline(transaction=False)
        for page in range(first, last + 1):
            pipe.get(family.key(self.namespace, version, page_id(group, sort, page)))
        raws = await self._call(f"a {family.name}", pipe.execute())
        entries: list[Any] = []
        for raw in raws:
            if raw is None:
                break
            page_entries = family.decode_value(raw)
            if not isinstance(page_entries, list):
                raise StoreError(f"corrupt {family.name} of {group!r}: not a JSON array")
            entries.extend(page_entries)
        start = offset - first * PAGE_SIZE
        return entries[start : start + limit], len(entries) > start + limit

    async def _row_pages(
        self, family: Any, version: str, group: str, sort: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Rows of a paged list as dicts of the encoder's columns (see :meth:`_pages`)."""
        columns = family.value.encoder.columns  # each stored row: these columns' values
        rows, more = await self._pages(family, version, group, sort, offset, limit)
        return [dict(zip(columns, row, strict=False)) for row in rows], more

    async def offer_audience(
        self, version: str, offer_id: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Customers ``offset ..`` of an offer's audience (best first) and whether more
        follow (one round trip)."""
        return await self._row_pages(OFFER_AUDIENCE_PAGE, version, offer_id, "value", offset, limit)

    async def item_audience(
        self, version: str, item_id: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Customers ``offset ..`` of an item's audience (those whose recommendations hold it
        highest first) and whether more follow (one round trip)."""
        return await self._row_pages(ITEM_AUDIENCE_PAGE, version, item_id, "top", offset, limit)
