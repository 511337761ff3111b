"""The whole loop on a generated shop: recsys train -> recsys publish -> HTTP -> rollback.

Unlike the serving tests (a hand-worked bundle), this drives the real jobs end to end, so a
mismatch between what training writes, what the store publishes and what the API reads shows
up here.
"""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from recsys.artifacts import ArtifactOptions
from recsys.config import Config
from serving.app import create_app
from serving.settings import Settings
from training.cli import main
from training.train import TrainOptions, run_training

K = 8


@pytest.fixture(scope="module")
def bundles(shop_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e")
    fast = {"blend": {"components": [{"model": "repeat"}, {"model": "itemknn", "weight": 0.5}]}}
    first = run_training(
        TrainOptions(
            events=shop_dir / "events.parquet",
            out_dir=out,
            items=shop_dir / "items.csv",
            candidates=("popular", "blend"),
            artifacts=ArtifactOptions(top_n=20),
        ),
        config=Config(models=fast),
    )
    second = run_training(
        TrainOptions(
            events=shop_dir / "events.parquet",
            out_dir=out,
            items=shop_dir / "items.csv",
            candidates=("itemknn",),
            skip_evaluation=True,
            artifacts=ArtifactOptions(top_n=20),
        ),
        config=Config(models={"itemknn": {"K": 5}}),
    )
    return first, second


def _expected(bundle_dir, customer_id: str, k: int) -> list[str]:
    recs = pd.read_parquet(bundle_dir / "recommendations.parquet")
    items = pd.read_parquet(bundle_dir / "items.parquet").set_index("item_id")
    mine = recs[recs["customer_id"] == customer_id].sort_values("rank")
    in_stock = mine[items.loc[mine["item_id"], "in_stock"].to_numpy()]
    return in_stock["item_id"].head(k).tolist()


def test_train_publish_serve_rollback(bundles, redis_url, namespace, capsys):
    first, second = bundles
    cli = ["--redis", redis_url, "--namespace", namespace]
    assert main(["publish", str(first.bundle_dir), *cli, "--quiet"]) == 0
    recs = pd.read_parquet(first.bundle_dir / "recommendations.parquet")
    customers = recs["customer_id"].drop_duplicates().sample(15, random_state=0).tolist()
    settings = Settings(redis_url=redis_url, namespace=namespace, version_cache_seconds=0)
    with TestClient(create_app(settings)) as api:
        for cid in customers:
            r = api.get(f"/v1/customers/{cid}/recommendations", params={"k": K})
            assert r.status_code == 200, r.text
            body = r.json()
            assert r.headers["x-model-version"] == body["model_version"] == first.version
            assert body["source"] == "personal"
            assert [i["item_id"] for i in body["items"]] == _expected(first.bundle_dir, cid, K)

        model = api.get("/v1/model").json()
        assert model["manifest"]["chosen_model"] == first.manifest.chosen_model

        assert main(["publish", str(second.bundle_dir), *cli, "--quiet"]) == 0
        cid = customers[0]
        r = api.get(f"/v1/customers/{cid}/recommendations", params={"k": K}).json()
        assert r["model_version"] == second.version
        assert [i["item_id"] for i in r["items"]] == _expected(second.bundle_dir, cid, K)

        assert main(["rollback", first.version, *cli]) == 0
        r = api.get(f"/v1/customers/{cid}/recommendations", params={"k": K}).json()
        assert r["model_version"] == first.version
        assert [i["item_id"] for i in r["items"]] == _expected(first.bundle_dir, cid, K)

        unknown = api.get("/v1/customers/never-seen/recommendations", params={"k": 3}).json()
        assert unknown["source"] == "popular" and len(unknown["items"]) == 3
    capsys.readouterr()


def test_segments_travel_from_training_to_the_api(bundles, redis_url, namespace, capsys, tmp_path):
    """recsys train writes profiles, member lists and per-segment popular lists; the API
    answers the marketing lists from them and the segment rung uses them."""
    first, _ = bundles
    segments = pd.read_parquet(first.bundle_dir / "segments.parquet")
    summary = first.manifest.segments["summary"]
    assert sum(s["customers"] for s in summary if s["kind"] == "rfm") == len(segments)
    assert (
        main(
            [
                "publish",
                str(first.bundle_dir),
                "--redis",
                redis_url,
                "--namespace",
                namespace,
                "--quiet",
            ]
        )
        == 0
    )
    settings = Settings(redis_url=redis_url, namespace=namespace, version_cache_seconds=0)
    with TestClient(create_app(settings)) as api:
        listed = api.get("/v1/segments").json()["segments"]
        assert [s["segment"] for s in listed] == [s["segment"] for s in summary]
        biggest = max(listed, key=lambda s: s["customers"])
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 37, **({"cursor": cursor} if cursor else {})}
            page = api.get(f"/v1/segments/{biggest['segment']}/customers", params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            seen += [c["customer_id"] for c in body["customers"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == biggest["customers"]

        customer = segments.iloc[0]
        profile = api.get(f"/v1/customers/{customer['customer_id']}/segment").json()
        assert profile["segment"] == customer["segment"]
        assert profile["profile"]["rfm_segment"] == customer["rfm_segment"]

    # A customer with a profile but no personal list (e.g. everything bought was returned)
    # is answered by the segment rung: republish the bundle without one customer's lists.
    cid = segments.iloc[0]["customer_id"]
    copy = tmp_path / first.version
    shutil.copytree(first.bundle_dir, copy)
    for table in ("recommendations", "recommendations_all", "buy_again"):
        frame = pd.read_parquet(copy / f"{table}.parquet")
        frame[frame["customer_id"] != cid].to_parquet(copy / f"{table}.parquet", index=False)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["version"] = first.version + "-nolist"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["publish", str(copy), "--redis", redis_url, "--namespace", namespace, "-q"]) == 0
    popular = pd.read_parquet(copy / "popular.parquet")
    segment_items = popular[popular["segment"] == segments.iloc[0]["segment"]]
    with TestClient(create_app(settings)) as api:
        body = api.get(f"/v1/customers/{cid}/recommendations", params={"k": 3}).json()
    assert body["model_version"] == first.version + "-nolist"
    assert body["source"] == "segment"
    assert [i["source"] for i in body["items"]] == ["segment"] * 3
    assert {i["item_id"] for i in body["items"]} <= set(segment_items["item_id"])
    capsys.readouterr()


def test_no_default_answer_offers_a_bought_item_however_long(
    bundles, shop_dir, redis_url, namespace
):
    """Customers who bought more items than a list holds (top_n 20) asked for long lists: the
    personal list runs out and segment/popular items fill the rest, none of them bought."""
    first, _ = bundles
    cli = ["--redis", redis_url, "--namespace", namespace]
    assert main(["publish", str(first.bundle_dir), *cli, "--quiet"]) == 0
    ev = pd.read_parquet(shop_dir / "events.parquet")
    key = ["customer_id", "item_id"]
    bought = ev[ev["event_type"] == "purchase"][key].drop_duplicates()
    returned = ev[ev["event_type"] == "return"][key].drop_duplicates()
    kept = bought.merge(returned, on=key, how="left", indicator=True)
    kept = kept[kept["_merge"] == "left_only"]
    per_customer = kept.groupby("customer_id")["item_id"].apply(set)
    heavy = per_customer[per_customer.map(len) > 20].sort_index().head(10)
    assert len(heavy) >= 2
    settings = Settings(redis_url=redis_url, namespace=namespace, version_cache_seconds=0)
    with TestClient(create_app(settings)) as api:
        for cid, items in heavy.items():
            r = api.get(f"/v1/customers/{cid}/recommendations", params={"k": 100})
            assert r.status_code == 200, r.text
            served = {i["item_id"] for i in r.json()["items"]}
            assert len(served) == 100  # fallbacks filled the answer (popular lists of 500)
            assert not served & items, (cid, sorted(served & items))


@pytest.fixture(scope="module")
def case_bundle(tmp_path_factory) -> str:
    """``../shared/cases/empty-row-customer`` trained with ``--no-eval`` (no items file, so
    no categories): Z bought P2 and returned it."""
    from tests.training.test_cli_errors import CASE

    out = tmp_path_factory.mktemp("case")
    events = out / "minimal.csv"
    events.write_text(CASE)
    bundle = run_training(
        TrainOptions(events=events, out_dir=out, skip_evaluation=True), config=Config()
    )
    return str(bundle.bundle_dir)


def test_a_customer_with_no_list_still_has_a_segment(case_bundle, redis_url, namespace):
    """Z has no personal list, only a segment and a profile: GET /segment must name the
    segment (it said null)."""
    cli = ["--redis", redis_url, "--namespace", namespace, "--quiet"]
    assert main(["publish", case_bundle, *cli]) == 0
    settings = Settings(redis_url=redis_url, namespace=namespace, version_cache_seconds=0)
    with TestClient(create_app(settings)) as api:
        body = api.get("/v1/customers/Z/segment").json()
        assert body["segment"] == "rfm:new-customers"
        assert body["profile"]["rfm_segment"] == "New Customers"
        recs = api.get("/v1/customers/Z/recommendations").json()
        # served like an unknown customer: Z's segment has no popular list, as its only
        # member returned everything (a returned item makes nothing popular)
        assert recs["source"] == "popular"
        members = api.get("/v1/segments/rfm:new-customers/customers").json()
        assert "Z" in {c["customer_id"] for c in members["customers"]}


def test_an_item_without_category_or_similar_list_gets_popular_items(
    case_bundle, redis_url, namespace
):
    """A catalog without categories: an item whose similar list is missing (as when Redis
    is down) is topped up from the global popular list, not answered empty."""
    import redis

    from recsys.store import keys as K

    cli = ["--redis", redis_url, "--namespace", namespace, "--quiet"]
    assert main(["publish", case_bundle, *cli]) == 0
    version = json.loads((Path(case_bundle) / "manifest.json").read_text())["version"]
    redis.Redis.from_url(redis_url).delete(K.item_key(namespace, version, "P4"))
    settings = Settings(redis_url=redis_url, namespace=namespace, version_cache_seconds=0)
    with TestClient(create_app(settings)) as api:
        body = api.get("/v1/items/P4/similar", params={"k": 3}).json()
        assert body["source"] == "popular"
        assert [i["item_id"] for i in body["items"]] and "P4" not in ids_of(body)
        assert len(body["items"]) == 3


def ids_of(body: dict) -> list[str]:
    return [i["item_id"] for i in body["items"]]
