"""EASE^R: the closed form, scoring, and the too-large-catalog guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys import columns as C
from recsys.data.dataset import InteractionDataset
from recsys.data.ids import IdMap
from recsys.errors import ConfigError
from recsys.models.ease import EASERecommender, _fill_lower_from_upper
from tests.recsys.models.test_contract import random_dataset


@pytest.fixture(scope="module")
def data() -> InteractionDataset:
    return random_dataset(seed=8, n_customers=50, n_items=35)


def _closed_form(x: np.ndarray, l2: float) -> np.ndarray:
    """Steck (2019), eq. 8, with numpy's general inverse."""
    p = np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))
    b = np.eye(x.shape[1]) - p / np.diag(p)
    return b


@pytest.mark.parametrize("binarize", [True, False])
def test_weights_equal_the_closed_form(data: InteractionDataset, binarize: bool) -> None:
    model = EASERecommender(l2=7.0, binarize=binarize).fit(data)
    x = data.matrix.toarray().astype(np.float64)
    if binarize:
        x = (x > 0).astype(np.float64)
    expected = _closed_form(x, 7.0)
    assert model.weights_.dtype == np.float32
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(np.diag(model.weights_), 0.0)


def test_binarize_changes_the_model_when_weights_differ(data: InteractionDataset) -> None:
    assert len(np.unique(data.matrix.data)) > 1
    a = EASERecommender(l2=7.0, binarize=True).fit(data).weights_
    b = EASERecommender(l2=7.0, binarize=False).fit(data).weights_
    assert not np.allclose(a, b)


def test_scores_and_similar_items_come_from_the_weights(data: InteractionDataset) -> None:
    model = EASERecommender(l2=7.0).fit(data)
    row = data.customers.to_internal(["c4"])[0]
    owned = (data.matrix[row].toarray()[0] > 0).astype(np.float32)
    expected = owned @ model.weights_
    recs = model.recommend(["c4"], k=data.n_items, exclude_seen=False)
    np.testing.assert_allclose(
        recs[C.SCORE], expected[data.items.to_internal(recs[C.ITEM_ID])], rtol=1e-5, atol=1e-6
    )
    assert recs[C.ITEM_ID].iloc[0] == data.items.to_external([np.argmax(expected)])[0]
    i = data.items.to_internal(["i1"])[0]
    sims = model.similar_items(["i1"], k=3)
    ranked = np.argsort(-np.where(np.arange(data.n_items) == i, -np.inf, model.weights_[i]))
    assert sims[C.SIMILAR_ITEM_ID].tolist() == data.items.to_external(ranked[:3]).tolist()


def test_fill_lower_from_upper_across_blocks() -> None:
    rng = np.random.default_rng(0)
    full = rng.normal(size=(2500, 2500))
    full = full + full.T
    upper = np.triu(full)
    _fill_lower_from_upper(upper)
    np.testing.assert_array_equal(upper, full)


def test_too_large_catalog_is_refused_before_allocating() -> None:
    n_items = 100_000  # dense matrices would need 80 GB each
    matrix = sp.csr_matrix((np.ones(2, np.float32), ([0, 1], [0, n_items - 1])), shape=(2, n_items))
    ds = InteractionDataset(
        IdMap(np.array(["a", "b"], dtype=object)),
        IdMap(np.array([f"i{i}" for i in range(n_items)], dtype=object)),
        matrix,
        pd.DataFrame(),
    )
    with pytest.raises(ConfigError) as err:
        EASERecommender().fit(ds)
    message = str(err.value)
    assert "100,000 items" in message and "max_items=8,000" in message
    assert "80.0 GB" in message
    assert "'als'" in message and "'itemknn'" in message and "Restrict the catalog" in message


def test_max_items_is_the_limit(data: InteractionDataset) -> None:
    EASERecommender(max_items=data.n_items).fit(data)
    with pytest.raises(ConfigError, match="max_items="):
        EASERecommender(max_items=data.n_items - 1).fit(data)


@pytest.mark.parametrize(
    ("param", "value"),
    [("l2", 0.0), ("l2", -5), ("max_items", 0), ("binarize", "yes")],
)
def test_bad_parameters_are_config_errors(param: str, value: object, data) -> None:
    with pytest.raises(ConfigError, match=rf"ease: {param} =="):
        EASERecommender(**{param: value}).fit(data)
