"""Writing encoded families to Redis: one single-key command per key, in chunks.

:class:`PipelineWriter` queues each chunk on a redis-py ``pipeline(transaction=False)``,
with the family's TTL in the same pipeline; it works with any client, Redis Cluster included
(redis-py routes each command to its node). For HASH families without a TTL on a plain
``redis.Redis``, :func:`make_writer` picks :class:`~recsys.store.raw_writer.RawHashWriter`
(faster, see its docs), and for a ``RedisCluster``
:class:`~recsys.store.cluster_writer.ClusterHashWriter` (the same, one stream per primary),
unless ``mode="pipeline"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import redis
from redis.cluster import RedisCluster

from recsys.errors import StoreError
from recsys.store.cluster_writer import ClusterHashWriter
from recsys.store.connection import redis_errors
from recsys.store.keyfamily import KeyFamily, RedisType
from recsys.store.prepare import EncodedFamily, Values
from recsys.store.raw_writer import RawHashWriter, Unsupported

WriterMode = Literal["auto", "raw", "pipeline"]


class Writer(Protocol):
    name: str

    def write(
        self, prefix: bytes, ids: Sequence[bytes], columns: list[tuple[bytes, Values]]
    ) -> None:
        """Queue the commands writing key ``prefix + id`` for each id."""

    def finish(self) -> None:
        """Wait until every queued write is acknowledged; StoreError on any error."""

    def abort(self) -> None:
        """Drop the connection state after a failure."""


def queue_key(pipe: Any, family: KeyFamily, key: bytes, values: list[tuple[bytes, Any]]) -> None:
    """Queue on ``pipe`` the command(s) writing one key of ``family`` (absent values skipped)."""
    if family.type is RedisType.HASH:
        flat = [part for name, value in values if value is not None for part in (name, value)]
        if not flat:
            return
        pipe.execute_command("HSET", key, *flat)
    elif family.type is RedisType.STRING:
        if values[0][1] is None:
            return
        pipe.execute_command("SET", key, values[0][1])
    elif family.type is RedisType.SET:
        members = values[0][1]
        if not members:
            return
        pipe.execute_command("SADD", key, *members)
    else:
        raise StoreError(f"key family {family.name!r}: publishing a {family.type} is not supported")
    if family.ttl is not None:
        pipe.execute_command("PEXPIRE", key, int(family.ttl * 1000))


class PipelineWriter:
    """Chunked ``pipeline(transaction=False)``: works with any client, Redis Cluster included."""

    name = "pipeline"

    def __init__(self, client: redis.Redis, family: KeyFamily) -> None:
        self._client = client
        self._family = family

    def write(
        self, prefix: bytes, ids: Sequence[bytes], columns: list[tuple[bytes, Values]]
    ) -> None:
        pipe = self._client.pipeline(transaction=False)
        family = self._family
        if family.type is RedisType.HASH and family.ttl is None and len(columns) == 1:
            name, values = columns[0]  # the common case (one field per key), kept tight
            hset = pipe.execute_command
            for entity, value in zip(ids, values, strict=True):
                if value is not None:
                    hset("HSET", prefix + entity, name, value)
        else:
            for i, entity in enumerate(ids):
                queue_key(pipe, family, prefix + entity, [(n, v[i]) for n, v in columns])
        with redis_errors("writing keys"):
            pipe.execute()

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


def make_writer(client: redis.Redis, family: KeyFamily, mode: WriterMode = "auto") -> Writer:
    """The writer for ``family``: raw HSET streaming where possible, unless ``mode`` says."""
    rawable = family.type is RedisType.HASH and family.ttl is None
    if mode == "pipeline" or (mode == "auto" and not rawable):
        return PipelineWriter(client, family)
    if not rawable:
        raise StoreError(f"the raw writer only writes HASHes without a TTL, not {family.name!r}")
    if isinstance(client, redis.Redis | RedisCluster):  # RedisCluster is not a redis.Redis
        try:
            if isinstance(client, RedisCluster):
                return ClusterHashWriter(client)
            return RawHashWriter(client)
        except Unsupported:
            if mode == "raw":
                raise StoreError("the raw writer cannot be used with this client") from None
    elif mode == "raw":
        raise StoreError(f"the raw writer needs a redis.Redis client, got {type(client).__name__}")
    return PipelineWriter(client, family)


def write_single_keys(
    client: redis.Redis, namespace: str, version: str, encoded: Sequence[EncodedFamily]
) -> int:
    """Write single-key families (popular, catalog, manifest...) in one pipeline; payload bytes."""
    pipe = client.pipeline(transaction=False)
    n_bytes = 0
    for fam in encoded:
        key = fam.prefix(namespace, version)
        for i, entity in enumerate(fam.ids):
            queue_key(pipe, fam.family, key + entity, [(n, v[i]) for n, v in fam.columns])
        n_bytes += fam.payload_bytes(key)
    with redis_errors("writing " + ", ".join(f.family.name for f in encoded)):
        pipe.execute()
    return n_bytes
