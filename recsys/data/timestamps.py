"""Timestamp parsing: text, numbers and datetime columns to naive UTC ``datetime64[ns]``."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from recsys.data.parsing import as_series

# A zone designator after a clock time: "...12:30:00Z", "...12:30+02:00", "...12:30 -0500".
_TZ_SUFFIX = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
# Representable ``datetime64[ns]`` range, at day precision (safe to compare with any unit).
_NS_FIRST_DAY = np.datetime64("1677-09-22")
_NS_LAST_DAY = np.datetime64("2262-04-10")


def _to_ns(parsed: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Naive datetimes -> ``datetime64[ns]``; values outside the ns range become NaT."""
    arr = np.asarray(parsed)
    if arr.dtype.kind != "M":
        arr = arr.astype("datetime64[us]")
    if arr.dtype == np.dtype("datetime64[ns]"):
        return arr.copy()
    arr = arr.copy()
    arr[~np.isnat(arr) & ((arr < _NS_FIRST_DAY) | (arr > _NS_LAST_DAY))] = np.datetime64("NaT")
    return arr.astype("datetime64[ns]")


def _naive(idx: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx


def _localize(idx: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Naive local times in ``timezone`` (or zone-aware times) -> naive UTC.

    Ambiguous wall times (the repeated hour when clocks go back) are read as standard time;
    nonexistent ones (skipped when clocks go forward) are shifted forward.
    """
    if idx.tz is not None or timezone == "UTC":
        return _naive(idx)
    local = idx.tz_localize(
        timezone, ambiguous=np.zeros(len(idx), dtype=bool), nonexistent="shift_forward"
    )
    return _naive(local)


def _parse_text(text: pd.Index, *, utc: bool, fmt: str | None) -> np.ndarray:
    """Strings -> naive ``datetime64[ns]`` (UTC when ``utc``), NaT where unparseable.

    Tries ISO 8601 (fast, strict), then pandas' inferred format, then per-value parsing for
    what is left; the last two only accept strings with at least two digit groups so that
    stray numbers ("12") are not read as dates.
    """
    if fmt is not None:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
        return _to_ns(_naive(pd.DatetimeIndex(parsed)))
    first = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    values = _to_ns(_naive(pd.DatetimeIndex(first)))
    todo = (
        np.isnat(values)
        & np.asarray(text.str.count(r"\d+") >= 2, dtype=bool)
        & np.asarray(text.str.len() >= 6, dtype=bool)
    )
    for layout in (None, "mixed"):  # inferred from the first value, then per value
        if not todo.any():
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Could not infer format", dateutil fallbacks
            try:
                retry = pd.DatetimeIndex(
                    pd.to_datetime(text[todo], errors="coerce", utc=utc, format=layout)
                )
            except (ValueError, TypeError, OverflowError):
                continue
        if retry.tz is not None and not utc:
            continue  # zone names the offset pattern missed: leave them unparsed
        got = _to_ns(_naive(retry))
        ok = ~np.isnat(got)
        pos = np.flatnonzero(todo)[ok]
        values[pos] = got[ok]
        todo[pos] = False
    return values


def _epoch(v: np.ndarray) -> np.ndarray:
    """Numbers -> ``datetime64[ns]``: yyyymmdd integers, else Unix epoch in s/ms/us/ns."""
    finite = np.isfinite(v)
    out = np.full(len(v), np.datetime64("NaT"), dtype="datetime64[ns]")
    if not finite.any():
        return out
    fv = v[finite]
    if np.all(fv == np.round(fv)) and fv.min() >= 1e7 and fv.max() < 1e8:
        ymd = pd.to_datetime(
            pd.Series(fv.astype(np.int64).astype(str)), format="%Y%m%d", errors="coerce"
        )
        out[finite] = _to_ns(ymd.to_numpy())
        return out
    scale = np.abs(fv).max()
    per_ns = 1e9 if scale < 1e11 else 1e6 if scale < 1e14 else 1e3 if scale < 1e17 else 1.0
    ns = v * per_ns
    lo, hi = (d.astype("datetime64[ns]").astype(np.int64) for d in (_NS_FIRST_DAY, _NS_LAST_DAY))
    ok = finite & (ns >= lo) & (ns <= hi)
    out[ok] = ns[ok].astype(np.int64).astype("datetime64[ns]")
    return out


def parse_timestamps(
    values: Iterable[object], *, timezone: str = "UTC", fmt: str | None = None
) -> pd.Series:
    """Parse a timestamp column to naive UTC ``datetime64[ns]`` (NaT where unparseable).

    Zone-aware values (``...Z``, ``+02:00``, tz-aware dtypes) are converted to UTC; naive values
    are read as local time in ``timezone``. Numbers (and all-digit text of 9+ digits) are
    Unix epoch seconds, milliseconds, microseconds or nanoseconds, judged by magnitude;
    8-digit numbers are ``yyyymmdd``. ``fmt`` forces a strptime format (for ambiguous
    day/month layouts). Values outside 1677-2262 (the ``ns`` range) are NaT.
    """
    s = as_series(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
        idx = _localize(pd.DatetimeIndex(s), timezone)
        return pd.Series(_to_ns(idx), index=s.index)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(_epoch(s.to_numpy(dtype=np.float64, na_value=np.nan)), index=s.index)

    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip()
    epoch = np.asarray(text.str.fullmatch(r"\d{9,}(?:\.\d+)?"), dtype=bool)
    parsed_u = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    if fmt is None and epoch.any():
        parsed_u[epoch] = _epoch(pd.to_numeric(pd.Series(np.asarray(text[epoch]))).to_numpy())
    rest = ~epoch if fmt is None else np.ones(len(text), dtype=bool)
    aware = rest & np.asarray(text.str.contains(_TZ_SUFFIX, regex=True), dtype=bool)
    naive = rest & ~aware
    if naive.any():
        local = _parse_text(text[naive], utc=False, fmt=fmt)
        parsed_u[naive] = _to_ns(_localize(pd.DatetimeIndex(local), timezone))
    if aware.any():
        parsed_u[aware] = _parse_text(text[aware], utc=True, fmt=fmt)
    out = np.append(parsed_u, np.datetime64("NaT"))[codes]
    return pd.Series(out, index=s.index, dtype="datetime64[ns]")
