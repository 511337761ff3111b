"""BG/NBD: likelihood against the published formula, parameter recovery, predictions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import beta, gamma

from recsys.customers.bgnbd import PARAMS, BetaGeoModel, log_likelihood
from recsys.customers.simulate import simulate_bgnbd
from recsys.errors import ConfigError, NotFittedError

TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
TOL = {"r": 0.10, "alpha": 0.10, "a": 0.20, "b": 0.20}


def _published_likelihood(p: dict[str, float], x: int, t_x: float, T: float) -> float:
    """Eq. 6 of Fader, Hardie & Lee (2005), evaluated directly (no logs)."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    common = gamma(r + x) * alpha**r / gamma(r)
    out = beta(a, b + x) / beta(a, b) * common / (alpha + T) ** (r + x)
    if x > 0:
        out += beta(a + 1, b + x - 1) / beta(a, b) * common / (alpha + t_x) ** (r + x)
    return out


def test_log_likelihood_matches_published_formula() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 12, 200).astype(float)
    T = rng.uniform(5, 60, 200)
    t_x = np.where(x > 0, rng.uniform(0, 1, 200) * T, 0.0)
    for p in (TRUE, {"r": 1.3, "alpha": 0.7, "a": 2.0, "b": 0.9}):
        ours = log_likelihood(np.array([p[k] for k in PARAMS]), x, t_x, T)
        ref = np.log(
            [
                _published_likelihood(p, int(xi), ti, Ti)
                for xi, ti, Ti in zip(x, t_x, T, strict=True)
            ]
        )
        np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_log_likelihood_stays_finite_for_heavy_buyers() -> None:
    x = np.array([500.0, 2000.0])
    ll = log_likelihood(
        np.array([0.25, 4.0, 0.8, 2.5]), x, np.array([50.0, 51.0]), np.full(2, 52.0)
    )
    assert np.all(np.isfinite(ll))


def _check_recovery(fit: dict[str, float], se: dict[str, float], true: dict, tol: dict) -> None:
    for k, v in true.items():
        assert abs(fit[k] - v) <= 2 * se[k], f"{k}: {fit[k]:.4f} vs {v} (se {se[k]:.4f})"
        assert abs(fit[k] - v) <= tol[k] * v, f"{k}: {fit[k]:.4f} vs {v}"


def test_parameter_recovery_small() -> None:
    d = simulate_bgnbd(12_000, 52.0, **TRUE, seed=11)
    m = BetaGeoModel().fit(d["frequency"], d["t_x"], d["T"])
    assert m.converged_
    # A quarter of the acceptance sample: tolerances doubled (se grows by ~2x).
    _check_recovery(m.params_, m.se_, TRUE, {k: 2 * v for k, v in TOL.items()})


@pytest.mark.slow
def test_parameter_recovery_acceptance() -> None:
    d = simulate_bgnbd(50_000, 52.0, **TRUE, seed=2026)
    m = BetaGeoModel().fit(d["frequency"], d["t_x"], d["T"])
    assert m.converged_
    _check_recovery(m.params_, m.se_, TRUE, TOL)


def test_predictions_match_simulated_future() -> None:
    d = simulate_bgnbd(20_000, 40.0, **TRUE, holdout=26.0, seed=5)
    m = BetaGeoModel().fit(d["frequency"], d["t_x"], d["T"])
    pred = m.expected_orders(26.0, d["frequency"], d["t_x"], d["T"])
    assert pred.sum() == pytest.approx(d["holdout_orders"].sum(), rel=0.06)
    # P(alive) is calibrated: mean predicted equals the share truly alive, and ranks them.
    pa = m.p_alive(d["frequency"], d["t_x"], d["T"])
    assert pa.mean() == pytest.approx(d["alive"].mean(), abs=0.02)
    rep = d["frequency"].to_numpy() > 0
    dead_pa = pa[rep & ~d["alive"].to_numpy()].mean()
    alive_pa = pa[rep & d["alive"].to_numpy()].mean()
    assert alive_pa > dead_pa + 0.2
    assert np.all(pa[~rep] == 1.0)
    # New customers: E[X(t)] matches the simulated average count at T.
    assert m.expected_orders_new(40.0) == pytest.approx(d["frequency"].mean(), rel=0.06)


