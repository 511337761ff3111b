"""Netting returns against purchases: what a customer still holds of each item.

One rule for the whole engine (the default answer's exclusions, buy again, the popular
lists): per (customer, item), purchases and returns are walked in time order as a running
balance that a return cannot take below zero, so a return cancels only what was bought before
it (stock bought before the data starts cancels nothing bought later), and the item stays
bought while any quantity is kept (24 bought, 2 returned: a partial return keeps it). On equal
timestamps purchases come first. The balance of event counts is kept the same way.

The running balance is the Skorokhod reflection of the running sum at zero:
``balance_t = sum_t - min(0, min_{s <= t} sum_s)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys import columns as C


@dataclass(frozen=True)
class Held:
    """Per pair key (sorted, unique): the quantity still held and the netted event count."""

    pairs: np.ndarray  # int64 keys, as given
    units: np.ndarray  # float64 >= 0
    events: np.ndarray  # float64 >= 0

    @property
    def bought(self) -> np.ndarray:
        """Whether anything of the pair is still held."""
        return self.units > 0


def held(pair: np.ndarray, when: np.ndarray, sign: np.ndarray, quantity: np.ndarray) -> Held:
    """What is held per ``pair`` key after its purchases (``sign`` +1) and returns (-1).

    ``pair``: int64 keys, one per event; ``when``: comparable timestamps; ``quantity``: > 0
    units per event. All 1-D of one length; events with ``sign`` 0 are ignored.
    """
    keep = sign != 0
    pair, when, sign, quantity = pair[keep], when[keep], sign[keep], quantity[keep]
    order = np.lexsort((-sign, when, pair))  # by pair, then time, purchases first
    steps = pd.DataFrame(
        {"units": (sign * quantity)[order], "events": sign[order].astype(np.float64)}
    )
    key = pd.Series(pair[order])
    running = steps.groupby(key.to_numpy(), sort=False).cumsum()
    lowest = running.groupby(key.to_numpy(), sort=False).cummin().clip(upper=0.0)
    last = (running - lowest).groupby(key.to_numpy(), sort=True).last()
    return Held(
        last.index.to_numpy(dtype=np.int64),
        last["units"].to_numpy(dtype=np.float64),
        last["events"].to_numpy(dtype=np.float64),
    )


def held_in(events: pd.DataFrame, pair: np.ndarray, types: Iterable[str] = (C.PURCHASE,)) -> Held:
    """:func:`held` over an events frame (``event_type``, ``timestamp`` and, when present,
    ``quantity``; a missing quantity is 1): events of ``types`` buy, ``return`` events give
    back. ``pair``: one int64 key per row of ``events`` (customer and item)."""
    kind = events[C.EVENT_TYPE].astype(str).to_numpy()
    sign = np.where(np.isin(kind, list(types)), 1.0, np.where(kind == C.RETURN, -1.0, 0.0))
    quantity = (
        events[C.QUANTITY].fillna(1.0).to_numpy(dtype=np.float64)
        if C.QUANTITY in events.columns
        else np.ones(len(events))
    )
    when = pd.to_datetime(events[C.TIMESTAMP]).to_numpy()
    return held(pair, when, sign, quantity)
