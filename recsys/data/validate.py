"""Validation of raw events: every input row ends up clean or rejected with its reason.

:func:`validate_events` maps the source columns (see :mod:`recsys.data.presets`), cleans ids,
parses timestamps, quantities and prices, applies the return rules and checks each row. A row
that fails gets the FIRST failing reason in :data:`REASON_ORDER`:

1. ``missing_item_id``      no item id (empty, NaN)
2. ``non_product_item``     the item is postage, a fee, an adjustment... (``non_product_items``
                            case-insensitively, or a full match of ``non_product_pattern``)
3. ``missing_customer_id``  no customer id
4. ``bad_timestamp``        empty or unparseable timestamp (or outside 1677-2262)
5. ``unknown_event_type``   event type (after ``event_type_map`` and the return rules) not in
                            the vocabulary (the keys of ``MatrixConfig.event_weights``)
6. ``bad_quantity``         non-numeric, zero, infinite, or negative outside the return rules
7. ``bad_price``            a price that is not a number
8. ``negative_price``       price < 0
9. ``zero_price``           price == 0 (only with ``IngestConfig.zero_price == "reject"``)
10. ``duplicate``           exact copy (all source columns) of an earlier row (only with
                            ``IngestConfig.duplicates == "reject"``)

Item checks come first because a non-product line (postage, bad-debt adjustment) is reported as
such whatever else is wrong with it; ``duplicate`` comes last so its count is the number of
otherwise-valid rows that would have been double counted.

Conventions: a missing ``event_type`` column or an empty value means ``purchase``; a missing
``quantity`` column or an empty value means 1. Returns become ``event_type="return"`` with a
positive quantity: rows of orders starting with ``return_order_prefix`` (when their type is
empty, purchase or return), rows typed ``return`` whatever the sign, and, with
``negative_quantity_is_return``, rows with a negative quantity and no event type.

``accepted + rejected == input rows`` always: the clean events and the rejects table both carry
``source_row`` (0-based data row of the input) so they can be reconciled.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.booleans import FALSE_WORDS, TRUE_WORDS
from recsys.config import IngestConfig, MatrixConfig
from recsys.data.io import read_table
from recsys.data.presets import map_columns, resolve_columns, resolve_ingest_config
from recsys.errors import DataError

MISSING_ITEM_ID: Final = "missing_item_id"
NON_PRODUCT_ITEM: Final = "non_product_item"
MISSING_CUSTOMER_ID: Final = "missing_customer_id"
BAD_TIMESTAMP: Final = "bad_timestamp"
UNKNOWN_EVENT_TYPE: Final = "unknown_event_type"
BAD_QUANTITY: Final = "bad_quantity"
BAD_PRICE: Final = "bad_price"
NEGATIVE_PRICE: Final = "negative_price"
ZERO_PRICE: Final = "zero_price"
DUPLICATE: Final = "duplicate"

# The documented order: a row gets the first reason it fails.
REASON_ORDER: Final = (
    MISSING_ITEM_ID,
    NON_PRODUCT_ITEM,
    MISSING_CUSTOMER_ID,
    BAD_TIMESTAMP,
    UNKNOWN_EVENT_TYPE,
    BAD_QUANTITY,
    BAD_PRICE,
    NEGATIVE_PRICE,
    ZERO_PRICE,
    DUPLICATE,
)

# Text that means "no value" (compared case-insensitively after stripping); "nan" and "None"
# appear when an export was made with astype(str).
NULL_TOKENS: Final = frozenset({"", "nan", "none", "null", "nat", "<na>", "na", "n/a", "#n/a"})

_NONE = np.array([None], dtype=object)  # appended so that factorize's code -1 maps to None
_INTEGRAL_TEXT = re.compile(r"^([+-]?\d+)\.0*$")
# A zone designator after a clock time: "...12:30:00Z", "...12:30+02:00", "...12:30 -0500".
_TZ_SUFFIX = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
# Representable ``datetime64[ns]`` range, at day precision (safe to compare with any unit).
_NS_FIRST_DAY = np.datetime64("1677-09-22")
_NS_LAST_DAY = np.datetime64("2262-04-10")


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectReport:
    """Row counts of one validation: how many rows came in, were kept, and why others were not.

    ``counts`` maps each reason that occurred to its number of rows, in :data:`REASON_ORDER`.
    """

    n_rows: int
    n_accepted: int
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if sum(self.counts.values()) != self.n_rows - self.n_accepted:
            raise ValueError(
                f"reject counts {self.counts} do not add up to "
                f"{self.n_rows} rows - {self.n_accepted} accepted"
            )

    @property
    def n_rejected(self) -> int:
        return self.n_rows - self.n_accepted

    @property
    def reject_rate(self) -> float:
        """Share of input rows rejected (0 for an empty input)."""
        return self.n_rejected / self.n_rows if self.n_rows else 0.0

    def top_reasons(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` most frequent reasons, most frequent first."""
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], REASON_ORDER.index(kv[0])))[:n]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for job output and the manifest)."""
        return {
            "n_rows": self.n_rows,
            "n_accepted": self.n_accepted,
            "n_rejected": self.n_rejected,
            "reject_rate": round(self.reject_rate, 6),
            "counts": dict(self.counts),
        }

    def summary_lines(self) -> list[str]:
        """Human-readable lines: the totals, then one line per reason, most frequent first."""
        lines = [
            f"{self.n_rows:,} rows read, {self.n_accepted:,} accepted, "
            f"{self.n_rejected:,} rejected ({self.reject_rate:.1%})"
        ]
        lines += [f"  {reason}: {n:,}" for reason, n in self.top_reasons(len(self.counts))]
        return lines


@dataclass(frozen=True, eq=False)
class LoadResult:
    """Clean events, the rejected rows (as read, with reasons) and the counts."""

    events: pd.DataFrame
    rejects: pd.DataFrame
    report: RejectReport


# --------------------------------------------------------------------------------------------
# Value parsers (vectorised over distinct values: real columns repeat a lot)
# --------------------------------------------------------------------------------------------


def _as_series(values: Iterable[object]) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)


def _is_null_text(text: pd.Index) -> np.ndarray:
    return np.asarray(text.str.lower().isin(NULL_TOKENS), dtype=bool)


def _clean_id_uniques(uniques: Any) -> np.ndarray:
    """Distinct raw ids -> object array of clean strings (``None`` for missing)."""
    idx = pd.Index(uniques)
    if pd.api.types.is_bool_dtype(idx.dtype) or pd.api.types.is_integer_dtype(idx.dtype):
        return np.asarray(idx.astype(str), dtype=object)
    if pd.api.types.is_float_dtype(idx.dtype):
        v = idx.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.full(len(v), None, dtype=object)
        finite = np.isfinite(v)
        integral = finite & (v == np.round(v)) & (np.abs(v) < 2**63)
        out[integral] = v[integral].astype(np.int64).astype(str)
        rest = finite & ~integral
        out[rest] = v[rest].astype(str)
        return out
    text = idx.astype(str).str.strip()
    text = text.str.replace(_INTEGRAL_TEXT, r"\1", regex=True)  # "13085.0" -> "13085"
    out = np.array(text, dtype=object)
    out[_is_null_text(text)] = None
    return out


def clean_ids(values: Iterable[object]) -> pd.Series:
    """Ids as clean strings: stripped, ``13085.0`` -> ``"13085"``, empty/NaN/"nan" -> NaN.

    Returns a ``str`` Series aligned with the input (missing ids are NaN).
    """
    s = _as_series(values)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    cleaned = np.append(_clean_id_uniques(uniques), _NONE)  # code -1 -> the trailing None
    return pd.Series(cleaned[codes], index=s.index, dtype="str")


def _clean_text(values: pd.Series) -> np.ndarray:
    """Stripped text with null tokens as ``None`` (object array)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip()
    out = np.array(text, dtype=object)
    out[_is_null_text(text)] = None
    return np.append(out, _NONE)[codes]


