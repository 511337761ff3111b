"""BPR: bias column, reproducibility, similar items, fast top-k path."""

from __future__ import annotations

import numpy as np
import pytest

from recsys import columns as C
from recsys.data.dataset import InteractionDataset
from recsys.errors import ConfigError
from recsys.models import _implicit
from recsys.models.bpr import BPRRecommender
from tests.recsys.models.test_contract import assert_same_recs, checkerboard, random_dataset

FAST = {"factors": 6, "iterations": 30, "learning_rate": 0.05, "random_state": 2}


@pytest.fixture(scope="module")
def data() -> InteractionDataset:
    return random_dataset(seed=6, n_customers=60, n_items=40)


@pytest.fixture(scope="module")
def model(data: InteractionDataset) -> BPRRecommender:
    return BPRRecommender(**FAST).fit(data)


def test_factors_carry_an_item_bias_column(model: BPRRecommender, data) -> None:
    assert model.user_factors_.shape == (data.n_customers, 7)
    assert model.item_factors_.shape == (data.n_items, 7)
    assert model.user_factors_.dtype == np.float32 == model.item_factors_.dtype
    active = np.diff(data.matrix.indptr) > 0
    np.testing.assert_array_equal(model.user_factors_[active, -1], 1.0)


def test_scores_include_the_bias(model: BPRRecommender, data) -> None:
    recs = model.recommend(["c3"], k=data.n_items, exclude_seen=False)
    u = model.user_factors_[data.customers.to_internal(["c3"])[0]]
    items = data.items.to_internal(recs[C.ITEM_ID])
    np.testing.assert_allclose(recs[C.SCORE], model.item_factors_[items] @ u, rtol=1e-5, atol=1e-6)


def test_similar_items_ignore_the_bias_column(model: BPRRecommender, data) -> None:
    f = model.item_factors_[:, :-1]
    i = data.items.to_internal(["i2"])[0]
    cos = f @ f[i] / (np.linalg.norm(f, axis=1) * np.linalg.norm(f[i]) + 1e-30)
    cos[i] = -np.inf
    sims = model.similar_items(["i2"], k=4)
    assert sims[C.SIMILAR_ITEM_ID].tolist() == data.items.to_external(np.argsort(-cos)[:4]).tolist()


def test_default_threads_are_one_when_seeded_for_reproducibility(data) -> None:
    assert BPRRecommender(random_state=3)._threads() == 1
    assert BPRRecommender(random_state=None)._threads() == 0
    assert BPRRecommender(random_state=3, num_threads=2)._threads() == 2
    a = BPRRecommender(**FAST).fit(data).item_factors_
    b = BPRRecommender(**FAST).fit(data).item_factors_
    np.testing.assert_array_equal(a, b)
    c = BPRRecommender(**{**FAST, "random_state": 9}).fit(data).item_factors_
    assert not np.allclose(a, c)


def test_unseeded_fit_on_all_cores_still_learns_the_checkerboard() -> None:
    ds = checkerboard(20)
    model = BPRRecommender(factors=8, iterations=80, learning_rate=0.05, random_state=None)
    recs = model.fit(ds).recommend(ds.customers.external_ids, k=1)
    assert (recs[C.ITEM_ID].str[1:] == recs[C.CUSTOMER_ID].str[1:]).mean() >= 0.9


def test_fast_top_k_path_matches_the_generic_path(
    model: BPRRecommender, data, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = data.customers.external_ids
    calls = [{"k": 6}, {"k": 50, "exclude_seen": False}, {"k": 3, "items": ["i0", "i4", "i9"]}]
    generic = [model.recommend(customers, **kw) for kw in calls]
    monkeypatch.setattr(_implicit, "FAST_TOPK_MIN_ITEMS", 0)
    for kw, expected in zip(calls, generic, strict=True):
        assert_same_recs(model.recommend(customers, **kw), expected)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("factors", -3),
        ("iterations", 0),
        ("learning_rate", 0),
        ("regularization", -0.1),
        ("random_state", 1.5),
        ("num_threads", "all"),
    ],
)
def test_bad_parameters_are_config_errors_naming_them(param: str, value: object, data) -> None:
    with pytest.raises(ConfigError, match=rf"bpr: {param} =="):
        BPRRecommender(**{**FAST, param: value}).fit(data)
