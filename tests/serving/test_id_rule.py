"""The API looks ids up as ingest stored them: the version's id rule (``id_case``,
``id_float_suffix`` in its manifest's ingest config) applies to path ids, ``exclude``,
session items and the live state events write (``85123a`` is ``85123A`` under the
online-retail preset, which folds case)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from recsys.customers.artifacts import segment_manifest
from recsys.data.parsing import IdRule, clean_ids
from recsys.store import write_bundle_tables
from recsys.store.publish import publish
from serving.settings import Settings
from tests.serving.conftest import PROFILES, serve, shop_tables


@pytest.mark.parametrize("case", ["none", "upper", "lower"])
def test_the_rule_for_one_id_is_the_ingest_rule(case) -> None:
    values = ["85123a", "85123A", "13085.0", "13085.00", "-7.0", "1.5", "a.0", "Été/x 1", "..0"]
    rule = IdRule(case, float_suffix=True)
    assert [rule(v) for v in values] == list(clean_ids(values, case=case))
    keep = IdRule(case, float_suffix=False)
    assert [keep(v) for v in values] == list(clean_ids(values, case=case, float_suffix=False))
    assert IdRule.of_manifest({}) == IdRule()  # an older manifest: ingest's defaults
    ingest = {"config": {"ingest": {"id_case": "upper", "id_float_suffix": False}}}
    assert IdRule.of_manifest(ingest) == IdRule("upper", float_suffix=False)


def _publish(tmp_path: Path, client: redis.Redis, namespace: str, case: str) -> None:
    manifest = {
        "version": "v1",
        "created_at": "2024-01-01T00:00:00Z",
        "top_n": 10,
        "segments": segment_manifest(PROFILES),
        "config": {"ingest": {"id_case": case, "id_float_suffix": True}},
    }
    path = write_bundle_tables(tmp_path / "v1", manifest, **shop_tables("v1"))
    publish(path, client, namespace=namespace, score_dtype="float32")


def _items(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["item_id"] for item in response.json()["items"]]


def test_ids_are_looked_up_as_ingest_stored_them(
    tmp_path: Path, redis_client: redis.Redis, namespace: str, settings: Settings
) -> None:
    _publish(tmp_path, redis_client, namespace, "lower")  # the tiny shop's ids are lower case
    with serve(settings) as api:
        stored = api.get("/v1/customers/c1/recommendations?k=4")
        asked = api.get("/v1/customers/C1/recommendations?k=4")
        assert _items(asked) == _items(stored) and asked.json()["source"] == "personal"
        assert asked.json()["customer_id"] == "C1"  # echoed as asked
        first = _items(stored)[0]
        excluded = api.get(f"/v1/customers/C1/recommendations?k=4&exclude={first.upper()}")
        assert first not in _items(excluded)
        assert _items(api.get("/v1/items/I04/similar")) == _items(api.get("/v1/items/i04/similar"))
        session = {"item_ids": ["I01"], "k": 3}
        lower = {"item_ids": ["i01"], "k": 3}
        assert _items(api.post("/v1/recommendations/session", json=session)) == _items(
            api.post("/v1/recommendations/session", json=lower)
        )
        assert api.get("/v1/customers/C1/segment").status_code == 200
        # An event in the other spelling reaches the same live state: the bought item leaves.
        event = {
            "event_id": "e-id-rule-1",
            "event_type": "purchase",
            "customer_id": "C1",
            "item_id": first.upper(),
        }
        assert api.post("/v1/events", json={"events": [event]}).status_code == 202
        assert first not in _items(api.get("/v1/customers/c1/recommendations?k=4"))


def test_without_a_case_rule_the_other_spelling_is_another_id(
    tmp_path: Path, redis_client: redis.Redis, namespace: str, settings: Settings
) -> None:
    _publish(tmp_path, redis_client, namespace, "none")
    with serve(settings) as api:
        assert api.get("/v1/items/I04/similar").status_code == 404
        assert api.get("/v1/customers/C1/recommendations").json()["source"] == "popular"
