"""recsys export email: every payload equals the API's email answers from the same version."""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from recsys.customers.artifacts import segment_manifest
from recsys.store import connect_async, write_bundle_tables
from recsys.store.live_reader import LiveReader
from recsys.store.publish import publish
from recsys.store.realtime import LiveWriter, plan
from serving.app import create_app
from serving.settings import Settings
from tests.serving.conftest import PROFILES, shop_tables
from tests.serving.test_realtime import event, post
from training.cli import main
from training.export import export_email, in_control

K = 5
#: c1..c3 of the tiny shop, c4 unknown to the version, c5 and c6 never opted in.
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
        "email_opt_in": ["true", "yes", "1", "true", "false", ""],
    }
)


@pytest.fixture
def published(tmp_path: Path, redis_client: redis.Redis, namespace: str) -> Path:
    """The tiny shop's v1 (offers included) published; returns the customers file."""
    manifest = {
        "version": "v1",
        "created_at": "2024-01-01T00:00:00Z",
        "top_n": 10,
        "segments": segment_manifest(PROFILES),
    }
    path = write_bundle_tables(tmp_path / "v1", manifest, **shop_tables("v1"))
    publish(path, redis_client, namespace=namespace, score_dtype="float32")
    customers = tmp_path / "customers.csv"
    CUSTOMERS.to_csv(customers, index=False)
    return customers


def _api_answer(api: TestClient, customer: str) -> tuple[dict, dict]:
    recs = api.get(f"/v1/customers/{customer}/recommendations", params={"k": K, "channel": "email"})
    offers = api.get(f"/v1/customers/{customer}/offers", params={"channel": "email"})
    assert recs.status_code == offers.status_code == 200
    return recs.json(), offers.json()


