"""Publish an artifact bundle to Redis as a new version, then switch the pointer to it.

Order of operations (a reader never sees a half-written version):

1. read and encode the whole bundle (nothing touches Redis before the bundle is known good);
2. take the namespace's publish lock; refuse a version id that is already active;
3. mark the version pending; delete leftovers (an earlier copy of this version, versions
   abandoned by a crashed publish);
4. write the per-customer and per-item HASHes in chunks, then the popular HASH, catalog, info
   and manifest;
5. register the version (ZADD ``versions``), then point ``active`` at it (one SET);
6. unmark pending, prune versions beyond ``keep`` (UNLINK in chunks), release the lock.

A failure before step 5 deletes what was written and leaves the previous version active.

Writes are one single-key command per key: cluster-safe. With a plain ``redis.Redis`` client
the HSETs are packed into RESP buffers (a few Python operations per key) and streamed on one
connection, keeping one chunk in flight while the previous chunk's replies are checked by
counting them; any other client (e.g. ``RedisCluster``) gets chunked
``pipeline(transaction=False)``.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Protocol, cast

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import redis

from recsys import columns as C
from recsys.errors import DataError, StoreError
from recsys.store import keys as K
from recsys.store.bundle import TABLES, Bundle
from recsys.store.codec import MAX_LENGTH, Catalog, ScoreDtype, encode_lists
from recsys.store.connection import redis_errors
from recsys.store.versions import active_version, drop_version, prune_versions

DEFAULT_CHUNK_SIZE: Final = 5000
LOCK_TTL_MS: Final = 120_000

#: progress(stage, done, total) with stage "customers" or "items".
ProgressFn = Callable[[str, int, int], None]
WriterMode = Literal["auto", "raw", "pipeline"]


@dataclass(frozen=True)
class PublishResult:
    """What a publish wrote and how long it took."""

    version: str
    n_customers: int
    n_items: int
    n_keys: int
    bytes_written: int  # key + field + value bytes of every write
    seconds: float  # the whole publish, bundle reading included
    deleted_versions: list[str] = field(default_factory=list)
    write_seconds: float = 0.0  # first write to pointer switch (the Redis part of ``seconds``)
    writer: str = ""

    @property
    def keys_per_second(self) -> float:
        return self.n_keys / self.write_seconds if self.write_seconds else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.bytes_written / 1e6 / self.write_seconds if self.write_seconds else 0.0


# -- preparing a bundle (no Redis) -------------------------------------------------------

#: Ranked per-customer fields: HASH field -> bundle table.
CUSTOMER_LIST_FIELDS: Final = {
    K.FIELD_RECOMMENDATIONS: "recommendations",
    K.FIELD_BUY_AGAIN: "buy_again",
}
#: Scalar per-customer fields: HASH field -> (bundle table, value column).
CUSTOMER_VALUE_FIELDS: Final = {K.FIELD_SEGMENT: ("segments", C.SEGMENT)}

Values = Sequence[bytes | None]


@dataclass
class EncodedEntities:
    """Keys of one kind (customers or items): ids and the HASH fields of each."""

    ids: list[bytes]
    fields: list[tuple[bytes, Values]]

    def payload_bytes(self, prefix: bytes) -> int:
        total = len(self.ids) * len(prefix) + sum(map(len, self.ids))
        for name, values in self.fields:
            present = [v for v in values if v is not None]
            total += len(present) * len(name) + sum(map(len, present))
        return total


@dataclass
class PreparedBundle:
    """A bundle read, validated and encoded, ready to write (see :func:`prepare_bundle`)."""

    bundle: Bundle
    catalog: Catalog
    customers: EncodedEntities
    items: EncodedEntities
    popular: dict[bytes, bytes]


def _dict_codes(column: pa.ChunkedArray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and distinct values (str, object array) of an id column."""
    value_type = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not (
        pa.types.is_string(value_type)
        or pa.types.is_large_string(value_type)
        or pa.types.is_integer(value_type)
    ):
        raise DataError(f"{what} must be strings (or integers), got {value_type}")
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    first = column.chunk(0).dictionary
    # Batches read from one row group share a dictionary: comparing is cheaper than unifying.
    if not all(chunk.dictionary.equals(first) for chunk in column.chunks[1:]):
        column = column.unify_dictionaries()
    values = column.chunk(0).dictionary.cast(pa.string()).to_numpy(zero_copy_only=False)
    parts = [chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks]
    codes = parts[0] if len(parts) == 1 else np.concatenate(parts)
    values = np.asarray(values, dtype=object)
    if not pd.Index(values).is_unique:  # a writer may repeat dictionary entries
        remap, values = pd.factorize(values)
        codes = remap[codes]
        values = np.asarray(values, dtype=object)
    return codes, values


