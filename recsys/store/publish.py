"""Publish an artifact bundle to Redis as a new version, then switch the pointer to it.

Order of operations (a reader never sees a half-written version):

1. read and encode the whole bundle (:mod:`recsys.store.prepare`: every per-version key family
   of :mod:`recsys.store.families`; nothing touches Redis before the bundle is known good);
2. take the namespace's publish lock (:mod:`recsys.store.lock`); refuse a version id that is
   already active;
3. mark the version pending; delete leftovers (an earlier copy of this version, versions
   abandoned by a crashed publish);
4. write the entity families (customers, items) in chunks (:mod:`recsys.store.writer`), then the
   single-key families (popular, catalog, manifest) and the publish statistics (``info``);
5. register the version (ZADD ``versions``), then point ``active`` at it (one SET);
6. unmark pending, prune versions beyond ``keep`` (:func:`recsys.store.versions.prune_versions`),
   release the lock.

A failure before step 5 deletes what was written and leaves the previous version active.
Every write is a single-key command: cluster-safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson
import redis

from recsys.errors import StoreError, StoreRequestError
from recsys.store import keys as K
from recsys.store.bundle import Bundle
from recsys.store.codec import CATALOG_FORMAT, FORMAT_VERSION, ScoreDtype
from recsys.store.connection import redis_errors
from recsys.store.families import CUSTOMER, FAMILIES, INFO, ITEM, POPULAR
from recsys.store.keyfamily import KeyFamily
from recsys.store.lock import PublishLock
from recsys.store.prepare import PreparedBundle, prepare_bundle
from recsys.store.versions import active_version, drop_version, prune_versions
from recsys.store.writer import WriterMode, make_writer, write_single_keys

DEFAULT_CHUNK_SIZE: Final = 5000

#: progress(stage, done, total) with stage "customers" or "items" (an entity family's name + s).
ProgressFn = Callable[[str, int, int], None]


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
    families: Sequence[KeyFamily] = FAMILIES,
) -> PublishResult:
    """Write a bundle as a new version and make it active; prune versions beyond ``keep``.

    Parameters
    ----------
    bundle_dir
        ``OUT/<version>`` as written by training (see :mod:`recsys.store.bundle`).
    client
        A synchronous redis-py client (``redis.Redis`` or ``RedisCluster``).
    keep
        Complete versions to keep, the new one included (>= 1); the active one, and versions
        in ``{ns}:protected``, are never deleted.
    chunk_size
        Keys per write batch.
    progress
        Called as ``progress(stage, done, total)`` after each batch.
    score_dtype
        ``"auto"`` stores scores as float16 where precise enough, ``"float32"`` always float32.
    writer
        ``"auto"`` (raw RESP streaming of HASHes for ``redis.Redis``, pipelines otherwise),
        ``"raw"`` or ``"pipeline"``.
    families
        The key families to publish (their per-version ones with encoders); default: every
        declared family.

    Raises
    ------
    DataError
        The bundle is incomplete or a table is invalid (nothing is written).
    StoreError
        Redis failed, another publish is running, or the version is already active.
    """
    K.check_namespace(namespace)
    if keep < 1:
        raise StoreRequestError(f"keep={keep}, must be >= 1")
    if chunk_size < 1:
        raise StoreRequestError(f"chunk_size={chunk_size}, must be >= 1")
    t0 = time.perf_counter()
    bundle = Bundle.open(bundle_dir)
    version = bundle.version
    prepared = prepare_bundle(bundle, score_dtype=score_dtype, families=families)

    with PublishLock(client, namespace) as lock:
        if active_version(client, namespace) == version:
            raise StoreRequestError(
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
            stats = _stats(prepared, n_bytes)
            with redis_errors("finishing the publish"):
                client.set(INFO.key(namespace, version), orjson.dumps(stats))
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
        n_customers=stats["n_customers"],
        n_items=stats["n_items"],
        n_keys=stats["n_keys"],
        bytes_written=n_bytes,
        seconds=time.perf_counter() - t0,
        deleted_versions=deleted,
        write_seconds=write_seconds,
        writer=writer_name,
    )


def _stats(prepared: PreparedBundle, n_bytes: int) -> dict[str, Any]:
    """The ``info`` value: what this publish wrote (see the ``info`` family's declaration)."""
    customers, items, popular = (prepared.get(f.name) for f in (CUSTOMER, ITEM, POPULAR))
    return {
        "version": prepared.bundle.version,
        "published_at": time.time(),
        "n_customers": len(customers.ids) if customers else 0,
        "n_items": len(prepared.catalog),
        "n_similar": len(items.ids) if items else 0,
        "segments": sorted(name.decode() for name, _ in popular.columns) if popular else [],
        "customer_fields": [name.decode() for name, _ in customers.columns] if customers else [],
        "n_keys": prepared.n_keys() + 1,  # + this info key
        "bytes_written": n_bytes,
        "list_format": FORMAT_VERSION,
        "catalog_format": CATALOG_FORMAT,
    }


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
    """Write every encoded family of the version but ``info``; (payload bytes, writer names)."""
    n_bytes = 0
    names: list[str] = []
    for encoded in prepared.families:
        if not encoded.family.entity:
            continue
        writer = make_writer(client, encoded.family, mode)
        names.append(writer.name)
        prefix = encoded.prefix(namespace, version)
        stage, total = f"{encoded.family.name}s", len(encoded.ids)
        try:
            for start in range(0, total, chunk_size):
                stop = min(start + chunk_size, total)
                writer.write(
                    prefix,
                    encoded.ids[start:stop],
                    [(name, values[start:stop]) for name, values in encoded.columns],
                )
                heartbeat()
                if progress:
                    progress(stage, stop, total)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        n_bytes += encoded.payload_bytes(prefix)
    singles = [e for e in prepared.families if not e.family.entity]
    if singles:
        n_bytes += write_single_keys(client, namespace, version, singles)
    return n_bytes, "+".join(dict.fromkeys(names)) or "pipeline"
