"""Live state written from accepted events and read on the request path (families
``realtime_customer``, ``realtime_session``, ``offer_redemptions``, ``offer_suppressed`` of
:mod:`recsys.store.families`; none is per version).

Writing (:class:`LiveWriter`, asyncio) takes the records of the events a ``POST /v1/events``
batch accepted (``Event.record``: ``event_type``, ``customer_id``, ``session_id``,
``item_id``/``item_ids``, ``offer_id``, ``value``, ``timestamp``) and sends ONE
non-transactional pipeline of single-key commands (cluster-safe):

- per customer and per session with item events, one ``EVALSHA`` of :data:`UPDATE_STATE` (a
  Lua script: read the state HASH, merge the batch's events, keep the newest
  ``recent``/``bought`` entries, write it back and renew the TTL; atomic per key, so
  concurrent batches for one customer never lose an event). ``view``, ``click`` and
  ``add_to_cart`` go to ``recent`` (the latest per item), ``purchase`` to ``bought``;
  impressions, returns and offer events leave the state alone;
- per ``offer_redeemed``: ``HINCRBY``/``HINCRBYFLOAT`` of the offer's counters, and for its
  customer a ``SET`` of the suppression key with the contact policy's TTL.

On a Redis Cluster, whose redis-py pipelines refuse scripts, the ``EVALSHA`` calls are sent
one per key instead (32 in flight), the counters still in one pipeline.

A script Redis does not know yet (first use, or after a restart) is loaded (``SCRIPT LOAD``)
and its calls sent again: the pipeline is sent with ``raise_on_error=False`` and only the
``NOSCRIPT`` replies are retried, so no counter is incremented twice. The state is best
effort: a crash between the stream append and this write leaves the events durable (in the
stream, for training) but out of the live state.

Reading (:func:`decode_state`, :func:`decode_counters`) turns what ``HGETALL``/``GET`` return
into values; :class:`~recsys.store.reader.StoreReader` pipelines the reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson
import redis.asyncio
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from recsys.errors import StoreError
from recsys.store import keys as K
from recsys.store.families import OFFER_SUPPRESSED, REALTIME_CUSTOMER

#: Event types that enter ``recent`` (signals of interest) and the one that enters ``bought``.
RECENT_EVENTS: Final = frozenset({"view", "click", "add_to_cart"})
PURCHASE: Final = "purchase"
REDEEMED: Final = "offer_redeemed"
#: Items purchased kept per customer or session.
MAX_BOUGHT: Final = 100
#: State scripts in flight at once on a Redis Cluster (no pipeline there, see LiveWriter).
_CONCURRENT: Final = 32
_RECENT = REALTIME_CUSTOMER.fields["recent"].raw_name
_BOUGHT = REALTIME_CUSTOMER.fields["bought"].raw_name

#: KEYS[1]: the state HASH. ARGV: ttl seconds, most recent entries, most bought entries, then
#: (event_type, item_id, unix_time) triples in batch order. Entries are newest first (ties:
#: later in the batch first), one per item (its newest); JSON via Redis's bundled cjson.
UPDATE_STATE: Final = """
local function load(name)
  local raw = redis.call('HGET', KEYS[1], name)
  if not raw then return {} end
  local ok, value = pcall(cjson.decode, raw)
  if ok and type(value) == 'table' then return value end
  return {}
