"""A tiny hand-worked shop published to a per-test namespace, and clients for the API on it.

Catalog (``*`` = out of stock)::

    kitchen: i01 Mug, i02 Plate, i03 Bowl*, i10 Cup
    home:    i04 Lamp, i05 Rug, i06 Vase, i11 Candle
    office:  i07 Pen, i08 Desk, i09 Chair*, i12 Stapler

Version ``v1``: c1 gets [i04, i03*, i05, i07], bought i01 and i02 (buy-again), segment s_home,
and with purchases allowed (``recommendations_all``) [i02, i04, i03*, i01];
c2 gets [i08], segment s_office; c3 has only a segment (s_office). Popular ``_all`` is
i01..i12 in order; s_home = [i06, i11, i04, i05]; s_office = [i12, i07, i08, i09*].
Similar: i01 -> [i02, i10, i03*], i04 -> [i06, i11, i05], i06 -> [i04, i11], i07 -> [i12];
i08 has no similar list. Version ``v2`` changes c1, c2 and popular (see ``shop_tables``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from recsys import columns as C
from recsys.customers.artifacts import segment_manifest, segment_tables
from recsys.offers.artifacts import item_audience_table
from recsys.store import write_bundle_tables
from recsys.store.publish import publish
from serving.app import create_app
from serving.settings import Settings

ITEMS = [
    ("i01", "Mug", "kitchen", 5.0, True),
    ("i02", "Plate", "kitchen", 7.5, True),
    ("i03", "Bowl", "kitchen", 6.0, False),
    ("i04", "Lamp", "home", 20.0, True),
    ("i05", "Rug", "home", 45.0, True),
    ("i06", "Vase", "home", 12.0, True),
    ("i07", "Pen", "office", 1.5, True),
    ("i08", "Desk", "office", 150.0, True),
    ("i09", "Chair", "office", 80.0, False),
    ("i10", "Cup", "kitchen", 4.0, True),
    ("i11", "Candle", "home", 3.0, True),
    ("i12", "Stapler", "office", 9.0, True),
]
ITEM_INFO = {row[0]: row for row in ITEMS}


def _ranked(
    owner_col: str, item_col: str, lists: dict[str, list[tuple[str, float]]]
) -> pd.DataFrame:
    rows = [
        (owner, rank, item, score)
        for owner, entries in lists.items()
        for rank, (item, score) in enumerate(entries, start=1)
    ]
    return pd.DataFrame(rows, columns=[owner_col, C.RANK, item_col, C.SCORE])


#: Customer profiles (the columns of recsys.customers.segments.SEGMENT_COLUMNS).
PROFILES = pd.DataFrame(
    {
        C.CUSTOMER_ID: ["c1", "c2", "c3"],
        "orders": [5, 1, 2],
        "frequency": [4, 0, 1],
        "recency_days": [3.0, 200.0, 40.0],
        "T_days": [300.0, 210.0, 100.0],
        "monetary_mean": [30.0, 12.5, 20.0],
        "monetary_total": [150.0, 12.5, 40.0],
        "rfm_r": [5, 1, 3],
        "rfm_f": [5, 1, 2],
        "rfm_m": [5, 1, 3],
        "rfm_segment": ["Champions", "Lost", "Champions"],
        "cluster": [0, 1, 1],
        "cluster_name": ["frequent high-spend", "lapsed one-off", "lapsed one-off"],
        "p_alive": [0.99, 0.2, 0.8],
        "churn_risk": [0.05, 0.9, 0.4],
        "churn_band": ["low", "high", "medium"],
        "expected_orders": [4.2, 0.1, 1.0],
        "expected_next_order": pd.to_datetime(["2024-01-20", "2025-06-01", "2024-03-01"]),
        "predicted_clv": [180.0, 1.5, 30.0],
        "historic_clv": [150.0, 12.5, 40.0],
    }
)


def _segments() -> dict[str, pd.DataFrame]:
    """Profiles and member lists as recsys train writes them; the segment rung's slugs stay
    s_home / s_office (the popular lists below)."""
    tables = segment_tables(PROFILES)
    tables["segments"][C.SEGMENT] = ["s_home", "s_office", "s_office"]
    return tables


def shop_tables(version: str = "v1") -> dict[str, pd.DataFrame]:
    """The bundle tables of the tiny shop for ``v1`` or ``v2``."""
    items = pd.DataFrame(ITEMS, columns=[C.ITEM_ID, C.NAME, C.CATEGORY, C.PRICE, C.IN_STOCK])
    if version == "v1":
        recs = {
            "c1": [("i04", 0.9), ("i03", 0.8), ("i05", 0.7), ("i07", 0.6)],
            "c2": [("i08", 0.5)],
        }
        popular_all = [(f"i{n:02d}", 100.0 - 5 * n) for n in range(1, 13)]
    else:
        recs = {
            "c1": [("i06", 0.95), ("i10", 0.85), ("i12", 0.75)],
            "c2": [("i05", 0.4), ("i04", 0.3)],
        }
        popular_all = [(f"i{n:02d}", 10.0 * n) for n in range(12, 0, -1)]
    tables = {
        "items": items,
        "recommendations": _ranked(C.CUSTOMER_ID, C.ITEM_ID, recs),
        "buy_again": _ranked(C.CUSTOMER_ID, C.ITEM_ID, {"c1": [("i01", 3.0), ("i02", 2.0)]}),
        "segments": _segments()["segments"],
        "segment_members": _segments()["segment_members"],
        "similar_items": _ranked(
            C.ITEM_ID,
            C.SIMILAR_ITEM_ID,
            {
                "i01": [("i02", 0.9), ("i10", 0.8), ("i03", 0.7)],
                "i04": [("i06", 0.8), ("i11", 0.6), ("i05", 0.5)],
                "i06": [("i04", 0.7), ("i11", 0.65)],
                "i07": [("i12", 0.9)],
            },
        ),
        "popular": _ranked(
            C.SEGMENT,
            C.ITEM_ID,
            {
                "_all": popular_all,
                "s_home": [("i06", 9.0), ("i11", 8.0), ("i04", 7.0), ("i05", 6.0)],
                "s_office": [("i12", 9.0), ("i07", 8.0), ("i08", 7.0), ("i09", 6.0)],
            },
        ),
    }
    if version == "v1":  # the evaluated include_purchased answer (v2 predates it)
        all_purchases = {"c1": [("i02", 5.0), ("i04", 0.9), ("i03", 0.85), ("i01", 0.8)]}
        tables["recommendations_all"] = _ranked(C.CUSTOMER_ID, C.ITEM_ID, all_purchases)
    tables["item_audiences"] = item_audience_table(tables["recommendations"])
    if version == "v1":  # offers (v2 predates them)
        tables.update(offer_shop_tables(tables["segments"]))
    return tables


#: The tiny shop's offers (v1), as recsys.offers.artifacts writes them. HOME10 (web, email;
#: budget 100, 40 left) goes to c1 (3.5) and c2 (2.0); VIP (web, app; no budget) to c1 (1.2);
#: SHIP is the fallback on every channel; OLD is a fallback too but no longer active. c3 has
#: nothing allocated, and its email channel is held by the contact policy.
OFFER_CATALOG = pd.DataFrame(
    {
        "offer_id": ["HOME10", "VIP", "OLD", "SHIP"],
        "name": ["10% off home", "A gift for you", "Old fallback", "Free shipping"],
        "kind": ["percent_off", "gift", "free_shipping", "free_shipping"],
        "value": [10.0, 1.0, 0.0, 0.0],
        "channels": ["web|email", "web|app", "web|email|app", "web|email|app"],
        "fallback": [False, False, True, True],
        "budget": [100.0, None, None, None],
        "budget_unit": ["money"] * 4,
        "active": [True, True, False, True],
        "audience": [2, 1, 0, 0],
        "budget_left": [40.0, None, None, None],
    }
)
PRIOR = "prior (no campaign history)"
OFFER_ROWS = [  # customer, offer, channel, expected value, uplift, reason
    ("c1", "HOME10", "web", 3.5, 0.1, PRIOR),
    ("c1", "VIP", "web", 1.2, 0.05, PRIOR),
    ("c1", "HOME10", "email", 3.5, 0.1, PRIOR),
    ("c1", "VIP", "app", 1.2, 0.05, PRIOR),
    ("c2", "HOME10", "web", 2.0, 0.08, PRIOR),
    ("c2", "HOME10", "email", 2.0, 0.08, PRIOR),
    ("c2", "SHIP", "app", 0.0, 0.0, "fallback"),
    ("c3", "SHIP", "web", 0.0, 0.0, "fallback"),
    ("c3", "SHIP", "app", 0.0, 0.0, "fallback"),
]


def offer_shop_tables(segments: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The offer tables of the tiny shop (see OFFER_ROWS), profiles with the best offer."""
    offers = pd.DataFrame(
        OFFER_ROWS,
        columns=["customer_id", "offer_id", "channel", "expected_value", "uplift", "reason"],
    )
    offers[C.RANK] = offers.groupby(["customer_id", "channel"]).cumcount() + 1
    chosen = offers[offers["reason"] != "fallback"].drop_duplicates(["customer_id", "offer_id"])
    audiences = chosen.sort_values(["offer_id", "expected_value"], ascending=[True, False])
    audiences = audiences.assign(sort="value")
    audiences[C.RANK] = audiences.groupby("offer_id").cumcount() + 1
    best = {"c1": ("HOME10", 3.5), "c2": ("HOME10", 2.0)}
    profiles = segments.assign(
        best_offer_id=[best.get(c, (None, None))[0] for c in segments[C.CUSTOMER_ID]],
        best_offer_value=[best.get(c, (None, None))[1] for c in segments[C.CUSTOMER_ID]],
    )
    return {
        "offers": offers,
        "offer_holds": pd.DataFrame(
            {"customer_id": ["c3"], "channel": ["email"], "reason": ["contact_cap"]}
        ),
        "offer_catalog": OFFER_CATALOG,
        "offer_audiences": audiences,
        "segments": profiles,
    }


