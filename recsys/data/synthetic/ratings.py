"""The ratings-catalogue simulation: each item bought at most once per customer.

Like a film, book or course catalogue: a customer takes each item once, so "buy it again"
has nothing to find. Customers' appetites have a long tail (a few take hundreds of items,
most a handful) and so has item popularity (Zipf appeal within each category). Only
purchases are logged. Taste groups and price sensitivity come from the same
:class:`~.sessions.Chooser` as the retail shop, so they are learnable.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from recsys.data.synthetic.sessions import DAY, PURCHASE, Chooser, Events, first_occurrence

_MEAN_ITEMS: Final = 12.0  # mean items per customer over a year, before activity
_OVERDRAW: Final = 1.6  # draws per wanted item, so that duplicates can be dropped


def simulate_ratings(
    chooser: Chooser, n_days: int, events: Events, rng: np.random.Generator
) -> None:
    """Each customer takes ``1 + Poisson(mean x activity)`` distinct items after signing up."""
    pop = chooser.pop
    n_cust = len(pop.group)
    first_day = np.maximum(pop.signup_day, 0)
    span = (n_days - first_day) / 365.0
    wanted = 1 + rng.poisson(_MEAN_ITEMS * pop.activity * np.maximum(span, 1 / 12))
    draws = np.ceil(wanted * _OVERDRAW).astype(np.int64) + 3
    cust = np.repeat(np.arange(n_cust), draws)
    day = first_day[cust] + (rng.random(len(cust)) * (n_days - first_day[cust])).astype(np.int64)
    day = np.minimum(day, n_days - 1)
    item = chooser.items(cust, chooser.categories(cust, day), day)
    ok = item >= 0
    cust, item, day = cust[ok], item[ok], day[ok]
    once = first_occurrence(cust, item)
    cust, item, day = cust[once], item[once], day[once]
    # The first `wanted` distinct items of each customer, in draw order.
    rank = np.arange(len(cust)) - np.searchsorted(cust, cust, side="left")
    keep = rank < wanted[cust]
    cust, item, day = cust[keep], item[keep], day[keep]
    time = day * DAY + rng.integers(6 * 3600, 23 * 3600, len(cust))
    events.add(PURCHASE, cust, item, time, None, np.arange(len(cust), dtype=np.int64))
