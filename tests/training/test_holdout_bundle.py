"""Serve what you evaluate: the holdout bundle's lists are what the API answers, and scoring
the answers reproduces the figures in its manifest."""

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from recsys.artifacts import PROTOCOL_TABLES
from recsys.evaluation import score_recommendations
from recsys.manifest import Manifest
from recsys.store.publish import publish
from serving.app import create_app
from serving.settings import Settings
from tests.training.conftest import FAST_BLEND
from training.cli import main
from training.evaluate import run_evaluation

K = 10


@pytest.fixture(scope="module")
def job(shop_dir, tmp_path_factory):
    from recsys.config import Config

    out = tmp_path_factory.mktemp("holdout")
    return run_evaluation(
        shop_dir / "events.parquet",
        config=Config(models=FAST_BLEND, evaluation={"k": K, "test_days": 30}),
        models=("popular", "repeat", "recent", "itemknn", "blend"),
        items_path=shop_dir / "items.csv",
        out_dir=out / "reports",
        bundle_out=out / "bundles",
    )


def test_manifest_figures_are_the_scores_of_the_bundle_lists_on_both_protocols(job):
    manifest = Manifest.load(job.bundle_dir)
    assert manifest.holdout_of == "bundle" and manifest.chosen_model == job.comparison.chosen
    truths = job.result.truths
    assert PROTOCOL_TABLES == {
        "new_items": "recommendations",
        "all_purchases": "recommendations_all",
    }
    for protocol, table in PROTOCOL_TABLES.items():
        lists = pd.read_parquet(job.bundle_dir / f"{table}.parquet")
        scores = score_recommendations(lists, truths[protocol], K)
        figures = manifest.holdout[protocol]
        assert figures.n_customers == truths[protocol].n_customers > 0
        for metric in ("ndcg", "recall", "precision", "map", "hit_rate", "mrr"):
            assert figures.metrics[metric] == pytest.approx(scores[metric], abs=1e-12), metric
        # ...and the evaluation table scored the same ranking for the chosen model
        row = job.result.table.query("model == @manifest.chosen_model and protocol == @protocol")
        assert float(row["ndcg"].iloc[0]) == pytest.approx(figures.metrics["ndcg"], rel=1e-6)


def test_default_lists_hold_no_bought_item_and_the_all_purchases_lists_do(job, small_shop):
    ev = small_shop.events
    cutoff = job.comparison.split.cutoff
    before = ev[pd.to_datetime(ev["timestamp"]) < cutoff]
    sign = before["event_type"].map({"purchase": 1, "return": -1}).fillna(0)
    net = sign.groupby([before["customer_id"], before["item_id"]]).sum()
    bought = net[net > 0].reset_index()[["customer_id", "item_id"]]
    default = pd.read_parquet(job.bundle_dir / "recommendations.parquet")
    everything = pd.read_parquet(job.bundle_dir / "recommendations_all.parquet")
    assert default.merge(bought, on=["customer_id", "item_id"]).empty
    assert len(everything.merge(bought, on=["customer_id", "item_id"])) > 0
    items = pd.read_parquet(job.bundle_dir / "items.parquet")
    out_of_stock = set(items.loc[~items["in_stock"], "item_id"])
    assert out_of_stock and not out_of_stock & set(default["item_id"])  # as serving filters


def test_api_answers_score_exactly_the_manifest_figures(job, redis_client, redis_url, namespace):
    """Publish the holdout bundle, ask the API for every judged customer under both protocols
    (the default answer; ``include_purchased=true``), score the answers: the manifest's
    figures, exactly."""
    publish(job.bundle_dir, redis_client, namespace=namespace)
    settings = Settings(
        redis_url=redis_url, namespace=namespace, version_cache_seconds=0, gc_freeze=False
    )
    figures = Manifest.load(job.bundle_dir).holdout
    with TestClient(create_app(settings)) as api:
        for protocol, include in (("new_items", "false"), ("all_purchases", "true")):
            truth = job.result.truths[protocol]
            rows = []
            for customer in truth.customer_ids:
                r = api.get(
                    f"/v1/customers/{customer}/recommendations",
                    params={"k": K, "include_purchased": include},
                )
                assert r.status_code == 200, r.text
                for rank, item in enumerate(r.json()["items"], start=1):
                    rows.append((customer, rank, item["item_id"]))
            answers = pd.DataFrame(rows, columns=["customer_id", "rank", "item_id"])
            scores = score_recommendations(answers, truth, K)
            for metric in ("ndcg", "recall", "precision", "map", "hit_rate", "mrr"):
                expected = figures[protocol].metrics[metric]
                assert scores[metric] == pytest.approx(expected, abs=1e-12), (protocol, metric)


def test_cli_bundle_out_prints_the_bundle_path(shop_dir, tmp_path, capsys):
    code = main(["evaluate", "--quiet", "--events", str(shop_dir / "events.parquet"),
                 "--models", "popular,repeat", "--out", str(tmp_path / "r"),
                 "--bundle-out", str(tmp_path / "b"), "--top-n", "5"])  # fmt: skip
    assert code == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    manifest = Manifest.load(path)
    assert set(manifest.holdout) == {"new_items", "all_purchases"}
    assert manifest.top_n == 5 and np.isfinite(manifest.holdout["new_items"].metrics["ndcg"])
