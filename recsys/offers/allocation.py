"""Assigning offers to customers: the most incremental value under budgets, caps and contact rules.

The problem (a multi-knapsack assignment ILP): binary ``x[i, j]`` for each candidate pair
(customer i, offer j) with expected incremental value ``v > 0`` (see
:func:`recsys.offers.value.expected_value`) and expected budget use ``c``; maximise
``sum v x`` subject to

* per offer: ``sum_i c[i, j] x[i, j] <= budget[j]`` (money or redemptions; ``inf`` = none);
* per customer: at most ``max_offers`` offers, and per channel at most ``channel_caps[i, ch]``
  offers that are shown on that channel (the contact policy, after contacts already made).

Solved with :func:`scipy.optimize.milp` / :func:`scipy.optimize.linprog` (HiGHS):

* ``method="milp"`` on at most ``exact_max_pairs`` pairs: branch-and-cut on the whole problem to
  ``mip_rel_gap``; the LP relaxation gives the bound.
* larger problems: the LP relaxation by column generation (start from each customer's best
  ``max_offers + 2`` pairs, price the rest with the LP duals, add every pair with a positive
  reduced value, repeat until the duals bound the *whole* problem's LP within 0.01%). A
  basic LP optimum of this problem has at most as many fractional pairs as it has binding
  budget rows, so the pairs the LP sets to 0/1 are fixed and :func:`~scipy.optimize.milp`
  solves the rest (every pair of the customers with a fractional pair) exactly.
* ``method="greedy"`` (also chosen beyond ``milp_max_pairs``): pairs best first, taken while
  caps and budgets allow; "best" is the value net of the budget it uses at dual prices from an
  LP on a 10% sample of the customers (plain value on small problems). No bound of its own;
  reported against the LP bound when asked.

The result carries the objective, the LP bound and the relative gap between them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from recsys.errors import ConfigError, DataError, ModelFitError

METHODS = ("auto", "milp", "greedy")
_TOL = 1e-6


@dataclass(frozen=True)
class Allocation:
    """Chosen pairs and how good they are.

    ``assignments``: the candidate rows that were chosen (all candidate columns kept).
    ``objective``: total expected incremental value. ``lp_bound``: the LP relaxation optimum
    (no assignment can exceed it; ``nan`` if not computed). ``gap``: ``1 - objective/lp_bound``.
    """

    assignments: pd.DataFrame
    objective: float
    lp_bound: float
    method: str
    seconds: float
    details: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        if not np.isfinite(self.lp_bound) or self.lp_bound <= 0:
            return float("nan")
        return 1.0 - self.objective / self.lp_bound


@dataclass
class _Problem:
    cust: np.ndarray  # (k,) customer index of each pair
    offer: np.ndarray  # (k,) offer index
    value: np.ndarray  # (k,)
    cost: np.ndarray  # (k,)
    budget: np.ndarray  # (m,) finite or inf
    caps: np.ndarray  # (n, 1 + n_channels): total cap, then per channel
    chan: np.ndarray  # (m, n_channels) bool: offer shown on channel

    def rows(self, pairs: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        """Constraint matrix over ``pairs`` and its right-hand side (finite rows only)."""
        n, width = self.caps.shape
        k = len(pairs)
        cols = np.arange(k)
        c, o = self.cust[pairs], self.offer[pairs]
        r_list, c_list, d_list = [c * width], [cols], [np.ones(k)]
        for ch in range(width - 1):
            on = self.chan[o, ch]
            r_list.append(c[on] * width + 1 + ch)
            c_list.append(cols[on])
            d_list.append(np.ones(int(on.sum())))
        budgeted = np.isfinite(self.budget)
        on = budgeted[o]
        r_list.append(n * width + o[on])
        c_list.append(cols[on])
        d_list.append(self.cost[pairs][on])
        A = sp.csr_matrix(
            (np.concatenate(d_list), (np.concatenate(r_list), np.concatenate(c_list))),
            shape=(n * width + len(self.budget), k),
        )
        rhs = np.concatenate([self.caps.ravel(), np.where(budgeted, self.budget, np.inf)])
        keep = np.isfinite(rhs) & (np.diff(A.indptr) > 0)
        return A[keep], rhs[keep]


def _prepare(
    candidates: pd.DataFrame,
    budgets: Mapping[str, float] | None,
    max_offers: int,
    channels: Mapping[str, Sequence[str]] | None,
    channel_caps: pd.DataFrame | Mapping[str, int] | None,
) -> tuple[_Problem, pd.DataFrame, list[str]]:
    need = {"customer_id", "offer_id", "value"}
    if not need <= set(candidates.columns):
        raise DataError(f"candidates need columns {sorted(need)}; got {list(candidates.columns)}")
    if max_offers < 1:
        raise ConfigError(f"max_offers == {max_offers}, must be >= 1")
    frame = candidates[candidates["value"].to_numpy(float) > 0].reset_index(drop=True)
    if "cost" not in frame:
        frame = frame.assign(cost=0.0)
    if frame.duplicated(["customer_id", "offer_id"]).any():
        raise DataError("candidates hold a (customer_id, offer_id) pair twice")
    cust_codes, cust_ids = pd.factorize(frame["customer_id"])
    offer_codes, offer_ids = pd.factorize(frame["offer_id"])
    budgets = dict(budgets or {})
    budget = np.array([float(budgets.get(o, np.inf)) for o in offer_ids])
    if (budget < 0).any():
        raise ConfigError("budgets must be >= 0")
    channel_names = sorted({c for cs in (channels or {}).values() for c in cs})
    chan = np.zeros((len(offer_ids), len(channel_names)), dtype=bool)
    for j, o in enumerate(offer_ids):
        for name in (channels or {}).get(o, ()):
            chan[j, channel_names.index(name)] = True
    caps = np.full((len(cust_ids), 1 + len(channel_names)), np.inf)
    caps[:, 0] = max_offers
    if isinstance(channel_caps, pd.DataFrame):  # per customer: index customer_id, one col each
        per = channel_caps.reindex(pd.Index(cust_ids))
        for col, name in enumerate(channel_names, start=1):
            if name in per:
                caps[:, col] = per[name].fillna(np.inf).to_numpy(float)
    elif channel_caps:
        for col, name in enumerate(channel_names, start=1):
            caps[:, col] = float(channel_caps.get(name, np.inf))
    caps = np.maximum(caps, 0.0)
    problem = _Problem(
        cust=cust_codes.astype(np.int64),
        offer=offer_codes.astype(np.int64),
        value=frame["value"].to_numpy(float),
        cost=frame["cost"].to_numpy(float),
        budget=budget,
        caps=caps,
        chan=chan,
    )
    return problem, frame, channel_names


def _greedy(p: _Problem, score: np.ndarray | None = None) -> np.ndarray:
    """Pairs best ``score`` first (default: value), taken while caps and budgets allow."""
    order = np.lexsort((np.arange(len(p.value)), -(p.value if score is None else score)))
    caps = p.caps.copy()
    left = p.budget.copy()
    chosen = np.zeros(len(p.value), dtype=bool)
    chan_of = [np.flatnonzero(row) + 1 for row in p.chan]
    cust, offer, cost = p.cust.tolist(), p.offer.tolist(), p.cost.tolist()
    for k in order.tolist():
        i, j = cust[k], offer[k]
        row = caps[i]
        cols = chan_of[j]
        if row[0] < 1 or (len(cols) and (row[cols] < 1).any()) or left[j] < cost[k] - _TOL:
            continue
        chosen[k] = True
        row[0] -= 1
        row[cols] -= 1
        left[j] -= cost[k]
    return chosen


def _lp(p: _Problem, pairs: np.ndarray) -> float:
    """Optimum of the LP relaxation over ``pairs``."""
    A, rhs = p.rows(pairs)
    res = linprog(-p.value[pairs], A_ub=A, b_ub=rhs, bounds=(0, 1), method="highs-ipm")
    if res.status != 0:
        raise ModelFitError(f"the LP relaxation failed: {res.message}")
    return -float(res.fun)


def _rank_within_customer(p: _Problem, score: np.ndarray) -> np.ndarray:
    """0-based rank of each pair among its customer's pairs, best ``score`` first."""
    order = np.lexsort((-score, p.cust))
    first = np.searchsorted(p.cust[order], p.cust[order], side="left")
    rank = np.empty(len(score), dtype=np.int64)
    rank[order] = np.arange(len(score)) - first
    return rank


