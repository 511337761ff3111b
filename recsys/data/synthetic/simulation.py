"""The retail simulation: sessions, views, carts, orders, re-buy routines and returns.

Every step is vectorised over all customers at once; :class:`~.sessions.Events` collects
the columns. Returns (:func:`simulate_returns`) apply to every kind of shop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from recsys.data.synthetic.catalog import CYCLE_RANGE
from recsys.data.synthetic.sessions import (
    CART,
    DAY,
    PURCHASE,
    RETURN,
    VIEW,
    Chooser,
    Events,
    draw_sessions,
    first_occurrence,
)

# Behaviour knobs, tuned so that the planted effects are clear at every size from
# 600 customers x 120 days upwards (see the module docstring).
_SESSIONS_PER_DAY: Final = 0.09  # mean sessions per customer-day (weekday shape and growth aside)
_EXTRA_VIEWS: Final = 3.0  # mean extra items viewed per session (Poisson) ...
_MAX_VIEWS: Final = 15  # ... capped
_VIEW_GAP: Final = 150  # seconds between views in a session
_P_CART_PREFERRED: Final = 0.3  # a viewed item is carted, in a preferred category ...
_P_CART_OTHER: Final = 0.08  # ... elsewhere
_P_CONVERT: Final = 0.4  # a session with a cart becomes an order
_P_REBUY_ANYWAY: Final = 0.1  # a later session's re-purchase of a bought item is kept
_HABIT_DISCOVERY: Final = 0.5  # habit customers' conversion factor (they mostly restock)
_INHERITED_CHAINS: Final = 2.0  # mean re-buy routines an existing habit customer starts with
_PACE: Final = (0.85, 1.2)  # a habit customer's personal factor on every cycle
_CYCLE_JITTER: Final = 0.12  # relative spread of each gap around the cycle
_P_CHAIN_CONTINUES: Final = 0.95  # a re-buy routine survives each cycle
_RETURN_DAYS: Final = (1, 21)
SEASON_AMPLITUDE: Final = 0.35  # relative amplitude of each category's yearly wave


@dataclass
class Purchases:
    """Purchases from sessions, before repeats are suppressed (one row per order line)."""

    cust: np.ndarray
    item: np.ndarray
    time: np.ndarray
    qty: np.ndarray
    order: np.ndarray


def simulate_sessions(
    chooser: Chooser, t0: pd.Timestamp, n_days: int, events: Events, rng: np.random.Generator
) -> Purchases:
    """Sessions -> views -> carts -> orders; adds views and carts to ``events``."""
    pop, cat = chooser.pop, chooser.cat
    sessions = draw_sessions(chooser, t0, n_days, _SESSIONS_PER_DAY, rng)
    s_cust, s_day, s_time = sessions.cust, sessions.day, sessions.time
    s_cat, s_pref = sessions.category, sessions.preferred

    n_views = np.minimum(1 + rng.poisson(_EXTRA_VIEWS, len(s_cust)), _MAX_VIEWS)
    v_sess = np.repeat(np.arange(len(s_cust)), n_views)
    v_slot = np.arange(len(v_sess)) - np.repeat(np.cumsum(n_views) - n_views, n_views)
    v_item = chooser.items(s_cust[v_sess], s_cat[v_sess], s_day[v_sess])
    ok = v_item >= 0
    v_sess, v_slot, v_item = v_sess[ok], v_slot[ok], v_item[ok]
    v_cust = s_cust[v_sess]
    v_time = s_time[v_sess] + v_slot * _VIEW_GAP + rng.integers(0, 90, len(v_sess))
    events.add(VIEW, v_cust, v_item, v_time)

    p_cart = np.where(s_pref[v_sess], _P_CART_PREFERRED, _P_CART_OTHER)
    carted = (rng.random(len(v_sess)) < p_cart) & first_occurrence(v_sess, v_item)
    c_sess, c_item = v_sess[carted], v_item[carted]
    c_time = v_time[carted] + rng.integers(5, 60, len(c_sess))
    convert = _P_CONVERT * np.where(pop.habit[s_cust], _HABIT_DISCOVERY, 1.0)
    bought = (rng.random(len(s_cust)) < convert)[c_sess]
    p_sess, p_item = c_sess[bought], c_item[bought]
    checkout = s_time + n_views * _VIEW_GAP + rng.integers(120, 900, len(s_cust))
    extra = np.where(
        cat.consumable[p_item],
        rng.poisson(0.6, len(p_item)),
        (rng.random(len(p_item)) < 0.05).astype(np.int64),
    )
    c_qty = np.ones(len(c_sess), dtype=np.int64)
    c_qty[bought] = 1 + extra
    events.add(CART, s_cust[c_sess], c_item, c_time, c_qty)
    return Purchases(
        cust=s_cust[p_sess],
        item=p_item,
        time=checkout[p_sess],
        qty=1 + extra,
        order=p_sess.astype(np.int64),
    )


def simulate_habits(
    chooser: Chooser, p: Purchases, n_days: int, events: Events, rng: np.random.Generator
) -> None:
    """Suppress most re-purchases from sessions, then add the planted re-buy routines.

    Adds every purchase (and each routine re-buy's view and cart) to ``events``.
    """
    pop, cat = chooser.pop, chooser.cat
    n_cust = len(pop.habit)
    # Existing habit customers arrive with routines running: consumables drawn from their
    # taste on day 0, as if bought before the period.
    h_cust = np.repeat(np.arange(n_cust), rng.poisson(_INHERITED_CHAINS * pop.habit * pop.existing))
    h_cust = np.repeat(h_cust, 4)  # a few draws each, to land on consumables
    zero = np.zeros(len(h_cust), dtype=np.int64)
    h_item = chooser.items(h_cust, chooser.categories(h_cust, zero), zero)
    ok = (h_item >= 0) & cat.consumable[np.maximum(h_item, 0)] & first_occurrence(h_cust, h_item)
    h_cust, h_item = h_cust[ok], h_item[ok]

    # A session re-purchase of something already bought (or inherited) is mostly dropped:
    # the cart is abandoned. Repeats come from the routines.
    cust = np.concatenate([h_cust, p.cust])
    item = np.concatenate([h_item, p.item])
    time = np.concatenate([np.full(len(h_cust), -1), p.time])
    order = np.lexsort((time, item, cust))
    again = np.zeros(len(cust), dtype=bool)
    again[order[1:]] = (np.diff(cust[order]) == 0) & (np.diff(item[order]) == 0)
    again = again[len(h_cust) :]
    keep = ~again | (rng.random(len(again)) < _P_REBUY_ANYWAY)
    events.add(PURCHASE, p.cust[keep], p.item[keep], p.time[keep], p.qty[keep], p.order[keep])

    # Routines: every first purchase of a consumable by a habit customer (and every inherited
    # one) is re-bought each cycle x personal pace x jitter until the period ends or it stops.
    first = np.flatnonzero(~again & pop.habit[p.cust] & cat.consumable[p.item])
    r_cust = np.concatenate([h_cust, p.cust[first]])
    r_item = np.concatenate([h_item, p.item[first]])
    r_qty = np.concatenate([1 + rng.poisson(0.6, len(h_cust)), p.qty[first]])
    pace = rng.uniform(*_PACE, n_cust)
    cycle = cat.cycle_days[r_item] * pace[r_cust] * DAY
    r_start = np.concatenate([-rng.random(len(h_cust)) * cycle[: len(h_cust)], p.time[first]])
    n_max = int(n_days / (CYCLE_RANGE[0] * _PACE[0] * 0.6)) + 1
    jitter = np.clip(rng.normal(1.0, _CYCLE_JITTER, (len(r_cust), n_max)), 0.6, 1.5)
    when = r_start[:, None] + np.cumsum(cycle[:, None] * jitter, axis=1)
    alive = np.cumprod(rng.random(when.shape) < _P_CHAIN_CONTINUES, axis=1).astype(bool)
    mask = alive & (when >= 3600) & (when < n_days * DAY - 3600)
    src = np.broadcast_to(np.arange(len(r_cust))[:, None], mask.shape)[mask]
    t_buy = when[mask].astype(np.int64)
    t_cart = t_buy - rng.integers(30, 300, len(src))
    t_view = t_cart - rng.integers(10, 300, len(src))
    orders = p.order.max(initial=-1) + 1 + np.arange(len(src))
    c, i, q = r_cust[src], r_item[src], r_qty[src]
    events.add(VIEW, c, i, t_view)
    events.add(CART, c, i, t_cart, q)
    events.add(PURCHASE, c, i, t_buy, q, orders)


def simulate_returns(
    events: Events, n_days: int, return_rate: float, rng: np.random.Generator
) -> None:
    """A few purchases come back 1-21 days later (same order and quantity)."""
    cust, item, time, qty, order = events.of_kind(PURCHASE)
    ret = np.flatnonzero(rng.random(len(cust)) < return_rate)
    when = time[ret] + rng.integers(_RETURN_DAYS[0] * DAY, _RETURN_DAYS[1] * DAY, len(ret))
    ok = when < n_days * DAY
    ret = ret[ok]
    events.add(RETURN, cust[ret], item[ret], when[ok], qty[ret], order[ret])