def _group_order(
    owner_codes: np.ndarray, ranks: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Order rows by (owner, rank): None when already so (strictly, so no duplicate ranks),
    else the sorting permutation and the sorted codes and ranks."""
    if len(ranks) == 0:
        return None, owner_codes, ranks
    lo, hi = int(ranks.min()), int(ranks.max())
    span = hi - lo + 1
    if span * (int(owner_codes.max()) + 1) < 2**62:  # one int64 sort key
        key = owner_codes.astype(np.int64) * span + (ranks - lo)
        if (np.diff(key) > 0).all():
            return None, owner_codes, ranks
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((ranks, owner_codes))
    return order, owner_codes[order], ranks[order]


def _encode_ranked(
    table: pa.Table,
    owner_col: str,
    item_col: str,
    catalog: Catalog,
    file: str,
    score_dtype: ScoreDtype,
) -> tuple[np.ndarray, list[bytes]]:
    """Group a (owner, rank, item, score) table into one encoded list per owner.

    Returns the owner ids (first-seen order) and their encoded lists; DataError on bad rows.
    """
    cols = [owner_col, C.RANK, item_col, C.SCORE]
    nulls = {c: table.column(c).null_count for c in cols if table.column(c).null_count}
    if nulls:
        raise DataError(f"{file} has missing values: {nulls}")
    if not pa.types.is_integer(table.schema.field(C.RANK).type):
        raise DataError(
            f"{file}: column {C.RANK!r} must be integer, got {table.schema.field(C.RANK).type}"
        )
    score_type = table.schema.field(C.SCORE).type
    if not (pa.types.is_floating(score_type) or pa.types.is_integer(score_type)):
        raise DataError(f"{file}: column {C.SCORE!r} must be numeric, got {score_type}")
    owner_codes, owner_ids = _dict_codes(table.column(owner_col), f"{file} {owner_col}")
    item_codes, item_values = _dict_codes(table.column(item_col), f"{file} {item_col}")
    positions = catalog.index_of(item_values)
    unknown = (positions < 0) & (np.bincount(item_codes, minlength=len(item_values)) > 0)
    if unknown.any():
        raise DataError(
            f"{file} refers to {int(unknown.sum())} item id(s) not in the catalog "
            f"(items.parquet), e.g. {item_values[unknown][:5].tolist()}"
        )
    ranks = table.column(C.RANK).to_numpy().astype(np.int64, copy=False)
    scores = table.column(C.SCORE).to_numpy()
    if not pa.types.is_floating(score_type):
        scores = scores.astype(np.float64)
    if not np.isfinite(scores).all():
        raise DataError(f"{file} has {int((~np.isfinite(scores)).sum())} non-finite score(s)")
    order, owner_codes, ranks = _group_order(owner_codes, ranks)
    dup = (np.diff(owner_codes) == 0) & (np.diff(ranks) == 0) if order is not None else None
    if dup is not None and dup.any():
        at = int(np.flatnonzero(dup)[0])
        raise DataError(
            f"{file}: {owner_col} {owner_ids[owner_codes[at]]!r} has rank {int(ranks[at])} more "
            f"than once ({int(dup.sum())} duplicated rank(s) in all)"
        )
    counts = np.bincount(owner_codes, minlength=len(owner_ids))
    if counts.max(initial=0) > MAX_LENGTH:
        raise DataError(f"{file}: a list has {int(counts.max())} entries; at most {MAX_LENGTH}")
    entries = positions[item_codes] if order is None else positions[item_codes[order]]
    encoded = encode_lists(
        counts, entries, scores if order is None else scores[order], score_dtype=score_dtype
    )
    used = counts > 0  # a dictionary may hold values no row uses
    if not used.all():
        keep = np.flatnonzero(used)
        return owner_ids[keep], [encoded[i] for i in keep.tolist()]
    return owner_ids, encoded


def _scalar_field(table: pa.Table, column: str, file: str) -> tuple[np.ndarray, list[bytes]]:
    """One text value per customer (e.g. the segment): owner ids and UTF-8 values."""
    for col in (C.CUSTOMER_ID, column):
        if table.column(col).null_count:
            raise DataError(f"{file}: {table.column(col).null_count} rows have no {col}")
    codes, owners = _dict_codes(table.column(C.CUSTOMER_ID), f"{file} {C.CUSTOMER_ID}")
    if len(owners) != len(codes):
        dupes = owners[np.bincount(codes, minlength=len(owners)) > 1][:5].tolist()
        raise DataError(f"{file}: customer(s) listed more than once, e.g. {dupes}")
    values = table.column(column).cast(pa.string()).to_pylist()
    ordered = [None] * len(owners)
    for code, value in zip(codes.tolist(), values, strict=True):
        ordered[code] = value
    return owners, [str(v).encode() for v in ordered]


def _spread(universe: pd.Index, owners: np.ndarray, values: list[bytes]) -> Values:
    """Align per-owner values to ``universe`` order; None where an entity has no value."""
    if len(owners) == len(universe) and np.array_equal(owners, universe.to_numpy()):
        return values
    slot = pd.Index(owners, dtype=object).get_indexer(universe).tolist()
    return [values[j] if j >= 0 else None for j in slot]


def prepare_bundle(bundle: Bundle, *, score_dtype: ScoreDtype = "auto") -> PreparedBundle:
    """Read, validate and encode every table of a bundle (no Redis involved).

    Raises DataError for any table that cannot be published as it is.
    """
    catalog = Catalog.from_frame(bundle.items())

    # Customers: the union of every per-customer table, each contributing one HASH field.
    lists: dict[bytes, tuple[np.ndarray, list[bytes]]] = {}
    for name, table in CUSTOMER_LIST_FIELDS.items():
        if bundle.has(table):
            lists[name] = _encode_ranked(
                bundle.read_arrow(table),
                C.CUSTOMER_ID,
                C.ITEM_ID,
                catalog,
                TABLES[table],
                score_dtype,
            )
    for name, (table, column) in CUSTOMER_VALUE_FIELDS.items():
        if bundle.has(table):
            lists[name] = _scalar_field(
                bundle.read_arrow(table, [C.CUSTOMER_ID, column]), column, TABLES[table]
            )
    universe = pd.Index(
        np.concatenate([owners for owners, _ in lists.values()])
        if lists
        else np.empty(0, dtype=object),
        dtype=object,
    ).unique()
    customers = EncodedEntities(
        ids=[str(c).encode() for c in universe.tolist()],
        fields=[(name, _spread(universe, o, v)) for name, (o, v) in lists.items()],
    )

    sim_owners, sim_lists = _encode_ranked(
        bundle.read_arrow("similar_items"),
        C.ITEM_ID,
        C.SIMILAR_ITEM_ID,
        catalog,
        TABLES["similar_items"],
        score_dtype,
    )
    not_in_catalog = catalog.index_of(sim_owners) < 0
    if not_in_catalog.any():
        raise DataError(
            f"similar_items.parquet has lists for {int(not_in_catalog.sum())} item id(s) not "
            f"in items.parquet, e.g. {sim_owners[not_in_catalog][:5].tolist()}"
        )
    items = EncodedEntities(
        ids=[str(i).encode() for i in sim_owners.tolist()],
        fields=[(K.FIELD_SIMILAR, sim_lists)],
    )

    seg_names, seg_lists = _encode_ranked(
        bundle.read_arrow("popular"), C.SEGMENT, C.ITEM_ID, catalog, TABLES["popular"], score_dtype
    )
    if K.GLOBAL_SEGMENT not in set(seg_names.tolist()):
        raise DataError(
            f"popular.parquet has no global list (segment {K.GLOBAL_SEGMENT!r}); found "
            f"{seg_names[:5].tolist()}"
        )
    popular = {str(s).encode(): v for s, v in zip(seg_names.tolist(), seg_lists, strict=True)}
    return PreparedBundle(bundle, catalog, customers, items, popular)


# -- writing -----------------------------------------------------------------------------


class _HashWriter(Protocol):
    name: str

    def write(
        self, prefix: bytes, ids: Sequence[bytes], fields: list[tuple[bytes, Values]]
    ) -> None:
        """Queue ``HSET prefix+id field value ...`` for each id (absent fields skipped)."""

    def finish(self) -> None:
        """Wait until every queued write is acknowledged; raise StoreError on any error."""

    def abort(self) -> None:
        """Drop the connection state after a failure."""


class _PipelineWriter:
    """Chunked ``pipeline(transaction=False)``: works with any client, Redis Cluster included."""

    name = "pipeline"

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def write(
        self, prefix: bytes, ids: Sequence[bytes], fields: list[tuple[bytes, Values]]
    ) -> None:
        pipe = self._client.pipeline(transaction=False)
        for i, entity in enumerate(ids):
            mapping = {name: values[i] for name, values in fields if values[i] is not None}
            pipe.hset(prefix + entity, mapping=mapping)  # type: ignore[arg-type]
        with redis_errors("writing keys"):
            pipe.execute()

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


_CRLF: Final = b"\r\n"
_BULK: Final = [b"$%d\r\n" % n for n in range(4096)]


def _bulk(n: int) -> bytes:
    return _BULK[n] if n < 4096 else b"$%d\r\n" % n


def pack_hset(prefix: bytes, ids: Sequence[bytes], fields: list[tuple[bytes, Values]]) -> bytes:
    """The RESP encoding of ``HSET prefix+id field value ...`` for every id, concatenated."""
    heads = [b"*%d\r\n$4\r\nHSET\r\n" % (2 + 2 * k) for k in range(len(fields) + 1)]
    seps = [b"\r\n$%d\r\n%s\r\n" % (len(name), name) for name, _ in fields]
    plen = len(prefix)
    parts: list[bytes] = []
    if len(fields) == 1 and None not in fields[0][1]:  # the common case, kept tight
        head, sep = heads[1], seps[0]
        dense = cast(Sequence[bytes], fields[0][1])
        for entity, value in zip(ids, dense, strict=True):
            parts += (
                head,
                _bulk(plen + len(entity)),
                prefix,
                entity,
                sep,
                _bulk(len(value)),
                value,
                _CRLF,
            )
        return b"".join(parts)
    columns = [values for _, values in fields]
    for i, entity in enumerate(ids):
        present = [(seps[j], v) for j, col in enumerate(columns) if (v := col[i]) is not None]
        parts += (heads[len(present)], _bulk(plen + len(entity)), prefix, entity)
        for sep, value in present:
            parts += (sep, _bulk(len(value)), value)
        parts.append(_CRLF)
    return b"".join(parts)


class _RawWriter:
    """Streams packed HSETs on a connection opened with a plain ``redis.Redis``'s settings.

    Keeps at most two chunks unacknowledged. Every reply of HSET is a RESP integer
    (``:n\\r\\n``) or an error (``-...\\r\\n``), so replies are checked by counting line ends
    and looking for ``-``: no per-reply parsing in Python.
    """

    name = "raw"

    def __init__(self, client: redis.Redis) -> None:
        # A dedicated RESP2 connection with the client's settings (auth, db, TLS): RESP2 never
        # interleaves push messages with replies, so counting reply lines is exact.
        pool = client.connection_pool
        settings = {
            k: v
            for k, v in pool.connection_kwargs.items()
            if not k.startswith("maint_notifications")
        }
        settings["protocol"] = 2
        try:
            conn = pool.connection_class(**settings)
            conn.connect()
        except redis.RedisError as exc:
            raise _Unsupported(str(exc)) from None
        sock = getattr(conn, "_sock", None)
        if sock is None:
            conn.disconnect()
            raise _Unsupported("connection has no socket")
        self._conn, self._sock = conn, sock
        self._inflight: deque[int] = deque()
        self._sent = 0
        self._seen = 0
        self._error: bytes | None = None

    def write(
        self, prefix: bytes, ids: Sequence[bytes], fields: list[tuple[bytes, Values]]
    ) -> None:
        if not ids:
            return
        payload = pack_hset(prefix, ids, fields)
        try:
            self._sock.sendall(payload)
        except OSError as exc:
            raise StoreError(f"writing keys failed: {exc}") from None
        self._sent += len(ids)
        self._inflight.append(len(ids))
        if len(self._inflight) > 2:  # wait for the oldest chunk's replies
            self._inflight.popleft()
            self._await(self._sent - sum(self._inflight))

    def finish(self) -> None:
        self._await(self._sent)
        self._inflight.clear()
        self._conn.disconnect()

    def abort(self) -> None:
        self._conn.disconnect()

    def _await(self, target: int) -> None:
        """Read replies until ``target`` replies in total have arrived."""
        while self._seen < target:
            try:
                data = self._sock.recv(1 << 16)
            except OSError as exc:
                raise StoreError(f"writing keys failed: {exc}") from None
            if not data:
                raise StoreError("writing keys failed: Redis closed the connection")
            self._seen += data.count(b"\n")
            if self._error is not None:
                self._error += data
            elif b"-" in data:
                self._error = data[data.index(b"-") :]
        if self._seen > self._sent:
            raise StoreError(f"writing keys failed: {self._seen} replies to {self._sent} commands")
        if self._error is not None and (self._seen == self._sent or b"\n" in self._error):
            message = self._error[1:].split(b"\r\n", 1)[0].decode(errors="replace")
            raise StoreError(f"writing keys failed: Redis replied: {message}")


class _Unsupported(Exception):
    """The raw writer cannot be used with this client."""


def _make_writer(client: redis.Redis, mode: WriterMode) -> _HashWriter:
    if mode == "pipeline":
        return _PipelineWriter(client)
    if isinstance(client, redis.Redis):  # RedisCluster is not a redis.Redis
        try:
            return _RawWriter(client)
        except _Unsupported:
            if mode == "raw":
                raise StoreError("the raw writer cannot be used with this client") from None
    elif mode == "raw":
        raise StoreError(f"the raw writer needs a redis.Redis client, got {type(client).__name__}")
    return _PipelineWriter(client)


# -- the lock ----------------------------------------------------------------------------

_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class _Lock:
    """One publisher per namespace: ``SET lock token NX PX ttl``, refreshed while working."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._client = client
        self._key = K.lock_key(namespace)
        self._token = uuid.uuid4().hex
        self._last = 0.0

    def __enter__(self) -> _Lock:
        with redis_errors("taking the publish lock"):
            ok = self._client.set(self._key, self._token, nx=True, px=LOCK_TTL_MS)
        if not ok:
            raise StoreError(
                f"another publish holds the lock {self._key.decode()!r}; wait for it to finish "
                f"(the lock expires {LOCK_TTL_MS // 1000} s after its holder stops)"
            )
        self._last = time.monotonic()
        return self

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._last > 5.0:
            with redis_errors("refreshing the publish lock"):
                self._client.pexpire(self._key, LOCK_TTL_MS)
            self._last = now

    def __exit__(self, *exc: object) -> None:
        try:
            self._client.eval(_RELEASE, 1, self._key, self._token)
        except redis.RedisError:
            pass  # it expires on its own


# -- publish -----------------------------------------------------------------------------


def publish(
    bundle_dir: str | Path,
    client: redis.Redis,
    *,
    namespace: str = K.DEFAULT_NAMESPACE,
    keep: int = 2,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressFn | None = None,
    score_dtype: ScoreDtype = "auto",
    writer: WriterMode = "auto",
) -> PublishResult:
    """Write a bundle as a new version and make it active; prune versions beyond ``keep``.

    Parameters
    ----------
    bundle_dir
        ``OUT/<version>`` as written by training (see :mod:`recsys.store.bundle`).
    client
        A synchronous redis-py client (``redis.Redis`` or ``RedisCluster``).
    keep
        Complete versions to keep, the new one included (>= 1); the active one is never deleted.
    chunk_size
        Keys per write batch.
    progress
        Called as ``progress(stage, done, total)`` after each batch.
    score_dtype
        ``"auto"`` stores scores as float16 where precise enough, ``"float32"`` always float32.
    writer
        ``"auto"`` (raw RESP streaming for ``redis.Redis``, pipelines otherwise), ``"raw"`` or
        ``"pipeline"``.

    Raises
    ------
    DataError
        The bundle is incomplete or a table is invalid (nothing is written).
    StoreError
        Redis failed, another publish is running, or the version is already active.
    """
    K.check_namespace(namespace)
    if keep < 1:
        raise StoreError(f"keep={keep}, must be >= 1")
    if chunk_size < 1:
        raise StoreError(f"chunk_size={chunk_size}, must be >= 1")
    t0 = time.perf_counter()
    bundle = Bundle.open(bundle_dir)
    version = bundle.version
    prepared = prepare_bundle(bundle, score_dtype=score_dtype)

    with _Lock(client, namespace) as lock:
        if active_version(client, namespace) == version:
            raise StoreError(
                f"version {version!r} is already active in namespace {namespace!r}; "
                "publish a bundle with a new version id"
            )
        pending = K.pending_key(namespace)
        with redis_errors("preparing the publish"):
            _drop_leftovers(client, namespace, version, lock.refresh)
            client.sadd(pending, version)
        try:
            t_write = time.perf_counter()
            n_bytes, writer_name = _write_version(
                client, namespace, version, prepared, chunk_size, progress, lock.refresh, writer
            )
            n_keys = len(prepared.customers.ids) + len(prepared.items.ids) + 4
            stats: dict[str, Any] = {
                "version": version,
                "published_at": time.time(),
                "n_customers": len(prepared.customers.ids),
                "n_items": len(prepared.catalog),
                "n_similar": len(prepared.items.ids),
                "segments": sorted(s.decode() for s in prepared.popular),
                "customer_fields": [name.decode() for name, _ in prepared.customers.fields],
                "n_keys": n_keys,
                "bytes_written": n_bytes,
                "list_format": 1,
                "catalog_format": 1,
            }
            with redis_errors("finishing the publish"):
                pipe = client.pipeline(transaction=False)
                pipe.set(K.info_key(namespace, version), orjson.dumps(stats))
                pipe.set(K.manifest_key(namespace, version), orjson.dumps(bundle.manifest))
                pipe.execute()
                # The version is complete: register it, then switch the pointer (one SET).
                client.zadd(K.versions_key(namespace), {version: stats["published_at"]})
                client.set(K.active_key(namespace), version)
            write_seconds = time.perf_counter() - t_write
        except BaseException:
            _discard(client, namespace, version)
            raise
        with redis_errors("finishing the publish"):
            client.srem(pending, version)
        deleted = prune_versions(client, namespace, keep, protect=[version], heartbeat=lock.refresh)
    return PublishResult(
        version=version,
        n_customers=len(prepared.customers.ids),
        n_items=len(prepared.catalog),
        n_keys=n_keys,
        bytes_written=n_bytes,
        seconds=time.perf_counter() - t0,
        deleted_versions=deleted,
        write_seconds=write_seconds,
        writer=writer_name,
    )


def _drop_leftovers(
    client: redis.Redis, namespace: str, version: str, heartbeat: Callable[[], None]
) -> None:
    """Delete an earlier copy of ``version`` and versions abandoned by crashed publishes."""
    registered = client.zscore(K.versions_key(namespace), version) is not None
    members = client.smembers(K.pending_key(namespace))
    abandoned = {m.decode() if isinstance(m, bytes) else str(m) for m in members}
    for stale in sorted(abandoned - {version}):
        if client.zscore(K.versions_key(namespace), stale) is not None:
            client.srem(K.pending_key(namespace), stale)  # completed; only the flag was left
        else:
            drop_version(client, namespace, stale, heartbeat=heartbeat)
    if registered or version in abandoned:
        drop_version(client, namespace, version, heartbeat=heartbeat)


def _discard(client: redis.Redis, namespace: str, version: str) -> None:
    """Best effort after a failed publish: delete the partial version (else the next publish
    does, as it is still marked pending)."""
    try:
        if active_version(client, namespace) != version:
            drop_version(client, namespace, version)
    except (StoreError, redis.RedisError):
        pass


def _write_version(
    client: redis.Redis,
    namespace: str,
    version: str,
    prepared: PreparedBundle,
    chunk_size: int,
    progress: ProgressFn | None,
    heartbeat: Callable[[], None],
    mode: WriterMode,
) -> tuple[int, str]:
    """Write every data key of the version; returns (payload bytes, writer name)."""
    writer = _make_writer(client, mode)
    n_bytes = 0
    try:
        for stage, prefix, entities in (
            ("customers", K.customer_prefix(namespace, version), prepared.customers),
            ("items", K.item_prefix(namespace, version), prepared.items),
        ):
            total = len(entities.ids)
            for start in range(0, total, chunk_size):
                stop = min(start + chunk_size, total)
                writer.write(
                    prefix,
                    entities.ids[start:stop],
                    [(name, values[start:stop]) for name, values in entities.fields],
                )
                heartbeat()
                if progress:
                    progress(stage, stop, total)
            n_bytes += entities.payload_bytes(prefix)
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    popular_key = K.popular_key(namespace, version)
    catalog_json = prepared.catalog.to_json()
    with redis_errors("writing the catalog and popular lists"):
        pipe = client.pipeline(transaction=False)
        pipe.hset(popular_key, mapping=prepared.popular)  # type: ignore[arg-type]
        pipe.set(K.catalog_key(namespace, version), catalog_json)
        pipe.execute()
    n_bytes += len(popular_key) + sum(len(k) + len(v) for k, v in prepared.popular.items())
    n_bytes += len(catalog_json)
    return n_bytes, writer.name
