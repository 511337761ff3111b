"""The event stream, idempotency keys and consumer group (families ``events``,
``event_seen``, ``events_export`` of :mod:`recsys.store.families`).

Appending on a single server (:func:`append_events`) is one Lua script per batch: for each
event, ``SET key 1 NX EX ttl`` and, when it set the key, ``XADD`` to the stream (``MAXLEN ~
cap``), atomically, so an event is accepted exactly when it is in the stream. It replaced three
pipelines of one command per event, whose client-side cost (redis-py's asyncio packing and
parsing, about 10 ms of CPU for a batch of 20) stalled the event loop and the reads behind it.
On a Redis Cluster (keys in any slot, no multi-key script) and in :func:`append_events_sync`,
appending is ordered for durability without multi-key commands:

1. ``EXISTS`` each event's idempotency key: ids already seen are duplicates;
2. ``XADD`` the others to the stream (``MAXLEN ~ cap``), and only then
3. ``SET key 1 NX EX ttl``: the event counts as accepted if it set its key.

A crash between 2 and 3 leaves an event in the stream without its key: the client got no
answer and retries, so the event is appended twice and the export drops the second copy (it
is idempotent by ``event_id`` too). Never is a key set for an event not in the stream.

Reading (:func:`ensure_group`, :func:`read_group`, :func:`claim_stale`, :func:`ack`) follows
Redis Streams' consumer-group pattern (https://redis.io/docs/latest/develop/data-types/streams/):
read, write the data out, then ``XACK`` and ``XDEL``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis
import redis.asyncio
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from recsys.errors import StoreError
from recsys.store import keys as K

Record = Mapping[str, Any]


@dataclass(frozen=True)
class AppendResult:
    """Positions (in the input) of the events accepted and of the duplicates."""

    accepted: list[int]
    duplicates: list[int]


@dataclass(frozen=True)
class Entry:
    """One stream entry: its stream id and the event record (None if it is corrupt)."""

    stream_id: str
    record: dict[str, Any] | None
    raw: bytes


def encode_entry(record: Record) -> dict[bytes, bytes]:
    """The stream fields of one event record."""
    return {K.EVENT_ENTRY_FIELD: orjson.dumps(record)}


def decode_entry(stream_id: bytes | str, fields: Mapping[bytes, bytes]) -> Entry:
    """An entry as read (``XREADGROUP``); ``record`` None when it is not a JSON object."""
    sid = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    raw = fields.get(K.EVENT_ENTRY_FIELD, b"")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    return Entry(sid, value if isinstance(value, dict) else None, raw)


def _first_copies(records: Sequence[tuple[str, Record]]) -> tuple[list[int], list[int]]:
    seen: set[str] = set()
    first: list[int] = []
    repeated: list[int] = []
    for i, (event_id, _) in enumerate(records):
        (repeated if event_id in seen else first).append(i)
        seen.add(event_id)
    return first, repeated


#: KEYS: the stream, then each event's idempotency key; ARGV: cap, ttl, the entry field,
#: then each event's JSON. Returns 1 (accepted) or 0 (duplicate) per event.
_APPEND_SCRIPT = """
local out = {}
for j = 2, #KEYS do
  if redis.call('SET', KEYS[j], '1', 'NX', 'EX', ARGV[2]) then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[3], ARGV[j + 2])
    out[j - 1] = 1
  else
    out[j - 1] = 0
  end