def test_median_wait_is_the_posterior_median() -> None:
    m = BetaGeoModel.from_dict({**TRUE, "se": {}})
    x, T = np.array([3.0]), np.array([20.0])
    w = m.median_wait(x, T)[0]
    # P(no purchase in w | alive) = ((alpha+T)/(alpha+T+w))^(r+x) = 1/2
    assert ((4 + 20) / (4 + 20 + w)) ** (0.25 + 3) == pytest.approx(0.5)


def test_errors_and_roundtrip() -> None:
    with pytest.raises(NotFittedError):
        BetaGeoModel().p_alive([1], [1], [2])
    with pytest.raises(ConfigError, match="t_x"):
        BetaGeoModel().fit([1], [5.0], [2.0])
    d = simulate_bgnbd(3000, 30.0, **TRUE, seed=1)
    m = BetaGeoModel(l2_penalty=0.001).fit(d["frequency"], d["t_x"], d["T"])
    again = BetaGeoModel.from_dict(m.to_dict())
    np.testing.assert_allclose(
        again.p_alive(d["frequency"], d["t_x"], d["T"]), m.p_alive(d["frequency"], d["t_x"], d["T"])
    )
    # The L2 penalty shrinks the parameters' squared norm.
    plain = BetaGeoModel().fit(d["frequency"], d["t_x"], d["T"])
    heavy = BetaGeoModel(l2_penalty=0.1).fit(d["frequency"], d["t_x"], d["T"])
    assert sum(v**2 for v in heavy.params_.values()) < sum(v**2 for v in plain.params_.values())


def test_against_lifetimes() -> None:
    lifetimes = pytest.importorskip("lifetimes")
    d = simulate_bgnbd(8000, 52.0, **TRUE, seed=8)
    ours = BetaGeoModel().fit(d["frequency"], d["t_x"], d["T"])
    theirs = lifetimes.BetaGeoFitter().fit(d["frequency"], d["t_x"], d["T"])
    for k in PARAMS:
        assert ours.params_[k] == pytest.approx(float(theirs.params_[k]), rel=0.01)
    np.testing.assert_allclose(
        ours.p_alive(d["frequency"], d["t_x"], d["T"]),
        theirs.conditional_probability_alive(d["frequency"], d["t_x"], d["T"]),
        rtol=0.01,
        atol=1e-3,
    )
    np.testing.assert_allclose(
        ours.expected_orders(13.0, d["frequency"], d["t_x"], d["T"]),
        theirs.conditional_expected_number_of_purchases_up_to_time(
            13.0, d["frequency"], d["t_x"], d["T"]
        ),
        rtol=0.01,
        atol=1e-3,
    )


def test_analytic_gradient_matches_finite_differences() -> None:
    from scipy.optimize import approx_fprime

    from recsys.customers import gamma_gamma as gg
    from recsys.customers.bgnbd import log_likelihood_grad

    d = simulate_bgnbd(500, 30.0, **TRUE, seed=4)
    x, tx, T = (d[c].to_numpy(float) for c in ("frequency", "t_x", "T"))
    w = np.ones(len(x))
    theta = np.array([0.4, 3.0, 1.2, 2.0])
    ll, grad = log_likelihood_grad(theta, x, tx, T, w)
    assert ll == pytest.approx(log_likelihood(theta, x, tx, T).sum())
    num = approx_fprime(theta, lambda p: log_likelihood(p, x, tx, T).sum(), 1e-7)
    np.testing.assert_allclose(grad, num, rtol=1e-4)
    rep = x > 0
    m = np.random.default_rng(0).gamma(5, 6, rep.sum())
    pqv = np.array([3.0, 2.5, 20.0])
    _, g2 = gg.log_likelihood_grad(pqv, x[rep], m)
    num2 = approx_fprime(pqv, lambda p: gg.log_likelihood(p, x[rep], m).sum(), 1e-7)
    np.testing.assert_allclose(g2, num2, rtol=1e-4)