def _sample_budget_prices(p: _Problem, active: np.ndarray, sample: float) -> np.ndarray | None:
    """Per pair, the budget it uses priced with the dual prices of an LP on a ``sample`` of
    the customers (budgets scaled to the sample); ``None`` if that LP fails."""
    picked = (p.cust % round(1 / sample)) == 0
    share = len(np.unique(p.cust[picked])) / p.caps.shape[0]
    small = _Problem(p.cust, p.offer, p.value, p.cost, p.budget * share, p.caps, p.chan)
    pairs = np.flatnonzero(active & picked)
    A, rhs = small.rows(pairs)
    res = linprog(-p.value[pairs], A_ub=A, b_ub=rhs, bounds=(0, 1), method="highs-ipm")
    if res.status != 0:
        return None
    price = _row_prices(small, pairs, -res.ineqlin.marginals)
    n, width = p.caps.shape
    return np.asarray(price[n * width + p.offer] * p.cost, dtype=float)


def _lp_column_generation(
    p: _Problem, max_rounds: int = 20, rel_tol: float = 1e-4, sample: float = 0.2
) -> tuple[np.ndarray, np.ndarray, float]:
    """LP relaxation over all pairs, solved on a growing subset. Returns (pairs, x, bound).

    With dual prices ``y >= 0`` of the subset LP, weak duality bounds the full LP by
    ``LP(subset) + sum of the positive reduced values of the pairs left out``; the loop stops
    when that excess is below ``rel_tol`` of the value, and ``bound`` includes it (a certified
    upper bound on any assignment). The starting subset is each customer's best pairs by
    value and by value net of budget prices estimated on a ``sample`` of the customers.
    """
    top = int(p.caps[:, 0].max()) + 2
    active = _rank_within_customer(p, p.value) < top
    if sample < 1.0 and len(p.value) > 50_000:
        budget_price = _sample_budget_prices(p, active, sample)
        if budget_price is not None:  # the pairs that look best after paying for budget use
            active = _rank_within_customer(p, p.value) < top - 1
            active |= _rank_within_customer(p, p.value - budget_price) < top + 1
    for _ in range(max_rounds):
        pairs = np.flatnonzero(active)
        A, rhs = p.rows(pairs)
        res = linprog(-p.value[pairs], A_ub=A, b_ub=rhs, bounds=(0, 1), method="highs-ipm")
        if res.status != 0:
            raise ModelFitError(f"the LP relaxation failed: {res.message}")
        value = -float(res.fun)
        # dual price of each full-problem row (rows absent from this LP price 0)
        price = _row_prices(p, pairs, -res.ineqlin.marginals)
        reduced = np.where(active, 0.0, p.value - _pair_price(p, price))
        excess = float(reduced[reduced > 0].sum())
        if excess <= rel_tol * max(value, 1e-12):
            return pairs, res.x, value + excess
        active |= reduced > 0
    raise ModelFitError(f"column generation did not converge in {max_rounds} rounds")


