"""Cohort retention and repeat/churn rates over time, from the order table.

Small tables (months x months) computed by the segments job and stored in ``segments.json``
so the CX report can draw them from a bundle without the raw events.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from recsys import columns as C


def _month_number(ts: pd.Series) -> pd.Series:
    return ts.dt.year * 12 + ts.dt.month - 1


def cohort_retention(
    orders: pd.DataFrame, as_of: pd.Timestamp, max_months: int = 12
) -> pd.DataFrame:
    """Share of each first-order-month cohort that ordered in month k after it (k = 0..max).

    Rows: cohort month (``YYYY-MM``), columns 0..max_months, values in [0, 1] (month 0 is 1);
    cells after ``as_of`` are left empty (None in JSON), never extrapolated.
    """
    buys = orders[(~orders["is_return"]) & (orders[C.TIMESTAMP] < as_of)]
    month = _month_number(buys[C.TIMESTAMP])
    first = month.groupby(buys[C.CUSTOMER_ID]).transform("min")
    cohort = (first // 12).astype(str) + "-" + (first % 12 + 1).astype(str).str.zfill(2)
    frame = pd.DataFrame({"cohort": cohort, "k": month - first, "c": buys[C.CUSTOMER_ID]})
    frame = frame[frame["k"] <= max_months]
    active = frame.drop_duplicates().groupby(["cohort", "k"]).size().unstack(fill_value=0)
    size = active[0]
    share = active.div(size, axis=0).reindex(columns=range(max_months + 1)).fillna(0.0)
    last = pd.Period(as_of - pd.Timedelta(seconds=1), "M")
    last_n = last.year * 12 + last.month - 1
    cohort_n = np.array([int(c[:4]) * 12 + int(c[5:]) - 1 for c in share.index])
    observed = (cohort_n[:, None] + np.arange(max_months + 1)[None, :]) <= last_n
    table = share.where(observed)  # months after as_of: unknown, not zero
    table.insert(0, "customers", size)
    return table


def rates_over_time(
    orders: pd.DataFrame, as_of: pd.Timestamp, window_days: int = 90
) -> pd.DataFrame:
    """Per calendar month: buyers, repeat-purchase rate and churn rate.

    ``repeat_rate``: share of the month's buyers who had ordered before the month.
    ``churn_rate``: among customers with an order in the ``window_days`` before the month
    start, the share with no order in the ``window_days`` after it (only for months whose
    window ends by ``as_of``; empty otherwise).
    """
    buys = orders[(~orders["is_return"]) & (orders[C.TIMESTAMP] < as_of)]
    codes, _ = pd.factorize(buys[C.CUSTOMER_ID])  # integers: np.isin on text is very slow
    ts = buys[C.TIMESTAMP].to_numpy()
    first = np.full(codes.max() + 1, np.datetime64("NaT"), dtype=ts.dtype)
    order = np.argsort(ts, kind="stable")[::-1]
    first[codes[order]] = ts[order]  # the last write per code is its earliest order
    start = pd.Timestamp(ts.min()).to_period("M").to_timestamp()
    window = np.timedelta64(window_days, "D")
    rows = []
    for m in pd.date_range(start, as_of, freq="MS"):
        m64, nxt = m.to_datetime64(), (m + pd.offsets.MonthBegin(1)).to_datetime64()
        buyers = np.unique(codes[(ts >= m64) & (ts < nxt)])
        repeat = float(np.mean(first[buyers] < m64)) if len(buyers) else None
        churn = None
        if m64 + window <= as_of.to_datetime64():
            base = np.unique(codes[(ts >= m64 - window) & (ts < m64)])
            after = codes[(ts >= m64) & (ts < m64 + window)]
            if len(base):
                churn = float(1 - np.isin(base, after).mean())
        rows.append(
            {
                "month": m.strftime("%Y-%m"),
                "buyers": int(len(buyers)),
                "repeat_rate": repeat,
                "churn_rate": churn,
            }
        )
    return pd.DataFrame(rows)


def cohort_record(orders: pd.DataFrame, as_of: pd.Timestamp, window_days: int) -> dict[str, Any]:
    """Both tables as JSON-ready lists (NaN written as None)."""
    ret = cohort_retention(orders, as_of)
    rates = rates_over_time(orders, as_of, window_days)
    return {
        "retention": {
            "cohorts": ret.index.tolist(),
            "customers": ret["customers"].astype(int).tolist(),
            "months": [int(c) for c in ret.columns[1:]],
            "share": [
                [None if pd.isna(v) else float(v) for v in row]
                for row in ret.drop(columns="customers").to_numpy()
            ],
        },
        "rates": rates.astype(object).where(rates.notna(), None).to_dict(orient="records"),
    }