end
return out
"""


async def append_events(
    client: redis.asyncio.Redis,
    namespace: str,
    records: Sequence[tuple[str, Record]],
    *,
    maxlen: int,
    ttl: int,
) -> AppendResult:
    """Append ``(event_id, record)`` pairs once each (see the module docs): one script call
    on a single server, 3 round trips on a cluster.

    Raises redis-py's ``RedisError`` when Redis fails: then nothing may be assumed accepted
    (the caller answers an error and the client retries).
    """
    if isinstance(client, AsyncRedisCluster):
        return await _append_pipelined(client, namespace, records, maxlen=maxlen, ttl=ttl)
    first, duplicates = _first_copies(records)
    if not first:
        return AppendResult([], sorted(duplicates))
    keys = [K.events_key(namespace), *(K.event_seen_key(namespace, records[i][0]) for i in first)]
    entries = [orjson.dumps(records[i][1]) for i in first]
    script = client.register_script(_APPEND_SCRIPT)
    won = await script(keys=keys, args=[maxlen, ttl, K.EVENT_ENTRY_FIELD, *entries])
    accepted = [i for i, ok in zip(first, won, strict=True) if int(ok)]
    duplicates += [i for i, ok in zip(first, won, strict=True) if not int(ok)]
    return AppendResult(accepted, sorted(duplicates))


async def _append_pipelined(
    client: redis.asyncio.Redis,
    namespace: str,
    records: Sequence[tuple[str, Record]],
    *,
    maxlen: int,
    ttl: int,
) -> AppendResult:
    """EXISTS, XADD, SET NX in three pipelines of single-key commands (a cluster's path)."""
    first, duplicates = _first_copies(records)
    keys = [K.event_seen_key(namespace, records[i][0]) for i in first]
    async with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.exists(key)
        seen = await pipe.execute()
    fresh = [(i, key) for i, key, s in zip(first, keys, seen, strict=True) if not s]
    duplicates += [i for i, s in zip(first, seen, strict=True) if s]
    if not fresh:
        return AppendResult([], sorted(duplicates))
    stream = K.events_key(namespace)
    async with client.pipeline(transaction=False) as pipe:
        for i, _ in fresh:
            pipe.xadd(stream, encode_entry(records[i][1]), maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
        await pipe.execute()
    async with client.pipeline(transaction=False) as pipe:
        for _, key in fresh:
            pipe.set(key, b"1", nx=True, ex=ttl)
        won = await pipe.execute()
    accepted = [i for (i, _), ok in zip(fresh, won, strict=True) if ok]
    duplicates += [i for (i, _), ok in zip(fresh, won, strict=True) if not ok]
    return AppendResult(accepted, sorted(duplicates))


def append_events_sync(
    client: redis.Redis,
    namespace: str,
    records: Sequence[tuple[str, Record]],
    *,
    maxlen: int,
    ttl: int,
) -> AppendResult:
    """:func:`append_events` with the synchronous client (jobs, tests)."""
    first, duplicates = _first_copies(records)
    keys = [K.event_seen_key(namespace, records[i][0]) for i in first]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.exists(key)
    seen = pipe.execute()
    fresh = [(i, key) for i, key, s in zip(first, keys, seen, strict=True) if not s]
    duplicates += [i for i, s in zip(first, seen, strict=True) if s]
    if not fresh:
        return AppendResult([], sorted(duplicates))
    stream = K.events_key(namespace)
    pipe = client.pipeline(transaction=False)
    for i, _ in fresh:
        pipe.xadd(stream, encode_entry(records[i][1]), maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
    pipe.execute()
    pipe = client.pipeline(transaction=False)
    for _, key in fresh:
        pipe.set(key, b"1", nx=True, ex=ttl)
    won = pipe.execute()
    accepted = [i for (i, _), ok in zip(fresh, won, strict=True) if ok]
    duplicates += [i for (i, _), ok in zip(fresh, won, strict=True) if not ok]
    return AppendResult(accepted, sorted(duplicates))


def ensure_group(client: redis.Redis, namespace: str, group: str = K.EVENTS_GROUP) -> None:
    """Create the consumer group (from the stream's first entry; the stream too if absent)."""
    try:
        client.xgroup_create(K.events_key(namespace), group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise StoreError(f"cannot create consumer group {group!r}: {exc}") from None


def read_group(
    client: redis.Redis,
    namespace: str,
    consumer: str,
    *,
    count: int,
    pending: bool = False,
    group: str = K.EVENTS_GROUP,
) -> list[Entry]:
    """Up to ``count`` entries for ``consumer``: new ones (``>``) or, with ``pending``, the
    ones it read before and never acknowledged (``0``, e.g. after a crash)."""
    stream = K.events_key(namespace)
    answer: Any = client.xreadgroup(group, consumer, {stream: "0" if pending else ">"}, count=count)
    entries: list[Entry] = []
    for _, rows in answer or []:
        # A pending entry trimmed away (MAXLEN) comes back without fields: record None.
        entries += [decode_entry(sid, fields or {}) for sid, fields in rows]
    return entries


def claim_stale(
    client: redis.Redis,
    namespace: str,
    consumer: str,
    *,
    min_idle_ms: int,
    count: int,
    group: str = K.EVENTS_GROUP,
) -> int:
    """Take over entries other consumers read and left unacknowledged for ``min_idle_ms``
    (``XAUTOCLAIM``): they become this consumer's pending entries. Returns how many."""
    stream = K.events_key(namespace)
    start, claimed = "0-0", 0
    while True:
        answer: Any = client.xautoclaim(stream, group, consumer, min_idle_ms, start, count=count)
        start = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
        claimed += len(answer[1])
        if start == "0-0":
            return claimed


def ack(
    client: redis.Redis,
    namespace: str,
    stream_ids: Sequence[str],
    *,
    exported: int = 0,
    group: str = K.EVENTS_GROUP,
) -> None:
    """Acknowledge and delete entries once written out, and record the progress."""
    if not stream_ids:
        return
    stream = K.events_key(namespace)
    pipe = client.pipeline(transaction=False)
    pipe.xack(stream, group, *stream_ids)
    pipe.xdel(stream, *stream_ids)
    progress = K.events_export_key(namespace)
    pipe.hincrby(progress, "exported", exported)
    pipe.hset(progress, mapping={"last_id": stream_ids[-1], "at": repr(time.time())})
    pipe.execute()


def stream_length(client: redis.Redis, namespace: str) -> int:
    """Entries in the stream (written and not yet exported, or exported and kept)."""
    return int(client.xlen(K.events_key(namespace)))  # type: ignore[arg-type]