Publisher = Callable[[str], str]


@pytest.fixture
def publish_shop(tmp_path: Path, redis_client: redis.Redis, namespace: str) -> Publisher:
    """``publish_shop("v1")`` writes the tiny shop's bundle and publishes it; returns the id."""

    def _publish(version: str) -> str:
        manifest = {
            "version": version,
            "created_at": "2024-01-01T00:00:00Z",
            "top_n": 10,
            "segments": segment_manifest(PROFILES),
        }
        path = write_bundle_tables(tmp_path / version, manifest, **shop_tables(version))
        publish(path, redis_client, namespace=namespace, score_dtype="float32")
        return version

    return _publish


@pytest.fixture(params=[True, False], ids=["multiplexed", "redis-py"])
def settings(request: pytest.FixtureRequest, redis_url: str, namespace: str) -> Settings:
    """Settings for the per-test namespace; the version pointer is not cached, and objects
    are not frozen out of the GC (tests start many apps in one process).

    Every test using it runs with both Redis clients the service can use: the multiplexed
    connection (the default) and redis-py's pooled client (``redis_multiplex=False``).
    """
    return Settings(
        redis_url=redis_url,
        namespace=namespace,
        version_cache_seconds=0,
        redis_multiplex=request.param,
        gc_freeze=False,
    )


@contextmanager
def serve(settings: Settings) -> Iterator[TestClient]:
    """A client on an app built from ``settings`` (for tests that need other settings)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def api(publish_shop: Publisher, settings: Settings) -> Iterator[TestClient]:
    """An open (no API keys) client, started after ``v1`` was published."""
    publish_shop("v1")
    with serve(settings) as c:
        yield c


def ids(response_json: dict) -> list[str]:
    """The item ids of an answer, in order."""
    return [item["item_id"] for item in response_json["items"]]


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    """The response is the shared JSON error shape with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]
