"""The simulation: sessions, views, carts, orders, re-buy routines and returns.

Every step is vectorised over all customers at once; :class:`Events` collects the columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.data.synthetic.catalog import CYCLE_RANGE, Catalog
from recsys.data.synthetic.population import Population

# Event type codes, in funnel order (events at the same second sort in this order).
EVENT_TYPES: Final = np.array([C.VIEW, C.ADD_TO_CART, C.PURCHASE, C.RETURN], dtype=object)
VIEW, CART, PURCHASE, RETURN = 0, 1, 2, 3

# Monday..Sunday session intensity, and an evening-heavy hour-of-day profile.
_WEEKDAY: Final = np.array([0.9, 0.88, 0.9, 0.95, 1.05, 1.2, 1.15])
_HOURS: Final = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 4, 4.5, 5, 4.5, 4, 4, 4.5, 5, 6, 7.5, 8, 7, 4.5, 2.5]
)

# Behaviour knobs, tuned so that the planted effects are clear at every size from
# 600 customers x 120 days upwards (see the module docstring).
DAY: Final = 86_400  # seconds
_SESSIONS_PER_DAY: Final = 0.09  # mean sessions per customer-day (weekday shape and growth aside)
_SENSITIVITY_BINS: Final = 8  # price sensitivity is binned for the item sampling tables
_EXTRA_VIEWS: Final = 3.0  # mean extra items viewed per session (Poisson) ...
_MAX_VIEWS: Final = 15  # ... capped
_VIEW_GAP: Final = 150  # seconds between views in a session
_P_CART_PREFERRED: Final = 0.3  # a viewed item is carted, in a preferred category ...
_P_CART_OTHER: Final = 0.08  # ... elsewhere
_P_CONVERT: Final = 0.4  # a session with a cart becomes an order
_P_REBUY_ANYWAY: Final = 0.1  # a later session's re-purchase of a bought item is kept
_HABIT_DISCOVERY: Final = 0.5  # habit customers' conversion factor (they mostly restock)
_HABIT_CONSUMABLE_LEAN: Final = 3.0  # habit customers' appeal factor for consumables
_INHERITED_CHAINS: Final = 2.0  # mean re-buy routines an existing habit customer starts with
_PACE: Final = (0.85, 1.2)  # a habit customer's personal factor on every cycle
_CYCLE_JITTER: Final = 0.12  # relative spread of each gap around the cycle
_P_CHAIN_CONTINUES: Final = 0.95  # a re-buy routine survives each cycle
_RETURN_DAYS: Final = (1, 21)
SEASON_AMPLITUDE: Final = 0.35  # relative amplitude of each category's yearly wave


def sample_rows(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column index per row of non-negative ``weights``, proportional to the row."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


def first_occurrence(*keys: np.ndarray) -> np.ndarray:
    """True where the row's key tuple has not appeared in an earlier row."""
    return ~pd.DataFrame(dict(enumerate(keys))).duplicated().to_numpy()


