"""Real-time answers over real HTTP (TestClient) and real Redis: events posted to
``POST /v1/events`` change the very next answer (tiny shop of tests/serving/conftest.py).

Similar lists: i01 -> [i02, i10, i03*], i04 -> [i06, i11, i05], i06 -> [i04, i11],
i07 -> [i12]; c1's personal list is [i04, i03*, i05, i07]; v1 was made 2024-01-01.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from fastapi.testclient import TestClient

from recsys.store import keys as K
from recsys.store import write_bundle_tables
from recsys.store.publish import publish
from serving.settings import Settings
from tests.serving.conftest import Publisher, ids, serve, shop_tables
from tests.serving.process import serving_process
from tests.serving.redis_server import ThrowawayRedis

_ids = count()


def event(kind: str, item: str | None = None, *, ago: float = 0.0, **fields: Any) -> dict:
    """One event, ``ago`` seconds before now."""
    out = {
        "event_id": f"rt{next(_ids)}",
        "event_type": kind,
        "timestamp": (datetime.now(UTC) - timedelta(seconds=ago)).isoformat(),
        **fields,
    }
    if item is not None:
        out["item_id"] = item
    return out


def post(api: TestClient, *events: dict) -> dict:
    answer = api.post("/v1/events", json={"events": list(events)})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["rejected"] == [], body
    return body


def recommend(api: TestClient, customer: str, k: int = 5, **params: Any) -> dict:
    r = api.get(f"/v1/customers/{customer}/recommendations", params={"k": k, **params})
    assert r.status_code == 200, r.text
    return r.json()


def sources(body: dict) -> list[str]:
    return [item["source"] for item in body["items"]]


def test_a_purchase_event_removes_the_item_from_the_next_answer(api: TestClient) -> None:
    before = recommend(api, "c1", k=3)
    assert ids(before) == ["i04", "i05", "i07"] and before["source"] == "personal"
    post(api, event("purchase", "i05", customer_id="c1"))
    after = recommend(api, "c1", k=3)
    assert ids(after) == ["i04", "i07", "i06"]  # topped up from c1's segment (s_home)
    assert after["source"] == "personal"
    # a brand-new customer's purchase leaves the popular answer too
    post(api, event("purchase", item_ids=["i01", "i02"], customer_id="new-buyer"))
    assert ids(recommend(api, "new-buyer", k=3)) == ["i04", "i05", "i06"]


def test_three_views_by_a_brand_new_customer_give_a_realtime_answer(api: TestClient) -> None:
    assert recommend(api, "new1")["source"] == "popular"
    post(
        api,
        event("view", "i01", customer_id="new1", ago=30),
        event("view", "i04", customer_id="new1", ago=20),
        event("view", "i07", customer_id="new1", ago=10),
    )
    body = recommend(api, "new1")
    assert body["source"] == "realtime"
    # Blend of the viewed items' similar lists, newest weighted most (1, 0.7, 0.49): i12 0.9,
    # i06 0.56, i02 0.441, i11 0.42, i10 0.392 (i03 is out of stock; viewed items never).
    assert ids(body) == ["i12", "i06", "i02", "i11", "i10"]
    assert set(sources(body)) == {"realtime"}
    similar_to_viewed = {"i02", "i10", "i03", "i06", "i11", "i05", "i12"}
    assert set(ids(body)) <= similar_to_viewed
    # A later cart counts twice a view and moves its neighbours up.
    post(api, event("add_to_cart", "i06", customer_id="new1"))
    assert ids(recommend(api, "new1", k=2)) == ["i11", "i12"]


def test_a_known_customer_gets_fresh_events_alternated_with_the_personal_list(
    api: TestClient,
) -> None:
    post(api, event("view", "i07", customer_id="c1"))
    body = recommend(api, "c1")
    assert body["source"] == "realtime"
    assert list(zip(ids(body), sources(body), strict=True)) == [
        ("i12", "realtime"),
        ("i04", "personal"),
        ("i05", "personal"),
        ("i07", "personal"),
        ("i06", "segment"),
    ]


def test_events_older_than_the_version_leave_a_personal_answer_alone(api: TestClient) -> None:
    old = {"timestamp": "2023-06-01T10:00:00Z"}
    post(api, {**event("view", "i07", customer_id="c1"), **old})
    assert recommend(api, "c1")["source"] == "personal"
    # ... but a customer without a personal list (c3: segment only) still gets them.
    post(api, {**event("view", "i04", customer_id="c3"), **old})
    body = recommend(api, "c3", k=3)
    assert body["source"] == "realtime" and ids(body) == ["i06", "i11", "i05"]


def test_session_id_events_drive_the_session_answer(api: TestClient) -> None:
    url = "/v1/recommendations/session"
    post(
        api,
        event("view", "i04", session_id="s-9"),
        event("purchase", "i06", session_id="s-9"),
    )
    body = api.post(url, json={"session_id": "s-9", "k": 3}).json()
    assert body["source"] == "realtime"
    assert ids(body) == ["i11", "i05", "i01"]  # i06 bought, i04 viewed: never shown
    assert sources(body) == ["realtime", "realtime", "popular"]
    # With items in the body too: their similar list first, alternated with the live one.
    both = api.post(url, json={"session_id": "s-9", "item_ids": ["i07"], "k": 3}).json()
    assert both["source"] == "similar"
    assert list(zip(ids(both), sources(both), strict=True)) == [
        ("i12", "similar"),
        ("i11", "realtime"),
        ("i05", "realtime"),
    ]
    # An unknown session is what it was: the body's items, or popular.
    assert api.post(url, json={"session_id": "s-0", "k": 2}).json()["source"] == "popular"


def test_live_state_keys_expire(
    publish_shop: Publisher, redis_url: str, namespace: str, redis_client: redis.Redis
) -> None:
    publish_shop("v1")
    settings = Settings(redis_url=redis_url, namespace=namespace, gc_freeze=False, realtime_ttl=120)
    with serve(settings) as api:
        post(
            api,
            event("view", "i01", customer_id="c9", session_id="s9"),
            event("purchase", "i02", customer_id="c9"),
        )
    for key in (K.realtime_customer_key(namespace, "c9"), K.realtime_session_key(namespace, "s9")):
        assert 60 < redis_client.ttl(key) <= 120
    default = Settings(redis_url=redis_url, namespace=namespace, gc_freeze=False)
    with serve(default) as api:
        post(api, event("view", "i04", customer_id="c9"))
    ttl = redis_client.ttl(K.realtime_customer_key(namespace, "c9"))
    assert 3 * 86400 - 60 < ttl <= 3 * 86400


def test_the_live_state_is_bounded_and_keeps_the_newest(
    publish_shop: Publisher, redis_url: str, namespace: str, redis_client: redis.Redis
) -> None:
    publish_shop("v1")
    settings = Settings(
        redis_url=redis_url, namespace=namespace, gc_freeze=False, realtime_recent=3
    )
    items = ["i01", "i02", "i04", "i05", "i06", "i07", "i04"]
    with serve(settings) as api:
        post(
            api,
            *[event("view", item, customer_id="c8", ago=100 - i) for i, item in enumerate(items)],
        )
        # An event reported late (older timestamp) does not push newer ones out.
        post(api, event("view", "i10", customer_id="c8", ago=500))
    raw = redis_client.hgetall(K.realtime_customer_key(namespace, "c8"))
    recent = orjson.loads(raw[b"recent"])
    assert [row[0] for row in recent] == ["i04", "i07", "i06"]
    assert orjson.loads(raw[b"bought"]) == []


@pytest.mark.parametrize("broken", [b"wrong type", b"corrupt json"])
def test_a_broken_live_state_degrades_to_the_answer_without_it(
    api: TestClient, redis_client: redis.Redis, namespace: str, broken: bytes
) -> None:
    key = K.realtime_customer_key(namespace, "c1")
    session = K.realtime_session_key(namespace, "s1")
    if broken == b"wrong type":
        redis_client.set(key, b"x")
        redis_client.set(session, b"x")
    else:
        redis_client.hset(key, mapping={"recent": b"[[1,", "bought": b"[]"})
        redis_client.hset(session, mapping={"recent": b'{"a": 1}', "bought": b"[]"})
    body = recommend(api, "c1", k=3)
    assert body["source"] == "personal" and ids(body) == ["i04", "i05", "i07"]
    session_body = api.post(
        "/v1/recommendations/session", json={"session_id": "s1", "item_ids": ["i07"], "k": 2}
    )
    assert session_body.status_code == 200
    assert ids(session_body.json()) == ["i12", "i01"]
    metrics = api.get("/metrics").text
    assert 'recsys_redis_errors_total{operation="realtime"} 2.0' in metrics


def test_realtime_off_reads_and_writes_no_live_state(
    publish_shop: Publisher, redis_url: str, namespace: str, redis_client: redis.Redis
) -> None:
    publish_shop("v1")
    settings = Settings(redis_url=redis_url, namespace=namespace, gc_freeze=False, realtime=False)
    with serve(settings) as api:
        post(api, event("purchase", "i05", customer_id="c1"))
        assert ids(recommend(api, "c1", k=3)) == ["i04", "i05", "i07"]
    assert not redis_client.exists(K.realtime_customer_key(namespace, "c1"))


def test_a_fresh_redis_loads_the_state_script_and_loads_it_again_after_a_flush(
    tmp_path: Path,
) -> None:
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        manifest = {"version": "v1", "created_at": "2024-01-01T00:00:00Z", "top_n": 10}
        path = write_bundle_tables(tmp_path / "bundle", manifest, **shop_tables("v1"))
        client = redis.Redis.from_url(server.url)
        publish(path, client, namespace="shop", score_dtype="float32")
        settings = Settings(redis_url=server.url, namespace="shop", gc_freeze=False)
        with serve(settings) as api:
            post(api, event("view", "i07", customer_id="n1"))
            assert ids(recommend(api, "n1", k=1)) == ["i12"]
            client.script_flush()  # this throwaway server only
            post(api, event("view", "i04", customer_id="n1"))
            assert ids(recommend(api, "n1", k=1)) == ["i06"]
        client.close()
    finally:
        server.kill()


def test_a_uvicorn_process_answers_in_real_time(
    publish_shop: Publisher, redis_url: str, namespace: str
) -> None:
    """The issue's acceptance over a real server: ``python -m serving`` (uvicorn, one worker)."""
    publish_shop("v1")
    keys = {"RECSYS_API_KEYS": '{"k": ["site", "events"]}'}
    with (
        serving_process(redis_url, namespace, keys) as base,
        httpx.Client(base_url=base, headers={"X-API-Key": "k"}) as http,
    ):

        def answer(customer: str) -> dict:
            r = http.get(f"/v1/customers/{customer}/recommendations", params={"k": 3})
            assert r.status_code == 200, r.text
            return r.json()

        def send(*events: dict) -> None:
            r = http.post("/v1/events", json={"events": list(events)})
            assert r.status_code == 202 and r.json()["accepted"] == len(events), r.text

        assert ids(answer("c1")) == ["i04", "i05", "i07"]
        send(event("purchase", "i04", customer_id="c1"))
        assert "i04" not in ids(answer("c1"))  # the very next request
        send(*[event("view", item, customer_id="u-1") for item in ("i01", "i04", "i07")])
        body = answer("u-1")
        assert body["source"] == "realtime" and ids(body) == ["i12", "i06", "i02"]


