"""Live state as stored: planning a batch's changes, decoding, and the writer against real
Redis (the Lua script's merge, bounds and TTL)."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import redis

from recsys.errors import StoreError
from recsys.store import keys as K
from recsys.store.connection import connect_async
from recsys.store.realtime import (
    LiveState,
    LiveWriter,
    Redemptions,
    decode_counters,
    decode_state,
    plan,
)


def _rec(kind: str, ts: str = "2026-01-01T00:00:00+00:00", **fields: object) -> dict:
    return {"event_type": kind, "timestamp": ts, **fields}


def test_plan_routes_events_to_states_counters_and_suppressions() -> None:
    records = [
        _rec("view", customer_id="c1", session_id="s1", item_id="a"),
        _rec("purchase", customer_id="c1", item_ids=["b", "c"]),
        _rec("impression", customer_id="c1", item_ids=["x"], recommendation_id="r"),
        _rec("return", customer_id="c1", item_id="b"),
        _rec("offer_redeemed", customer_id="c2", offer_id="O", value=5.0),
        _rec("offer_redeemed", session_id="s2", offer_id="O", timestamp=None),
    ]
    out = plan("ns", records, now=1.0)
    t = 1767225600.0
    assert out.states == {
        K.realtime_customer_key("ns", "c1"): [
            ("view", "a", t),
            ("purchase", "b", t),
            ("purchase", "c", t),
        ],
        K.realtime_session_key("ns", "s1"): [("view", "a", t)],
    }
    assert out.redeemed == [("O", 5.0), ("O", None)]
    assert out.suppress == {"c2": t}
    assert not plan("ns", [records[2]], now=1.0)


def test_decoding_the_state_and_the_counters() -> None:
    raw = {b"recent": b'[["a",2.5,"view"],["b",1,"add_to_cart"]]', b"bought": b"{}"}
    assert decode_state(raw) == LiveState((("a", 2.5, "view"), ("b", 1.0, "add_to_cart")))
    assert decode_state({}) is None
    for bad in (b"[[1,2]]", b"not json", b'[["a","soon"]]', b'{"a": 1}'):
        with pytest.raises(StoreError, match="corrupt live state"):
            decode_state({b"recent": bad})
    counters = {b"n:O": b"3", b"u:O": b"1", b"v:O": b"12.5", b"n:P:x": b"1"}
    assert decode_counters(counters) == {"O": Redemptions(3, 1, 12.5), "P:x": Redemptions(1)}
    with pytest.raises(StoreError, match="corrupt offer redemption counter"):
        decode_counters({b"n:O": b"many"})


def test_the_writer_merges_keeps_the_newest_and_renews_the_ttl(
    redis_url: str, redis_client: redis.Redis, namespace: str
) -> None:
    key = K.realtime_customer_key(namespace, "c1")

    async def write(*entries: tuple[str, str, float], recent: int = 3) -> None:
        client = connect_async(redis_url)
        try:
            writer = LiveWriter(client, namespace, ttl=100, recent=recent)
            changes = plan(namespace, [], now=0.0)
            changes.states[key] = list(entries)
            await writer.write(changes, suppress_seconds=0, now=0.0)
        finally:
            await client.aclose()

    asyncio.run(write(("view", "a", 1.0), ("view", "b", 2.0), ("purchase", "p", 2.0)))
    asyncio.run(write(("view", "a", 3.0), ("add_to_cart", "c", 0.5), ("view", "d", 2.5)))
    state = decode_state(redis_client.hgetall(key))
    assert state is not None
    assert [r[0] for r in state.recent] == ["a", "d", "b"]  # newest per item, 3 kept
    assert state.bought == frozenset({"p"})
    assert 90 < redis_client.ttl(key) <= 100
    assert orjson.loads(redis_client.hget(key, "recent"))[0] == ["a", 3, "view"]
