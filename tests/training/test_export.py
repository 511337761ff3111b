"""recsys export email: every payload equals the API's email answers from the same version."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from recsys.customers.artifacts import segment_manifest
from recsys.store import write_bundle_tables
from recsys.store.publish import publish
from serving.app import create_app
from serving.settings import Settings
from tests.serving.conftest import PROFILES, shop_tables
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
