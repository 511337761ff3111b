"""Shared maximum-likelihood machinery: optimise on log-parameters, Hessian standard errors.

Both spend and purchase models are fitted the same way: minimise the mean negative
log-likelihood over log-parameters (so every parameter stays positive) with
``scipy.optimize.minimize`` (L-BFGS-B with the models' analytic gradients, then Nelder-Mead
from the best point if that did not converge), plus an optional L2 penalty
``l2 * sum(theta**2)`` on the natural parameters. Further starting points are tried only when
a start does not converge. Standard errors come from the inverse of the Hessian of the total
(unpenalised) negative log-likelihood (central differences of the analytic gradient), mapped
to natural parameters by the delta method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

# log-parameters -> (total log-likelihood, its gradient with respect to the log-parameters)
LogLik = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class MleResult:
    params: np.ndarray  # natural parameters
    se: np.ndarray  # standard errors (inf where the Hessian is singular)
    log_likelihood: float  # total, unpenalised
    converged: bool
    message: str


def hessian(grad: Callable[[np.ndarray], np.ndarray], u: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Symmetrised central-difference Hessian from a gradient function at ``u``."""
    k = len(u)
    H = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        H[i] = (grad(u + e) - grad(u - e)) / (2 * h)
    return (H + H.T) / 2


def fit_mle(
    loglik: LogLik, starts: Sequence[np.ndarray], n: float, *, l2: float = 0.0
) -> MleResult | None:
    """Maximise ``loglik`` (total over ``n`` customers) from the first start that converges
    (else the best finite optimum of all starts). ``None`` when no start gives a finite
    likelihood."""

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            ll, g = loglik(u)
            theta2 = np.exp(2 * u)
            penalty = l2 * float(np.sum(theta2)) if l2 else 0.0
            pgrad = 2 * l2 * theta2
        if not (np.isfinite(ll) and np.isfinite(penalty) and np.all(np.isfinite(g))):
            return 1e100, np.zeros_like(u)
        return -ll / n + penalty, -np.asarray(g) / n + pgrad

    def value(u: np.ndarray) -> float:
        return objective(u)[0]

    best = None
    for u0 in starts:
        res = minimize(objective, np.asarray(u0, float), jac=True, method="L-BFGS-B")
        if not res.success:
            res2 = minimize(
                value,
                res.x,
                method="Nelder-Mead",
                options={"maxiter": 2000, "xatol": 1e-7, "fatol": 1e-12},
            )
            if res2.fun <= res.fun:
                res2.success = res2.success or res.success
                res = res2
        if np.all(np.isfinite(res.x)) and res.fun < 1e99 and (best is None or res.fun < best.fun):
            best = res
        if best is not None and best.success:
            break
    if best is None:
        return None
    u = best.x
    theta = np.exp(u)
    with np.errstate(all="ignore"):
        H = hessian(lambda v: -loglik(v)[1], u)
    se = np.full(len(u), np.inf)
    if np.all(np.isfinite(H)):
        try:
            cov = np.linalg.inv(H)
            d = np.diag(cov)
            if np.all(d > 0):
                se = theta * np.sqrt(d)  # delta method: d theta / d u = theta
        except np.linalg.LinAlgError:
            pass
    converged = bool(best.success) and bool(np.all(np.isfinite(theta)))
    return MleResult(theta, se, float(loglik(u)[0]), converged, str(best.message))
