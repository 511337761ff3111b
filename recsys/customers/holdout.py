"""Calibration/holdout check of the BG/NBD model (Fader, Hardie & Lee 2005, fig. 4 style).

Fit on the orders before ``as_of - holdout_days``, predict each customer's orders in the
holdout window, and compare with what happened: in total and per calibration-frequency bin
(0, 1, ..., 6+ repeat orders). The shop's own history is the test set, so the figures say how
far to trust ``expected_orders`` on this data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from recsys.customers.bgnbd import BetaGeoModel
from recsys.customers.config import CustomersConfig
from recsys.customers.summary import calibration_holdout
from recsys.errors import DataError, ModelFitError

MAX_BIN = 6


def frequency_bins(frequency: np.ndarray, max_bin: int = MAX_BIN) -> np.ndarray:
    """Labels ``"0"``, ``"1"``, ... ``"6+"`` for repeat-order counts."""
    f = np.minimum(np.asarray(frequency, dtype=np.int64), max_bin)
    labels = np.array([str(i) for i in range(max_bin)] + [f"{max_bin}+"], dtype=object)
    return labels[f]


def holdout_check(
    orders: pd.DataFrame, as_of: pd.Timestamp, config: CustomersConfig | None = None
) -> dict[str, Any]:
    """Predicted vs actual holdout orders (total, per bin, mean absolute error per customer).

    Returns ``{"skipped": reason}`` when the history before the holdout is empty or the fit
    fails.
    """
    cfg = config or CustomersConfig()
    cutoff = as_of - pd.Timedelta(days=cfg.holdout_days)
    try:
        split = calibration_holdout(orders, cutoff, as_of, time_unit_days=cfg.time_unit_days)
        cal = split.calibration
        model = BetaGeoModel(cfg.l2_penalty).fit(cal["frequency"], cal["t_x"], cal["T"])
    except (DataError, ModelFitError) as exc:
        return {"skipped": str(exc)}
    pred = model.expected_orders(
        cfg.holdout_days / cfg.time_unit_days, cal["frequency"], cal["t_x"], cal["T"]
    )
    actual = cal["holdout_orders"].to_numpy(np.float64)
    table = pd.DataFrame(
        {"bin": frequency_bins(cal["frequency"].to_numpy()), "predicted": pred, "actual": actual}
    )
    g = table.groupby("bin", sort=False).agg(
        customers=("actual", "size"), predicted=("predicted", "sum"), actual=("actual", "sum")
    )
    order = [str(i) for i in range(MAX_BIN)] + [f"{MAX_BIN}+"]
    g = g.reindex([b for b in order if b in g.index])
    return {
        "cutoff": str(cutoff.date()),
        "holdout_days": cfg.holdout_days,
        "n_customers": len(cal),
        "bgnbd": {k: model.params_[k] for k in ("r", "alpha", "a", "b")},
        "converged": model.converged_,
        "predicted_total": float(pred.sum()),
        "actual_total": float(actual.sum()),
        "mae_per_customer": float(np.mean(np.abs(pred - actual))),
        "bins": [
            {
                "bin": str(b),
                "customers": int(r["customers"]),
                "predicted": float(r["predicted"]),
                "actual": float(r["actual"]),
            }
            for b, r in g.iterrows()
        ],
    }