def parse_numbers(values: Iterable[object]) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column as ``float64``.

    Returns ``(values, bad)``: empty or null values are NaN and not bad; text that is not a
    finite number is NaN and ``bad`` is True.
    """
    s = _as_series(values)
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype(float)
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        return v, np.isinf(v)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip()
    empty = _is_null_text(text)
    num = pd.to_numeric(pd.Series(np.asarray(text, dtype=object)), errors="coerce")
    u = num.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    bad_u = ~empty & ~np.isfinite(u)
    u[bad_u] = np.nan
    return np.append(u, np.nan)[codes], np.append(bad_u, False)[codes]


# The shared vocabulary, plus 1.0/0.0: a flag column with gaps is read as floats.
_TRUE = TRUE_WORDS | {"1.0"}
_FALSE = FALSE_WORDS | {"0.0"}


def parse_bools(values: Iterable[object], *, default: bool) -> tuple[np.ndarray, np.ndarray]:
    """Parse yes/no flags (the words of :mod:`recsys.booleans`).

    Returns ``(values, bad)``; empty values take ``default``; anything else is bad.
    """
    s = _as_series(values)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip().str.lower()
    is_true = np.asarray(text.isin(_TRUE), dtype=bool)
    is_false = np.asarray(text.isin(_FALSE), dtype=bool)
    empty = _is_null_text(text)
    vals = np.where(is_true, True, np.where(is_false, False, default))
    bad = ~(is_true | is_false | empty)
    return np.append(vals, default)[codes].astype(bool), np.append(bad, False)[codes]


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
    s = _as_series(values)
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


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


def _where(source: str | None, what: str = "events") -> str:
    return f"{what} {source}" if source else what


def _missing_column_error(
    where: str, missing: list[str], cfg: IngestConfig, found: Iterable[object]
) -> DataError:
    looked = {m: [s for s, t in cfg.column_map.items() if t == m] + [m] for m in missing}
    tried = "; ".join(f"{m!r} (looked for {looked[m]})" for m in missing)
    return DataError(
        f"{where}: required column {tried} not found after column mapping; "
        f"columns found: {[str(c) for c in found]}"
    )


def _event_types(raw_types: np.ndarray, cfg: IngestConfig, vocab: Collection[str]) -> np.ndarray:
    """Source event type values -> vocabulary names (None stays None, unknown stays as is).

    ``event_type_map`` applies first (exact, then case-insensitive); values then match the
    vocabulary exactly or case-insensitively.
    """
    codes, uniques = pd.factorize(pd.Series(raw_types, dtype=object), use_na_sentinel=True)
    vocab_lower = {v.lower(): v for v in vocab}
    map_lower = {k.strip().lower(): v for k, v in cfg.event_type_map.items()}
    mapped = []
    for value in uniques:  # distinct values only (a handful)
        v = cfg.event_type_map.get(value, map_lower.get(value.lower(), value))
        mapped.append(v if v in vocab else vocab_lower.get(v.lower(), v))
    return np.append(np.asarray(mapped, dtype=object), _NONE)[codes]


def _non_product_mask(items: pd.Series, cfg: IngestConfig) -> np.ndarray:
    if not cfg.non_product_items and not cfg.non_product_pattern:
        return np.zeros(len(items), dtype=bool)
    codes, uniques = pd.factorize(items, use_na_sentinel=True)
    u = pd.Index(uniques).astype(str)
    bad = np.asarray(u.str.upper().isin({s.strip().upper() for s in cfg.non_product_items}))
    if cfg.non_product_pattern:
        bad |= np.asarray(u.str.fullmatch(cfg.non_product_pattern), dtype=bool)
    return np.append(bad, False)[codes]


def validate_events(
    raw: pd.DataFrame,
    config: IngestConfig | None = None,
    *,
    event_types: Collection[str] | None = None,
    source: str | None = None,
    check: bool = True,
) -> LoadResult:
    """Split raw event rows into clean events and rejects.

    Parameters
    ----------
    raw:
        The table as read (source column names); not modified.
    config:
        Column map, return rules and checks (its preset is merged in).
    event_types:
        The event type vocabulary; defaults to the keys of ``MatrixConfig().event_weights``.
    source:
        Where the rows came from (a path), for error messages.
    check:
        Apply the stops (:func:`check_result`) before returning.

    Returns
    -------
    LoadResult
        ``events``: ``customer_id, item_id, event_type, timestamp (datetime64[ns], naive UTC),
        quantity (float64, > 0)``, ``price`` (unit price, float64) and ``order_id`` when
        mapped, any other mapped column (e.g. ``name``, ``country``), and ``source_row``; in
        input order. ``rejects``: the rejected rows with their source columns as read, plus
        ``source_row`` and ``reject_reason``.

    Raises
    ------
    DataError
        No rows, a required column missing after mapping, or (``check``) a stop condition.
    """
    cfg = resolve_ingest_config(config)
    vocab = list(MatrixConfig().event_weights if event_types is None else event_types)
    where = _where(source)
    n = len(raw)
    if n == 0:
        raise DataError(f"{where}: no rows (expected a header and at least one event row)")
    if not all(isinstance(c, str) for c in raw.columns):
        raw = raw.rename(columns=str)
    clash = [c for c in (C.SOURCE_ROW, C.REJECT_REASON) if c in raw.columns]
    if clash:
        raise DataError(f"{where}: column name(s) {clash} are reserved for the rejects file")
    mapping = resolve_columns(raw.columns, cfg.column_map, C.EVENT_COLUMNS)
    missing = [c for c in C.REQUIRED_EVENT_COLUMNS if c not in mapping]
    if missing:
        raise _missing_column_error(where, missing, cfg, raw.columns)

    fails: dict[str, np.ndarray] = {}
    customer = clean_ids(raw[mapping[C.CUSTOMER_ID]])
    item = clean_ids(raw[mapping[C.ITEM_ID]])
    fails[MISSING_CUSTOMER_ID] = customer.isna().to_numpy()
    fails[MISSING_ITEM_ID] = item.isna().to_numpy()
    fails[NON_PRODUCT_ITEM] = _non_product_mask(item, cfg)

    ts = parse_timestamps(
        raw[mapping[C.TIMESTAMP]], timezone=cfg.timezone, fmt=cfg.timestamp_format
    )
    fails[BAD_TIMESTAMP] = ts.isna().to_numpy()

    order = clean_ids(raw[mapping[C.ORDER_ID]]) if C.ORDER_ID in mapping else None
    if C.EVENT_TYPE in mapping:
        given = _event_types(_clean_text(raw[mapping[C.EVENT_TYPE]]), cfg, vocab)
    else:
        given = np.full(n, None, dtype=object)
    untyped = pd.isna(given)
    etype = np.where(untyped, C.PURCHASE, given).astype(object)

    if C.QUANTITY in mapping:
        q, q_bad = parse_numbers(raw[mapping[C.QUANTITY]])
        q = np.where(np.isnan(q) & ~q_bad, 1.0, q)
    else:
        q, q_bad = np.ones(n), np.zeros(n, dtype=bool)

    if cfg.return_order_prefix and order is not None:
        by_order = order.str.startswith(cfg.return_order_prefix).fillna(False).to_numpy(bool)
        by_order = by_order & (untyped | (etype == C.PURCHASE) | (etype == C.RETURN))
        etype[by_order] = C.RETURN
    if cfg.negative_quantity_is_return:
        etype[untyped & (q < 0)] = C.RETURN
    is_return = etype == C.RETURN
    qty = np.where(is_return, np.abs(q), q)
    fails[UNKNOWN_EVENT_TYPE] = ~pd.Series(etype).isin(vocab).to_numpy()
    with np.errstate(invalid="ignore"):
        fails[BAD_QUANTITY] = q_bad | ~(qty > 0)

    price = None
    if C.PRICE in mapping:
        price, p_bad = parse_numbers(raw[mapping[C.PRICE]])
        if cfg.price_is_line_total:
            with np.errstate(divide="ignore", invalid="ignore"):
                price = np.where(qty != 0, price / np.abs(qty), np.nan)
        fails[BAD_PRICE] = p_bad
        with np.errstate(invalid="ignore"):
            fails[NEGATIVE_PRICE] = price < 0
            fails[ZERO_PRICE] = (price == 0) & (cfg.zero_price == "reject")
    if cfg.duplicates == "reject":
        try:
            fails[DUPLICATE] = raw.duplicated(keep="first").to_numpy()
        except TypeError:  # unhashable cells (lists from Parquet): compare their text
            fails[DUPLICATE] = raw.astype(str).duplicated(keep="first").to_numpy()

    reason = np.full(n, -1, dtype=np.int8)
    for code, name in enumerate(REASON_ORDER):
        mask = fails.get(name)
        if mask is not None:
            reason[(reason < 0) & mask] = code
    ok = reason < 0
    ok_rows = np.flatnonzero(ok)

    def kept(col: pd.Series) -> pd.Series:
        return col.iloc[ok_rows].reset_index(drop=True)

    events = pd.DataFrame(
        {
            C.CUSTOMER_ID: kept(customer),
            C.ITEM_ID: kept(item),
            C.EVENT_TYPE: pd.array(etype[ok_rows], dtype="str"),
            C.TIMESTAMP: kept(ts),
            C.QUANTITY: qty[ok_rows].astype(np.float64),
        }
    )
    if price is not None:
        events[C.PRICE] = price[ok_rows].astype(np.float64)
    if order is not None:
        events[C.ORDER_ID] = kept(order)
    for target, src in mapping.items():
        if target not in C.EVENT_COLUMNS:
            events[target] = kept(raw[src])
    events[C.SOURCE_ROW] = ok_rows.astype(np.int64)

    rej_rows = np.flatnonzero(~ok)
    rejects = raw.iloc[rej_rows].reset_index(drop=True)
    rejects[C.SOURCE_ROW] = rej_rows.astype(np.int64)
    rejects[C.REJECT_REASON] = pd.array(
        np.asarray(REASON_ORDER, dtype=object)[reason[rej_rows]], dtype="str"
    )

    counts_arr = np.bincount(reason[rej_rows], minlength=len(REASON_ORDER))
    counts = {r: int(c) for r, c in zip(REASON_ORDER, counts_arr, strict=True) if c}
    result = LoadResult(events, rejects, RejectReport(n, int(ok.sum()), counts))
    if check:
        check_result(result, cfg, source=source)
    return result


def check_result(
    result: LoadResult,
    config: IngestConfig | None = None,
    *,
    source: str | None = None,
    rejects_path: str | Path | None = None,
) -> None:
    """Stop (raise :class:`DataError`) when the validated data cannot be trusted or used.

    Stops when the reject rate is above ``max_reject_rate``, when no row is left, or when
    fewer than ``min_events`` clean rows remain (too small to train).
    """
    cfg = config or IngestConfig()
    r = result.report
    where = _where(source)
    see = f"; rejected rows written to {rejects_path}" if rejects_path else ""
    if r.reject_rate > cfg.max_reject_rate:
        top = ", ".join(f"{reason} {n:,}" for reason, n in r.top_reasons())
        raise DataError(
            f"{where}: {r.reject_rate:.1%} of {r.n_rows:,} rows rejected ({r.n_rejected:,}), "
            f"above max_reject_rate {cfg.max_reject_rate:.1%}; top reasons: {top}{see}"
        )
    if r.n_accepted == 0:
        raise DataError(f"{where}: no rows left after validation ({r.n_rows:,} rejected){see}")
    if r.n_accepted < cfg.min_events:
        raise DataError(
            f"{where}: only {r.n_accepted:,} clean events, fewer than min_events "
            f"{cfg.min_events:,}: too small to train{see}"
        )


def write_rejects(rejects: pd.DataFrame, path: str | Path) -> Path:
    """Write the rejects table as CSV (gzipped when the name ends in ``.gz``)."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        rejects.to_csv(p, index=False)
    except OSError as exc:
        raise DataError(f"cannot write rejects file {p}: {exc.strerror or exc}") from None
    return p


