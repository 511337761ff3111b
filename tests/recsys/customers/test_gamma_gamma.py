"""Gamma-Gamma: likelihood, recovery, the independence check, and CLV on top of it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from recsys.customers.bgnbd import BetaGeoModel
from recsys.customers.clv import discounted_orders, predicted_clv
from recsys.customers.gamma_gamma import (
    PARAMS,
    GammaGammaModel,
    independence_check,
    log_likelihood,
)
from recsys.customers.simulate import simulate_bgnbd, simulate_gamma_gamma
from recsys.errors import ModelFitError

TRUE = {"p": 6.0, "q": 4.0, "v": 15.0}
BG = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


def test_likelihood_integrates_the_published_mixture() -> None:
    # The marginal density of the mean of x Gamma(p, nu) draws with nu ~ Gamma(q, v),
    # integrated numerically, equals the closed form.
    p, q, v = 2.0, 3.0, 10.0
    for x, m in ((1, 4.0), (3, 7.5), (6, 2.0)):

        def integrand(nu: float, x: int = x, m: float = m) -> float:
            return stats.gamma.pdf(m, a=p * x, scale=1 / (x * nu)) * stats.gamma.pdf(
                nu, a=q, scale=1 / v
            )

        ref = np.log(__import__("scipy").integrate.quad(integrand, 0, np.inf)[0])
        ours = log_likelihood(np.array([p, q, v]), np.array([float(x)]), np.array([m]))[0]
        assert ours == pytest.approx(ref, rel=1e-6)


def _recovery(n: int, seed: int, tol: float, n_se: float = 2.0) -> None:
    d = simulate_bgnbd(n, 52.0, **BG, seed=seed)
    m = simulate_gamma_gamma(d["frequency"].to_numpy(), **TRUE, seed=seed + 1)
    gg = GammaGammaModel().fit(d["frequency"], m)
    assert gg.converged_
    for k, v in TRUE.items():
        assert abs(gg.params_[k] - v) <= n_se * gg.se_[k], (k, gg.params_[k], gg.se_[k])
        assert abs(gg.params_[k] - v) <= tol * v, (k, gg.params_[k])


def test_recovery_small() -> None:
    # A quarter of the acceptance sample, with looser bounds (3 se, 20%): this runs in
    # `make test`; the 2-se/10% acceptance at 50k is the slow test below.
    _recovery(12_000, 100, tol=0.2, n_se=3.0)


@pytest.mark.slow
def test_recovery_acceptance() -> None:
    _recovery(50_000, 2026, tol=0.1)


def test_expected_spend_shrinks_towards_population_mean() -> None:
    gg = GammaGammaModel()
    gg.params_, gg.se_ = dict(TRUE), {k: 0.0 for k in PARAMS}
    gg.converged_, gg.log_likelihood_, gg.n_customers_, gg.population_mean_ = True, 0.0, 1, 30.0
    pop = 6 * 15 / 3
    e = gg.expected_spend([0, 1, 50], [0.0, 100.0, 100.0])
    assert e[0] == pytest.approx(pop)
    assert pop < e[1] < e[2] < 100.0  # more orders, less shrinkage


def test_independence_check_flags_planted_correlation() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, 2000)
    ok = independence_check(x, rng.gamma(5, 5, 2000))
    assert ok["passed"] and abs(ok["corr"]) < 0.1
    bad = independence_check(x, 5.0 * x + rng.normal(0, 2, 2000))
    assert not bad["passed"] and bad["corr"] > 0.9


def test_too_few_repeat_customers() -> None:
    with pytest.raises(ModelFitError, match="at least 10"):
        GammaGammaModel().fit([0, 1, 2], [0, 5, 6])


def test_clv_discounting() -> None:
    bg = BetaGeoModel.from_dict({**BG, "se": {}})
    x, tx, T = np.array([0.0, 2.0, 10.0]), np.array([0.0, 20.0, 50.0]), np.full(3, 52.0)
    undiscounted = discounted_orders(bg, x, tx, T, horizon_days=364, discount_rate=0.0)
    # With no discount the steps telescope to E[Y(horizon)].
    np.testing.assert_allclose(undiscounted, bg.expected_orders(52.0, x, tx, T), rtol=1e-9)
    disc = discounted_orders(bg, x, tx, T, horizon_days=364, discount_rate=0.10)
    assert np.all(disc < undiscounted) and np.all(disc > undiscounted / 1.1)
    clv = predicted_clv(bg, x, tx, T, np.array([10.0, 20.0, np.nan]), horizon_days=364)
    assert np.all(np.isfinite(clv)) and clv[2] == 0 and clv[1] > clv[0]


def test_against_lifetimes() -> None:
    lifetimes = pytest.importorskip("lifetimes")
    d = simulate_bgnbd(8000, 52.0, **BG, seed=4)
    m = simulate_gamma_gamma(d["frequency"].to_numpy(), **TRUE, seed=5)
    rep = d["frequency"].to_numpy() > 0
    ours = GammaGammaModel().fit(d["frequency"], m)
    theirs = lifetimes.GammaGammaFitter().fit(d["frequency"][rep], m[rep])
    for k in PARAMS:
        assert ours.params_[k] == pytest.approx(float(theirs.params_[k]), rel=0.01)


@pytest.mark.parametrize("kind", ["bgnbd", "gamma_gamma"])
def test_estimator_contract(kind: str) -> None:
    """Nothing learned in __init__, fit returns self, refit is idempotent, JSON-safe record."""
    import json

    d = simulate_bgnbd(3000, 40.0, **BG, seed=9)
    m = simulate_gamma_gamma(d["frequency"].to_numpy(), **TRUE, seed=10)
    if kind == "bgnbd":
        model, args = BetaGeoModel(l2_penalty=0.0), (d["frequency"], d["t_x"], d["T"])
    else:
        model, args = GammaGammaModel(l2_penalty=0.0), (d["frequency"], m)
    assert not any(k.endswith("_") for k in vars(model))
    assert model.fit(*args) is model
    first = dict(model.params_)
    model.fit(*args)
    assert model.params_ == first
    record = json.loads(json.dumps(model.to_dict(), allow_nan=False))
    assert all(record[k] == pytest.approx(v) for k, v in first.items())