def _row_ids(p: _Problem, pairs: np.ndarray) -> np.ndarray:
    """Full-problem row number of each row kept by :meth:`_Problem.rows` for ``pairs``."""
    n, width = p.caps.shape
    present = np.zeros(n * width + len(p.budget), dtype=bool)
    c, o = p.cust[pairs], p.offer[pairs]
    present[c * width] = True
    for ch in range(width - 1):
        on = p.chan[o, ch]
        present[c[on] * width + 1 + ch] = True
    budgeted = np.isfinite(p.budget)
    present[n * width + o[budgeted[o]]] = True
    rhs = np.concatenate([p.caps.ravel(), np.where(budgeted, p.budget, np.inf)])
    return np.flatnonzero(present & np.isfinite(rhs))


def _row_prices(p: _Problem, pairs: np.ndarray, duals: np.ndarray) -> np.ndarray:
    n, width = p.caps.shape
    price = np.zeros(n * width + len(p.budget))
    price[_row_ids(p, pairs)] = np.maximum(duals, 0.0)
    return price


def _pair_price(p: _Problem, price: np.ndarray) -> np.ndarray:
    """Sum over the rows a pair uses of (row price x coefficient)."""
    n, width = p.caps.shape
    total = price[p.cust * width].copy()
    for ch in range(width - 1):
        on = p.chan[p.offer, ch]
        total[on] += price[p.cust[on] * width + 1 + ch]
    total += price[n * width + p.offer] * p.cost
    return total


def _milp(p: _Problem, pairs: np.ndarray, time_limit: float, gap: float) -> tuple[np.ndarray, str]:
    A, rhs = p.rows(pairs)
    res = milp(
        -p.value[pairs],
        constraints=LinearConstraint(A, -np.inf, rhs),
        integrality=np.ones(len(pairs)),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "mip_rel_gap": gap},
    )
    if res.x is None:
        raise ModelFitError(f"milp found no assignment: {res.message}")
    return res.x > 0.5, "optimal" if res.status == 0 else "time_limit"


