"""Per-customer order summary as of a date: the input of RFM, clusters, BG/NBD and churn.

Orders come from validated events (:func:`recsys.data.events.validate_events`): purchase
rows grouped by ``order_id`` (or by customer and calendar day where there is no order id);
return rows subtract their value from the customer's monetary totals but are not orders.
Only events strictly before ``as_of`` are used, so a summary never sees its own future
(the calibration/holdout split of :func:`calibration_holdout`).

Conventions (the BG/NBD notation of Fader, Hardie & Lee 2005, "Counting Your Customers the
Easy Way"): ``frequency`` x is the number of repeat orders (orders - 1), ``t_x`` the age at the
last order and ``T`` the age at ``as_of``, both in time units of ``time_unit_days`` days since
the first order. ``recency_days`` is the marketing recency: days from the last order to
``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.errors import DataError

ORDER: Final = "order"
VALUE: Final = "value"
DAY_NS: Final = 86_400 * 10**9
CHANNEL: Final = "channel"

SUMMARY_COLUMNS: Final = (
    "first_order",
    "last_order",
    "orders",
    "frequency",
    "recency_days",
    "T_days",
    "t_x",
    "T",
    "monetary_mean",
    "monetary_total",
    "repeat_monetary_mean",
)


def _line_value(events: pd.DataFrame) -> np.ndarray:
    if C.PRICE in events.columns:
        price = events[C.PRICE].to_numpy(np.float64)
    else:
        price = np.zeros(len(events))
    qty = events[C.QUANTITY].to_numpy(np.float64) if C.QUANTITY in events else np.ones(len(events))
    return np.nan_to_num(qty * price)


def order_table(events: pd.DataFrame, *, order_key: str = "auto") -> pd.DataFrame:
    """Collapse validated event rows into orders and returns.

    Parameters
    ----------
    events:
        Clean events with ``customer_id``, ``timestamp``, optionally ``event_type`` (missing:
        all purchases), ``quantity``, ``price`` (unit price), ``order_id``.
    order_key:
        ``"order_id"``, ``"day"`` or ``"auto"`` (order ids where the row has one, else day).

    Returns
    -------
    DataFrame ``customer_id, order, timestamp, value, is_return``: one row per order (first
    timestamp, summed line value) and per return order (value positive, ``is_return`` True).
    """
    missing = [c for c in (C.CUSTOMER_ID, C.TIMESTAMP) if c not in events.columns]
    if missing:
        raise DataError(f"events lack column(s) {missing} needed for the customer summary")
    etype = (
        events[C.EVENT_TYPE].astype(str).to_numpy()
        if C.EVENT_TYPE in events.columns
        else np.full(len(events), C.PURCHASE)
    )
    keep = (etype == C.PURCHASE) | (etype == C.RETURN)
    ev = events.loc[keep]
    is_ret = etype[keep] == C.RETURN
    ts = pd.to_datetime(ev[C.TIMESTAMP]).to_numpy("datetime64[ns]")
    day_key = pd.Series((ts.astype(np.int64) // DAY_NS).astype(str), index=ev.index)
    if order_key == "day" or C.ORDER_ID not in ev.columns:
        key = "d" + day_key
    elif order_key == "order_id":
        if ev[C.ORDER_ID].isna().any():
            raise DataError("order_key 'order_id' but some purchase rows have no order_id")
        key = "o" + ev[C.ORDER_ID].astype(str)
    else:
        oid = ev[C.ORDER_ID]
        key = ("o" + oid.astype(str)).where(oid.notna(), "d" + day_key)
    frame = pd.DataFrame(
        {
            C.CUSTOMER_ID: ev[C.CUSTOMER_ID].astype(str).to_numpy(),
            ORDER: key.to_numpy(),
            C.TIMESTAMP: ts,
            VALUE: _line_value(ev),
            "is_return": is_ret,
        }
    )
    out = frame.groupby([C.CUSTOMER_ID, ORDER, "is_return"], sort=False, observed=True).agg(
        timestamp=(C.TIMESTAMP, "min"), value=(VALUE, "sum")
    )
    return out.reset_index()[[C.CUSTOMER_ID, ORDER, C.TIMESTAMP, VALUE, "is_return"]]


def summarize(
    orders: pd.DataFrame, as_of: pd.Timestamp | str, *, time_unit_days: float = 7.0
) -> pd.DataFrame:
    """Per-customer summary of the orders strictly before ``as_of``.

    Parameters
    ----------
    orders:
        Output of :func:`order_table`.
    as_of:
        The "now" of the summary (naive UTC). Later orders are ignored.
    time_unit_days:
        Length of the BG/NBD time unit in days (``t_x`` and ``T``).

    Returns
    -------
    DataFrame indexed by ``customer_id`` (customers with at least one order before
    ``as_of``), columns :data:`SUMMARY_COLUMNS`. Monetary values are net of returns made
    before ``as_of`` (``monetary_total`` clipped at 0); ``repeat_monetary_mean`` is the mean
    value of the repeat orders (0 when there are none), the Gamma-Gamma input.
    """
    as_of = pd.Timestamp(as_of)
    before = orders[orders[C.TIMESTAMP] < as_of]
    buys = before[~before["is_return"]].sort_values([C.CUSTOMER_ID, C.TIMESTAMP], kind="stable")
    if buys.empty:
        raise DataError(f"no orders before {as_of.date()}: nothing to summarise")
    g = buys.groupby(C.CUSTOMER_ID, sort=True)
    first = g[C.TIMESTAMP].min()
    last = g[C.TIMESTAMP].max()
    n = g.size().astype(np.int64)
    total_buy = g[VALUE].sum()
    first_value = g[VALUE].first()
    returned = (
        before[before["is_return"]].groupby(C.CUSTOMER_ID)[VALUE].sum().reindex(n.index).fillna(0)
    )
    net_total = (total_buy - returned).clip(lower=0.0)
    repeats = n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        repeat_mean = np.where(repeats > 0, (total_buy - first_value) / repeats, 0.0)
    day = np.timedelta64(1, "D")
    t_x_days = (last - first).to_numpy() / day
    T_days = (as_of - first).to_numpy() / day
    out = pd.DataFrame(
        {
            "first_order": first,
            "last_order": last,
            "orders": n,
            "frequency": repeats,
            "recency_days": (as_of - last).to_numpy() / day,
            "T_days": T_days,
            "t_x": t_x_days / time_unit_days,
            "T": T_days / time_unit_days,
            "monetary_mean": net_total / n,
            "monetary_total": net_total,
            "repeat_monetary_mean": np.clip(repeat_mean, 0.0, None),
        }
    )
    out.index.name = C.CUSTOMER_ID
    return out


def shares(
    events: pd.DataFrame,
    column: str,
    as_of: pd.Timestamp | str,
    *,
    customers: pd.Index | None = None,
    prefix: str = "",
    max_levels: int = 12,
) -> pd.DataFrame:
    """Share of each customer's purchase lines per value of ``column`` (category, channel).

    Only purchases before ``as_of``; the ``max_levels - 1`` most common values keep their own
    column and the rest go to ``other``. Rows sum to 1; customers without a known value get 0s.
    Returns a DataFrame indexed like ``customers`` with columns ``prefix + value``.
    """
    ev = events[pd.to_datetime(events[C.TIMESTAMP]) < pd.Timestamp(as_of)]
    if C.EVENT_TYPE in ev.columns:
        ev = ev[ev[C.EVENT_TYPE].astype(str) == C.PURCHASE]
    ev = ev[ev[column].notna()]
    values = ev[column].astype(str)
    top = values.value_counts().index[: max_levels - 1]
    values = values.where(values.isin(top), "other")
    table = pd.crosstab(ev[C.CUSTOMER_ID].astype(str), values)
    table = table.div(table.sum(axis=1), axis=0)
    table.columns = [f"{prefix}{c}" for c in table.columns]
    if customers is not None:
        table = table.reindex(customers).fillna(0.0)
    table.index.name = C.CUSTOMER_ID
    return table.astype(np.float64)


@dataclass(frozen=True)
class CalibrationHoldout:
    """A summary as of ``cutoff`` plus what each of its customers did in [cutoff, end)."""

    calibration: pd.DataFrame  # summarize(...) as of cutoff, plus holdout_orders, holdout_value
    cutoff: pd.Timestamp
    end: pd.Timestamp

    @property
    def holdout_days(self) -> float:
        return float((self.end - self.cutoff) / pd.Timedelta(days=1))


def calibration_holdout(
    orders: pd.DataFrame,
    cutoff: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    time_unit_days: float = 7.0,
) -> CalibrationHoldout:
    """Split at ``cutoff``: the summary before it and the orders in ``[cutoff, end)``.

    Only customers with an order before ``cutoff`` are kept (new customers of the holdout are
    not predictable by a model of existing ones). ``holdout_orders`` counts purchase orders in
    the window, ``holdout_value`` their summed value.
    """
    cutoff, end = pd.Timestamp(cutoff), pd.Timestamp(end)
    if end <= cutoff:
        raise DataError(f"holdout end {end} is not after the cutoff {cutoff}")
    cal = summarize(orders, cutoff, time_unit_days=time_unit_days)
    ts = orders[C.TIMESTAMP]
    window = orders[(ts >= cutoff) & (ts < end) & ~orders["is_return"]]
    g = window.groupby(C.CUSTOMER_ID)
    cal["holdout_orders"] = g.size().reindex(cal.index).fillna(0).astype(np.int64)
    cal["holdout_value"] = g[VALUE].sum().reindex(cal.index).fillna(0.0)
    return CalibrationHoldout(cal, cutoff, end)