def load_events(
    path: str | Path,
    config: IngestConfig | None = None,
    *,
    event_types: Collection[str] | None = None,
    rejects_path: str | Path | None = None,
) -> LoadResult:
    """Read and validate an events file; write the rejects (when asked) before any stop.

    ``event_types`` defaults to the keys of ``MatrixConfig().event_weights``. See
    :func:`validate_events` for the output and :func:`check_result` for the stops.
    """
    cfg = resolve_ingest_config(config)
    raw = read_table(path)
    source = str(path)
    result = validate_events(raw, cfg, event_types=event_types, source=source, check=False)
    if rejects_path is not None:
        write_rejects(result.rejects, rejects_path)
    check_result(result, cfg, source=source, rejects_path=rejects_path)
    return result


# --------------------------------------------------------------------------------------------
# Items and customers
# --------------------------------------------------------------------------------------------

_ITEM_COLUMNS: Final = (C.ITEM_ID, C.NAME, C.CATEGORY, C.PRICE, C.IN_STOCK)
_CUSTOMER_COLUMNS: Final = (C.CUSTOMER_ID, C.EMAIL_OPT_IN, C.SIGNUP_DATE, C.COUNTRY)


def _examples(values: pd.Series | np.ndarray, mask: np.ndarray, n: int = 3) -> list[str]:
    return [str(v) for v in np.asarray(values, dtype=object)[mask][:n]]


