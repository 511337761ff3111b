"""Parsing of raw cell values: ids, free text, numbers and yes/no flags.

Every parser works on the distinct values of a column (real exports repeat a lot) and returns
arrays aligned with the input. A value that cannot be read is reported (a ``bad`` mask or a
missing value), never raised: :mod:`recsys.data.events` turns it into a reject reason.
Timestamps are in :mod:`recsys.data.timestamps`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recsys.booleans import FALSE_WORDS, TRUE_WORDS
from recsys.data.ids import ID_PATTERN, id_problem, is_valid_id

# Text that means "no value" (compared case-insensitively after stripping); "nan" and "None"
# appear when an export was made with astype(str).
NULL_TOKENS: Final = frozenset({"", "nan", "none", "null", "nat", "<na>", "na", "n/a", "#n/a"})

_NONE = np.array([None], dtype=object)  # appended so that factorize's code -1 maps to None
_INTEGRAL_TEXT = re.compile(r"^([+-]?\d+)\.0*$")
# A point between digit groups of three, as in "1.234,50" (decimal-comma text only).
_THOUSANDS_POINT = re.compile(r"(?<=\d)\.(?=\d{3}(?:\D|$))")


def as_series(values: Iterable[object]) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)


def is_null_text(text: pd.Index) -> np.ndarray:
    return np.asarray(text.str.lower().isin(NULL_TOKENS), dtype=bool)


IdCase = Literal["none", "upper", "lower"]


@dataclass(frozen=True, slots=True)
class IdRule:
    """The ingest id normalisation of one trained version, for single ids (the API's).

    ``case`` and ``float_suffix`` are ``IngestConfig.id_case`` / ``id_float_suffix``; white
    space needs no rule here (the API refuses ids with surrounding space). Calling the rule
    gives the id as ingest would have stored it: ``IdRule("upper")("85123a") == "85123A"``,
    ``IdRule()("13085.0") == "13085"``, the same results as :func:`clean_ids`.
    """

    case: IdCase = "none"
    float_suffix: bool = True

    @classmethod
    def of_manifest(cls, manifest: dict[str, Any]) -> IdRule:
        """The rule a bundle was trained with (its manifest's ``config.ingest``); the ingest
        defaults for a manifest that does not say."""
        ingest = (manifest.get("config") or {}).get("ingest") or {}
        case = ingest.get("id_case", "none")
        return cls(
            case=case if case in ("upper", "lower") else "none",
            float_suffix=bool(ingest.get("id_float_suffix", True)),
        )

    @property
    def identity(self) -> bool:
        """True when the rule changes no id (no case folding, no float suffix to drop)."""
        return self.case == "none" and not self.float_suffix

    def __call__(self, value: str) -> str:
        if self.float_suffix and "." in value:
            value = _INTEGRAL_TEXT.sub(r"\1", value)
        if self.case == "upper":
            return value.upper()
        if self.case == "lower":
            return value.lower()
        return value


def _clean_id_uniques(uniques: Any, *, case: IdCase, strip: bool, float_suffix: bool) -> np.ndarray:
    """Distinct raw ids -> object array of clean strings (``None`` for missing)."""
    idx = pd.Index(uniques)
    if pd.api.types.is_bool_dtype(idx.dtype) or pd.api.types.is_integer_dtype(idx.dtype):
        return np.asarray(idx.astype(str), dtype=object)
    if pd.api.types.is_float_dtype(idx.dtype):
        v = idx.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.full(len(v), None, dtype=object)
        finite = np.isfinite(v)
        integral = finite & (v == np.round(v)) & (np.abs(v) < 2**63) & float_suffix
        out[integral] = v[integral].astype(np.int64).astype(str)
        rest = finite & ~integral
        out[rest] = v[rest].astype(str)
        return out
    raw = idx.astype(str)
    stripped = raw.str.strip()
    text = stripped if strip else raw
    if float_suffix:
        text = text.str.replace(_INTEGRAL_TEXT, r"\1", regex=True)  # "13085.0" -> "13085"
    if case == "upper":
        text = text.str.upper()
    elif case == "lower":
        text = text.str.lower()
    out = np.array(text, dtype=object)
    out[is_null_text(stripped)] = None
    return out


def clean_ids(
    values: Iterable[object],
    *,
    case: IdCase = "none",
    strip: bool = True,
    float_suffix: bool = True,
) -> pd.Series:
    """Ids as clean strings, normalised by the ingest id rules; missing ids are NaN.

    Empty, white-space-only and null-token values (``nan``, ``None``, ...) are missing. The
    rules (``IngestConfig.id_case``, ``id_strip``, ``id_float_suffix``): ``strip`` removes
    surrounding white space; ``float_suffix`` drops the ``.0`` a float export adds
    (``13085.0`` -> ``"13085"``); ``case`` folds letters to upper or lower case
    (``85123a`` -> ``"85123A"``). Every other character is kept as is.

    Returns a ``str`` Series aligned with the input.
    """
    s = as_series(values)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    clean = _clean_id_uniques(uniques, case=case, strip=strip, float_suffix=float_suffix)
    cleaned = np.append(clean, _NONE)  # code -1 -> the trailing None
    return pd.Series(cleaned[codes], index=s.index, dtype="str")


def arrow_strings(text: pd.Index) -> pa.Array:
    """A text index as an Arrow string array (no copy for pandas' Arrow-backed strings)."""
    try:
        return pa.array(text.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array(np.asarray(text, dtype=object).astype(str), type=pa.string())


def id_problems(ids: pd.Series) -> pd.Series:
    """Why each clean id cannot be carried (:func:`recsys.data.ids.id_problem`), else NaN.

    Missing ids (NaN) have no problem here: they are reported as missing.
    """
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    u = pd.Index(uniques).astype(str)
    # The pattern decides, id_problem (the one definition) names the reason. Arrow's RE2
    # screens every id fast; its \s is ASCII-only, so non-ASCII ids are checked again with
    # Python's re (Unicode white space, as in ID_PATTERN's other readers).
    arr = arrow_strings(u)
    valid = np.asarray(pc.match_substring_regex(arr, ID_PATTERN).to_numpy(zero_copy_only=False))
    recheck = np.flatnonzero(valid & ~np.asarray(pc.string_is_ascii(arr).to_numpy(False)))
    valid[recheck] = [is_valid_id(u[i]) for i in recheck]
    invalid = ~valid.astype(bool)
    found = np.full(len(u) + 1, None, dtype=object)
    for i in np.flatnonzero(invalid):
        found[i] = id_problem(u[i]) or "invalid"
    return pd.Series(found[codes], index=ids.index, dtype="str")


def clean_text(values: pd.Series) -> np.ndarray:
    """Stripped text with null tokens as ``None`` (object array)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip()
    out = np.array(text, dtype=object)
    out[is_null_text(text)] = None
    return np.append(out, _NONE)[codes]


def parse_numbers(values: Iterable[object], *, decimal: str = ".") -> tuple[np.ndarray, np.ndarray]:
    """Parse a column as ``float64``.

    ``decimal`` is the text's decimal mark: with ``","`` (European exports) ``2,55`` is 2.55
    and ``1.234,50`` is 1234.5 (a point then only groups thousands).

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
    if decimal == ",":
        text = text.str.replace(_THOUSANDS_POINT, "", regex=True).str.replace(",", ".")
    elif decimal != ".":
        raise ValueError(f"decimal == {decimal!r}, must be '.' or ','")
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
    s = as_series(values)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str).str.strip().str.lower()
    is_true = np.asarray(text.isin(_TRUE), dtype=bool)
    is_false = np.asarray(text.isin(_FALSE), dtype=bool)
    empty = is_null_text(text)
    vals = np.where(is_true, True, np.where(is_false, False, default))
    bad = ~(is_true | is_false | empty)
    return np.append(vals, default)[codes].astype(bool), np.append(bad, False)[codes]