def allocate(
    candidates: pd.DataFrame,
    budgets: Mapping[str, float] | None = None,
    *,
    max_offers: int = 1,
    channels: Mapping[str, Sequence[str]] | None = None,
    channel_caps: pd.DataFrame | Mapping[str, int] | None = None,
    method: str = "auto",
    exact_max_pairs: int = 5_000,
    milp_max_pairs: int = 5_000_000,
    mip_rel_gap: float = 1e-5,
    time_limit: float = 120.0,
    with_bound: bool = True,
) -> Allocation:
    """Choose the offers each customer gets.

    Parameters
    ----------
    candidates:
        One row per eligible (customer, offer): ``customer_id``, ``offer_id``, ``value``
        (expected incremental value, money), optional ``cost`` (expected use of the offer's
        budget, in the budget's unit; default 0) and any other columns (kept in the output).
        Rows with ``value <= 0`` are never chosen.
    budgets:
        ``offer_id -> budget`` (missing = unlimited).
    max_offers:
        Offers per customer (all channels together).
    channels:
        ``offer_id -> channels it is shown on``; with ``channel_caps`` (``channel -> max`` for
        everyone, or a DataFrame indexed by customer_id with a column per channel) it limits
        offers per customer per channel.
    method:
        ``"auto"`` (MILP, greedy beyond ``milp_max_pairs``), ``"milp"`` or ``"greedy"``.

    Returns
    -------
    Allocation. Raises DataError for malformed candidates, ModelFitError if HiGHS fails.
    """
    if method not in METHODS:
        raise ConfigError(f"method == {method!r}, must be one of {', '.join(METHODS)}")
    start = time.perf_counter()
    p, frame, _ = _prepare(candidates, budgets, max_offers, channels, channel_caps)
    k = len(p.value)
    details: dict[str, float | int | str] = {"pairs": k}
    bound = float("nan")
    if k == 0:
        chosen = np.zeros(0, dtype=bool)
        bound, used = 0.0, "empty"
    elif method == "greedy" or (method == "auto" and k > milp_max_pairs):
        # order by value net of budget prices from a 10% sample LP (when big enough to pay)
        top = _rank_within_customer(p, p.value) < int(p.caps[:, 0].max()) + 2
        priced = _sample_budget_prices(p, top, 0.1) if k > 50_000 else None
        chosen = _greedy(p, None if priced is None else p.value - priced)
        used = "greedy" if priced is None else "greedy (by value net of sampled budget prices)"
        if with_bound:
            bound = _lp_column_generation(p)[2]
    elif k <= exact_max_pairs:
        chosen, status = _milp(p, np.arange(k), time_limit, mip_rel_gap)
        used = f"milp ({status})"
        if with_bound:
            bound = _lp(p, np.arange(k))
    else:
        pairs, x, bound = _lp_column_generation(p)
        details["lp_pairs"] = len(pairs)
        fractional = (x > _TOL) & (x < 1 - _TOL)
        details["fractional"] = int(fractional.sum())
        core_cust = np.zeros(p.caps.shape[0], dtype=bool)
        core_cust[p.cust[pairs[fractional]]] = True
        free = core_cust[p.cust[pairs]]
        ones = pairs[~free & (x > 1 - _TOL)]
        chosen = np.zeros(k, dtype=bool)
        chosen[ones] = True
        core = pairs[free]
        details["milp_pairs"] = len(core)
        if len(core):
            sub, status = _milp(_residual(p, ones), core, time_limit, mip_rel_gap)
            chosen[core[sub]] = True
        else:
            status = "optimal"
        used = f"lp + milp on the fractional core ({status})"
    objective = float(p.value[chosen].sum())
    return Allocation(
        assignments=frame[chosen].reset_index(drop=True),
        objective=objective,
        lp_bound=bound,
        method=used,
        seconds=time.perf_counter() - start,
        details=details,
    )


def _residual(p: _Problem, fixed: np.ndarray) -> _Problem:
    """The problem left after the pairs ``fixed`` are assigned: caps and budgets reduced."""
    caps = p.caps.copy()
    np.subtract.at(caps[:, 0], p.cust[fixed], 1)
    for ch in range(caps.shape[1] - 1):
        on = p.chan[p.offer[fixed], ch]
        np.subtract.at(caps[:, 1 + ch], p.cust[fixed][on], 1)
    budget = p.budget - np.bincount(p.offer[fixed], weights=p.cost[fixed], minlength=len(p.budget))
    return _Problem(p.cust, p.offer, p.value, p.cost, np.maximum(budget, 0), caps, p.chan)
