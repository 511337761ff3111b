"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value
Curves for Customer Base Analysis", JMR 42(4); Fader & Hardie 2013 note "The Gamma-Gamma
Model of Monetary Value").

A customer's order values are Gamma(p, nu) with nu ~ Gamma(q, v) across customers (rate
parameters), so her mean order value is p * nu^-1 and the population mean is p v / (q - 1).
Fitted by maximum likelihood on customers with at least one repeat order, using x (repeat
orders) and m_x (mean value of those orders). The model assumes spend is independent of
purchase frequency: :func:`independence_check` reports their correlation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from recsys.customers._mle import fit_mle
from recsys.errors import ModelFitError, NotFittedError

PARAMS = ("p", "q", "v")


def log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood of the mean spend ``m`` over ``x`` >= 1 orders."""
    p, q, v = params
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + x * m)
    )


def log_likelihood_grad(
    params: np.ndarray, x: np.ndarray, m: np.ndarray
) -> tuple[float, np.ndarray]:
    """Total log-likelihood and its gradient in (p, q, v):
    d/dp = sum x (psi(px+q) - psi(px) + ln m + ln x - ln(v + x m));
    d/dq = sum psi(px+q) - psi(q) + ln v - ln(v + x m); d/dv = sum q/v - (px+q)/(v + x m)."""
    p, q, v = params
    px = p * x
    lvm = np.log(v + x * m)
    dq = digamma(px + q)
    g = np.array(
        [
            np.sum(x * (dq - digamma(px) + np.log(m) + np.log(x) - lvm)),
            np.sum(dq - digamma(q) + np.log(v) - lvm),
            np.sum(q / v - (px + q) / (v + x * m)),
        ]
    )
    return float(np.sum(log_likelihood(params, x, m))), g


def independence_check(frequency: Any, monetary: Any, max_corr: float = 0.3) -> dict[str, Any]:
    """Pearson correlation of frequency and mean spend among repeat customers.

    Returns ``{"corr", "n", "max_corr", "passed"}``; ``passed`` is False when |corr| >
    ``max_corr`` (the Gamma-Gamma assumption is then doubtful; the fit is still reported).
    """
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    keep = (x > 0) & (m > 0)
    n = int(keep.sum())
    corr = float(np.corrcoef(x[keep], m[keep])[0, 1]) if n > 2 else 0.0
    if not np.isfinite(corr):
        corr = 0.0
    return {"corr": corr, "n": n, "max_corr": max_corr, "passed": abs(corr) <= max_corr}


class GammaGammaModel:
    """Gamma-Gamma by maximum likelihood (``l2_penalty`` as in BetaGeoModel).

    Attributes after ``fit``: ``params_`` (p, q, v), ``se_``, ``converged_``,
    ``log_likelihood_``, ``n_customers_`` (repeat customers used).
    """

    def __init__(self, l2_penalty: float = 0.0) -> None:
        self.l2_penalty = l2_penalty

    def fit(self, frequency: Any, monetary: Any) -> GammaGammaModel:
        """Fit on repeat orders ``frequency`` and their mean value ``monetary`` (customers with
        x = 0 or m <= 0 are skipped). Raises :class:`ModelFitError` with fewer than 10 usable
        customers or no finite likelihood."""
        x = np.asarray(frequency, dtype=np.float64)
        m = np.asarray(monetary, dtype=np.float64)
        keep = (x > 0) & (m > 0) & np.isfinite(m)
        x, m = x[keep], m[keep]
        if len(x) < 10:
            raise ModelFitError(f"Gamma-Gamma: {len(x)} repeat customers, need at least 10")

        def loglik(u: np.ndarray) -> tuple[float, np.ndarray]:
            theta = np.exp(u)
            ll, g = log_likelihood_grad(theta, x, m)
            return ll, g * theta

        mean = float(np.mean(m))
        starts = [np.log([1.0, 2.0, mean]), np.log([5.0, 5.0, mean]), np.log([2.0, 3.0, 1.0])]
        res = fit_mle(loglik, starts, float(len(x)), l2=self.l2_penalty)
        if res is None:
            raise ModelFitError("Gamma-Gamma: the log-likelihood is not finite at any start")
        self.params_ = dict(zip(PARAMS, map(float, res.params), strict=True))
        self.se_ = dict(zip(PARAMS, map(float, res.se), strict=True))
        self.converged_ = res.converged
        self.log_likelihood_ = res.log_likelihood
        self.n_customers_ = len(x)
        self.population_mean_ = mean
        return self

    def expected_spend(self, frequency: Any, monetary: Any) -> np.ndarray:
        """E[mean order value | x, m_x] = (v + x m_x) p / (p x + q - 1); the population mean
        p v / (q - 1) for x = 0. Where q <= 1 (no finite mean) the observed mean is used."""
        if not hasattr(self, "params_"):
            raise NotFittedError("GammaGammaModel is not fitted; call fit() first")
        p, q, v = (self.params_[k] for k in PARAMS)
        x = np.asarray(frequency, dtype=np.float64)
        m = np.nan_to_num(np.asarray(monetary, dtype=np.float64))
        x = np.where(m > 0, x, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (v + x * m) * p / (p * x + q - 1)
        fallback = np.where(x > 0, m, self.population_mean_)
        return np.where(np.isfinite(out) & (out > 0), out, fallback)

    def to_dict(self) -> dict[str, Any]:
        """Parameters, standard errors (None where not finite) and diagnostics."""
        if not hasattr(self, "params_"):
            raise NotFittedError("GammaGammaModel is not fitted; call fit() first")
        return {
            **self.params_,
            "se": {k: (v if np.isfinite(v) else None) for k, v in self.se_.items()},
            "converged": self.converged_,
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "population_mean": self.population_mean_,
            "l2_penalty": self.l2_penalty,
        }
