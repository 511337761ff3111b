"""Redis going away and coming back: fallback answers, /readyz 503, recovery without restart.

Each test runs a throwaway ``redis-server`` on a free port, stops it mid-test (saving its data
to a temp dir, as a crash-free restart would) and starts it again on the same port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from recsys.store import write_bundle_tables
from recsys.store.publish import publish
from serving.settings import Settings
from tests.serving.conftest import assert_error, ids, serve, shop_tables
from tests.serving.redis_server import ThrowawayRedis


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    srv = ThrowawayRedis(tmp_path)
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def _publish_v1(server: ThrowawayRedis, tmp_path: Path) -> None:
    manifest = {"version": "v1", "created_at": "2024-01-01T00:00:00Z", "top_n": 10}
    path = write_bundle_tables(tmp_path / "bundle", manifest, **shop_tables("v1"))
    client = redis.Redis.from_url(server.url)
    publish(path, client, namespace="shop", score_dtype="float32")
    client.close()


REC = "/v1/customers/c1/recommendations"
POPULAR_IN_STOCK = ["i01", "i02", "i04", "i05", "i06", "i07", "i08", "i10", "i11", "i12"]


@pytest.mark.parametrize("multiplex", [True, False], ids=["multiplexed", "redis-py"])
@pytest.mark.parametrize("retry_seconds", [0.0, 60.0])
def test_outage_answers_from_fallback_and_recovers(
    server: ThrowawayRedis, tmp_path: Path, retry_seconds: float, multiplex: bool
) -> None:
    _publish_v1(server, tmp_path)
    settings = Settings(
        redis_url=server.url,
        namespace="shop",
        version_cache_seconds=0,
        redis_retry_seconds=retry_seconds,
        redis_multiplex=multiplex,
        gc_freeze=False,
    )
    with serve(settings) as c:
        personal = c.get(REC).json()
        assert personal["source"] == "personal"

        server.stop()
        for _ in range(3):
            r = c.get(REC)
            assert r.status_code == 200
            assert r.headers["x-model-version"] == "v1"
            body = r.json()
            assert body["source"] == "popular"
            # The in-process popular list, with the catalog filters still applied.
            assert ids(body) == POPULAR_IN_STOCK
        assert ids(c.get(REC, params={"category": "office", "exclude": "i08"}).json()) == [
            "i07",
            "i12",
        ]
        similar = c.get("/v1/items/i04/similar").json()
        assert (similar["source"], ids(similar)) == ("popular", ["i05", "i06", "i11"])
        assert_error(c.get("/v1/items/unknown/similar"), 404, "unknown_item")
        session = c.post("/v1/recommendations/session", json={"item_ids": ["i04"], "k": 2})
        assert (session.status_code, ids(session.json())) == (200, ["i01", "i02"])
        assert c.get("/v1/model").json()["model_version"] == "v1"
        error = assert_error(c.get("/readyz"), 503, "redis_unavailable")
        assert str(server.port) in error["message"]
        assert c.get("/healthz").status_code == 200
        metrics = c.get("/metrics").text
        assert 'recsys_redis_errors_total{operation="recommendations"}' in metrics
        assert 'recsys_degraded_answers_total{endpoint="recommendations"}' in metrics

        server.start()  # same port, same data
        if retry_seconds:
            # Requests keep answering from the fallback until Redis is retried; /readyz
            # always asks Redis and, when it answers, ends the pause.
            assert c.get(REC).json()["source"] == "popular"
        assert c.get("/readyz").status_code == 200
        assert _same_answer(c.get(REC).json(), personal)


def _same_answer(a: dict, b: dict) -> bool:
    """Equal answers but for ``recommendation_id`` (new for every answer)."""
    return {**a, "recommendation_id": None} == {**b, "recommendation_id": None}


@pytest.mark.parametrize("multiplex", [True, False], ids=["multiplexed", "redis-py"])
def test_redis_down_from_the_start_is_503_until_it_comes_up(
    server: ThrowawayRedis, tmp_path: Path, multiplex: bool
) -> None:
    _publish_v1(server, tmp_path)
    server.stop()
    settings = Settings(
        redis_url=server.url,
        namespace="shop",
        version_cache_seconds=0,
        redis_retry_seconds=0,
        redis_multiplex=multiplex,
        gc_freeze=False,
    )
    with serve(settings) as c:  # start-up must not fail
        assert_error(c.get(REC), 503, "unavailable")
        assert_error(c.get("/v1/items/i04/similar"), 503, "unavailable")
        assert_error(c.get("/readyz"), 503, "redis_unavailable")
        assert c.get("/healthz").status_code == 200
        server.start()
        assert c.get(REC).json()["source"] == "personal"
        assert c.get("/readyz").status_code == 200
        assert c.get(REC).headers["x-model-version"] == "v1"
