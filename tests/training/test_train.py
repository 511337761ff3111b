"""``recsys train``: the bundle is complete, consistent and honest about what it did."""

import json

import numpy as np
import orjson
import pandas as pd
import pytest

from recsys.artifacts import ArtifactOptions, popular_list
from recsys.config import Config
from recsys.data.dataset import build_dataset
from recsys.errors import DataError
from recsys.models import load_model
from recsys.store.bundle import Bundle
from tests.training.conftest import CANDIDATES, FAST_BLEND
from training.cli import main
from training.train import TrainOptions, run_training


def test_bundle_has_every_artifact_and_a_complete_manifest(trained):
    bundle = Bundle.open(trained.bundle_dir)
    m = json.loads((trained.bundle_dir / "manifest.json").read_text())
    assert m["version"] == trained.version == trained.bundle_dir.name
    for key in (
        "created_at",
        "data_fingerprint",
        "config",
        "rows",
        "rejects",
        "metrics",
        "chosen_model",
        "library_versions",
        "top_n",
    ):
        assert key in m, key
    assert m["chosen_model"] in CANDIDATES
    assert {r["model"] for r in m["metrics"]} == set(CANDIDATES)
    assert m["rows"]["accepted"] + m["rejects"]["n_rejected"] == m["rows"]["input"]
    assert m["library_versions"]["implicit"] != "not installed"
    assert len(bundle.recommendations()) > 0 and len(bundle.similar_items()) > 0
    # The global list, and one per RFM segment and cluster of the customers the job profiled.
    summary = m["segments"]["summary"]
    assert set(bundle.popular()["segment"]) <= {"_all"} | {s["segment"] for s in summary}
    assert "_all" in set(bundle.popular()["segment"])
    assert len(set(bundle.popular()["segment"])) > len(summary) / 2
    profiles = pd.read_parquet(trained.bundle_dir / "segments.parquet")
    assert sum(s["customers"] for s in summary if s["kind"] == "rfm") == len(profiles)
    assert profiles["segment"].str.startswith("rfm:").all()
    assert not list(trained.bundle_dir.parent.glob(".tmp-*")), "temporary bundle left behind"


def test_chosen_model_is_the_best_worst_protocol_candidate(trained):
    rel = trained.manifest.relative_scores
    worst = {name: min(scores.values()) for name, scores in rel.items()}
    assert trained.manifest.chosen_model == max(worst, key=worst.get)


def test_recommendations_are_top_n_and_never_already_bought(trained, small_shop):
    recs = pd.read_parquet(trained.bundle_dir / "recommendations.parquet")
    assert recs.groupby("customer_id")["rank"].max().max() == 20
    ev = small_shop.events
    sign = ev["event_type"].map({"purchase": 1, "return": -1}).fillna(0)
    net = sign.groupby([ev["customer_id"], ev["item_id"]]).sum()
    bought = net[net > 0].reset_index()[["customer_id", "item_id"]]
    leaked = recs.merge(bought, on=["customer_id", "item_id"])
    assert leaked.empty, leaked.head()
    viewed = ev.loc[ev["event_type"] == "view", ["customer_id", "item_id"]].drop_duplicates()
    assert len(recs.merge(viewed, on=["customer_id", "item_id"])) > 0  # seen is not bought


def test_saved_model_reloads_and_reproduces_the_bundle(trained):
    model = load_model(trained.bundle_dir / "model.npz")
    recs = pd.read_parquet(trained.bundle_dir / "recommendations.parquet")
    some = recs["customer_id"].drop_duplicates().head(25)
    items = pd.read_parquet(trained.bundle_dir / "items.parquet")
    in_stock = items.loc[items["in_stock"], "item_id"]  # serving never shows the others
    again = model.recommend(some, k=20, items=in_stock)
    expected = recs[recs["customer_id"].isin(some)].reset_index(drop=True)
    assert again["item_id"].tolist() == expected["item_id"].tolist()
    np.testing.assert_allclose(again["score"], expected["score"], rtol=1e-5)