def _keyed_table(
    raw: pd.DataFrame, cfg: IngestConfig, key: str, targets: tuple[str, ...], what: str
) -> pd.DataFrame:
    """Map columns, require and clean the key column, refuse missing or duplicated keys."""
    if raw.empty:
        raise DataError(f"{what}: no rows (expected a header and at least one row)")
    frame, mapping = map_columns(raw, cfg.column_map, targets)
    if key not in mapping:
        raise _missing_column_error(what, [key], cfg, raw.columns)
    ids = clean_ids(frame[key])
    absent = ids.isna().to_numpy()
    if absent.any():
        rows = np.flatnonzero(absent)[:5].tolist()
        raise DataError(f"{what}: {int(absent.sum())} row(s) without {key} (data rows {rows})")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        raise DataError(
            f"{what}: {int(dup.sum())} duplicated {key}(s), e.g. {_examples(ids, dup)}; "
            f"each {key} must appear once"
        )
    frame = frame.drop(columns=[key])
    frame.index = pd.Index(ids.to_numpy(), name=key, dtype="str")
    return frame


def _coerce(
    frame: pd.DataFrame, column: str, what: str, parsed: tuple[np.ndarray, np.ndarray]
) -> None:
    values, bad = parsed
    if bad.any():
        raise DataError(
            f"{what}: column {column!r} has {int(bad.sum())} unreadable value(s), "
            f"e.g. {_examples(frame[column], bad)}"
        )
    frame[column] = values


