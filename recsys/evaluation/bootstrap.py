"""Paired bootstrap confidence intervals for the ratio of two models' mean metric.

Two models scored on the *same* customers (row ``u`` of both arrays is one customer) are
compared by ``mean(a) / mean(b)``. Customers, not lists, are the sampling unit: each resample
draws ``n`` customers with replacement and takes *both* models' values of every drawn
customer (a paired bootstrap), so the interval reflects how much the comparison depends on
which customers happened to be judged, not the (much larger) spread between customers.

The interval is the percentile interval (Efron & Tibshirani, *An Introduction to the
Bootstrap*, 1993, ch. 13), computed by :func:`scipy.stats.bootstrap` with ``paired=True`` and
a vectorised statistic, from a fixed seed so the same inputs always give the same interval.

:func:`per_customer_metric` gives the per-customer values of served lists under a protocol,
with :mod:`recsys.evaluation.metrics` (the same code the evaluation table's means come from).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import USER_METRICS, per_user_metrics
from recsys.evaluation.protocols import GroundTruth, recommendation_matrix

N_RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class RatioInterval:
    """``ratio = mean(a) / mean(b)`` over ``n`` paired customers, and its percentile interval.

    ``low``/``high`` bound the ``confidence`` interval; all three are NaN when ``mean(b)`` is
    0 (the reference scores nothing, so no ratio is defined).
    """

    ratio: float
    low: float
    high: float
    n: int
    confidence: float
    n_resamples: int

    def __str__(self) -> str:
        if np.isnan(self.ratio):
            return "n/a"
        return f"{self.ratio:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def to_dict(self) -> dict[str, float | int]:
        return {
            "ratio": self.ratio,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "confidence": self.confidence,
            "n_resamples": self.n_resamples,
        }


def per_customer_metric(
    recs: pd.DataFrame, truth: GroundTruth, k: int, metric: str = "ndcg"
) -> np.ndarray:
    """``metric`` at ``k`` of each of ``truth``'s customers (``truth.customer_ids`` order).

    ``recs`` are served lists (``customer_id, rank, item_id``), laid out as
    :func:`~recsys.evaluation.protocols.recommendation_matrix` does (a customer without a list
    scores 0). The mean of the result is the evaluation table's figure for these lists.

    Raises ``ConfigError`` for a metric that is not per customer (e.g. coverage).
    """
    if metric not in USER_METRICS:
        raise ConfigError(f"metric {metric!r} is not per customer; choose one of {USER_METRICS}")
    matrix = recommendation_matrix(recs, truth, k)
    return per_user_metrics(matrix, truth.relevance, k)[metric]


def _ratio_of_means(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(a, axis=axis) / np.mean(b, axis=axis)


def paired_ratio_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    *,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> RatioInterval:
    """Percentile bootstrap interval of ``mean(a) / mean(b)`` over paired customers.

    Parameters
    ----------
    a, b:
        Per-customer metric values of two models, length ``n``, row ``u`` the same customer in
        both. NaN marks a customer without a defined value; it must be NaN in both and is
        left out (as the metric means leave it out).
    n_resamples:
        Bootstrap resamples (each draws ``n`` customers with replacement).
    confidence:
        Two-sided coverage of the interval, in (0, 1).
    seed:
        Seed of the resampling; the same inputs and seed give the same interval.

    Raises
    ------
    DataError
        Arrays of different shapes, not 1-D, NaN in only one of them, or fewer than 2 customers.
    ConfigError
        ``n_resamples < 1`` or ``confidence`` outside (0, 1).
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise DataError(
            f"paired values must be two 1-D arrays of one length, got shapes {x.shape} and "
            f"{y.shape}"
        )
    if n_resamples < 1:
        raise ConfigError(f"n_resamples == {n_resamples}, must be >= 1")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence == {confidence}, must be in (0, 1)")
    nan_x, nan_y = np.isnan(x), np.isnan(y)
    if (nan_x != nan_y).any():
        raise DataError(
            f"{int((nan_x != nan_y).sum())} customer(s) have a value for one model only; "
            "both models must be scored on the same customers"
        )
    x, y = x[~nan_x], y[~nan_y]
    n = len(x)
    if n < 2:
        raise DataError(f"{n} customer(s) with a value; a bootstrap needs at least 2")
    ratio = float(_ratio_of_means(x, y))
    if not np.isfinite(ratio):
        nan = float("nan")
        return RatioInterval(nan, nan, nan, n, confidence, n_resamples)
    result = stats.bootstrap(
        (x, y),
        _ratio_of_means,
        n_resamples=n_resamples,
        batch=100,
        vectorized=True,
        paired=True,
        confidence_level=confidence,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    return RatioInterval(ratio, float(ci.low), float(ci.high), n, confidence, n_resamples)
