import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys.data.ids import IdMap
from recsys.errors import ConfigError, DataError
from recsys.evaluation.bootstrap import paired_ratio_bootstrap, per_customer_metric
from recsys.evaluation.protocols import GroundTruth, score_recommendations


def _ndcg_like(n, seed=0):
    """Per-customer values shaped like NDCG@10: many zeros, the rest spread over (0, 1]."""
    rng = np.random.default_rng(seed)
    values = rng.beta(1.0, 2.0, n)
    values[rng.random(n) < 0.6] = 0.0
    return values


def test_identical_models_give_ratio_one_with_a_zero_width_interval():
    b = _ndcg_like(3000)
    out = paired_ratio_bootstrap(b.copy(), b)
    assert out.ratio == pytest.approx(1.0)
    assert out.low == pytest.approx(1.0)
    assert out.high == pytest.approx(1.0)
    assert out.n == 3000
    assert str(out) == "1.000 [1.000, 1.000]"


def test_a_planted_ten_percent_better_model_is_recovered_with_the_delta_method_width():
    rng = np.random.default_rng(1)
    n = 4000
    b = _ndcg_like(n, seed=2)
    # 10% better on average per customer, plus per-customer noise of mean zero.
    a = 1.1 * b + rng.normal(0.0, 0.05, n) * (b > 0)
    out = paired_ratio_bootstrap(a, b, n_resamples=1000, seed=0)
    assert out.low < 1.1 < out.high
    assert 1.05 < out.low and out.high < 1.15
    # Width matches the delta method's standard error of a ratio of paired means:
    # var(R) ~= var(a - R b) / (n mean(b)^2).
    ratio = a.mean() / b.mean()
    se = np.std(a - ratio * b, ddof=1) / (np.sqrt(n) * b.mean())
    assert out.high - out.low == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_pairing_makes_the_interval_much_narrower_than_unpaired_resampling():
    b = _ndcg_like(2000, seed=3)
    a = 0.9 * b  # perfectly correlated: every resample gives exactly 0.9
    out = paired_ratio_bootstrap(a, b)
    assert out.ratio == pytest.approx(0.9)
    assert out.high - out.low == pytest.approx(0.0, abs=1e-9)


def test_a_fixed_seed_gives_the_same_interval_and_another_seed_a_close_one():
    rng = np.random.default_rng(4)
    b = _ndcg_like(1500, seed=5)
    a = np.clip(b + rng.normal(0.02, 0.1, len(b)), 0.0, 1.0)
    first = paired_ratio_bootstrap(a, b, seed=7)
    assert paired_ratio_bootstrap(a, b, seed=7) == first
    other = paired_ratio_bootstrap(a, b, seed=8)
    assert other.ratio == first.ratio
    assert other.low == pytest.approx(first.low, abs=0.02)
    assert (other.low, other.high) != (first.low, first.high)


def test_customers_without_a_value_are_left_out_of_both_models():
    a = np.array([1.0, np.nan, 0.5, 0.0, 1.0])
    b = np.array([0.5, np.nan, 0.5, 0.5, 0.5])
    out = paired_ratio_bootstrap(a, b)
    assert out.n == 4
    assert out.ratio == pytest.approx(2.5 / 2.0)


def test_bad_inputs_are_refused():
    with pytest.raises(DataError, match="one model only"):
        paired_ratio_bootstrap(np.array([1.0, np.nan, 0.5]), np.array([1.0, 0.2, 0.5]))
    with pytest.raises(DataError, match="one length"):
        paired_ratio_bootstrap(np.ones(3), np.ones(4))
    with pytest.raises(DataError, match="at least 2"):
        paired_ratio_bootstrap(np.ones(1), np.ones(1))
    with pytest.raises(ConfigError, match="n_resamples"):
        paired_ratio_bootstrap(np.ones(3), np.ones(3), n_resamples=0)
    with pytest.raises(ConfigError, match="confidence"):
        paired_ratio_bootstrap(np.ones(3), np.ones(3), confidence=1.0)


def test_a_reference_that_scores_nothing_has_no_ratio():
    out = paired_ratio_bootstrap(np.array([0.5, 0.0, 1.0]), np.zeros(3))
    assert np.isnan(out.ratio) and np.isnan(out.low) and np.isnan(out.high)
    assert str(out) == "n/a"


def _truth():
    items = IdMap.from_values(["i0", "i1", "i2", "i3", "i4"])
    # c0 bought i1 and i3; c1 bought i0; c2 bought i4.
    relevance = sp.csr_matrix(
        (np.ones(4, dtype=np.float32), ([0, 0, 1, 2], [1, 3, 0, 4])), shape=(3, 5)
    )
    return GroundTruth("new_items", np.array(["c0", "c1", "c2"]), relevance, items, 0)


def test_per_customer_ndcg_of_served_lists_has_known_values_and_the_table_mean():
    truth = _truth()
    recs = pd.DataFrame(
        {
            "customer_id": ["c0", "c0", "c1", "c1", "c9"],
            "rank": [1, 2, 1, 2, 1],
            "item_id": ["i1", "i2", "i2", "i0", "i0"],
        }
    )
    values = per_customer_metric(recs, truth, k=2)
    ideal_two = 1.0 + 1.0 / np.log2(3)
    # c0: hit at rank 1 of 2 relevant; c1: hit at rank 2 of 1 relevant; c2: no list at all.
    np.testing.assert_allclose(values, [1.0 / ideal_two, 1.0 / np.log2(3), 0.0])
    assert values.mean() == pytest.approx(score_recommendations(recs, truth, 2)["ndcg"])
    hits = per_customer_metric(recs, truth, k=2, metric="hit_rate")
    np.testing.assert_allclose(hits, [1.0, 1.0, 0.0])
    with pytest.raises(ConfigError, match="per customer"):
        per_customer_metric(recs, truth, k=2, metric="coverage")