def load_items(path: str | Path, config: IngestConfig | None = None) -> pd.DataFrame:
    """Read an items file: indexed by ``item_id`` (str), other columns kept.

    The ingest column map applies (so a preset maps e.g. ``StockCode``/``Description``).
    ``price`` becomes float64 and ``in_stock`` bool (empty means in stock).

    Raises
    ------
    DataError
        No ``item_id`` column, rows without an id, duplicated ids, or unreadable
        ``price``/``in_stock`` values.
    """
    cfg = resolve_ingest_config(config)
    what = f"items {path}"
    frame = _keyed_table(read_table(path), cfg, C.ITEM_ID, _ITEM_COLUMNS, what)
    if C.PRICE in frame.columns:
        _coerce(frame, C.PRICE, what, parse_numbers(frame[C.PRICE]))
    if C.IN_STOCK in frame.columns:
        _coerce(frame, C.IN_STOCK, what, parse_bools(frame[C.IN_STOCK], default=True))
    return frame


def load_customers(path: str | Path, config: IngestConfig | None = None) -> pd.DataFrame:
    """Read a customers file: indexed by ``customer_id`` (str), other columns kept.

    ``email_opt_in`` becomes bool (empty means no consent) and ``signup_date`` naive UTC
    ``datetime64[ns]`` (empty is NaT).

    Raises
    ------
    DataError
        No ``customer_id`` column, rows without an id, duplicated ids, or unreadable
        ``email_opt_in``/``signup_date`` values.
    """
    cfg = resolve_ingest_config(config)
    what = f"customers {path}"
    frame = _keyed_table(read_table(path), cfg, C.CUSTOMER_ID, _CUSTOMER_COLUMNS, what)
    if C.EMAIL_OPT_IN in frame.columns:
        _coerce(frame, C.EMAIL_OPT_IN, what, parse_bools(frame[C.EMAIL_OPT_IN], default=False))
    if C.SIGNUP_DATE in frame.columns:
        dates = parse_timestamps(frame[C.SIGNUP_DATE], timezone=cfg.timezone)
        given = ~pd.isna(_clean_text(frame[C.SIGNUP_DATE]))
        _coerce(frame, C.SIGNUP_DATE, what, (dates.to_numpy(), dates.isna().to_numpy() & given))
    return frame