end
local function newest(list, limit)
  local order = {}
  for i = 1, #list do order[i] = i end
  table.sort(order, function(a, b)
    local ta, tb = tonumber(list[a][2]) or 0, tonumber(list[b][2]) or 0
    if ta ~= tb then return ta > tb end
    return a < b
  end)
  local out, seen = {}, {}
  for _, i in ipairs(order) do
    local e = list[i]
    if #out >= limit then break end
    if type(e[1]) == 'string' and not seen[e[1]] then
      seen[e[1]] = true
      out[#out + 1] = e
    end
  end
  return out
end
local function encode(list)
  if #list == 0 then return '[]' end
  return cjson.encode(list)
end
local recent, bought = load('recent'), load('bought')
for i = 4, #ARGV, 3 do
  local kind, item, ts = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if kind == 'purchase' then
    table.insert(bought, 1, {item, ts})
  else
    table.insert(recent, 1, {item, ts, kind})
  end
end
recent = newest(recent, tonumber(ARGV[2]))
bought = newest(bought, tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'recent', encode(recent), 'bought', encode(bought))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return #recent
"""
_SHA: Final = hashlib.sha1(UPDATE_STATE.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class LiveState:
    """A customer's or session's live state: ``recent`` ``(item_id, unix_time, event_type)``
    newest first, and the items ``bought``."""

    recent: tuple[tuple[str, float, str], ...] = ()
    bought: frozenset[str] = frozenset()

    @property
    def newest(self) -> float:
        """Unix time of the newest recent event (``-inf`` when there is none)."""
        return self.recent[0][1] if self.recent else -math.inf


def _rows(raw: bytes | None, what: str) -> list[Any]:
    if raw is None:
        return []
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"corrupt live state field {what!r}: {exc}") from None
    if value == {}:  # an empty Lua table encodes as an object
        return []
    if not isinstance(value, list) or not all(
        isinstance(row, list) and len(row) >= 2 and isinstance(row[0], str) for row in value
    ):
        raise StoreError(f"corrupt live state field {what!r}: not a list of [item_id, time]")
    return value


def decode_state(raw: Mapping[bytes, bytes]) -> LiveState | None:
    """A state HASH (``HGETALL``) as a :class:`LiveState`; None when absent (empty).

    StoreError when a field is not what :data:`UPDATE_STATE` writes.
    """
    if not raw:
        return None
    try:
        recent = tuple(
            (str(r[0]), float(r[1]), str(r[2]) if len(r) > 2 else "view")
            for r in _rows(raw.get(_RECENT), "recent")
        )
    except (TypeError, ValueError):
        raise StoreError("corrupt live state field 'recent': a time is not a number") from None
    bought = frozenset(str(r[0]) for r in _rows(raw.get(_BOUGHT), "bought"))
    return LiveState(recent, bought)


@dataclass(frozen=True, slots=True)
class Redemptions:
    """One offer's live counters: redemptions ``n``, those without a value ``unvalued``, and
    the sum of the values given (``value``, money)."""

    n: int = 0
    unvalued: int = 0
    value: float = 0.0


def decode_counters(raw: Mapping[bytes, bytes]) -> dict[str, Redemptions]:
    """The ``offer_redemptions`` HASH (``HGETALL``) as ``offer_id -> Redemptions``.

    StoreError for a counter that is not a number.
    """
    parts: dict[str, dict[str, float]] = {}
    for name, value in raw.items():
        text = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
        kind, _, offer_id = text.partition(":")
        try:
            parts.setdefault(offer_id, {})[kind] = float(value)
        except ValueError:
            raise StoreError(f"corrupt offer redemption counter {text!r}: {value[:40]!r}") from None
    return {
        oid: Redemptions(int(p.get("n", 0)), int(p.get("u", 0)), float(p.get("v", 0.0)))
        for oid, p in parts.items()
    }


def decode_suppressed(raw: bytes | None) -> float | None:
    """The ``offer_suppressed`` value: unix time of the redemption, None when absent."""
    return None if raw is None else OFFER_SUPPRESSED.decode_value(raw)


def _unix(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _items(record: Mapping[str, Any]) -> list[str]:
    items = record.get("item_ids")
    if items:
        return [str(i) for i in items]
    return [str(record["item_id"])] if record.get("item_id") else []


def _normalised(record: Mapping[str, Any], normal_id: Callable[[str], str]) -> dict[str, Any]:
    out = dict(record)
    for name in ("customer_id", "item_id"):
        if out.get(name):
            out[name] = normal_id(str(out[name]))
    if out.get("item_ids"):
        out["item_ids"] = [normal_id(str(i)) for i in out["item_ids"]]
    return out


@dataclass
class Plan:
    """What one batch's accepted events change: state updates per key (``(event_type,
    item_id, unix_time)`` in batch order), offer counters, and suppressions (customer ->
    redemption time)."""

    states: dict[bytes, list[tuple[str, str, float]]] = field(default_factory=dict)
    redeemed: list[tuple[str, float | None]] = field(default_factory=list)
    suppress: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.states or self.redeemed or self.suppress)


def plan(
    namespace: str,
    records: Iterable[Mapping[str, Any]],
    now: float,
    normal_id: Callable[[str], str] | None = None,
) -> Plan:
    """The live changes of accepted event ``records`` (``Event.record``); a record without a
    parsable ``timestamp`` counts at ``now`` (unix seconds). ``normal_id`` (the published
    version's ingest id rule, :class:`recsys.data.parsing.IdRule`) maps customer and item ids
    to the ids the version stores, as the request path does, so ``85123a`` and ``85123A``
    are one item under a case-folding rule."""
    out = Plan()
    for record in records:
        if normal_id is not None:
            record = _normalised(record, normal_id)
        kind = record.get("event_type")
        when = _unix(record.get("timestamp"))
        ts = now if when is None else when
        if kind in RECENT_EVENTS or kind == PURCHASE:
            keys = []
            if record.get("customer_id"):
                keys.append(K.realtime_customer_key(namespace, record["customer_id"]))
            if record.get("session_id"):
                keys.append(K.realtime_session_key(namespace, record["session_id"]))
            for key in keys:
                entries = out.states.setdefault(key, [])
                entries += [(str(kind), item, ts) for item in _items(record)]
        elif kind == REDEEMED and record.get("offer_id"):
            value = record.get("value")
            out.redeemed.append((str(record["offer_id"]), None if value is None else float(value)))
            customer = record.get("customer_id")
            if customer:
                out.suppress[str(customer)] = max(ts, out.suppress.get(str(customer), ts))
    return out


class LiveWriter:
    """Applies a :class:`Plan` in one pipeline (see the module docs).

    Parameters
    ----------
    client
        A ``redis.asyncio`` client (or cluster client) that may write.
    namespace
        The store namespace.
    ttl
        Seconds a state lives after its last write.
    recent
        Recent entries kept per state.
    """

    def __init__(
        self, client: redis.asyncio.Redis, namespace: str, *, ttl: int, recent: int
    ) -> None:
        self.client = client
        self.namespace = K.check_namespace(namespace)
        self.ttl = int(ttl)
        self.recent = int(recent)

    def _state_args(self, entries: Sequence[tuple[str, str, float]]) -> list[Any]:
        args: list[Any] = [self.ttl, self.recent, MAX_BOUGHT]
        for kind, item, ts in entries:
            args += [kind, item, repr(round(ts, 3))]
        return args

    async def write(self, changes: Plan, *, suppress_seconds: float, now: float) -> None:
        """Apply ``changes``; a suppression lives ``suppress_seconds`` from its redemption
        (none when that time has passed, or ``suppress_seconds`` is 0). Raises redis-py's
        ``RedisError`` when Redis fails (some changes may then be applied)."""
        if not changes:
            return
        calls = [(key, self._state_args(entries)) for key, entries in changes.states.items()]
        cluster = isinstance(self.client, RedisCluster)
        pipe = self.client.pipeline(transaction=False)
        if not cluster:
            for key, args in calls:
                pipe.evalsha(_SHA, 1, key, *args)
        counters = K.offer_redemptions_key(self.namespace)
        for offer_id, value in changes.redeemed:
            pipe.hincrby(counters, f"n:{offer_id}", 1)
            if value is None:
                pipe.hincrby(counters, f"u:{offer_id}", 1)
            else:
                pipe.hincrbyfloat(counters, f"v:{offer_id}", value)
        for customer, ts in changes.suppress.items():
            left = int(ts + suppress_seconds - now)
            if suppress_seconds > 0 and left > 0:
                key = K.offer_suppressed_key(self.namespace, customer)
                pipe.set(key, repr(round(ts, 3)), ex=left)
        replies = await pipe.execute(raise_on_error=False) if len(pipe) else []
        states = await self._one_by_one(calls) if cluster else replies[: len(calls)]
        errors = [r for r in [*replies, *states] if isinstance(r, Exception) and not _no_script(r)]
        if errors:
            raise errors[0]
        missing = [call for call, reply in zip(calls, states, strict=True) if _no_script(reply)]
        if missing:
            await self.client.script_load(UPDATE_STATE)
            if cluster:
                await self._one_by_one(missing, raise_errors=True)
                return
            retry = self.client.pipeline(transaction=False)
            for key, args in missing:
                retry.evalsha(_SHA, 1, key, *args)
            await retry.execute()

    async def _one_by_one(
        self, calls: Sequence[tuple[bytes, list[Any]]], *, raise_errors: bool = False
    ) -> list[Any]:
        """EVALSHA per key, ``_CONCURRENT`` at a time: Redis Cluster pipelines refuse
        scripts (redis-py), and each call goes to its key's node."""
        replies: list[Any] = []
        for start in range(0, len(calls), _CONCURRENT):
            chunk = calls[start : start + _CONCURRENT]
            replies += await asyncio.gather(
                *(self.client.evalsha(_SHA, 1, key, *args) for key, args in chunk),  # type: ignore[misc]
                return_exceptions=not raise_errors,
            )
        return replies


def _no_script(reply: Any) -> bool:
    return isinstance(reply, NoScriptError) or (
        isinstance(reply, Exception) and str(reply).startswith("NOSCRIPT")
    )
