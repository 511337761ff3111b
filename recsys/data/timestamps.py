"""Timestamp parsing: text, numbers and datetime columns to naive UTC ``datetime64[ns]``.

Day/month order. A date such as ``01/02/2024`` reads as 1 February (day first, European) or
2 January (month first, US). The order is decided once per column, never per value
(:func:`infer_date_order`): a value whose first number is above 12 (``13/02/2024``) proves
day-first, one whose second number is (``02/13/2024``) proves month-first. A column with proof
of both is refused, and so is one where some date reads both ways and nothing decides; the
``timestamp_format`` ingest setting (``"day_first"``, ``"month_first"`` or a strptime format)
settles it. The same rule reads a single date given on the command line (:func:`parse_date`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recsys.data.parsing import arrow_strings, as_series
from recsys.errors import DataError

# A zone designator after a clock time: "...12:30:00Z", "...12:30+02:00", "...12:30 -0500".
_TZ_SUFFIX = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
# Representable ``datetime64[ns]`` range, at day precision (safe to compare with any unit).
_NS_FIRST_DAY = np.datetime64("1677-09-22")
_NS_LAST_DAY = np.datetime64("2262-04-10")

DAY_FIRST: Final = "day_first"
MONTH_FIRST: Final = "month_first"
DateOrder = Literal["day_first", "month_first"]
# A date with the year last: "01/02/2024", "1.2.24", "01-02-2024 10:00".
_DMY: Final = r"^\s*(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?:\d{4}|\d{2})(?:\D|$)"
_SETTLE: Final = (
    "set timestamp_format to 'day_first' or 'month_first' (or a strptime format such as "
    "'%d/%m/%Y %H:%M')"
)


def _day_month_numbers(text: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(is_dmy, first, second)``: which values have the year last, and their two numbers.

    Runs in Arrow's vectorised regex engine (RE2): a column of a million distinct values
    takes a fraction of a second.
    """
    arr = arrow_strings(text)
    parts = pc.extract_regex(arr, _DMY)
    found = np.asarray(parts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    first = np.zeros(len(text), dtype=np.int64)
    second = np.zeros(len(text), dtype=np.int64)
    if found.any():
        hits = parts.filter(pa.array(found))
        first[found] = pc.cast(hits.field("a"), pa.int64()).to_numpy()
        second[found] = pc.cast(hits.field("b"), pa.int64()).to_numpy()
    return found, first, second


def infer_date_order(
    values: Iterable[object], *, timestamp_format: str | None = None
) -> DateOrder | None:
    """The day/month order of a column of dates, from its unambiguous values.

    Returns ``"day_first"`` or ``"month_first"``, or None when no value has the year last
    (ISO dates, epochs) or every such value reads the same either way (``05/05/2024``).
    ``timestamp_format`` short-cuts the inference: ``"day_first"``/``"month_first"`` are
    returned as given; a strptime format gives None (the format decides).

    Raises
    ------
    DataError
        One line naming ``timestamp_format``: the column holds proof of both orders
        (``13/02/2024`` and ``02/13/2024``), or some value reads both ways (``01/02/2024``)
        and no value decides.
    """
    if timestamp_format in (DAY_FIRST, MONTH_FIRST):
        return timestamp_format  # type: ignore[return-value]
    if timestamp_format is not None:
        return None
    s = as_series(values)
    if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
        return None
    return _infer_order(pd.Index(pd.unique(s.dropna())).astype(str))


def _infer_order(text: pd.Index) -> DateOrder | None:
    """:func:`infer_date_order` on distinct text values (no ``timestamp_format``)."""
    found, a, b = _day_month_numbers(text)
    day_first = found & (a > 12) & (b >= 1) & (b <= 12)
    month_first = found & (b > 12) & (a >= 1) & (a <= 12)
    if day_first.any() and month_first.any():
        raise DataError(
            f"dates mix day-first ({text[day_first][0]!r}) and month-first "
            f"({text[month_first][0]!r}) order; fix the file or {_SETTLE}"
        )
    if day_first.any():
        return DAY_FIRST
    if month_first.any():
        return MONTH_FIRST
    both_ways = found & (a != b) & (a >= 1) & (a <= 12) & (b >= 1) & (b <= 12)
    if both_ways.any():
        raise DataError(
            f"ambiguous dates: {text[both_ways][0]!r} reads as day-first or month-first and "
            f"no value (such as 13/02/2024) decides; {_SETTLE}"
        )
    return None


def _enforce_order(text: pd.Index, parsed: np.ndarray, order: DateOrder) -> np.ndarray:
    """NaT where a year-last value did not parse in ``order`` (no silent day/month swap)."""
    found, a, b = _day_month_numbers(text)
    if not found.any():
        return parsed
    day, month = (a, b) if order == DAY_FIRST else (b, a)
    stamps = pd.DatetimeIndex(parsed)
    wrong = found & ~np.isnat(parsed) & ((stamps.day != day) | (stamps.month != month))
    out = parsed.copy()
    out[wrong] = np.datetime64("NaT")
    return out


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


def _parse_text(text: pd.Index, *, utc: bool, fmt: str | None, dayfirst: bool) -> np.ndarray:
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
                    pd.to_datetime(
                        text[todo], errors="coerce", utc=utc, format=layout, dayfirst=dayfirst
                    )
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
    8-digit numbers are ``yyyymmdd``. Values outside 1677-2262 (the ``ns`` range) are NaT.

    ``fmt`` is a strptime format, or ``"day_first"``/``"month_first"`` for the order of
    year-last dates; None infers the order from the values (:func:`infer_date_order`, which
    raises :class:`DataError` for a column that mixes the orders or cannot be decided). A
    year-last value is only ever read in the column's order.
    """
    return read_timestamps(values, timezone=timezone, fmt=fmt)[0]


def read_timestamps(
    values: Iterable[object], *, timezone: str = "UTC", fmt: str | None = None
) -> tuple[pd.Series, DateOrder | None]:
    """:func:`parse_timestamps` plus the day/month order it used (None: no year-last dates)."""
    s = as_series(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
        idx = _localize(pd.DatetimeIndex(s), timezone)
        return pd.Series(_to_ns(idx), index=s.index), None
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        epochs = _epoch(s.to_numpy(dtype=np.float64, na_value=np.nan))
        return pd.Series(epochs, index=s.index), None

    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip()
    order: DateOrder | None
    if fmt in (DAY_FIRST, MONTH_FIRST):
        order, fmt = fmt, None  # type: ignore[assignment]
    else:
        order = _infer_order(text) if fmt is None else None
    dayfirst = order == DAY_FIRST
    epoch = np.asarray(text.str.fullmatch(r"\d{9,}(?:\.\d+)?"), dtype=bool)
    parsed_u = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    if fmt is None and epoch.any():
        parsed_u[epoch] = _epoch(pd.to_numeric(pd.Series(np.asarray(text[epoch]))).to_numpy())
    rest = ~epoch if fmt is None else np.ones(len(text), dtype=bool)
    aware = rest & np.asarray(text.str.contains(_TZ_SUFFIX, regex=True), dtype=bool)
    naive = rest & ~aware
    if naive.any():
        local = _parse_text(text[naive], utc=False, fmt=fmt, dayfirst=dayfirst)
        parsed_u[naive] = _to_ns(_localize(pd.DatetimeIndex(local), timezone))
    if aware.any():
        parsed_u[aware] = _parse_text(text[aware], utc=True, fmt=fmt, dayfirst=dayfirst)
    if order is not None:
        parsed_u = _enforce_order(text, parsed_u, order)
    out = np.append(parsed_u, np.datetime64("NaT"))[codes]
    return pd.Series(out, index=s.index, dtype="datetime64[ns]"), order


def parse_date(
    text: str, order: DateOrder | None = None, *, what: str = "date", timezone: str = "UTC"
) -> pd.Timestamp:
    """One date or time given by a person (e.g. ``--cutoff``), read like a file's column.

    ``order`` is the events file's day/month order (``LoadResult.date_order``) or the
    ``timestamp_format`` setting; without one, the value must decide itself
    (``13/02/2024``, ``2024-02-01``). Returns a naive UTC timestamp.

    Raises
    ------
    DataError
        Unreadable, or a year-last date that reads both ways with no order given (one line
        naming ``timestamp_format``).
    """
    try:
        fmt = order or infer_date_order([text])
        value = parse_timestamps(pd.Series([text], dtype=object), timezone=timezone, fmt=fmt)[0]
    except DataError as exc:
        raise DataError(f"{what} {text!r}: {exc}") from None
    if pd.isna(value):
        raise DataError(f"{what} {text!r} is not a date (expected e.g. 2024-02-01)")
    return pd.Timestamp(value)
