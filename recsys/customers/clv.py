"""Customer lifetime value: expected orders x expected spend, discounted over a horizon.

CLV_i = sum_k (E[Y_i(t_k)] - E[Y_i(t_{k-1})]) * E[spend_i] / (1 + d) ** (t_k / 365)

with t_k = k * step (days) up to the horizon, E[Y(t)] from the BG/NBD model, E[spend] from
Gamma-Gamma and d the yearly discount rate (the discrete form used by Fader, Hardie & Lee's
"RFM and CLV", with the discount applied at the end of each step).
"""

from __future__ import annotations

import numpy as np

from recsys.customers.bgnbd import BetaGeoModel


def discounted_orders(
    model: BetaGeoModel,
    frequency: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    horizon_days: float,
    time_unit_days: float = 7.0,
    step_days: float = 30.0,
    discount_rate: float = 0.10,
) -> np.ndarray:
    """Discounted expected orders over the horizon, per customer (multiply by spend)."""
    steps = np.append(np.arange(step_days, horizon_days, step_days), horizon_days)
    total = np.zeros(len(np.asarray(frequency)))
    prev = np.zeros_like(total)
    for days in steps:
        cum = model.expected_orders(days / time_unit_days, frequency, t_x, T)
        cum = np.maximum(cum, prev)  # monotone even where the bound replaced eq. 10
        total += (cum - prev) / (1.0 + discount_rate) ** (days / 365.0)
        prev = cum
    return total


def predicted_clv(
    model: BetaGeoModel,
    frequency: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    spend: np.ndarray,
    **kwargs: float,
) -> np.ndarray:
    """CLV in currency units over the horizon: discounted expected orders x expected spend.
    ``kwargs`` are those of :func:`discounted_orders`. Never NaN (NaN spend counts as 0)."""
    orders = discounted_orders(model, frequency, t_x, T, **kwargs)
    return np.nan_to_num(orders * np.asarray(spend, dtype=np.float64))
