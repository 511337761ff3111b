"""GET /v1/segments, /v1/segments/{segment}/customers and /v1/customers/{id}/segment.

The tiny shop of conftest has three profiled customers; the paging tests publish a shop of
2,600 generated profiles so that lists span several stored pages (1,000 ids each).
"""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from recsys import columns as C
from recsys.customers.artifacts import segment_manifest, segment_tables
from recsys.store import write_bundle_tables
from recsys.store.publish import publish
from serving.settings import Settings
from tests.serving.conftest import PROFILES, Publisher, assert_error, serve, shop_tables

SEGMENTS = "/v1/segments"


def test_segments_list_every_rfm_segment_and_cluster(api: TestClient) -> None:
    r = api.get(SEGMENTS)
    assert r.status_code == 200 and r.headers["x-model-version"] == "v1"
    listed = {s["segment"]: s for s in r.json()["segments"]}
    assert set(listed) == {"rfm:champions", "rfm:lost", "cluster:0", "cluster:1"}
    champions = listed["rfm:champions"]
    assert (champions["kind"], champions["name"], champions["customers"]) == (
        "rfm",
        "Champions",
        2,
    )
    assert champions["revenue_share"] == pytest.approx(190 / 202.5)
    assert champions["mean_clv"] == pytest.approx(105.0)
    assert champions["churn_mix"] == {"low": 0.5, "medium": 0.5, "high": 0.0}


def test_a_customers_own_segment_and_profile(api: TestClient) -> None:
    body = api.get("/v1/customers/c2/segment").json()
    assert (body["customer_id"], body["segment"]) == ("c2", "s_office")
    profile = body["profile"]
    assert profile["rfm_segment"] == "Lost" and profile["churn_band"] == "high"
    assert profile["predicted_clv"] == 1.5
    assert profile["expected_next_order"].startswith("2025-06-01")
    assert_error(api.get("/v1/customers/nobody/segment"), 404, "unknown_customer")


def test_unknown_and_malformed_segments(api: TestClient) -> None:
    assert_error(api.get(f"{SEGMENTS}/rfm:nobody/customers"), 404, "unknown_segment")
    assert_error(api.get(f"{SEGMENTS}/Champions/customers"), 422, "invalid_parameter")
    assert_error(
        api.get(f"{SEGMENTS}/rfm:lost/customers", params={"cursor": "nope"}), 422, "invalid_cursor"
    )
    assert_error(
        api.get(f"{SEGMENTS}/rfm:lost/customers", params={"limit": 1001}), 422, "invalid_parameter"
    )


@pytest.fixture
def big_shop(
    tmp_path: Path, redis_client: redis.Redis, namespace: str, settings: Settings
) -> tuple[pd.DataFrame, Settings]:
    """2,600 profiles (Champions and Lost, clusters 0-2) published as v1."""
    rng = np.random.default_rng(0)
    n = 2600
    frame = pd.DataFrame(
        {
            C.CUSTOMER_ID: [f"cust {i:05d}" for i in range(n)],  # a space: ids as they are
            "rfm_segment": np.where(np.arange(n) % 5 == 0, "Lost", "Champions"),
            "cluster": np.arange(n) % 3,
            "cluster_name": "x",
            "predicted_clv": rng.integers(0, 500, n).astype(float),  # ties on purpose
            "churn_risk": rng.random(n),
            "churn_band": "low",
            "monetary_total": 1.0,
        }
    )
    tables = shop_tables("v1")
    tables.update(segment_tables(frame))
    manifest = {
        "version": "v1",
        "created_at": "2024-01-01T00:00:00Z",
        "top_n": 10,
        "segments": segment_manifest(frame),
    }
    path = write_bundle_tables(tmp_path / "v1", manifest, **tables)
    publish(path, redis_client, namespace=namespace, score_dtype="float32")
    return frame, settings


