"""Policy value, Qini and uplift@k on simulated randomised experiments with known answers."""

import numpy as np
import pytest

from recsys.errors import DataError
from recsys.offers.evaluation import (
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
