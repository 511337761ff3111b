"""The marketplace simulation: many views, carts and favourites, few purchases.

A view-heavy shop over a short span (days to a few weeks) with a large catalogue. Customers
browse a lot and buy little; most purchases are of something the buyer looked at or carted
earlier, on that visit or on a later one ("consideration"), the rest are bought straight
away (from a link, an ad or a search) with no earlier view of the item. Tastes, popularity and
prices come from the same :class:`~.sessions.Chooser` as the retail shop, so the taste groups
are learnable; repeat purchases are rare.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from recsys.data.synthetic.sessions import (
    CART,
    DAY,
    FAVORITE_MARK,
    PURCHASE,
    VIEW,
    Chooser,
    Events,
    draw_sessions,
    first_occurrence,
)

_SESSIONS_PER_DAY: Final = 0.45  # busy browsing over a short span
_EXTRA_VIEWS: Final = 7.0  # mean extra items viewed per session (Poisson) ...
_MAX_VIEWS: Final = 40  # ... capped
_VIEW_GAP: Final = 45  # seconds between views in a session
_P_CART_PREFERRED: Final = 0.08  # a viewed item is carted, in a preferred category ...
_P_CART_OTHER: Final = 0.02  # ... elsewhere
_P_FAVORITE_PREFERRED: Final = 0.05  # a viewed item is marked as a favourite ...
_P_FAVORITE_OTHER: Final = 0.015  # ... elsewhere
_P_BUY_CARTED: Final = 0.3  # a carted item is bought (that visit or later)
_P_BUY_FAVORITE: Final = 0.08  # a favourite (not carted) is bought later
_P_BUY_VIEWED: Final = 0.004  # a merely viewed item is bought
_P_LATER: Final = 0.6  # a considered purchase happens on a later visit, not that session
_LATER_MEAN_DAYS: Final = 2.0  # mean wait before that later visit (exponential)
#: Share of purchases bought straight away, with no earlier view or cart of the item.
DIRECT_SHARE: Final = 0.4
_P_REPEAT_KEPT: Final = 0.05  # a second purchase of an item the customer already bought


def simulate_marketplace(
    chooser: Chooser, t0: pd.Timestamp, n_days: int, events: Events, rng: np.random.Generator
) -> None:
    """Sessions -> views -> carts and favourites -> considered and direct purchases."""
    s = draw_sessions(chooser, t0, n_days, _SESSIONS_PER_DAY, rng)
    end = n_days * DAY - 60
    n_views = np.minimum(1 + rng.poisson(_EXTRA_VIEWS, len(s.cust)), _MAX_VIEWS)
    v_sess = np.repeat(np.arange(len(s.cust)), n_views)
    v_slot = np.arange(len(v_sess)) - np.repeat(np.cumsum(n_views) - n_views, n_views)
    v_item = chooser.items(s.cust[v_sess], s.category[v_sess], s.day[v_sess])
    ok = v_item >= 0
    v_sess, v_slot, v_item = v_sess[ok], v_slot[ok], v_item[ok]
    v_cust = s.cust[v_sess]
    v_time = np.minimum(s.time[v_sess] + v_slot * _VIEW_GAP + rng.integers(0, 30, len(v_sess)), end)
    events.add(VIEW, v_cust, v_item, v_time)

    pref = s.preferred[v_sess]
    once = first_occurrence(v_sess, v_item)
    carted = once & (rng.random(len(v_sess)) < np.where(pref, _P_CART_PREFERRED, _P_CART_OTHER))
    p_fav = np.where(pref, _P_FAVORITE_PREFERRED, _P_FAVORITE_OTHER)
    favored = once & ~carted & (rng.random(len(v_sess)) < p_fav)
    events.add(
        CART, v_cust[carted], v_item[carted], v_time[carted] + rng.integers(5, 40, carted.sum())
    )
    events.add(
        FAVORITE_MARK,
        v_cust[favored],
        v_item[favored],
        v_time[favored] + rng.integers(3, 20, favored.sum()),
    )

    # Considered purchases: of a carted, favourite or viewed item, that visit or later.
    p_buy = np.where(carted, _P_BUY_CARTED, np.where(favored, _P_BUY_FAVORITE, _P_BUY_VIEWED))
    buy = np.flatnonzero(rng.random(len(v_sess)) < p_buy)
    later = rng.random(len(buy)) < _P_LATER
    wait = np.where(
        later,
        3600 + rng.exponential(_LATER_MEAN_DAYS * DAY, len(buy)),
        rng.integers(60, 900, len(buy)),
    )
    k_cust, k_item = v_cust[buy], v_item[buy]
    k_time = (v_time[buy] + wait).astype(np.int64)

    # Direct purchases: straight from a link, in a session's category, no view first.
    n_direct = int(round(len(buy) * DIRECT_SHARE / (1.0 - DIRECT_SHARE)))
    d_sess = rng.integers(0, max(len(s.cust), 1), n_direct) if len(s.cust) else np.zeros(0, int)
    d_item = chooser.items(s.cust[d_sess], s.category[d_sess], s.day[d_sess])
    d_ok = d_item >= 0
    d_sess, d_item = d_sess[d_ok], d_item[d_ok]
    d_time = s.time[d_sess] + rng.integers(0, 600, len(d_sess))

    cust = np.concatenate([k_cust, s.cust[d_sess]])
    item = np.concatenate([k_item, d_item])
    time = np.concatenate([k_time, d_time])
    inside = time < end
    cust, item, time = cust[inside], item[inside], time[inside]
    by_time = np.argsort(time, kind="stable")
    cust, item, time = cust[by_time], item[by_time], time[by_time]
    first = first_occurrence(cust, item)
    keep = first | (rng.random(len(cust)) < _P_REPEAT_KEPT)
    cust, item, time = cust[keep], item[keep], time[keep]
    qty = 1 + (rng.random(len(cust)) < 0.05).astype(np.int64)
    events.add(PURCHASE, cust, item, time, qty, np.arange(len(cust), dtype=np.int64))
