"""Parsing of raw cell values: ids, free text, numbers and yes/no flags.

Every parser works on the distinct values of a column (real exports repeat a lot) and returns
arrays aligned with the input. A value that cannot be read is reported (a ``bad`` mask or a
missing value), never raised: :mod:`recsys.data.events` turns it into a reject reason.
Timestamps are in :mod:`recsys.data.timestamps`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd

# Text that means "no value" (compared case-insensitively after stripping); "nan" and "None"
# appear when an export was made with astype(str).
NULL_TOKENS: Final = frozenset({"", "nan", "none", "null", "nat", "<na>", "na", "n/a", "#n/a"})

_NONE = np.array([None], dtype=object)  # appended so that factorize's code -1 maps to None
_INTEGRAL_TEXT = re.compile(r"^([+-]?\d+)\.0*$")


def as_series(values: Iterable[object]) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)


def is_null_text(text: pd.Index) -> np.ndarray:
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
    out[is_null_text(text)] = None
    return out


def clean_ids(values: Iterable[object]) -> pd.Series:
    """Ids as clean strings: stripped, ``13085.0`` -> ``"13085"``, empty/NaN/"nan" -> NaN.

    Returns a ``str`` Series aligned with the input (missing ids are NaN).
    """
    s = as_series(values)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    cleaned = np.append(_clean_id_uniques(uniques), _NONE)  # code -1 -> the trailing None
    return pd.Series(cleaned[codes], index=s.index, dtype="str")


def clean_text(values: pd.Series) -> np.ndarray:
    """Stripped text with null tokens as ``None`` (object array)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip()
    out = np.array(text, dtype=object)
    out[is_null_text(text)] = None
    return np.append(out, _NONE)[codes]


def parse_numbers(values: Iterable[object]) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column as ``float64``.

    Returns ``(values, bad)``: empty or null values are NaN and not bad; text that is not a
    finite number is NaN and ``bad`` is True.
    """
    s = as_series(values)
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype(float)
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        return v, np.isinf(v)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip()
    empty = is_null_text(text)
    num = pd.to_numeric(pd.Series(np.asarray(text, dtype=object)), errors="coerce")
    u = num.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    bad_u = ~empty & ~np.isfinite(u)
    u[bad_u] = np.nan
    return np.append(u, np.nan)[codes], np.append(bad_u, False)[codes]


_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})


def parse_bools(values: Iterable[object], *, default: bool) -> tuple[np.ndarray, np.ndarray]:
    """Parse yes/no flags (``true/false``, ``1/0``, ``yes/no``, ``y/n``, ``t/f``).

    Returns ``(values, bad)``; empty values take ``default``; anything else is bad.
    """
    s = as_series(values)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip().str.lower()
    is_true = np.asarray(text.isin(_TRUE), dtype=bool)
    is_false = np.asarray(text.isin(_FALSE), dtype=bool)
    empty = is_null_text(text)
    vals = np.where(is_true, True, np.where(is_false, False, default))
    bad = ~(is_true | is_false | empty)
    return np.append(vals, default)[codes].astype(bool), np.append(bad, False)[codes]