def test_catalog_carries_item_attributes_for_serving_filters(trained, small_shop):
    items = pd.read_parquet(trained.bundle_dir / "items.parquet")
    shop_items = small_shop.items.set_index("item_id")
    assert set(items["item_id"]) == set(shop_items.index.astype(str))
    merged = items.merge(shop_items, left_on="item_id", right_index=True, suffixes=("", "_shop"))
    assert (merged["in_stock"] == merged["in_stock_shop"]).all()
    assert (merged["category"] == merged["category_shop"]).all()


def test_too_small_data_stops_clearly(tmp_path):
    path = tmp_path / "tiny.csv"
    pd.DataFrame(
        {"customer_id": ["a", "b"], "item_id": ["x", "y"], "timestamp": ["2024-01-01"] * 2}
    ).to_csv(path, index=False)
    with pytest.raises(DataError, match="too small|fewer"):
        run_training(TrainOptions(events=path, out_dir=tmp_path / "out"), config=Config())
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert left == ["rejects.csv"], left  # no bundle, no temporary directory; the report stays


def test_cli_train_prints_the_bundle_path(shop_dir, tmp_path, capsys):
    code = main(
        [
            "train",
            "--quiet",
            "--events",
            str(shop_dir / "events.parquet"),
            "--out",
            str(tmp_path),
            "--models",
            "popular",
            "--no-eval",
            "--top-n",
            "5",
        ]
    )
    assert code == 0
    path = capsys.readouterr().out.strip()
    assert (tmp_path / path.split("/")[-1] / "recommendations.parquet").exists()


def test_no_eval_without_models_trains_the_default_blend_not_the_first_candidate(
    shop_dir, tmp_path, capsys
):
    events = str(shop_dir / "events.parquet")
    code = main(["train", "-q", "--events", events, "--out", str(tmp_path), "--no-eval"])
    assert code == 0, capsys.readouterr().err
    bundle = tmp_path / capsys.readouterr().out.strip().split("/")[-1]
    manifest = orjson.loads((bundle / "manifest.json").read_bytes())
    assert manifest["chosen_model"] == "blend"
    assert manifest["model_params"]["components"] is None  # documented weights, not tuned
    # Personal lists differ between customers (popularity would give everyone one list).
    recs = pd.read_parquet(bundle / "recommendations.parquet")
    firsts = recs[recs["rank"] == 1]["item_id"]
    assert firsts.nunique() > 1


def test_a_models_section_in_the_config_sets_parameters_without_narrowing_the_candidates(
    shop_dir, tmp_path, capsys
):
    from recsys.config import parse_config
    from recsys.evaluation.candidates import candidate_names
    from training.train import DEFAULT_CANDIDATES

    config = parse_config({"models": {"als": {"factors": 16}, "bpr": {"factors": 8}}})
    assert candidate_names((), DEFAULT_CANDIDATES, config) == (*DEFAULT_CANDIDATES, "bpr")
    assert candidate_names(("als",), DEFAULT_CANDIDATES, config) == ("als",)  # --models rules
    # The README's example: `[models.als] factors = ...` and --no-eval still ship the blend.
    toml = tmp_path / "als.toml"
    toml.write_text("[models.als]\nfactors = 16\n")
    events = str(shop_dir / "events.parquet")
    args = ["train", "-q", "--events", events, "--out", str(tmp_path), "--no-eval"]
    assert main([*args, "--config", str(toml)]) == 0
    bundle = tmp_path / capsys.readouterr().out.strip().split("/")[-1]
    manifest = orjson.loads((bundle / "manifest.json").read_bytes())
    assert manifest["chosen_model"] == "blend"