def _walk(c: TestClient, segment: str, limit: int, sort: str = "clv") -> list[dict]:
    rows: list[dict] = []
    cursor = None
    while True:
        params = {"limit": limit, "sort": sort, **({"cursor": cursor} if cursor else {})}
        body = c.get(f"{SEGMENTS}/{segment}/customers", params=params).json()
        assert len(body["customers"]) <= limit
        rows += body["customers"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def test_paging_is_complete_ordered_and_stable(big_shop) -> None:
    frame, settings = big_shop
    champions = frame[frame["rfm_segment"] == "Champions"]
    expected = champions.sort_values(["predicted_clv", C.CUSTOMER_ID], ascending=[False, True])[
        C.CUSTOMER_ID
    ].tolist()
    assert len(expected) > 2000  # three stored pages
    with serve(settings) as c:
        for limit in (1000, 333, 7):
            rows = _walk(c, "rfm:champions", limit)
            assert [r["customer_id"] for r in rows] == expected, limit
        by_churn = [r["customer_id"] for r in _walk(c, "rfm:champions", 500, "churn_risk")]
    assert (
        by_churn
        == champions.sort_values(["churn_risk", C.CUSTOMER_ID], ascending=[False, True])[
            C.CUSTOMER_ID
        ].tolist()
    )
    # Every row carries the customer's profile.
    assert {"rfm_segment", "predicted_clv", "churn_band"} <= set(rows[0])


def test_a_cursor_reads_its_own_version_until_it_is_pruned(
    big_shop, publish_shop: Publisher
) -> None:
    _, settings = big_shop
    with serve(settings) as c:
        first = c.get(f"{SEGMENTS}/rfm:champions/customers", params={"limit": 10}).json()
        publish_shop("v2")  # v1 is kept (keep=2): the cursor still reads v1
        second = c.get(
            f"{SEGMENTS}/rfm:champions/customers",
            params={"limit": 10, "cursor": first["next_cursor"]},
        ).json()
        assert second["model_version"] == "v1"
        assert second["customers"][0]["customer_id"] != first["customers"][0]["customer_id"]
        assert_error(
            c.get(
                f"{SEGMENTS}/rfm:champions/customers",
                params={"limit": 10, "sort": "churn_risk", "cursor": first["next_cursor"]},
            ),
            422,
            "invalid_cursor",
        )
        publish_shop("v3")  # now v1 is pruned
        gone = c.get(
            f"{SEGMENTS}/rfm:champions/customers",
            params={"limit": 10, "cursor": first["next_cursor"]},
        )
        assert_error(gone, 410, "cursor_expired")


@pytest.mark.parametrize(
    "doc",
    [
        {"v": "a b", "l": "rfm:champions", "s": "clv", "o": 3},  # not a version id
        {"v": "../x", "l": "rfm:champions", "s": "clv", "o": 3},
        {"v": "v1", "l": "rfm:champions", "s": "clv", "o": True},  # a boolean offset
        {"v": "v1", "l": "rfm:champions", "s": "clv", "o": -1},
        {"v": "v1", "l": "rfm:lost", "s": "clv", "o": 1},  # another segment's cursor
        {"v": "v1", "s": "clv", "o": 1},  # no list
    ],
)
def test_a_forged_cursor_is_422_in_json_and_csv(api: TestClient, doc: dict) -> None:
    cursor = base64.urlsafe_b64encode(orjson.dumps(doc)).decode().rstrip("=")
    url = f"{SEGMENTS}/rfm:champions/customers"
    assert_error(api.get(url, params={"cursor": cursor}), 422, "invalid_cursor")
    csv_answer = api.get(url, params={"cursor": cursor}, headers={"Accept": "text/csv"})
    assert_error(csv_answer, 422, "invalid_cursor")


def test_csv_streams_the_whole_segment(big_shop) -> None:
    frame, settings = big_shop
    lost = frame[frame["rfm_segment"] == "Lost"]
    with serve(settings) as c:
        r = c.get(f"{SEGMENTS}/rfm:lost/customers", headers={"Accept": "text/csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["x-model-version"] == "v1"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(lost)
    assert next(iter(rows[0])) == "customer_id"
    assert {row["customer_id"] for row in rows} == set(lost[C.CUSTOMER_ID])
    by_id = lost.set_index(C.CUSTOMER_ID)
    for row in rows[:50]:
        assert float(row["predicted_clv"]) == by_id.loc[row["customer_id"], "predicted_clv"]


def test_the_tiny_shop_profiles_match_the_published_rows(api: TestClient) -> None:
    rows = api.get(f"{SEGMENTS}/rfm:champions/customers").json()["customers"]
    assert [r["customer_id"] for r in rows] == ["c1", "c3"]  # CLV 180 before 30
    assert rows[0]["orders"] == int(PROFILES.loc[0, "orders"])