def test_realtime_on_redis_cluster(
    cluster_url: str, cluster_client: redis.Redis, cluster_namespace: str, tmp_path: Path
) -> None:
    """Live state keys land in any slot: the writes (EVALSHA, counters) and the reads (a
    pipeline across slots) are single-key commands."""
    manifest = {"version": "v1", "created_at": "2024-01-01T00:00:00Z", "top_n": 10}
    path = write_bundle_tables(tmp_path / "bundle", manifest, **shop_tables("v1"))
    publish(path, cluster_client, namespace=cluster_namespace, score_dtype="float32")
    settings = Settings(redis_url=cluster_url, namespace=cluster_namespace, gc_freeze=False)
    with serve(settings) as api:
        post(
            api,
            *[event("view", item, customer_id="cl-1") for item in ("i01", "i04", "i07")],
            event("purchase", "i04", customer_id="c1", session_id="cl-s"),
            event("offer_redeemed", customer_id="c2", offer_id="HOME10", value=10.0),
        )
        body = recommend(api, "cl-1")
        assert body["source"] == "realtime" and ids(body) == ["i12", "i06", "i02", "i11", "i10"]
        assert "i04" not in ids(recommend(api, "c1"))
        assert api.get("/v1/customers/c2/offers").json()["held"] == "suppressed"
