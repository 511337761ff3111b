"""The whole loop on a generated shop: recsys train -> recsys publish -> HTTP -> rollback.

Unlike the serving tests (a hand-worked bundle), this drives the real jobs end to end, so a
mismatch between what training writes, what the store publishes and what the API reads shows
up here.
"""

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
