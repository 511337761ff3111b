"""What customers look at and when: session times, categories, items; the event log.

Shared by every kind of shop (:mod:`.simulation` for retail, :mod:`.marketplace`,
:mod:`.ratings`). Every draw is vectorised over all customers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.data.synthetic.catalog import Catalog
from recsys.data.synthetic.population import Population

#: A favourite (wish list) mark on an item: marketplace shops only.
FAVORITE: Final = "favorite"
# Event type codes, in funnel order (events at the same second sort in this order).
EVENT_TYPES: Final = np.array([C.VIEW, C.ADD_TO_CART, C.PURCHASE, C.RETURN, FAVORITE], dtype=object)
VIEW, CART, PURCHASE, RETURN, FAVORITE_MARK = 0, 1, 2, 3, 4

# Monday..Sunday session intensity, and an evening-heavy hour-of-day profile.
_WEEKDAY: Final = np.array([0.9, 0.88, 0.9, 0.95, 1.05, 1.2, 1.15])
_HOURS: Final = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 4, 4.5, 5, 4.5, 4, 4, 4.5, 5, 6, 7.5, 8, 7, 4.5, 2.5]
)
DAY: Final = 86_400  # seconds
_SENSITIVITY_BINS: Final = 8  # price sensitivity is binned for the item sampling tables
_HABIT_CONSUMABLE_LEAN: Final = 3.0  # habit customers' appeal factor for consumables


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


@dataclass(frozen=True)
class Sessions:
    """One row per session: who, which day, when (seconds from the start), which category."""

    cust: np.ndarray
    day: np.ndarray
    time: np.ndarray
    category: np.ndarray
    preferred: np.ndarray  # the category is one of the customer's group's


def draw_sessions(
    chooser: Chooser, t0: pd.Timestamp, n_days: int, rate: float, rng: np.random.Generator
) -> Sessions:
    """Sessions at ``rate`` per customer-day (x activity, weekday shape, growth), after signup."""
    pop = chooser.pop
    day_w = _WEEKDAY[(t0.day_of_week + np.arange(n_days)) % 7] * (1 + 0.3 * np.arange(n_days) / 365)
    cum_w = np.concatenate([[0.0], np.cumsum(day_w)])
    first_day = np.maximum(pop.signup_day, 0)
    n_sess = rng.poisson(rate * pop.activity * (cum_w[n_days] - cum_w[first_day]))
    s_cust = np.repeat(np.arange(len(n_sess)), n_sess)
    lo = cum_w[first_day[s_cust]]  # inverse CDF of the daily intensity after signup
    u = lo + rng.random(len(s_cust)) * (cum_w[n_days] - lo)
    s_day = np.clip(np.searchsorted(cum_w, u, side="right") - 1, first_day[s_cust], n_days - 1)
    hour = rng.choice(24, size=len(s_cust), p=_HOURS / _HOURS.sum())
    s_time = s_day * DAY + hour * 3600 + rng.integers(0, 3600, len(s_cust))
    s_time = np.minimum(s_time, n_days * DAY - 3 * 3600)  # sessions end inside the period
    s_cat = chooser.categories(s_cust, s_day)
    s_pref = pop.preference[pop.group[s_cust], s_cat] > 0
    return Sessions(s_cust, s_day, s_time, s_cat, s_pref)
