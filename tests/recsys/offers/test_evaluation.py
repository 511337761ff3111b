"""Policy value, Qini, uplift@k and AUC intervals on simulated data with known answers."""

import numpy as np
import pytest
from scipy.stats import norm

from recsys.errors import DataError
from recsys.offers.evaluation import (
    auc_interval,
    best_average_arm,
    policy_value,
    qini_coefficient,
    qini_curve,
    random_policy_value,
    uplift_at_k,
)


def test_policy_value_is_unbiased_on_a_randomised_experiment():
    """Unequal arm probabilities; the true value of the policy is known in closed form."""
    rng = np.random.default_rng(0)
    n, reps = 4000, 300
    probs = {"ctrl": 0.5, "A": 0.3, "B": 0.2}
    x = rng.random(n)
    mean = {"ctrl": 0.1 + 0 * x, "A": 0.1 + 0.4 * x, "B": 0.25 + 0 * x}
    policy = np.where(x > 0.6, "A", np.where(x > 0.3, "B", "ctrl"))
    truth = np.mean([mean[p][i] for i, p in enumerate(policy)])
    estimates, ses = [], []
    for _ in range(reps):
        arm = rng.choice(list(probs), n, p=list(probs.values()))
        mu = np.select([arm == k for k in mean], [mean[k] for k in mean])
        y = (rng.random(n) < mu).astype(float)
        est = policy_value(y, arm, policy, propensity=probs)
        estimates.append(est.value)
        ses.append(est.se)
    estimates = np.array(estimates)
    # the mean of 300 estimates is within 4 standard errors of the mean of the truth
    assert abs(estimates.mean() - truth) < 4 * estimates.std() / np.sqrt(reps)
    # and the reported standard error matches the spread across replications
    assert np.mean(ses) == pytest.approx(estimates.std(), rel=0.2)


def test_random_policy_and_best_arm():
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=float)
    a = np.array(["c", "c", "A", "A", "B", "B", "A", "c"])
    assert best_average_arm(y, a, "c") == ("A", pytest.approx(1 - 1 / 3))
    assert random_policy_value(y, a, "A", "c", 0.5) == pytest.approx(0.5 * 1 + 0.5 / 3)
    with pytest.raises(DataError):
        best_average_arm(y, a, "zzz")
    with pytest.raises(DataError, match="never occurs"):
        policy_value(y, a, np.array(["Z"] * 8))


def test_qini_and_uplift_at_k_know_a_perfect_ranking():
    rng = np.random.default_rng(1)
    n = 20000
    treated = rng.random(n) < 0.5
    responsive = np.arange(n) < n // 4  # a quarter respond only when treated
    y = (treated & responsive).astype(float)
    perfect = responsive.astype(float)
    curve = qini_curve(y, treated, perfect, n_points=4)
    assert curve["fraction"].tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert curve["qini"].iloc[1] == pytest.approx(treated[responsive].sum())
    assert curve["qini"].iloc[-1] == pytest.approx(treated[responsive].sum())
    assert uplift_at_k(y, treated, perfect, 0.25) == pytest.approx(1.0)
    assert uplift_at_k(y, treated, perfect, 1.0) == pytest.approx(0.25, abs=0.01)
    good = qini_coefficient(y, treated, perfect)
    # triangle: gap 0.75 * 0.25 at 25% depth -> area 0.5 * 0.1875 per treated customer... / 2
    assert good == pytest.approx(0.5 * 0.25 * 0.75, rel=0.05)
    assert abs(qini_coefficient(y, treated, rng.random(n))) < 0.01


def test_auc_interval_known_values_and_ties():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ranked right
    r = auc_interval([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], n_resamples=200)
    assert r.auc == pytest.approx(0.75)
    assert 0 <= r.low <= r.auc <= r.high <= 1
    assert (r.n_pos, r.n_neg, r.n_groups) == (2, 2, 1)
    # a tie counts one half; a perfect ranking has the degenerate interval [1, 1]
    assert auc_interval([0, 1], [0.5, 0.5], n_resamples=50).auc == pytest.approx(0.5)
    perfect = auc_interval([0, 0, 1, 1, 1], [1, 2, 3, 4, 5], n_resamples=100)
    assert (perfect.auc, perfect.low, perfect.high) == (1.0, 1.0, 1.0)


def test_auc_interval_pools_pairs_within_groups_only():
    # group a: its one positive outranks its one negative (AUC 1, 1 pair); group b: its one
    # positive is below both negatives (AUC 0, 2 pairs); group c has no negative (no pairs).
    labels = [1, 0, 1, 0, 0, 1]
    scores = [10, 9, 1, 2, 3, 5]
    groups = ["a", "a", "b", "b", "b", "c"]
    r = auc_interval(labels, scores, groups, n_resamples=100)
    assert r.auc == pytest.approx(1 / 3)
    assert (r.n_pos, r.n_neg, r.n_groups) == (2, 3, 2)
    # pooled across groups instead: positives 10, 1, 5 beat 3, 0 and 2 of negatives 9, 2, 3
    assert auc_interval(labels, scores, n_resamples=100).auc == pytest.approx(5 / 9)


def test_auc_interval_recovers_a_planted_separation_and_its_spread():
    """Normal scores shifted by d between classes: AUC = Phi(d / sqrt(2)) exactly."""
    d, n, reps = 0.8, 150, 60
    truth = norm.cdf(d / np.sqrt(2))
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], n)
    results = [
        auc_interval(y, rng.normal(size=2 * n) + d * y, n_resamples=400, seed=i)
        for i in range(reps)
    ]
    aucs = np.array([r.auc for r in results])
    assert aucs.mean() == pytest.approx(truth, abs=3 * aucs.std() / np.sqrt(reps))
    # the interval's width matches the spread of the AUC across independent samples
    widths = np.array([r.high - r.low for r in results])
    assert widths.mean() / (2 * 1.96) == pytest.approx(aucs.std(), rel=0.3)
    covered = np.mean([r.low <= truth <= r.high for r in results])
    assert covered >= 0.85


def test_auc_interval_rejects_bad_input():
    with pytest.raises(DataError, match="0 or 1"):
        auc_interval([0, 2], [0.1, 0.2])
    with pytest.raises(DataError, match="both positives and negatives"):
        auc_interval([1, 1, 0], [0.1, 0.2, 0.3], ["a", "a", "b"])
    with pytest.raises(DataError, match="same length"):
        auc_interval([0, 1], [0.1])
