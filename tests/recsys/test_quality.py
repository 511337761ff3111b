"""Quality on planted data: the generated shop's structure decides who must win.

These assert outcomes, not "it returned something": a personalised model that stops learning
taste, or a repeat ranker that stops ranking re-buys, fails here.
"""

import pytest

from recsys import columns as C
from recsys.evaluation import evaluate, temporal_split
from recsys.evaluation.split import TemporalSplit
from recsys.models import MODELS, make_model

FAST = {"bpr": {"iterations": 60}}
BASELINES = {"popular", "trending"}


def _models(names):
    return {n: make_model(n, **FAST.get(n, {})) for n in names}


@pytest.fixture(scope="module")
def split(small_shop):
    return temporal_split(small_shop.events, test_days=30)


@pytest.fixture(scope="module")
def table(split):
    res = evaluate(_models(sorted(MODELS)), split, k=10)
    return res.table.set_index(["model", "protocol"])["ndcg"]


@pytest.mark.parametrize("name", sorted(set(MODELS) - BASELINES - {"repeat"}))
def test_personalised_models_beat_popularity_on_new_items(table, name):
    popular = table[("popular", "new_items")]
    assert table[(name, "new_items")] >= 3.0 * popular, (name, table[(name, "new_items")], popular)


def test_repeat_ranker_wins_all_purchases_for_repeat_habit_customers(small_shop, split):
    habit = small_shop.truth.index[small_shop.truth["repeat_habit"]].astype(str)
    test = split.test[split.test[C.CUSTOMER_ID].isin(habit)]
    singles = sorted(set(MODELS) - {"blend"})
    res = evaluate(
        _models(singles),
        TemporalSplit(split.train, test, split.cutoff),
        k=10,
        protocols=("all_purchases",),
    )
    ndcg = res.table.set_index("model")["ndcg"]
    # The two history rankers (own purchases; own recent engagement) beat every other model.
    best_other = ndcg.drop(["repeat", "recent"]).max()
    assert ndcg["repeat"] >= 1.1 * best_other, ndcg.to_dict()
    assert ndcg["recent"] >= 1.1 * best_other, ndcg.to_dict()


def test_repeat_ranker_is_no_help_for_discovery(table):
    # With seen items excluded it degrades to popularity by design (documented).
    assert table[("repeat", "new_items")] == pytest.approx(table[("popular", "new_items")])


def test_default_blend_is_best_on_all_purchases_and_far_above_popularity(table):
    all_p = table.xs("all_purchases", level="protocol")
    assert all_p.idxmax() == "blend", all_p.to_dict()
    # new_items counts purchases of items only viewed before (seen is not bought): 4x, not 5x
    assert table[("blend", "new_items")] >= 4.0 * table[("popular", "new_items")]
