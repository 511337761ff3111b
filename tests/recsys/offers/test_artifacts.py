"""Offer bundle tables from a small shop: eligibility, caps, holds, budgets, fallback, audiences;
and, published, the API answers exactly the allocation for every customer and channel."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from recsys import columns as C
from recsys.offers.artifacts import OffersConfig, item_audience_table, offer_tables
from recsys.offers.catalog import validate_offers
from recsys.offers.policy import ContactPolicy
from recsys.store import write_bundle_tables
from recsys.store.publish import publish
from serving.app import create_app
from serving.settings import Settings

AS_OF = "2024-06-15"
IDS = ["a", "b", "c", "d", "e", "f"]
PROFILES = pd.DataFrame(
    {
        C.CUSTOMER_ID: IDS,
        "orders": [9, 4, 6, 3, 2, 1],
        "monetary_mean": [80.0, 40.0, 50.0, 30.0, 60.0, 20.0],
        "rfm_segment": ["Champions", "Champions", "Champions", "Loyal", "At Risk", "At Risk"],
        "cluster": [0, 0, 1, 1, 2, 2],
        "p_alive": [0.99, 0.9, 0.9, 0.7, 0.3, 0.2],
        "churn_risk": [0.05, 0.3, 0.2, 0.4, 0.7, 0.8],
        "churn_band": ["low", "high", "low", "medium", "high", "high"],
        "predicted_clv": [500.0, 90.0, 200.0, 60.0, 40.0, 15.0],
    }
)
CUSTOMERS = pd.DataFrame({C.CUSTOMER_ID: IDS, C.COUNTRY: ["UK", "UK", "FR", "UK", "UK", "FR"]})
ITEMS = pd.DataFrame(
    {
        C.ITEM_ID: ["h1", "h2", "o1", "o2"],
        C.CATEGORY: ["home", "home", "office", "office"],
        C.IN_STOCK: [True] * 4,
    }
)
RECS = pd.DataFrame(
    {
        C.CUSTOMER_ID: ["a", "a", "b", "c", "d", "d", "e", "f", "f"],
        C.RANK: [1, 2, 1, 1, 1, 2, 1, 1, 2],
        C.ITEM_ID: ["h1", "o1", "o1", "h1", "o2", "h1", "h2", "h1", "h2"],
        C.SCORE: [0.9, 0.5, 0.8, 0.7, 0.6, 0.4, 0.9, 0.3, 0.2],
    }
)
CATALOG = validate_offers(
    [
        {"offer_id": "VIP", "kind": "gift", "value": 1, "segments": "Champions", "channels": "web"},
        {
            "offer_id": "WINBACK",
            "kind": "percent_off",
            "value": 20,
            "churn_bands": "high",
            "clv_min": 10,
            "channels": "email",
            "budget": 0.08,
            "budget_unit": "redemptions",
        },
        {
            "offer_id": "UK10",
            "kind": "percent_off",
            "value": 10,
            "countries": "UK",
            "customer_type": "returning",
            "categories": "home",
            "channels": "web|app",
        },
        {"offer_id": "OLD", "kind": "gift", "value": 1, "end": "2024-01-01"},
        {"offer_id": "SHIP", "kind": "free_shipping", "value": 0, "fallback": True},
        {"offer_id": "bad id!", "kind": "gift", "value": 1},
    ]
)
#: c redeemed 5 days ago (suppressed: 14 days); d redeemed UK10 20 days ago (its 30-day cap).
REDEMPTIONS = pd.DataFrame(
    {
        C.CUSTOMER_ID: ["c", "d"],
        "offer_id": ["VIP", "UK10"],
        "timestamp": ["2024-06-10", "2024-05-26"],
    }
)
#: b was emailed yesterday: its one email a week is used up.
CONTACTS = pd.DataFrame({C.CUSTOMER_ID: ["b"], "channel": ["email"], "timestamp": ["2024-06-14"]})
CONFIG = OffersConfig(
    as_of=AS_OF, policy=ContactPolicy(max_per_channel={"web": 2, "email": 1, "app": 1})
)


@pytest.fixture(scope="module")
def artifacts():
    tables = {"recommendations": RECS, "items": ITEMS, "segments": PROFILES}
    return offer_tables(
        tables,
        CATALOG,
        customers=CUSTOMERS,
        config=CONFIG,
        redemptions=REDEMPTIONS,
        contacts=CONTACTS,
    )


def _given(offers: pd.DataFrame, channel: str | None = None) -> set[tuple[str, str]]:
    rows = offers[offers["reason"] != "fallback"]
    if channel:
        rows = rows[rows["channel"] == channel]
    return set(zip(rows[C.CUSTOMER_ID], rows["offer_id"], strict=True))


def test_eligibility_rules_caps_and_expiry(artifacts) -> None:
    offers = artifacts.tables["offers"]
    given = _given(offers)
    # VIP: Champions only (written as a name, matched to the rfm: slug); c is suppressed.
    assert {c for c, o in given if o == "VIP"} == {"a", "b"}
    # UK10: returning UK customers with home affinity; d is within its per-customer cap.
    assert {c for c, o in given if o == "UK10"} <= {"a", "b", "e"}
    assert ("d", "UK10") not in given and ("a", "UK10") in given
    assert "OLD" not in set(offers["offer_id"])  # expired
    assert list(artifacts.tables["offer_catalog"]["offer_id"]) == [
        "VIP",
        "WINBACK",
        "UK10",
        "OLD",
        "SHIP",
    ]
    assert (
        artifacts.manifest["rejected_offers"] == 1
        and artifacts.manifest["uplift_source"] == "prior"
    )
    assert artifacts.manifest["warnings"] == []  # every rule value names real customers
    assert offers["reason"][offers["reason"] != "fallback"].str.startswith("prior").all()


def test_contact_policy_holds_and_suppression(artifacts) -> None:
    offers, holds = artifacts.tables["offers"], artifacts.tables["offer_holds"]
    assert sorted(zip(holds[C.CUSTOMER_ID], holds["channel"], holds["reason"], strict=True)) == [
        ("b", "email", "contact_cap"),
        ("c", "app", "suppressed"),
        ("c", "email", "suppressed"),
        ("c", "web", "suppressed"),
    ]
    assert offers[offers[C.CUSTOMER_ID] == "c"].empty  # not even the fallback
    assert offers[(offers[C.CUSTOMER_ID] == "b") & (offers["channel"] == "email")].empty
    # per channel caps: at most 2 on web, 1 on email and app
    per = offers.groupby([C.CUSTOMER_ID, "channel"]).size()
    assert per.xs("web", level=1).max() <= 2 and per.xs("app", level=1).max() <= 1


def test_budget_exhaustion_leaves_eligible_customers_out(artifacts) -> None:
    winback = {c for c, o in _given(artifacts.tables["offers"]) if o == "WINBACK"}
    assert len(winback) == 1 and winback <= {"e", "f"}  # both eligible, budget for one
    catalog = artifacts.tables["offer_catalog"].set_index("offer_id")
    used = artifacts.allocation.assignments.query("offer_id == 'WINBACK'")["cost"].sum()
    assert catalog.loc["WINBACK", "budget_left"] == pytest.approx(0.08 - used)
    assert 0 <= catalog.loc["WINBACK", "budget_left"] < 0.05  # too little for a second one
    assert pd.isna(catalog.loc["VIP", "budget_left"])
    assert catalog.loc["OLD", "active"] == False  # noqa: E712
    assert catalog.loc["VIP", "audience"] == 2


def test_fallback_where_nothing_is_allocated_and_best_offer_columns(artifacts) -> None:
    offers = artifacts.tables["offers"]
    fallback = offers[offers["reason"] == "fallback"]
    assert set(fallback["offer_id"]) == {"SHIP"}
    covered = set(zip(offers[C.CUSTOMER_ID], offers["channel"], strict=True))
    held = artifacts.tables["offer_holds"]
    held_pairs = set(zip(held[C.CUSTOMER_ID], held["channel"], strict=True))
    every = {(c, ch) for c in IDS for ch in ("web", "email", "app")}
    assert covered == every - held_pairs  # each customer and channel answered once held aside
    assert (offers.groupby([C.CUSTOMER_ID, "channel"])["rank"].min() == 1).all()
    seg = artifacts.tables["segments"].set_index(C.CUSTOMER_ID)
    chosen = artifacts.allocation.assignments
    for cid in IDS:
        mine = chosen[chosen[C.CUSTOMER_ID] == cid]
        if mine.empty:
            assert pd.isna(seg.loc[cid, "best_offer_id"])
        else:
            ordered = mine.sort_values(["value", "offer_id"], ascending=[False, True])
            best = ordered.iloc[0]  # ties by offer id
            assert seg.loc[cid, "best_offer_id"] == best["offer_id"]
            assert seg.loc[cid, "best_offer_value"] == pytest.approx(best["value"])
    audience = artifacts.tables["offer_audiences"].query("offer_id == 'VIP'")
    assert list(audience["rank"]) == [1, 2]
    assert audience["expected_value"].is_monotonic_decreasing


def test_item_audiences_rank_by_position_then_score() -> None:
    table = item_audience_table(RECS)
    h1 = table[table[C.ITEM_ID] == "h1"]
    assert list(h1[C.CUSTOMER_ID]) == ["a", "c", "f", "d"]  # position 1 (0.9, 0.7, 0.3), then 2
    assert list(h1["position"]) == [1, 1, 1, 2] and list(h1[C.RANK]) == [1, 2, 3, 4]
    assert len(item_audience_table(RECS, size=2).query("item_id == 'h1'")) == 2


def test_published_the_api_answers_the_allocation_for_everyone(
    artifacts, tmp_path: Path, redis_client: redis.Redis, redis_url: str, namespace: str
) -> None:
    manifest = {"version": "o1", "created_at": "2024-06-15T00:00:00Z", "top_n": 10}
    popular = pd.DataFrame(
        {C.SEGMENT: "_all", C.RANK: [1, 2], C.ITEM_ID: ["h1", "o1"], C.SCORE: [2.0, 1.0]}
    )
    similar = pd.DataFrame(
        {C.ITEM_ID: ["h1"], C.RANK: [1], C.SIMILAR_ITEM_ID: ["h2"], C.SCORE: [0.5]}
    )
    tables = {"items": ITEMS, "recommendations": RECS, "popular": popular}
    tables |= {"similar_items": similar, **artifacts.tables}
    tables["segments"] = tables["segments"].assign(**{C.SEGMENT: "_all"})
    publish(
        write_bundle_tables(tmp_path / "o1", manifest, **tables), redis_client, namespace=namespace
    )
    offers = artifacts.tables["offers"]
    held = artifacts.tables["offer_holds"].set_index([C.CUSTOMER_ID, "channel"])["reason"]
    settings = Settings(
        redis_url=redis_url, namespace=namespace, version_cache_seconds=0, gc_freeze=False
    )
    with TestClient(create_app(settings)) as api:
        for cid in [*IDS, "stranger"]:
            for channel in ("web", "email", "app"):
                body = api.get(f"/v1/customers/{cid}/offers", params={"channel": channel}).json()
                rows = offers[(offers[C.CUSTOMER_ID] == cid) & (offers["channel"] == channel)]
                if (cid, channel) in held.index:
                    assert (body["source"], body["held"]) == ("held", held[cid, channel])
                elif cid == "stranger":
                    assert [o["offer_id"] for o in body["offers"]] == ["SHIP"]
                else:
                    assert [o["offer_id"] for o in body["offers"]] == list(rows["offer_id"])
                    assert [o["rank"] for o in body["offers"]] == list(rows["rank"])
                    assert [o["expected_value"] for o in body["offers"]] == pytest.approx(
                        list(rows["expected_value"]), rel=1e-5
                    )
        catalog = {o["offer_id"]: o for o in api.get("/v1/offers").json()["offers"]}
        assert catalog["WINBACK"]["budget_left"] == pytest.approx(
            artifacts.tables["offer_catalog"].set_index("offer_id").loc["WINBACK", "budget_left"]
        )
        vip = api.get("/v1/offers/VIP/audience").json()["customers"]
        assert [c["customer_id"] for c in vip] == list(
            artifacts.tables["offer_audiences"].query("offer_id == 'VIP'")[C.CUSTOMER_ID]
        )
