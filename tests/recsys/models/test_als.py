"""ALS: factors, scoring, fast top-k path, failure modes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

from recsys import columns as C
from recsys.data.dataset import InteractionDataset
from recsys.data.ids import IdMap
from recsys.errors import ConfigError, ModelFitError
from recsys.models import _implicit
from recsys.models.als import ALSRecommender
from tests.recsys.models.test_contract import assert_same_recs, assert_same_similar, random_dataset

FAST = {"factors": 6, "regularization": 0.5, "iterations": 8, "random_state": 1}


@pytest.fixture(scope="module")
def data() -> InteractionDataset:
    return random_dataset(seed=5, n_customers=60, n_items=40)


@pytest.fixture(scope="module")
def model(data: InteractionDataset) -> ALSRecommender:
    return ALSRecommender(**FAST).fit(data)


def test_factors_are_float32_with_the_right_shapes(model: ALSRecommender, data) -> None:
    assert model.user_factors_.shape == (data.n_customers, 6)
    assert model.item_factors_.shape == (data.n_items, 6)
    for f in (model.user_factors_, model.item_factors_):
        assert f.dtype == np.float32 and f.flags.c_contiguous and np.isfinite(f).all()


def test_scores_are_the_factor_dot_products(model: ALSRecommender, data) -> None:
    recs = model.recommend(["c0", "c7"], k=data.n_items, exclude_seen=False)
    for customer, g in recs.groupby(C.CUSTOMER_ID):
        u = model.user_factors_[data.customers.to_internal([customer])[0]]
        items = data.items.to_internal(g[C.ITEM_ID])
        np.testing.assert_allclose(g[C.SCORE], model.item_factors_[items] @ u, rtol=1e-5, atol=1e-6)
        assert len(g) == data.n_items


def test_similar_items_are_factor_cosines(model: ALSRecommender, data) -> None:
    sims = model.similar_items(["i0"], k=3)
    f = model.item_factors_
    i0 = data.items.to_internal(["i0"])[0]
    cos = f @ f[i0] / (np.linalg.norm(f, axis=1) * np.linalg.norm(f[i0]) + 1e-30)
    cos[i0] = -np.inf
    expected = np.argsort(-cos)[:3]
    assert sims[C.SIMILAR_ITEM_ID].tolist() == data.items.to_external(expected).tolist()
    np.testing.assert_allclose(sims[C.SCORE], cos[expected], rtol=1e-5)


def test_fit_is_the_same_on_any_number_of_threads(data) -> None:
    one = ALSRecommender(**FAST, num_threads=1).fit(data)
    two = ALSRecommender(**FAST, num_threads=2).fit(data)
    np.testing.assert_allclose(one.item_factors_, two.item_factors_, rtol=1e-5, atol=1e-6)


def test_fast_top_k_path_matches_the_generic_path(
    model: ALSRecommender, data, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = data.customers.external_ids
    calls = [
        {"k": 5},
        {"k": 5, "exclude_seen": False},
        {"k": 100},  # more than the catalog: lists are cut at the candidates left
        {"k": 4, "items": ["i1", "i2", "i3", "i4", "i5", "i30"]},
        {"k": 4, "items": ["i1", "i2"], "exclude_seen": False},
    ]
    generic = [model.recommend(customers, **kw) for kw in calls]
    assert model._recommend_batch(np.arange(3), 5, True, None) is None  # small catalog
    monkeypatch.setattr(_implicit, "FAST_TOPK_MIN_ITEMS", 0)
    assert model._recommend_batch(np.arange(3), 5, True, None) is not None
    for kw, expected in zip(calls, generic, strict=True):
        assert_same_recs(model.recommend(customers, **kw), expected)
    single = pd.concat([model.recommend([c], k=5) for c in customers[:10]], ignore_index=True)
    assert_same_recs(single, model.recommend(customers[:10], k=5))


def test_save_load_keeps_factors_exactly(model: ALSRecommender, tmp_path) -> None:
    from recsys.models import load_model

    loaded = load_model(model.save(tmp_path / "als"))
    np.testing.assert_array_equal(loaded.item_factors_, model.item_factors_)
    np.testing.assert_array_equal(loaded.user_factors_, model.user_factors_)
    assert_same_similar(model.similar_items(["i3"]), loaded.similar_items(["i3"]))


def test_non_finite_factors_raise_model_fit_error() -> None:
    matrix = sp.csr_matrix(np.array([[np.inf, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=np.float32))
    ds = InteractionDataset(
        IdMap(np.array(["a", "b", "c"], dtype=object)),
        IdMap(np.array(["x", "y", "z"], dtype=object)),
        matrix,
        pd.DataFrame(),
    )
    with pytest.raises(ModelFitError, match="non-finite.*alpha"):
        ALSRecommender(**FAST).fit(ds)


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_warns_about_a_threaded_blas_naming_the_variable(data) -> None:
    with threadpool_limits(limits=2, user_api="blas"):
        if max(_blas_threads(), default=1) < 2:
            pytest.skip("no BLAS thread pool to oversubscribe on this machine")
        with pytest.warns(RuntimeWarning, match="OPENBLAS_NUM_THREADS=1|MKL_NUM_THREADS=1"):
            ALSRecommender(**FAST).fit(data)


def test_no_warning_with_single_threaded_blas(data) -> None:
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("error")
        ALSRecommender(**FAST).fit(data)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("factors", 0),
        ("factors", 2.5),
        ("iterations", 0),
        ("regularization", -1.0),
        ("alpha", 0.0),
        ("alpha", float("nan")),
        ("random_state", "seed"),
        ("num_threads", -1),
    ],
)
def test_bad_parameters_are_config_errors_naming_them(param: str, value: object, data) -> None:
    with pytest.raises(ConfigError, match=rf"als: {param} =="):
        ALSRecommender(**{**FAST, param: value}).fit(data)


def test_an_item_nobody_touched_has_no_similar_items(model: ALSRecommender, data) -> None:
    never = data.items.to_internal(["never-sold"])[0]
    assert not model.item_factors_[never].any()
    assert model.similar_items(["never-sold"]).empty
    assert "never-sold" not in set(model.similar_items(["i0", "i1"], k=100)[C.SIMILAR_ITEM_ID])
