"""The include_purchased re-ranker: its JSON trees score like scikit-learn's, and a blend
that carries one serves the re-ordered list, the same after a JSON and a file round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from recsys import columns as C
from recsys.data.dataset import build_dataset
from recsys.errors import ConfigError
from recsys.models import load_model, make_model, rerank
from recsys.models.base import topk
from recsys.models.blend import minmax_rows


@pytest.fixture(scope="module")
def dataset():
    rng = np.random.default_rng(0)
    n = 3000
    ev = pd.DataFrame(
        {
            C.CUSTOMER_ID: rng.integers(0, 60, n).astype(str),
            C.ITEM_ID: rng.integers(0, 80, n).astype(str),
            C.EVENT_TYPE: np.where(rng.random(n) < 0.6, C.PURCHASE, C.VIEW),
            C.TIMESTAMP: pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, n), "D"),
        }
    )
    return build_dataset(ev)


def test_json_trees_score_like_scikit_learn():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 4)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] + 0.3 * rng.normal(size=500) > 0).astype(int)
    model = GradientBoostingClassifier(n_estimators=20, max_depth=rerank.MAX_DEPTH).fit(x, y)
    params = json.loads(json.dumps(rerank.to_json(model, ["a", "b", "c", "d"])))
    got = rerank.predict(params, x)
    expected = model.decision_function(x)
    # the same up to the prior's constant log-odds
    np.testing.assert_allclose(got - got[0], expected - expected[0], atol=1e-9)


def test_fit_refuses_a_single_class():
    with pytest.raises(ConfigError, match="single class"):
        rerank.fit(np.zeros((10, 2), np.float32), np.zeros(10, int), ["a", "b"])


def _reranker(dataset, label: str = "since_last") -> dict:
    """A re-ranker fitted on made-up labels: whatever was bought recently is relevant (or,
    with ``label="in_season"``, items with more than the median in-season buyers)."""
    blend = make_model("blend", components=COMPONENTS).fit(dataset)
    rows = np.arange(dataset.n_customers)
    idx, _ = topk(blend._blended(rows, False, None), rerank.DEPTH)
    names = rerank.feature_names(["repeat", "popular"])
    normalised = {
        m.name: np.take_along_axis(minmax_rows(m._score(rows)), idx, axis=1) for m in blend.models_
    }
    x = rerank.features(names, blend.models_[0], normalised, rows, idx)
    if label == "in_season":
        season = x[:, names.index("log_item_recent_buyers")]
        return rerank.fit(x, (season > np.median(season)).astype(int), names)
    since = x[:, names.index("since_last")]
    return rerank.fit(x, (since < 20).astype(int), names)


COMPONENTS = [
    {"model": "repeat", "weight": 0.0, "weight_all": 1.0},
    {"model": "popular", "weight": 1.0, "weight_all": 0.5},
]


def test_blend_serves_the_reordered_list_and_keeps_it_through_round_trips(dataset, tmp_path):
    params = json.loads(json.dumps(_reranker(dataset)))
    plain = make_model("blend", components=COMPONENTS).fit(dataset)
    learnt = make_model("blend", components=COMPONENTS, rerank_all=params).fit(dataset)
    customers = dataset.customers.to_external(np.arange(dataset.n_customers))
    mine = learnt.recommend(customers, k=10, exclude_seen=False)
    base = plain.recommend(customers, k=10, exclude_seen=False)
    assert not mine[C.ITEM_ID].equals(base[C.ITEM_ID])  # the trees re-ordered something
    # the re-ranker only re-orders the linear blend's top DEPTH
    top = plain.recommend(customers, k=rerank.DEPTH, exclude_seen=False)
    pairs = set(zip(top[C.CUSTOMER_ID], top[C.ITEM_ID], strict=True))
    assert set(zip(mine[C.CUSTOMER_ID], mine[C.ITEM_ID], strict=True)) <= pairs
    # recently bought items lead: the planted label
    rep = learnt.models_[0]
    first = mine[mine[C.RANK] == 1]
    ages = rep.last_age_[
        dataset.customers.to_internal(first[C.CUSTOMER_ID]),
        dataset.items.to_internal(first[C.ITEM_ID]),
    ]
    assert np.mean((np.asarray(ages).ravel() > 0) & (np.asarray(ages).ravel() <= 20)) > 0.8
    # the default answer is untouched
    pd.testing.assert_frame_equal(
        learnt.recommend(customers, k=10), plain.recommend(customers, k=10)
    )
    # dense scores rank like the served list
    rows = dataset.customers.to_internal(customers[:5])
    idx, _ = topk(learnt._score(rows), 10)
    served = learnt.recommend(customers[:5], k=10, exclude_seen=False)
    np.testing.assert_array_equal(
        dataset.items.to_external(idx.ravel()), served[C.ITEM_ID].to_numpy()
    )
    again = load_model(learnt.save(tmp_path / "blend.npz"))
    pd.testing.assert_frame_equal(again.recommend(customers, k=10, exclude_seen=False), mine)


def test_a_blend_without_buy_again_ignores_the_reranker(dataset):
    params = _reranker(dataset)
    blend = make_model(
        "blend", components=[{"model": "popular", "weight": 1.0}], rerank_all=params
    ).fit(dataset)
    assert any("re-ranker" in s for s in blend.skipped_)
    assert len(blend.recommend(["1"], k=5, exclude_seen=False)) == 5


def test_malformed_reranker_is_a_config_error(dataset):
    with pytest.raises(ConfigError, match="rerank_all"):
        make_model("blend", components=COMPONENTS, rerank_all={"trees": []}).fit(dataset)


def test_a_default_answer_reranker_reorders_only_what_may_be_served(dataset, tmp_path):
    """``rerank_new`` re-orders the default answer's top items: bought items stay out, the
    include_purchased answer is untouched, and the file round trip keeps it."""
    params = json.loads(json.dumps(_reranker(dataset, "in_season")))
    plain = make_model("blend", components=COMPONENTS).fit(dataset)
    learnt = make_model("blend", components=COMPONENTS, rerank_new=params).fit(dataset)
    customers = dataset.customers.to_external(np.arange(dataset.n_customers))
    mine = learnt.recommend(customers, k=10)
    base = plain.recommend(customers, k=10)
    assert not mine[C.ITEM_ID].equals(base[C.ITEM_ID])  # the trees re-ordered something
    top = plain.recommend(customers, k=rerank.DEPTH)
    pairs = set(zip(top[C.CUSTOMER_ID], top[C.ITEM_ID], strict=True))
    assert set(zip(mine[C.CUSTOMER_ID], mine[C.ITEM_ID], strict=True)) <= pairs
    bought = learnt.models_[0].last_age_
    rows = dataset.customers.to_internal(mine[C.CUSTOMER_ID])
    cols = dataset.items.to_internal(mine[C.ITEM_ID])
    assert not np.asarray(bought[rows, cols]).any()  # nothing the customer bought
    pd.testing.assert_frame_equal(
        learnt.recommend(customers, k=10, exclude_seen=False),
        plain.recommend(customers, k=10, exclude_seen=False),
    )
    again = load_model(learnt.save(tmp_path / "blend.npz"))
    pd.testing.assert_frame_equal(again.recommend(customers, k=10), mine)


def test_malformed_default_answer_reranker_is_named(dataset):
    with pytest.raises(ConfigError, match="rerank_new must be"):
        make_model("blend", components=COMPONENTS, rerank_new={"features": []}).fit(dataset)