class Chooser:
    """Draws what customers look at: a category for (customer, day), an item in it.

    Item weights are appeal x a price tilt for the customer's (binned) sensitivity x a lean
    towards consumables for habit customers. One cumulative table per (bin, habit) row over
    the items grouped by category; the rows are stacked with offsets, so one ``searchsorted``
    serves every draw.
    """

    def __init__(
        self, cat: Catalog, pop: Population, season: np.ndarray, rng: np.random.Generator
    ) -> None:
        self.cat, self.pop, self.season, self.rng = cat, pop, season, rng
        centres = (np.arange(_SENSITIVITY_BINS) + 0.5) / _SENSITIVITY_BINS
        tilt = np.exp(-2.0 * (centres[:, None] - 0.5) * cat.price_z[cat.by_cat][None, :])
        lean = np.where(cat.consumable[cat.by_cat], _HABIT_CONSUMABLE_LEAN, 1.0)
        weights = np.concatenate([tilt, tilt * lean]) * cat.appeal[cat.by_cat]
        table = np.concatenate([np.zeros((len(weights), 1)), np.cumsum(weights, axis=1)], axis=1)
        self.offsets = np.concatenate([[0.0], np.cumsum(table[:, -1])[:-1]])
        self.table = table
        self.flat = (table + self.offsets[:, None]).ravel()
        self.width = table.shape[1]
        bins = np.minimum(
            (pop.sensitivity * _SENSITIVITY_BINS).astype(np.int64), _SENSITIVITY_BINS - 1
        )
        self.row = bins + _SENSITIVITY_BINS * pop.habit

    def categories(self, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The group's taste (customer's strength) or the whole shop, times the season."""
        pop = self.pop
        t = pop.taste[cust][:, None]
        mix = t * pop.preference[pop.group[cust]] + (1.0 - t) * pop.shop_mix
        return sample_rows(mix * self.season[day], self.rng)

    def items(self, cust: np.ndarray, category: np.ndarray, day: np.ndarray) -> np.ndarray:
        """One item of ``category`` per row, released by ``day``; -1 if none after retries."""
        cat, start = self.cat, self.cat.cat_start
        row = self.row[cust]
        lo = self.table[row, start[category]] + self.offsets[row]
        hi = self.table[row, start[category + 1]] + self.offsets[row]
        out = np.full(len(cust), -1, dtype=np.int64)
        todo = np.arange(len(cust))
        for _ in range(12):  # unreleased items are redrawn
            x = lo[todo] + self.rng.random(len(todo)) * (hi[todo] - lo[todo])
            col = np.searchsorted(self.flat, x, side="right") - 1 - row[todo] * self.width
            col = np.clip(col, start[category[todo]], start[category[todo] + 1] - 1)
            drawn = cat.by_cat[col]
            ok = cat.release_day[drawn] <= day[todo]
            out[todo[ok]] = drawn[ok]
            todo = todo[~ok]
            if not len(todo):
                break
        return out


class Events:
    """Columns of the event log, collected in parts by kind and assembled once."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, tuple[np.ndarray, ...]]] = []

    def add(
        self,
        kind: int,
        cust: np.ndarray,
        item: np.ndarray,
        time: np.ndarray,
        qty: np.ndarray | None = None,
        order: np.ndarray | None = None,
    ) -> None:
        n = len(cust)
        cols = (
            cust.astype(np.int64),
            item.astype(np.int64),
            time.astype(np.int64),
            np.ones(n, dtype=np.int64) if qty is None else qty.astype(np.int64),
            np.full(n, -1, dtype=np.int64) if order is None else order.astype(np.int64),
        )
        self.parts.append((kind, cols))

    def of_kind(self, kind: int) -> tuple[np.ndarray, ...]:
        """``cust, item, time, qty, order`` of every event of ``kind`` added so far."""
        cols = [c for k, c in self.parts if k == kind]
        return tuple(np.concatenate(c) for c in zip(*cols, strict=True))

    def columns(self) -> tuple[np.ndarray, ...]:
        """``cust, item, time, kind, qty, order`` of all events, by time (then funnel order)."""
        kind = np.concatenate([np.full(len(c[0]), k, dtype=np.int8) for k, c in self.parts])
        cust, item, time, qty, order = (
            np.concatenate(c) for c in zip(*(c for _, c in self.parts), strict=True)
        )
        sort = np.lexsort((item, kind, cust, time))
        return cust[sort], item[sort], time[sort], kind[sort], qty[sort], order[sort]


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
    day_w = _WEEKDAY[(t0.day_of_week + np.arange(n_days)) % 7] * (1 + 0.3 * np.arange(n_days) / 365)
    cum_w = np.concatenate([[0.0], np.cumsum(day_w)])
    first_day = np.maximum(pop.signup_day, 0)
    n_sess = rng.poisson(_SESSIONS_PER_DAY * pop.activity * (cum_w[n_days] - cum_w[first_day]))
    s_cust = np.repeat(np.arange(len(n_sess)), n_sess)
    lo = cum_w[first_day[s_cust]]  # inverse CDF of the daily intensity after signup
    u = lo + rng.random(len(s_cust)) * (cum_w[n_days] - lo)
    s_day = np.clip(np.searchsorted(cum_w, u, side="right") - 1, first_day[s_cust], n_days - 1)
    hour = rng.choice(24, size=len(s_cust), p=_HOURS / _HOURS.sum())
    s_time = s_day * DAY + hour * 3600 + rng.integers(0, 3600, len(s_cust))
    s_time = np.minimum(s_time, n_days * DAY - 3 * 3600)  # sessions end inside the period
    s_cat = chooser.categories(s_cust, s_day)
    s_pref = pop.preference[pop.group[s_cust], s_cat] > 0

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