def test_buy_again_holds_every_purchased_item_and_nothing_else(trained, small_shop):
    """Serving excludes this list from every default answer, fallbacks included: it holds
    all the customer's bought items, however many (not only the top 20), model order first."""
    again = pd.read_parquet(trained.bundle_dir / "buy_again.parquet")
    ev = small_shop.events
    key = ["customer_id", "item_id"]
    bought = ev[ev["event_type"] == "purchase"][key].drop_duplicates()
    joined = again.merge(bought, on=key, how="left", indicator=True)
    assert (joined["_merge"] == "both").all()
    returned = ev[ev["event_type"] == "return"][key].drop_duplicates()
    kept = bought.merge(returned, on=key, how="left", indicator=True)
    kept = kept[kept["_merge"] == "left_only"][key]  # never returned: surely still bought
    listed = set(zip(again["customer_id"], again["item_id"], strict=True))
    assert set(zip(kept["customer_id"], kept["item_id"], strict=True)) <= listed
    ranks = again.groupby("customer_id")["rank"]
    assert (ranks.min() == 1).all() and (ranks.max() == ranks.size()).all()
    assert ranks.max().max() > 20  # some customer bought more than a list's length
    assert (again.groupby("customer_id")["score"].diff().dropna() <= 1e-6).all()


def test_without_an_items_file_the_holdout_catalog_is_the_training_windows(shop_dir, tmp_path):
    """Items first sold in the test window must not join the catalog the candidates are
    judged on (that would leak the future); the final model still knows every item."""
    events = pd.read_parquet(shop_dir / "events.parquet")
    result = run_training(
        TrainOptions(
            events=shop_dir / "events.parquet",
            out_dir=tmp_path,
            candidates=("popular", "repeat"),
            artifacts=ArtifactOptions(top_n=5),
        ),
        config=Config(models=FAST_BLEND),
    )
    facts = result.evaluation.facts
    cutoff = pd.Timestamp(facts["cutoff"])
    seen_before = events.loc[pd.to_datetime(events["timestamp"]) < cutoff, "item_id"].nunique()
    assert events["item_id"].nunique() > seen_before  # the shop does launch items late
    assert facts["n_train_items"] == seen_before
    assert facts["n_dropped_new_item_purchases"] > 0
    catalog = pd.read_parquet(result.bundle_dir / "items.parquet")
    assert len(catalog) > seen_before  # the final model, trained on everything, knows them


def test_a_candidate_over_its_size_limit_is_skipped_with_a_note_not_a_failure(shop_dir, tmp_path):
    result = run_training(
        TrainOptions(
            events=shop_dir / "events.parquet",
            out_dir=tmp_path,
            candidates=("popular", "ease", "repeat"),
            artifacts=ArtifactOptions(top_n=5),
        ),
        config=Config(models={"ease": {"max_items": 10}}),
    )
    assert set(result.evaluation.table["model"]) == {"popular", "repeat"}
    assert result.manifest.chosen_model in {"popular", "repeat"}
    (note,) = [n for n in result.manifest.notes if n.startswith("candidate ")]
    assert note.startswith("candidate ease skipped: ease: the catalog has")
    assert "max_items=10" in (result.bundle_dir / "evaluation.md").read_text()
    on_disk = json.loads((result.bundle_dir / "manifest.json").read_text())
    assert note in on_disk["notes"]


def test_the_global_popular_list_covers_the_catalog_and_segments_hold_500(trained):
    """The last fallback: a wholesale buyer holding most of the 500 top items still gets a full
    answer, so the global list holds every item anyone touched (up to 5,000)."""
    rng = np.random.default_rng(0)
    n = 20_000
    events = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in rng.integers(0, 300, n)],
            "item_id": [f"i{j}" for j in rng.integers(0, 900, n)],
            "event_type": "purchase",
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
        }
    )
    dataset = build_dataset(events)
    assert dataset.n_items == 900
    overall = popular_list(dataset, ArtifactOptions().global_popular_n)
    assert len(overall) == 900 and overall["rank"].tolist() == list(range(1, 901))
    popular = pd.read_parquet(trained.bundle_dir / "popular.parquet")
    assert popular[popular["segment"] != "_all"].groupby("segment").size().max() <= 500
