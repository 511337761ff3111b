"""spark-als: Spark MLlib's implicit ALS exported into the project's factor model.

The unmarked tests (id range, triples, factor order, registry) need neither pyspark nor Java
and run in ``make test``. The ``spark`` tests fit on ``local[2]`` and run in ``make bench``
(which installs the ``[spark]`` extra); they skip, saying why, without pyspark or Java.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from fastapi.testclient import TestClient

from recsys.artifacts import ArtifactOptions
from recsys.config import Config, MatrixConfig
from recsys.data.dataset import build_dataset
from recsys.errors import ConfigError, DataError, ModelFitError
from recsys.evaluation import evaluate, temporal_split
from recsys.models import MODELS, load_model, make_model
from recsys.models.registry import model_class
from recsys.models.spark_als import (
    INT32_MAX,
    SparkALS,
    SparkALSRecommender,
    check_spark_shape,
    factors_by_index,
    rating_triples,
)
from serving.app import create_app
from serving.settings import Settings
from tests.test_end_to_end import _expected
from training.cli import main
from training.train import DEFAULT_CANDIDATES, TrainOptions, run_training

HAS_PYSPARK = importlib.util.find_spec("pyspark") is not None

#: Comparable settings for both backends: same rank, sweeps, alpha and matrix. Spark's
#: regParam is scaled per row count (ALS-WR), so its number is smaller (see the model doc).
RANK, SWEEPS = 32, 15
ALS_PARAMS = {"factors": RANK, "iterations": SWEEPS, "regularization": 1.0, "alpha": 0.2}
ALL_PURCHASES = {"k": 8, "include_purchased": "true"}
SPARK_PARAMS = {"factors": RANK, "iterations": SWEEPS, "regularization": 0.2, "alpha": 0.2}


# --------------------------------------------------------------------------- no Spark needed
def test_indices_beyond_int32_are_refused():
    check_spark_shape(INT32_MAX + 1, 10)  # indices 0 .. INT32_MAX all fit
    with pytest.raises(DataError, match="customers do not fit Spark ALS's int32"):
        check_spark_shape(INT32_MAX + 2, 10)
    with pytest.raises(DataError, match="items do not fit"):
        check_spark_shape(10, INT32_MAX + 2)


def test_the_estimator_refuses_a_matrix_beyond_int32_before_starting_spark():
    # A COO matrix holds its shape without rows; the check comes before any conversion.
    big = sp.coo_matrix(([1.0], ([0], [INT32_MAX + 1])), shape=(1, INT32_MAX + 2))
    params = SparkALSRecommender().get_params()
    with pytest.raises(DataError, match="items do not fit"):
        SparkALS({**params, "seed": 0, "spark_conf": {}}).fit(big)


def test_rating_triples_are_the_matrix_nonzeros_by_index():
    m = sp.csr_matrix(np.array([[0, 2.5, 0], [0, 0, 0], [1, 0, 4]], dtype=np.float32))
    t = rating_triples(m)
    assert t.dtypes.astype(str).tolist() == ["int32", "int32", "float32"]
    assert list(zip(t["user"], t["item"], t["rating"], strict=True)) == [
        (0, 1, 2.5),
        (2, 0, 1.0),
        (2, 2, 4.0),
    ]


def test_factors_come_back_in_index_order_with_zero_rows_for_unrated_ids():
    ids = np.array([3, 0, 2], dtype=np.int32)  # Spark's order is arbitrary
    vectors = np.array([[3, 3.5], [0, 0.5], [2, 2.5]], dtype=np.float32)
    out = factors_by_index(ids, vectors, n=5, rank=2)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 0.5], [0, 0], [2, 2.5], [3, 3.5], [0, 0]])
    assert factors_by_index(ids[:0], vectors[:0], n=2, rank=2).tolist() == [[0, 0], [0, 0]]


@pytest.mark.parametrize(
    ("ids", "message"),
    [([0, 5], "outside 0..4"), ([-1, 0], "outside"), ([1, 1], "same id twice")],
)
def test_factors_with_foreign_or_repeated_ids_are_refused(ids, message):
    with pytest.raises(ModelFitError, match=message):
        factors_by_index(np.array(ids), np.ones((2, 3)), n=5, rank=3)


def test_factors_of_the_wrong_rank_are_refused():
    with pytest.raises(ModelFitError, match=r"shape \(2, 4\), expected \(2, 3\)"):
        factors_by_index(np.array([0, 1]), np.ones((2, 4)), n=5, rank=3)


def test_spark_als_is_optional_and_never_a_default_candidate():
    assert "spark-als" not in MODELS and "spark-als" not in DEFAULT_CANDIDATES
    assert model_class("spark-als") is SparkALSRecommender
    model = make_model("spark-als", factors=8, master="local[1]")
    assert model.get_params()["master"] == "local[1]"
    with pytest.raises(ConfigError, match="unknown model 'sparkals'"):
        make_model("sparkals")


def test_bad_spark_parameters_are_refused_before_spark(small_shop):
    data = build_dataset(small_shop.events.head(200), MatrixConfig())
    with pytest.raises(ConfigError, match="checkpoint_interval"):
        make_model("spark-als", checkpoint_interval=0).fit(data)
    with pytest.raises(ConfigError, match="master"):
        make_model("spark-als", master="").fit(data)
    with pytest.raises(ConfigError, match="give checkpoint_dir on a file system"):
        make_model("spark-als", master="spark://head:7077").fit(data)


@pytest.mark.skipif(HAS_PYSPARK, reason="pyspark is installed: the missing-extra path is moot")
def test_without_pyspark_the_fit_says_what_to_install(small_shop):
    data = build_dataset(small_shop.events.head(200), MatrixConfig())
    with pytest.raises(ConfigError, match=r"pip install 'recsys-engine\[spark\]'"):
        make_model("spark-als").fit(data)


# --------------------------------------------------------------------------- Spark on local[2]
@pytest.fixture(scope="module")
def spark_ready() -> None:
    pytest.importorskip("pyspark", reason="pyspark not installed: pip install '.[spark]'")
    if shutil.which("java") is None:
        pytest.skip("no java on PATH: spark-als needs a Java 17 runtime")


@pytest.fixture(scope="module")
def shop_data(small_shop):
    return build_dataset(small_shop.events, MatrixConfig())


@pytest.mark.spark
def test_fit_and_export_on_local2(spark_ready, shop_data, record_property, capsys):
    start = time.perf_counter()
    model = make_model("spark-als", **SPARK_PARAMS).fit(shop_data)
    seconds = time.perf_counter() - start
    record_property("spark_fit_seconds", seconds)
    with capsys.disabled():  # reported, not asserted (a shared machine's timings are noisy)
        print(f"\nspark-als fit + export, {shop_data.matrix.shape}: {seconds:.1f} s")

    n_users, n_items = shop_data.matrix.shape
    assert model.user_factors_.shape == (n_users, RANK)
    assert model.item_factors_.shape == (n_items, RANK)
    assert model.user_factors_.dtype == np.float32
    # Rated rows got factors; a customer whose history netted to nothing keeps zeros.
    rated = np.diff(shop_data.matrix.indptr) > 0
    assert (np.abs(model.user_factors_[rated]).sum(axis=1) > 0).all()
    assert not np.abs(model.user_factors_[~rated]).any()
    # The session the fit started is stopped again.
    from pyspark.sql import SparkSession

    assert SparkSession.getActiveSession() is None
    # The temporary checkpoint directory was set, and removed after the fit.
    assert Path(model.estimator_.checkpoint_dir_).name.startswith("recsys-spark-ckpt-")
    assert not Path(model.estimator_.checkpoint_dir_).exists()

    # The project's own top-N over the exported factors: the best item not bought yet.
    row = int(np.flatnonzero(rated)[0])
    recs = model.recommend(shop_data.customers.to_external([row]), k=10)
    scores = model.item_factors_ @ model.user_factors_[row]
    scores[model.exclude_[row].indices] = -np.inf
    assert len(recs) == 10
    assert recs["item_id"].iloc[0] == shop_data.items.to_external([int(scores.argmax())])[0]


@pytest.mark.spark
def test_checkpoint_dir_is_set_and_used(spark_ready, shop_data, tmp_path):
    ckpt = tmp_path / "ckpt"
    model = make_model(
        "spark-als", factors=8, iterations=4, checkpoint_interval=2, checkpoint_dir=str(ckpt)
    ).fit(shop_data)
    assert model.estimator_.checkpoint_dir_ == str(ckpt)
    # One directory per Spark context, holding the factors ALS checkpointed (every 2 sweeps;
    # Spark keeps the latest and deletes the earlier ones).
    (context,) = ckpt.iterdir()
    assert list(context.glob("rdd-*/part-*")), sorted(p.name for p in context.rglob("*"))


@pytest.mark.spark
def test_recall_at_10_is_within_08_to_125_of_implicit_als(spark_ready, small_shop, capsys):
    split = temporal_split(small_shop.events, test_days=30)
    models = {
        "als": make_model("als", **ALS_PARAMS),
        "spark-als": make_model("spark-als", **SPARK_PARAMS),
    }
    table = evaluate(models, split, k=10).table.set_index(["protocol", "model"])
    with capsys.disabled():
        print("\n" + table[["recall", "ndcg", "fit_time_s"]].round(4).to_string())
    for protocol in table.index.unique("protocol"):
        ratio = (
            table.loc[(protocol, "spark-als"), "recall"] / table.loc[(protocol, "als"), "recall"]
        )
        assert 0.8 <= ratio <= 1.25, (protocol, ratio)


@pytest.mark.spark
def test_exported_model_is_trained_published_and_served(
    spark_ready, shop_dir, tmp_path, redis_url, namespace
):
    result = run_training(
        TrainOptions(
            events=shop_dir / "events.parquet",
            out_dir=tmp_path,
            items=shop_dir / "items.csv",
            candidates=("spark-als",),
            skip_evaluation=True,
            artifacts=ArtifactOptions(top_n=20),
        ),
        config=Config(models={"spark-als": {"factors": 16, "iterations": 8}}),
    )
    assert result.manifest.chosen_model == "spark-als"
    saved = load_model(result.bundle_dir / result.manifest.model_file)
    assert isinstance(saved, SparkALSRecommender) and saved.user_factors_.shape[1] == 16

    cli = ["--redis", redis_url, "--namespace", namespace, "--quiet"]
    assert main(["publish", str(result.bundle_dir), *cli]) == 0
    recs = pd.read_parquet(result.bundle_dir / "recommendations.parquet")
    customers = recs["customer_id"].drop_duplicates().sample(10, random_state=0).tolist()
    settings = Settings(redis_url=redis_url, namespace=namespace, version_cache_seconds=0)
    with TestClient(create_app(settings)) as api:
        for cid in customers:
            r = api.get(f"/v1/customers/{cid}/recommendations", params={"k": 8})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["model_version"] == result.version and body["source"] == "personal"
            assert [i["item_id"] for i in body["items"]] == _expected(result.bundle_dir, cid, 8)
        # The all-purchases answer (buy-again blended in by the usual artifacts) too.
        r = api.get(f"/v1/customers/{customers[0]}/recommendations", params=ALL_PURCHASES)
        assert r.status_code == 200 and r.json()["items"], r.text
        assert api.get("/v1/model").json()["manifest"]["chosen_model"] == "spark-als"
