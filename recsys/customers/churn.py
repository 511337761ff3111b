"""Churn risk: bands, a supervised baseline, and their comparison on a temporal holdout.

Churn label: no order in the ``window_days`` after a cutoff. Two scores compete:

* ``bgnbd``: 1 - P(alive) from a BG/NBD fit on the data before the cutoff;
* ``bgnbd_window``: the same fit's P(no order in the window), which unlike 1 - P(alive) also
  covers customers without a repeat order (their P(alive) is 1 by construction);
* ``supervised``: scikit-learn ``HistGradientBoostingClassifier`` on summary features, trained
  at an earlier cutoff (``cutoff - window``, labels from the window that ends at ``cutoff``).

All are scored on the same customers at ``cutoff`` against what happened next (ROC AUC,
Brier score, lift at 10%: churn rate among the 10% riskiest over the base rate). Nothing after
a cutoff is ever seen by the score made at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from recsys.customers.bgnbd import BetaGeoModel
from recsys.customers.summary import calibration_holdout

FEATURES = (
    "orders",
    "frequency",
    "recency_days",
    "T_days",
    "monetary_mean",
    "monetary_total",
    "mean_gap_days",
    "recency_over_gap",
    "orders_per_year",
)
BANDS = ("low", "medium", "high")


def churn_bands(risk: np.ndarray, cuts: tuple[float, float] = (0.3, 0.7)) -> np.ndarray:
    """``low`` below ``cuts[0]``, ``high`` from ``cuts[1]``, ``medium`` between (object array)."""
    idx = np.searchsorted(np.asarray(cuts), np.asarray(risk, dtype=float), side="right")
    return np.asarray(BANDS, dtype=object)[idx]


def features(summary: pd.DataFrame) -> pd.DataFrame:
    """Model features (:data:`FEATURES`) from a :func:`summarize` frame; finite by design."""
    f = (
        summary[
            ["orders", "frequency", "recency_days", "T_days", "monetary_mean", "monetary_total"]
        ]
        .astype(np.float64)
        .copy()
    )
    span = (summary["T_days"] - summary["recency_days"]).to_numpy(np.float64)
    rep = f["frequency"].to_numpy()
    gap = np.where(rep > 0, span / np.maximum(rep, 1), summary["T_days"].to_numpy())
    f["mean_gap_days"] = gap
    f["recency_over_gap"] = f["recency_days"] / np.maximum(gap, 1.0)
    f["orders_per_year"] = f["orders"] / np.maximum(f["T_days"], 1.0) * 365.0
    return f


def lift_at(y: np.ndarray, score: np.ndarray, share: float = 0.1) -> float:
    """Positive rate among the top ``share`` by score over the overall positive rate."""
    n = max(1, int(round(len(y) * share)))
    top = np.argsort(-score, kind="stable")[:n]
    base = float(np.mean(y))
    return float(np.mean(y[top]) / base) if base > 0 else 0.0


def metrics(y: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    """``auc``, ``brier`` and ``lift_at_10`` of a risk score in [0, 1] for labels y (1=churn)."""
    return {
        "auc": float(roc_auc_score(y, risk)),
        "brier": float(brier_score_loss(y, np.clip(risk, 0, 1))),
        "lift_at_10": lift_at(y, risk),
    }


@dataclass
class ChurnComparison:
    """Holdout metrics of both scores and the winner; ``reason`` when one was unavailable."""

    chosen: str
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    cutoff: str | None = None
    n_customers: int = 0
    churn_rate: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "metrics": self.metrics,
            "cutoff": self.cutoff,
            "n_customers": self.n_customers,
            "churn_rate": self.churn_rate,
            "reason": self.reason,
        }


def _labelled(orders: pd.DataFrame, cutoff: pd.Timestamp, window: pd.Timedelta, unit: float):
    split = calibration_holdout(orders, cutoff, cutoff + window, time_unit_days=unit)
    cal = split.calibration
    return cal, (cal["holdout_orders"].to_numpy() == 0).astype(np.int8)


def fit_supervised(
    orders: pd.DataFrame,
    cutoff: pd.Timestamp,
    window_days: int,
    *,
    time_unit_days: float = 7.0,
    seed: int = 0,
) -> HistGradientBoostingClassifier | None:
    """Train the baseline on features at ``cutoff - window`` and labels in the window ending
    at ``cutoff``. ``None`` when there is no earlier data or only one label class."""
    window = pd.Timedelta(days=window_days)
    start = cutoff - window
    if orders["timestamp"].min() >= start:
        return None
    cal, y = _labelled(orders, start, window, time_unit_days)
    if len(np.unique(y)) < 2 or len(y) < 20:
        return None
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
    with threadpool_limits(limits=1, user_api="openmp"):  # spin-waiting on shared cores
        return model.fit(features(cal).to_numpy(), y)


def compare(
    orders: pd.DataFrame,
    as_of: pd.Timestamp,
    window_days: int,
    *,
    time_unit_days: float = 7.0,
    l2_penalty: float = 0.0,
    seed: int = 0,
) -> ChurnComparison:
    """Score both models at ``as_of - window`` and measure them on the last window."""
    window = pd.Timedelta(days=window_days)
    cutoff = as_of - window
    if orders["timestamp"].min() >= cutoff:
        return ChurnComparison("bgnbd", reason="history shorter than one churn window")
    cal, y = _labelled(orders, cutoff, window, time_unit_days)
    if len(np.unique(y)) < 2:
        return ChurnComparison("bgnbd", reason="only one outcome in the holdout window")
    out = ChurnComparison(
        "bgnbd", cutoff=str(cutoff.date()), n_customers=len(y), churn_rate=float(np.mean(y))
    )
    ok = cal["T"] > 0
    bg = BetaGeoModel(l2_penalty).fit(cal["frequency"][ok], cal["t_x"][ok], cal["T"][ok])
    risk_bg = 1.0 - bg.p_alive(cal["frequency"], cal["t_x"], np.maximum(cal["T"], 1e-9))
    out.metrics["bgnbd"] = metrics(y, risk_bg)
    risk_win = bg.p_no_order(
        window_days / time_unit_days, cal["frequency"], cal["t_x"], np.maximum(cal["T"], 1e-9)
    )
    out.metrics["bgnbd_window"] = metrics(y, risk_win)
    out.chosen = max(out.metrics, key=lambda k: out.metrics[k]["auc"])
    sup = fit_supervised(orders, cutoff, window_days, time_unit_days=time_unit_days, seed=seed)
    if sup is None:
        out.reason = "supervised baseline not trainable (history shorter than two windows)"
        return out
    with threadpool_limits(limits=1, user_api="openmp"):
        risk_sup = sup.predict_proba(features(cal).to_numpy())[:, 1]
    out.metrics["supervised"] = metrics(y, risk_sup)
    out.chosen = max(out.metrics, key=lambda k: out.metrics[k]["auc"])
    return out


def supervised_risk(
    orders: pd.DataFrame,
    as_of: pd.Timestamp,
    window_days: int,
    summary: pd.DataFrame,
    *,
    time_unit_days: float = 7.0,
    seed: int = 0,
) -> np.ndarray | None:
    """Churn probability at ``as_of`` for ``summary``'s customers from a baseline retrained on
    the latest complete window; ``None`` when it cannot be trained."""
    model = fit_supervised(orders, as_of, window_days, time_unit_days=time_unit_days, seed=seed)
    if model is None:
        return None
    with threadpool_limits(limits=1, user_api="openmp"):
        return model.predict_proba(features(summary).to_numpy())[:, 1]
