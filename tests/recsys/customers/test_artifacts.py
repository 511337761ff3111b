"""Bundle tables of the customer side: profiles, member lists, per-segment popular lists."""

from __future__ import annotations

import pandas as pd

from recsys import columns as C
from recsys.customers.artifacts import segment_manifest, segment_popular, segment_tables

FRAME = pd.DataFrame(
    {
        C.CUSTOMER_ID: ["a", "b", "c", "d"],
        "rfm_segment": ["Champions", "Champions", "Lost", "Can't Lose Them"],
        "cluster": [0, 1, 1, 0],
        "cluster_name": ["x", "y", "y", "x"],
        "predicted_clv": [10.0, 30.0, 1.0, 30.0],
        "churn_risk": [0.1, 0.5, 0.9, 0.2],
        "churn_band": ["low", "medium", "high", "low"],
        "monetary_total": [100.0, 50.0, 5.0, 45.0],
    }
)


def test_member_lists_in_both_orders_and_the_rung_slug() -> None:
    tables = segment_tables(FRAME)
    assert tables["segments"][C.SEGMENT].tolist() == [
        "rfm:champions",
        "rfm:champions",
        "rfm:lost",
        "rfm:cant-lose-them",
    ]
    members = tables["segment_members"]

    def ids(segment: str, sort: str) -> list[str]:
        rows = members[(members[C.SEGMENT] == segment) & (members["sort"] == sort)]
        assert rows[C.RANK].tolist() == list(range(1, len(rows) + 1))
        return rows[C.CUSTOMER_ID].tolist()

    assert ids("rfm:champions", "clv") == ["b", "a"]
    assert ids("rfm:champions", "churn_risk") == ["b", "a"]
    assert ids("cluster:0", "clv") == ["d", "a"]  # 30 before 10
    assert ids("cluster:1", "churn_risk") == ["c", "b"]
    assert len(members) == 2 * 2 * len(FRAME)  # rfm and cluster, two sort orders


def test_manifest_summary_counts_every_customer_per_kind() -> None:
    summary = segment_manifest(FRAME, {"bgnbd": {"r": 1.0}})
    assert summary["params"] == {"bgnbd": {"r": 1.0}}
    by_kind: dict[str, int] = {}
    for row in summary["summary"]:
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + row["customers"]
    assert by_kind == {"rfm": 4, "cluster": 4}


def test_segment_popular_weights_recent_purchases_of_members() -> None:
    now = pd.Timestamp("2024-03-01")
    events = pd.DataFrame(
        {
            C.CUSTOMER_ID: ["a", "a", "b", "c", "c", "d"],
            C.ITEM_ID: ["i1", "i2", "i2", "i3", "i3", "i1"],
            C.EVENT_TYPE: ["purchase", "purchase", "purchase", "purchase", "view", "purchase"],
            C.TIMESTAMP: [now, now - pd.Timedelta(days=60), now, now, now, now],
        }
    )
    popular = segment_popular(events, FRAME, n=5, half_life_days=30)
    champions = popular[popular[C.SEGMENT] == "rfm:champions"]
    # i2: b today (1.0) + a 60 days ago (0.25) = 1.25; i1: a today = 1.0.
    assert champions[C.ITEM_ID].tolist() == ["i2", "i1"]
    assert champions[C.SCORE].tolist() == [1.25, 1.0]
    lost = popular[popular[C.SEGMENT] == "rfm:lost"]
    assert lost[C.ITEM_ID].tolist() == ["i3"] and lost[C.SCORE].tolist() == [
        1.0
    ]  # view not counted
    assert set(popular[C.SEGMENT]) == {
        "rfm:champions",
        "rfm:lost",
        "rfm:cant-lose-them",
        "cluster:0",
        "cluster:1",
    }


def test_a_purchase_returned_whole_does_not_make_an_item_popular() -> None:
    """``../shared/cases/empty-row-customer``: Z bought 3 of P2 and returned them; P2 led
    Z's segment list. A partial return still counts (something was kept)."""
    now = pd.Timestamp("2024-03-01")
    events = pd.DataFrame(
        {
            C.CUSTOMER_ID: ["a", "a", "b", "b", "c"],
            C.ITEM_ID: ["i1", "i1", "i2", "i2", "i3"],
            C.EVENT_TYPE: ["purchase", "return", "purchase", "return", "purchase"],
            C.QUANTITY: [3.0, 3.0, 24.0, 2.0, 1.0],
            C.TIMESTAMP: [now, now + pd.Timedelta(days=1), now, now + pd.Timedelta(days=1), now],
        }
    )
    popular = segment_popular(events, FRAME, n=5, half_life_days=30)
    champions = popular[popular[C.SEGMENT] == "rfm:champions"]  # a and b
    assert champions[C.ITEM_ID].tolist() == ["i2"]  # i1 went back whole; i2 was mostly kept
    assert "i1" not in set(popular[C.ITEM_ID])
