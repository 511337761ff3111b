"""The event schema: per-event validation with reasons, attribution ids, the ingest rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
import pytest

from recsys.config import MatrixConfig
from recsys.events import EVENT_TYPES, Event, new_recommendation_id, validate_batch
from recsys.events.ingest import SCHEMA, ingest_frame, ingest_rows

RID = "0123456789abcdef0123456789abcdef"


def test_recommendation_ids_are_fresh_uuid4_hex():
    made = {new_recommendation_id() for _ in range(1000)}
    assert len(made) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", r) and r[12] == "4" for r in made)
    assert Event(
        event_id="e",
        event_type="impression",
        session_id="s",
        item_id="i",
        recommendation_id=made.pop(),
    ).recommendation_id


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"event_type": "view", "customer_id": "c", "item_id": "i"}, "event_id: Field required"),
        (
            {"event_id": "e", "event_type": "like", "customer_id": "c"},
            "event_type: Input should be",
        ),
        (
            {"event_id": "e", "event_type": "view", "item_id": "i"},
            "needs customer_id or session_id",
        ),
        ({"event_id": "e", "event_type": "click", "customer_id": "c"}, "needs item_id or item_ids"),
        (
            {
                "event_id": "e",
                "event_type": "view",
                "customer_id": "c",
                "item_id": "i",
                "item_ids": ["j"],
            },
            "not both",
        ),
        ({"event_id": "e", "event_type": "offer_shown", "customer_id": "c"}, "needs offer_id"),
        (
            {"event_id": "e", "event_type": "impression", "customer_id": "c", "item_ids": ["i"]},
            "needs the answer's recommendation_id",
        ),
        (
            {
                "event_id": "e",
                "event_type": "purchase",
                "customer_id": "c",
                "item_id": "i",
                "value": -3,
            },
            "value: Input should be greater than or equal to 0",
        ),
        (
            {
                "event_id": "e",
                "event_type": "view",
                "customer_id": "c",
                "item_id": "i",
                "timestamp": "2024-01-01T10:00:00",
            },
            "timestamp: Input should have timezone info",
        ),
        (
            {"event_id": "e", "event_type": "view", "customer_id": " c", "item_id": "i"},
            "customer_id: not a valid id: 1-128 characters, no control characters",
        ),
        (
            {
                "event_id": "e",
                "event_type": "view",
                "customer_id": "c",
                "item_id": "i",
                "timestamp": "2999-01-01T00:00:00Z",
            },
            "timestamp: more than 1 day in the future",
        ),
        (
            {
                "event_id": "e",
                "event_type": "view",
                "customer_id": "c",
                "item_id": "i",
                "timestamp": "0001-01-01T00:00:00Z",
            },
            "timestamp: before 1970-01-01",
        ),
        (
            {
                "event_id": "e",
                "event_type": "view",
                "customer_id": "c",
                "item_id": "i",
                "colour": "red",
            },
            "colour: Extra inputs are not permitted",
        ),
        ("not an object", "an event is a JSON object, got str"),
        (
            {
                "event_id": "e",
                "event_type": "purchase",
                "customer_id": "c",
                "item_id": "i",
                "value": "3",
            },
            "value: Input should be a valid number",
        ),  # fmt: skip
        (
            {
                "event_id": "e",
                "event_type": "click",
                "customer_id": "c",
                "item_id": "i",
                "position": True,
            },
            "position: Input should be a valid integer",
        ),  # fmt: skip
    ],
)
def test_each_bad_event_gets_its_reason(event, reason):
    good = {"event_id": "ok", "event_type": "view", "session_id": "s1", "item_id": "i1"}
    checked = validate_batch([good, event, good | {"event_id": "ok2"}])
    assert [i for i, _ in checked.valid] == [0, 2]
    assert len(checked.rejected) == 1
    bad = checked.rejected[0]
    assert bad.index == 1 and reason in bad.reason, bad.reason
    assert bad.event_id == (event.get("event_id") if isinstance(event, dict) else None)


def test_record_fills_the_time_and_keeps_what_was_given():
    received = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    event = Event(
        event_id="e1",
        event_type="purchase",
        customer_id="c1",
        item_ids=["a", "b"],
        value=30.0,
        recommendation_id=RID,
        timestamp="2024-03-01T13:30:00+02:00",
    )  # type: ignore[arg-type]
    record = event.record(received)
    assert record["timestamp"] == "2024-03-01T11:30:00+00:00"
    assert record["received_at"] == "2024-03-01T12:00:00+00:00"
    assert record["item_ids"] == ["a", "b"] and "offer_id" not in record
    untimed = Event(event_id="e2", event_type="view", session_id="s", item_id="a").record(received)
    assert untimed["timestamp"] == "2024-03-01T12:00:00+00:00"


def test_ingest_rows_split_items_and_value_and_train_vocabulary_knows_every_type():
    record = Event(
        event_id="e1", event_type="purchase", customer_id="c1", item_ids=["a", "b"], value=30.0
    ).record(datetime(2024, 3, 1, 12, tzinfo=UTC))
    offer = Event(event_id="e2", event_type="offer_shown", customer_id="c1", offer_id="o1").record(
        datetime(2024, 3, 2, tzinfo=UTC)
    )
    frame = ingest_frame(ingest_rows(record, "1-0") + ingest_rows(offer, "2-0"))
    assert list(frame.columns) == SCHEMA.names
    assert frame["item_id"].tolist()[:2] == ["a", "b"] and pd.isna(frame["item_id"][2])
    assert frame["value"].tolist()[:2] == [15.0, 15.0] and pd.isna(frame["value"][2])
    assert frame["line"].tolist() == [0, 1, 0]
    assert frame["timestamp"].tolist()[0] == pd.Timestamp("2024-03-01 12:00")
    weights = MatrixConfig().event_weights
    assert set(EVENT_TYPES) <= set(weights)
    assert weights["impression"] == weights["offer_shown"] == weights["offer_redeemed"] == 0
    assert weights["click"] > 0


def test_quantity_travels_to_the_export_so_a_partial_return_nets_by_units():
    """Events posted through the API had no quantity: 24 bought and 2 returned trained as
    returned whole. Now the export carries it and the item stays bought."""
    from recsys.data.dataset import build_dataset

    at = datetime(2024, 3, 1, 12, tzinfo=UTC)
    bought = Event(
        event_id="b", event_type="purchase", customer_id="c1", item_id="x", quantity=24
    ).record(at)
    back = Event(
        event_id="r", event_type="return", customer_id="c1", item_id="x", quantity=2.0
    ).record(datetime(2024, 3, 2, 12, tzinfo=UTC))
    plain = Event(event_id="p", event_type="purchase", customer_id="c2", item_id="x").record(at)
    frame = ingest_frame(ingest_rows(bought) + ingest_rows(back) + ingest_rows(plain))
    assert frame["quantity"].tolist() == [24.0, 2.0, 1.0]
    dataset = build_dataset(
        frame[["customer_id", "item_id", "event_type", "timestamp", "quantity"]]
    )
    held = dataset.purchase_counts().toarray()
    c1 = dataset.customers.to_internal(["c1"])[0]
    assert held[c1, dataset.items.to_internal(["x"])[0]] == 1.0  # 22 kept
    for bad in (0, -1, "3", True):
        event = {"event_id": "e", "event_type": "purchase", "customer_id": "c", "item_id": "i"}
        checked = validate_batch([event | {"quantity": bad}])
        assert checked.rejected and "quantity" in checked.rejected[0].reason