def items_from_events(events: pd.DataFrame, config: IngestConfig | None = None) -> pd.DataFrame:
    """Derive an items table (``name``, median ``price``) from events when no items file exists.

    ``events`` is either clean events (with ``item_id``, and ``name``/``price`` when mapped) or a
    raw export, which is mapped with ``config`` (e.g. preset ``online-retail``: ``StockCode``,
    ``Description``, ``Price``). Rows without an item id, non-product items and non-positive
    prices are ignored. ``name`` is each item's most frequent non-empty name (first seen on a
    tie); ``price`` the median positive unit price (NaN when none).

    Returns
    -------
    DataFrame indexed by ``item_id`` (str) in first-seen order, columns ``name``, ``price``.
    """
    cfg = resolve_ingest_config(config)
    frame, mapping = map_columns(events, cfg.column_map, (C.ITEM_ID, C.NAME, C.PRICE, C.QUANTITY))
    if C.ITEM_ID not in mapping:
        raise _missing_column_error("events", [C.ITEM_ID], cfg, events.columns)
    item = clean_ids(frame[C.ITEM_ID])
    keep = item.notna().to_numpy() & ~_non_product_mask(item, cfg)
    n = len(frame)
    names = _clean_text(frame[C.NAME]) if C.NAME in frame.columns else np.full(n, None, object)
    if C.PRICE in frame.columns:
        price, _ = parse_numbers(frame[C.PRICE])
        is_raw_export = mapping[C.ITEM_ID] != C.ITEM_ID  # clean events carry unit prices
        if cfg.price_is_line_total and is_raw_export and C.QUANTITY in frame.columns:
            q, _ = parse_numbers(frame[C.QUANTITY])
            with np.errstate(divide="ignore", invalid="ignore"):
                price = price / np.abs(q)
    else:
        price = np.full(n, np.nan)
    df = pd.DataFrame({"item": item.to_numpy()[keep], "name": names[keep], "price": price[keep]})
    order = pd.unique(df["item"])

    named = df.dropna(subset=["name"])
    counts = named.groupby(["item", "name"], sort=False).size().reset_index(name="n")
    best = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("item")
    best_name = best.set_index("item")["name"]

    positive = df[df["price"] > 0]
    median_price = positive.groupby("item", sort=False)["price"].median()

    out = pd.DataFrame(
        {
            C.NAME: best_name.reindex(order).to_numpy(dtype=object),
            C.PRICE: median_price.reindex(order).to_numpy(dtype=np.float64),
        },
        index=pd.Index(order, name=C.ITEM_ID, dtype="str"),
    )
    out[C.NAME] = out[C.NAME].astype("str")
    return out
