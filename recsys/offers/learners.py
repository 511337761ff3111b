"""The outcome models of the uplift meta-learners, and the heterogeneity test.

Linear models (scikit-learn's LogisticRegression for a 0/1 outcome, Ridge otherwise) because
their fitted state is a few arrays that save without pickle; the S-learner's pooled design;
the best-linear-predictor test of Chernozhukov, Demirer, Duflo & Fernandez-Val (2018).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge

INTERACTION_SCALE = 0.3  # S-learner: arm x feature columns scaled down = stronger L2 on them


def linear_fit(X: np.ndarray, y: np.ndarray, binary: bool, C: float) -> tuple[np.ndarray, float]:
    """``(coef, intercept)`` of a logistic (0/1 ``y``) or ridge regression, L2 strength ``1/C``."""
    if binary:
        if y.min() == y.max():  # one class only: a constant model
            p = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
            return np.zeros(X.shape[1]), float(np.log(p / (1 - p)))
        lr = LogisticRegression(C=C, max_iter=2000).fit(X, y)
        return lr.coef_[0].copy(), float(lr.intercept_[0])
    rr = Ridge(alpha=1.0 / C).fit(X, y)
    return np.asarray(rr.coef_, dtype=float).copy(), float(rr.intercept_)


def linear_predict(X: np.ndarray, coef: np.ndarray, intercept: float, binary: bool) -> np.ndarray:
    """Predicted probability (``binary``) or value of a :func:`linear_fit` model, shape (n,)."""
    z = X @ coef + intercept
    return 1.0 / (1.0 + np.exp(-z)) if binary else z


def pooled_design(Z: np.ndarray, group: int, n_groups: int) -> np.ndarray:
    """S-learner design for every row in arm ``group``: features, arm dummies, arm x features."""
    n = Z.shape[0]
    dummies = np.zeros((n, n_groups - 1))
    inter = np.zeros((n, (n_groups - 1) * Z.shape[1]))
    if group > 0:
        dummies[:, group - 1] = 1.0
        k = Z.shape[1]
        inter[:, (group - 1) * k : group * k] = Z * INTERACTION_SCALE
    return np.hstack([Z, dummies, inter])


def blp_test(pseudo: np.ndarray, tau: np.ndarray) -> dict[str, float]:
    """Slope of ``pseudo ~ 1 + (tau - mean tau)`` with a heteroskedasticity-robust (HC0) SE.

    Returns ``{"slope", "se", "z"}``; ``z`` is 0 when ``tau`` is constant (no heterogeneity
    to test). Source: Chernozhukov et al. (2018), BLP of the CATE.
    """
    d = tau - tau.mean()
    sxx = float(d @ d)
    if sxx <= 1e-12 * max(len(d), 1):
        return {"slope": 0.0, "se": float("inf"), "z": 0.0}
    slope = float(d @ (pseudo - pseudo.mean())) / sxx
    resid = pseudo - pseudo.mean() - slope * d
    se = float(np.sqrt(np.sum(d**2 * resid**2)) / sxx)
    return {"slope": slope, "se": se, "z": slope / se if se > 0 else 0.0}
