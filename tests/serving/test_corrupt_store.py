"""Data in Redis that this code cannot read: answers keep coming from the last good version,
``/readyz`` says what is wrong, and nothing turns into a 500."""

from __future__ import annotations

import pytest
import redis
from fastapi.testclient import TestClient

from recsys.store import keys as K
from tests.serving.conftest import Publisher, assert_error, ids, serve

REC = "/v1/customers/c1/recommendations"
POPULAR_IN_STOCK = ["i01", "i02", "i04", "i05", "i06", "i07", "i08", "i10", "i11", "i12"]


def _assert_answers_from_v1_snapshot(api: TestClient) -> None:
    r = api.get(REC)
    assert r.status_code == 200, r.text
    assert (r.headers["x-model-version"], r.json()["source"]) == ("v1", "popular")
    assert ids(r.json()) == POPULAR_IN_STOCK
    similar = api.get("/v1/items/i04/similar")
    assert (similar.status_code, similar.json()["source"]) == (200, "popular")
    session = api.post("/v1/recommendations/session", json={"item_ids": ["i04"], "k": 2})
    assert session.status_code == 200
    assert api.get("/v1/model").json()["model_version"] == "v1"


@pytest.mark.parametrize(
    "pointer", [b"bad version", b"\xff\xfe", b"v" * 65], ids=["space", "not-utf8", "too-long"]
)
def test_corrupt_active_pointer_falls_back_and_readyz_says_why(
    api: TestClient, redis_client: redis.Redis, namespace: str, pointer: bytes
) -> None:
    assert api.get(REC).json()["source"] == "personal"
    redis_client.set(K.active_key(namespace), pointer)
    _assert_answers_from_v1_snapshot(api)
    error = assert_error(api.get("/readyz"), 503, "store_corrupt")
    assert "pointer" in error["message"]
    redis_client.set(K.active_key(namespace), b"v1")  # repaired: personal answers again
    assert api.get(REC).json()["source"] == "personal"
    assert api.get("/readyz").status_code == 200


def test_new_version_with_a_corrupt_manifest_keeps_serving_the_previous_one(
    api: TestClient, publish_shop: Publisher, redis_client: redis.Redis, namespace: str
) -> None:
    assert api.get(REC).json()["source"] == "personal"
    publish_shop("v2")
    redis_client.set(K.manifest_key(namespace, "v2"), b"{not json")
    _assert_answers_from_v1_snapshot(api)
    error = assert_error(api.get("/readyz"), 503, "model_unreadable")
    assert "v2" in error["message"]


def test_service_starts_on_a_corrupt_pointer(
    publish_shop: Publisher, redis_client: redis.Redis, namespace: str, settings
) -> None:
    publish_shop("v1")
    redis_client.set(K.active_key(namespace), b"bad version")
    with serve(settings) as c:  # start-up must not fail
        assert_error(c.get(REC), 503, "unavailable")
        assert_error(c.get("/readyz"), 503, "store_corrupt")
        redis_client.set(K.active_key(namespace), b"v1")
        assert c.get(REC).json()["source"] == "personal"
