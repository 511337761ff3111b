"""Shared maximum-likelihood machinery: optimise on log-parameters, Hessian standard errors.

Both spend and purchase models are fitted the same way: minimise the mean negative
log-likelihood over log-parameters (so every parameter stays positive) with
``scipy.optimize.minimize`` (L-BFGS-B, then Nelder-Mead from the best point if that did not
converge), plus an optional L2 penalty ``l2 * sum(theta**2)`` on the natural parameters.
Standard errors come from the inverse of a central finite-difference Hessian of the total
(unpenalised) negative log-likelihood, mapped to natural parameters by the delta method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

LogLik = Callable[[np.ndarray], float]  # log-parameters -> total log-likelihood


@dataclass(frozen=True)
class MleResult:
    params: np.ndarray  # natural parameters
    se: np.ndarray  # standard errors (inf where the Hessian is singular)
    log_likelihood: float  # total, unpenalised
    converged: bool
    message: str


def hessian(f: Callable[[np.ndarray], float], u: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Central finite-difference Hessian of ``f`` at ``u`` (step ``h`` on every coordinate)."""
    k = len(u)
    H = np.empty((k, k))
    f0 = f(u)
    eye = np.eye(k) * h
    for i in range(k):
        for j in range(i, k):
            if i == j:
                v = (f(u + eye[i]) - 2 * f0 + f(u - eye[i])) / h**2
            else:
                v = (
                    f(u + eye[i] + eye[j])
                    - f(u + eye[i] - eye[j])
                    - f(u - eye[i] + eye[j])
                    + f(u - eye[i] - eye[j])
                ) / (4 * h**2)
            H[i, j] = H[j, i] = v
    return H


def fit_mle(
    loglik: LogLik, starts: Sequence[np.ndarray], n: float, *, l2: float = 0.0
) -> MleResult | None:
    """Maximise ``loglik`` (total over ``n`` customers) from each start; the best finite
    optimum wins. ``None`` when no start gives a finite likelihood."""

    def objective(u: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            ll = loglik(u)
            penalty = l2 * float(np.sum(np.exp(2 * u))) if l2 else 0.0
        if not (np.isfinite(ll) and np.isfinite(penalty)):
            return 1e100
        return -ll / n + penalty

    best = None
    for u0 in starts:
        res = minimize(objective, np.asarray(u0, float), method="L-BFGS-B")
        if not res.success:
            res2 = minimize(
                objective,
                res.x,
                method="Nelder-Mead",
                options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10},
            )
            if res2.fun <= res.fun:
                res = res2
        if np.all(np.isfinite(res.x)) and res.fun < 1e99 and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        return None
    u = best.x
    theta = np.exp(u)
    with np.errstate(all="ignore"):
        H = hessian(lambda v: -loglik(v), u)
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
    return MleResult(theta, se, float(loglik(u)), converged, str(best.message))
