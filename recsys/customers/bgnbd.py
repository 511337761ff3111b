"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2)).

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha) (shape r, rate alpha,
per time unit); after each purchase she drops out with probability p ~ Beta(a, b). The data per
customer is (x, t_x, T): repeat purchases, age at the last one, age now (time units since the
first purchase). The log-likelihood (their eq. 6) is evaluated in log space with
``scipy.special.gammaln``/``betaln`` and ``numpy.logaddexp`` so it stays finite for large x.
Identical (x, t_x, T) rows are collapsed with weights before fitting.

Predictions (same paper): P(alive | x, t_x, T) (eq. 11), expected purchases in the next t
units (eq. 10, Gauss hypergeometric ``scipy.special.hyp2f1``), and the median wait to the next
purchase given alive (posterior lambda ~ Gamma(r + x, alpha + T)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, hyp2f1

from recsys.customers._mle import fit_mle
from recsys.errors import ConfigError, ModelFitError, NotFittedError

PARAMS = ("r", "alpha", "a", "b")


def _arrays(*cols: Any) -> list[np.ndarray]:
    out = [np.asarray(c, dtype=np.float64) for c in cols]
    n = len(out[0])
    for c in out:
        if c.shape != (n,):
            raise ConfigError("frequency, t_x and T must be 1-d arrays of the same length")
    return out


def check_rfm_inputs(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    """Raise :class:`ConfigError` unless 0 <= t_x <= T, x >= 0 integer, t_x = 0 when x = 0."""
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(T))):
        raise ConfigError("BG/NBD inputs contain NaN or infinite values")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ConfigError("frequency must be non-negative integers")
    if np.any(t_x < 0) or np.any(t_x > T + 1e-9):
        raise ConfigError("t_x must satisfy 0 <= t_x <= T")
    if np.any(T <= 0):
        raise ConfigError("T must be > 0 (customers first seen at the as-of date have no age)")


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood for natural ``params`` (r, alpha, a, b)."""
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    rep = x > 0
    a4 = np.full(len(x), -np.inf)
    xr = x[rep]
    a4[rep] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + t_x[rep])
    return a1 + a2 + np.logaddexp(a3, a4)


def log_likelihood_grad(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """Weighted total log-likelihood and its gradient in (r, alpha, a, b) (natural scale).

    With L = logaddexp(A3, A4) and softmax weights w3 = exp(A3 - L), w4 = exp(A4 - L):
    d/dr = psi(r+x) - psi(r) + ln alpha - w3 ln(alpha+T) - w4 ln(alpha+t_x);
    d/dalpha = r/alpha - (r+x) (w3/(alpha+T) + w4/(alpha+t_x));
    d/da = psi(a+b) - psi(a+b+x) + w4/a;
    d/db = psi(b+x) - psi(b) + psi(a+b) - psi(a+b+x) - w4/(b+x-1).
    """
    r, alpha, a, b = params
    rep = x > 0
    lat, lax = np.log(alpha + T), np.log(alpha + t_x)
    a3 = -(r + x) * lat
    a4 = np.full(len(x), -np.inf)
    a4[rep] = np.log(a) - np.log(b + x[rep] - 1) - (r + x[rep]) * lax[rep]
    top = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - top), np.exp(a4 - top)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b) + top
    inv_bx = np.zeros(len(x))
    inv_bx[rep] = 1.0 / (b + x[rep] - 1)
    dab = digamma(a + b) - digamma(a + b + x)
    grads = np.stack(
        [
            digamma(r + x) - digamma(r) + np.log(alpha) - w3 * lat - w4 * lax,
            r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x)),
            dab + w4 / a,
            digamma(b + x) - digamma(b) + dab - w4 * inv_bx,
        ]
    )
    return float(np.dot(w, ll)), grads @ w


def _collapse(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, ...]:
    frame = pd.DataFrame({"x": x, "t": np.round(t_x, 6), "T": np.round(T, 6)})
    g = frame.groupby(["x", "t", "T"], sort=False).size().reset_index(name="w")
    return (
        g["x"].to_numpy(float),
        g["t"].to_numpy(float),
        g["T"].to_numpy(float),
        g["w"].to_numpy(float),
    )


class BetaGeoModel:
    """BG/NBD by maximum likelihood.

    Parameters
    ----------
    l2_penalty:
        Adds ``l2_penalty * (r^2 + alpha^2 + a^2 + b^2)`` to the mean negative log-likelihood
        (shrinks parameters on tiny or degenerate data; 0 = plain MLE).

    Attributes (after ``fit``)
    --------------------------
    params_: dict r, alpha, a, b. se_: their standard errors (Hessian). converged_: bool.
    log_likelihood_: total log-likelihood. message_: optimiser message. n_customers_.
    """

    def __init__(self, l2_penalty: float = 0.0) -> None:
        self.l2_penalty = l2_penalty

    def fit(self, frequency: Any, t_x: Any, T: Any) -> BetaGeoModel:
        """Fit on per-customer (x, t_x, T) in time units. Returns self.

        Raises :class:`ModelFitError` when no starting point gives a finite likelihood;
        a fit that ends without convergence sets ``converged_ = False`` (callers fall back).
        """
        x, tx, TT = _arrays(frequency, t_x, T)
        if len(x) == 0:
            raise ModelFitError("BG/NBD: no customers to fit")
        check_rfm_inputs(x, tx, TT)
        cx, ct, cT, w = _collapse(x, tx, TT)

        def loglik(u: np.ndarray) -> tuple[float, np.ndarray]:
            theta = np.exp(u)
            ll, g = log_likelihood_grad(theta, cx, ct, cT, w)
            return ll, g * theta  # chain rule: d/du = theta d/dtheta

        mean_T = float(np.mean(TT))
        starts = [
            np.log([1.0, mean_T, 1.0, 1.0]),
            np.log([0.5, 1.0, 0.5, 2.0]),
            np.log([0.1, 0.1 * mean_T, 1.5, 5.0]),
        ]
        res = fit_mle(loglik, starts, float(len(x)), l2=self.l2_penalty)
        if res is None:
            raise ModelFitError("BG/NBD: the log-likelihood is not finite at any start")
        self.params_ = dict(zip(PARAMS, map(float, res.params), strict=True))
        self.se_ = dict(zip(PARAMS, map(float, res.se), strict=True))
        self.converged_ = res.converged
        self.log_likelihood_ = res.log_likelihood
        self.message_ = res.message
        self.n_customers_ = len(x)
        return self

    def _p(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError("BetaGeoModel is not fitted; call fit() first")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def p_alive(self, frequency: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T) (eq. 11); 1 for customers without a repeat purchase."""
        r, alpha, a, b = self._p()
        x, tx, TT = _arrays(frequency, t_x, T)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_odds = (
                np.log(a)
                - np.log(np.maximum(b + x - 1, 1e-300))
                + (r + x) * (np.log(alpha + TT) - np.log(alpha + tx))
            )
            out = np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds)), 1.0)
        return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)

    def expected_orders(self, t: Any, frequency: Any, t_x: Any, T: Any) -> np.ndarray:
        """Expected purchases in (T, T + t] given (x, t_x, T) (eq. 10); ``t`` in time units
        (scalar or per customer). Where the hypergeometric term is not finite, the bound
        P(alive) * E[lambda | alive] * t (no further dropout) is used."""
        r, alpha, a, b = self._p()
        x, tx, TT = _arrays(frequency, t_x, T)
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
        aa = a if abs(a - 1.0) > 1e-6 else 1.0 + 1e-6
        pa = self.p_alive(x, tx, TT)
        with np.errstate(all="ignore"):
            z = t / (alpha + TT + t)
            hyp = hyp2f1(r + x, b + x, aa + b + x - 1, z)
            ratio = np.exp((r + x) * (np.log(alpha + TT) - np.log(alpha + TT + t)))
            term = (aa + b + x - 1) / (aa - 1) * (1 - ratio * hyp)
            out = term * pa  # eq. 10's denominator is 1 / P(alive)
        bound = pa * (r + x) / (alpha + TT) * t
        ok = np.isfinite(out) & (out >= 0) & (out <= bound + 1e-9)
        return np.where(ok, out, bound)

    def p_no_order(self, t: Any, frequency: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(no purchase in (T, T + t] | x, t_x, T) = 1 - P(alive) (1 - ((alpha+T) /
        (alpha+T+t))^(r+x)): dead customers never buy; an alive one's next purchase comes at
        her posterior rate Gamma(r + x, alpha + T) (dropout only follows a purchase)."""
        r, alpha, _, _ = self._p()
        x, tx, TT = _arrays(frequency, t_x, T)
        none_if_alive = np.exp((r + x) * (np.log(alpha + TT) - np.log(alpha + TT + t)))
        return 1.0 - self.p_alive(x, tx, TT) * (1.0 - none_if_alive)

    def expected_orders_new(self, t: Any) -> np.ndarray:
        """E[X(t)]: expected repeat purchases of a new customer in her first t units."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=np.float64)
        aa = a if abs(a - 1.0) > 1e-6 else 1.0 + 1e-6
        hyp = hyp2f1(r, b, aa + b - 1, t / (alpha + t))
        return (aa + b - 1) / (aa - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)

    def median_wait(self, frequency: Any, T: Any) -> np.ndarray:
        """Median time (units) from T to the next purchase given alive: the posterior rate is
        Gamma(r + x, alpha + T), so P(no purchase in w) = ((alpha+T)/(alpha+T+w))^(r+x)."""
        r, alpha, _, _ = self._p()
        x = np.asarray(frequency, dtype=np.float64)
        TT = np.asarray(T, dtype=np.float64)
        return (alpha + TT) * np.expm1(np.log(2.0) / (r + x))

    def to_dict(self) -> dict[str, Any]:
        """Parameters, standard errors and fit diagnostics as plain JSON types."""
        self._p()
        return {
            **self.params_,
            "se": {k: (v if np.isfinite(v) else None) for k, v in self.se_.items()},
            "converged": self.converged_,
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "l2_penalty": self.l2_penalty,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BetaGeoModel:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        model = cls(l2_penalty=float(data.get("l2_penalty", 0.0)))
        model.params_ = {k: float(data[k]) for k in PARAMS}
        se = dict(data.get("se") or {})
        model.se_ = {k: float("inf") if se.get(k) is None else float(se[k]) for k in PARAMS}
        model.converged_ = bool(data.get("converged", True))
        model.log_likelihood_ = float(data.get("log_likelihood", float("nan")))
        model.n_customers_ = int(data.get("n_customers", 0))
        model.message_ = "loaded"
        return model