def test_every_payload_equals_the_api_answers_over_http(
    published: Path, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    out = tmp_path / "email.jsonl"
    result = export_email(
        "v1", out, published, redis_url=redis_url, namespace=namespace, k=K, control_share=0.5
    )
    payloads = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    # c3's email is held by the contact policy; c5 and c6 never opted in.
    assert [p["customer_id"] for p in payloads] == ["c1", "c2", "c4"]
    with (tmp_path / "email.jsonl.suppressed.csv").open() as fh:
        suppressed = sorted((r["customer_id"], r["reason"]) for r in csv.DictReader(fh))
    assert suppressed == [("c3", "contact_cap"), ("c5", "not_opted_in"), ("c6", "not_opted_in")]
    assert (result.payloads, result.suppressed) == (3, 3)
    settings = Settings(
        redis_url=redis_url, namespace=namespace, version_cache_seconds=0, gc_freeze=False
    )
    with TestClient(create_app(settings)) as api:
        for payload in payloads:
            recs, offers = _api_answer(api, payload["customer_id"])
            assert payload["model_version"] == recs["model_version"] == offers["model_version"]
            assert payload["items"] == recs["items"] and payload["source"] == recs["source"]
            assert payload["offer"] == (offers["offers"][0] if offers["offers"] else None)
            assert payload["group"] == (
                "control" if in_control(payload["customer_id"], 0.5, "email-control") else "mail"
            )
        # and the held customer's API answer holds the offer too
        assert _api_answer(api, "c3")[1]["source"] == "held"
    by_id = {p["customer_id"]: p for p in payloads}
    assert by_id["c1"]["offer"]["offer_id"] == "HOME10"
    assert by_id["c4"]["offer"]["offer_id"] == "SHIP" and by_id["c4"]["source"] == "popular"
    assert [i["item_id"] for i in by_id["c1"]["items"]] == ["i04", "i05", "i07", "i06", "i11"]


def test_the_control_group_is_a_deterministic_share() -> None:
    ids = [f"cust-{i}" for i in range(4000)]
    held = {c for c in ids if in_control(c, 0.2, "s1")}
    assert 0.17 < len(held) / len(ids) < 0.23
    assert held == {c for c in ids if in_control(c, 0.2, "s1")}
    assert held != {c for c in ids if in_control(c, 0.2, "s2")}  # the salt reshuffles
    assert held <= {c for c in ids if in_control(c, 0.3, "s1")}  # a larger share nests
    assert not any(in_control(c, 0.0, "s1") for c in ids)


def test_cli_writes_csv_and_fails_in_one_line(
    published: Path, tmp_path: Path, redis_url: str, namespace: str, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "email.csv"
    args = ["export", "email", "--version", "v1", "--customers", str(published)]
    args += ["--redis", redis_url, "--namespace", namespace, "--k", "3", "--quiet"]
    assert main([*args, "--out", str(out), "--control-share", "0"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["customer_id"], r["group"], r["offer_id"]) for r in rows] == [
        ("c1", "mail", "HOME10"),
        ("c2", "mail", "HOME10"),
        ("c4", "mail", "SHIP"),
    ]
    assert rows[0]["item_ids"] == "i04|i05|i07"
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "email.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and ".jsonl or .csv" in err and err.count("\n") == 1
    assert main([*args[:3], "v9", *args[4:], "--out", str(out)]) == 2
    assert "'v9' is not published" in capsys.readouterr().err


def test_many_customers_are_read_within_the_connection_pool(
    published: Path, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    """More customers than redis-py's pool has connections (100): reads are bounded."""
    many = pd.DataFrame({"customer_id": [f"new{i:04d}" for i in range(600)], "email_opt_in": 1})
    path = tmp_path / "many.csv"
    pd.concat([CUSTOMERS, many]).to_csv(path, index=False)
    out = tmp_path / "many.jsonl"
    result = export_email("v1", out, path, redis_url=redis_url, namespace=namespace, k=K)
    payloads = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert result.payloads == len(payloads) == 603
    strangers = [p for p in payloads if p["customer_id"].startswith("new")]
    assert {orjson.dumps([p["items"], p["offer"]]) for p in strangers} == {
        orjson.dumps([strangers[0]["items"], strangers[0]["offer"]])
    }
    assert strangers[0]["offer"]["offer_id"] == "SHIP"


def _suppressed_file(out: Path) -> list[tuple[str, str]]:
    with out.with_name(out.name + ".suppressed.csv").open() as fh:
        return sorted((r["customer_id"], r["reason"]) for r in csv.DictReader(fh))


def test_the_export_applies_live_redemptions_as_the_api_does(
    published: Path, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    """c2 redeems HOME10 for its whole budget: c2 is held (suppressed) and HOME10, used up,
    goes to nobody; c1's email offer is then the fallback, in the export as in the API."""
    settings = Settings(
        redis_url=redis_url, namespace=namespace, version_cache_seconds=0, gc_freeze=False
    )
    out = tmp_path / "email.jsonl"
    with TestClient(create_app(settings)) as api:
        redeemed = event("offer_redeemed", customer_id="c2", offer_id="HOME10", value=100.0)
        assert post(api, redeemed)["accepted"] == 1
        result = export_email("v1", out, published, redis_url=redis_url, namespace=namespace, k=K)
        payloads = [orjson.loads(line) for line in out.read_bytes().splitlines()]
        assert [p["customer_id"] for p in payloads] == ["c1", "c4"]
        for payload in payloads:
            recs, offers = _api_answer(api, payload["customer_id"])
            assert payload["items"] == recs["items"]
            assert payload["offer"] == (offers["offers"][0] if offers["offers"] else None)
        held = _api_answer(api, "c2")[1]
        assert (held["source"], held["held"]) == ("held", "suppressed")
    by_id = {p["customer_id"]: p for p in payloads}
    assert by_id["c1"]["offer"]["offer_id"] == "SHIP"  # HOME10 is used up
    assert _suppressed_file(out) == [
        ("c2", "suppressed"),
        ("c3", "contact_cap"),
        ("c5", "not_opted_in"),
        ("c6", "not_opted_in"),
    ]
    assert (result.payloads, result.suppressed) == (2, 4)


def test_a_used_up_offer_gives_way_without_suppressing_anyone(
    published: Path, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    """A session's redemption uses HOME10 up and holds nobody; an old redemption holds no
    one either: every opted-in customer is mailed, none of them HOME10."""
    settings = Settings(
        redis_url=redis_url, namespace=namespace, version_cache_seconds=0, gc_freeze=False
    )
    with TestClient(create_app(settings)) as api:
        post(api, event("offer_redeemed", session_id="s1", offer_id="HOME10", value=100.0))
        post(api, event("offer_redeemed", customer_id="c1", offer_id="VIP", ago=30 * 86400))
    out = tmp_path / "email.csv"
    export_email("v1", out, published, redis_url=redis_url, namespace=namespace, k=K)
    rows = list(csv.DictReader(out.open()))
    assert [(r["customer_id"], r["offer_id"]) for r in rows] == [
        ("c1", "SHIP"),
        ("c2", "SHIP"),
        ("c4", "SHIP"),
    ]


def test_suppressions_are_read_in_one_pipeline_per_batch(
    published: Path,
    tmp_path: Path,
    redis_url: str,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """600 customers unknown to the version, every other one a recent redeemer: those are
    held, and the live state is read once per batch of customers, not once per customer."""
    many = [f"new{i:04d}" for i in range(600)]
    now = time.time()
    records = [
        {"event_type": "offer_redeemed", "customer_id": cid, "offer_id": "VIP"} for cid in many[::2]
    ]

    async def redeem() -> None:
        client = connect_async(redis_url)
        try:
            writer = LiveWriter(client, namespace, ttl=3600, recent=10)
            changes = plan(namespace, records, now)
            await writer.write(changes, suppress_seconds=14 * 86400.0, now=now)
        finally:
            await client.aclose()

    asyncio.run(redeem())
    batches: list[int] = []
    read = LiveReader.offer_state

    async def counted(self: LiveReader, customer_ids: Sequence[str]) -> Any:
        batches.append(len(customer_ids))
        return await read(self, customer_ids)

    monkeypatch.setattr(LiveReader, "offer_state", counted)
    path = tmp_path / "many.csv"
    customers = pd.DataFrame({"customer_id": many, "email_opt_in": 1})
    pd.concat([CUSTOMERS, customers]).to_csv(path, index=False)
    out = tmp_path / "many.jsonl"
    result = export_email("v1", out, path, redis_url=redis_url, namespace=namespace, k=K)
    assert sorted(batches) == [92, 256, 256]  # 604 opted in (c1..c4 and the 600)
    payloads = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {p["customer_id"] for p in payloads} == {"c1", "c2", "c4", *many[1::2]}
    held = _suppressed_file(out)
    assert {cid for cid, reason in held if reason == "suppressed"} == set(many[::2])
    assert result.payloads == 303
