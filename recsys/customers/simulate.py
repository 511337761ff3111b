"""Draws from the BG/NBD and Gamma-Gamma generative models, for parameter-recovery tests,
holdout checks and notebooks (Fader, Hardie & Lee 2005, section 2 assumptions)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_bgnbd(
    n: int,
    T: float | np.ndarray,
    r: float,
    alpha: float,
    a: float,
    b: float,
    *,
    holdout: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate ``n`` customers, each first buying at time 0 and observed until ``T``.

    Rates lambda ~ Gamma(shape r, rate alpha), dropout p ~ Beta(a, b); after each repeat
    purchase the customer drops out with probability p. Returns ``frequency, t_x, T`` and,
    with ``holdout > 0``, ``holdout_orders`` (purchases in (T, T + holdout]) and ``alive``
    (alive at T).
    """
    rng = np.random.default_rng(seed)
    TT = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    end = TT + holdout
    t = np.zeros(n)
    x = np.zeros(n, dtype=np.int64)
    t_x = np.zeros(n)
    hold = np.zeros(n, dtype=np.int64)
    alive_at_T = np.ones(n, dtype=bool)
    active = np.arange(n)
    while active.size:
        t[active] += rng.exponential(1.0, active.size) / lam[active]
        ta = t[active]
        in_cal = ta <= TT[active]
        in_hold = (ta > TT[active]) & (ta <= end[active])
        cal_ids, hold_ids = active[in_cal], active[in_hold]
        x[cal_ids] += 1
        t_x[cal_ids] = ta[in_cal]
        hold[hold_ids] += 1
        buying = active[in_cal | in_hold]
        dies = rng.random(buying.size) < p[buying]
        died = buying[dies]
        alive_at_T[died[t[died] <= TT[died]]] = False
        active = buying[~dies]
    out = pd.DataFrame({"frequency": x, "t_x": t_x, "T": TT})
    if holdout > 0:
        out["holdout_orders"] = hold
        out["alive"] = alive_at_T
    return out


def simulate_gamma_gamma(
    frequency: np.ndarray, p: float, q: float, v: float, *, seed: int = 0
) -> np.ndarray:
    """Mean order value over ``frequency`` orders per customer (NaN-free: 0 where x = 0).

    nu ~ Gamma(shape q, rate v); each order value ~ Gamma(shape p, rate nu); the mean of x
    values is Gamma(p x, x nu).
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=np.float64)
    nu = rng.gamma(q, 1.0 / v, len(x))
    shape = np.where(x > 0, p * x, 1.0)
    m = rng.gamma(shape, 1.0 / (np.where(x > 0, x, 1.0) * nu))
    return np.where(x > 0, m, 0.0)
