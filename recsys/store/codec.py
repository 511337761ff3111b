"""Value formats of the artifact store: binary ranked lists and the JSON catalog.

A ranked list is ``n`` (item index, score) pairs in rank order; item indices point into the
:class:`Catalog` of the same version (its item order). Layout, all little-endian::

    offset 0   uint8    format version (1)
    offset 1   uint8    flags: bit 0 set -> indices are uint16 (else uint32)
                               bit 1 set -> scores are float16 (else float32)
                               bits 2-7 are zero
    offset 2   uint16   n, the number of entries (0..65535)
    offset 4   n x index   (uint16 or uint32)
    then       n x score   (float16 or float32)

The encoder picks the narrowest widths per list: uint16 indices when every index of the list
is < 65536, float16 scores when every score lies in float16's normal range (zero or
``2**-14 <= |s| <= 65504``, finite), where the relative rounding error is at most ``2**-11``;
otherwise float32 (relative error ``2**-24``). Decoding is ``numpy.frombuffer``: no code runs,
a malformed value raises :class:`~recsys.errors.StoreError`.

The catalog is one JSON object ``{"format": 1, "item_id": [...], "columns": {name: [...]}}``:
item ids in index order and one array per attribute (``null`` for a missing value).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

import numpy as np
import orjson
import pandas as pd

from recsys import columns as C
from recsys.errors import DataError, StoreError

FORMAT_VERSION: Final = 1
CATALOG_FORMAT: Final = 1
FLAG_INDEX_U16: Final = 0x01
FLAG_SCORE_F16: Final = 0x02
HEADER_SIZE: Final = 4
MAX_LENGTH: Final = 0xFFFF
MAX_INDEX: Final = 0xFFFFFFFF
#: Worst relative error of a float16-encoded score (float32 scores: 2**-24).
F16_RTOL: Final = 2.0**-11
_F16_MIN_NORMAL: Final = 2.0**-14
_F16_MAX: Final = 65504.0

ScoreDtype = Literal["auto", "float32"]


class RankedList(NamedTuple):
    """A decoded list: catalog indices (int64) and scores (float32), best first."""

    indices: np.ndarray
    scores: np.ndarray


def _f16_safe(scores: np.ndarray) -> np.ndarray:
    """Element-wise: is float16 within ``F16_RTOL`` for this score?"""
    mag = np.abs(scores)
    return np.isfinite(scores) & ((mag == 0) | ((mag >= _F16_MIN_NORMAL) & (mag <= _F16_MAX)))


def _any_per_list(flags: np.ndarray, first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For each list (``first`` element, ``counts`` entries): is any of its flags set?"""
    out = np.zeros(len(counts), dtype=bool)
    nonempty = counts > 0
    if flags.size:
        out[nonempty] = np.logical_or.reduceat(flags, first[nonempty])
    return out


def encode_lists(
    counts: np.ndarray,
    indices: np.ndarray,
    scores: np.ndarray,
    *,
    score_dtype: ScoreDtype = "auto",
) -> list[bytes]:
    """Encode many lists: one vectorised pass over all entries, then one slice per list.

    Parameters
    ----------
    counts
        Entries per list (a list may be empty); ``sum(counts) == len(indices)``.
    indices, scores
        All entries, grouped by list and in rank order within a list.
    score_dtype
        ``"auto"`` uses float16 for a list when it is precise enough (see module docs),
        ``"float32"`` always uses float32.
    """
    counts = np.asarray(counts, dtype=np.int64)
    idx = np.asarray(indices, dtype=np.int64)
    sc = np.asarray(scores, dtype=np.float32)
    n_lists, n_el = len(counts), len(idx)
    if len(sc) != n_el or int(counts.sum()) != n_el:
        raise ValueError(
            f"encode_lists: {len(idx)} indices, {len(sc)} scores and sum(counts) = "
            f"{int(counts.sum())} must all be equal"
        )
    if n_lists and (counts.min() < 0 or counts.max() > MAX_LENGTH):
        raise ValueError(f"list length must be in 0..{MAX_LENGTH}, got {int(counts.max())}")
    if n_el and (idx.min() < 0 or idx.max() > MAX_INDEX):
        raise ValueError(f"item index out of range 0..{MAX_INDEX}")
    if score_dtype not in ("auto", "float32"):
        raise ValueError(f"score_dtype={score_dtype!r}, expected 'auto' or 'float32'")

    first = np.zeros(n_lists, dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    wide_idx = _any_per_list(idx > 0xFFFF, first, counts)
    if score_dtype == "auto":
        wide_score = _any_per_list(~_f16_safe(sc), first, counts)
    else:
        wide_score = np.ones(n_lists, dtype=bool)

    header = np.empty((n_lists, HEADER_SIZE), dtype=np.uint8)
    header[:, 0] = FORMAT_VERSION
    header[:, 1] = np.where(wide_idx, 0, FLAG_INDEX_U16) | np.where(wide_score, 0, FLAG_SCORE_F16)
    header[:, 2] = counts & 0xFF
    header[:, 3] = counts >> 8
    head = header.tobytes()
    # Every entry in both widths (a list slices out the width it uses).
    idx4 = idx.astype("<u4").tobytes() if wide_idx.any() else b""
    idx2 = idx.astype("<u2").tobytes() if not wide_idx.all() else b""
    sc4 = sc.astype("<f4").tobytes() if wide_score.any() else b""
    with np.errstate(over="ignore"):
        sc2 = sc.astype("<f2").tobytes() if not wide_score.all() else b""

    out: list[bytes] = []
    append = out.append
    rows = zip(first.tolist(), counts.tolist(), wide_idx.tolist(), wide_score.tolist(), strict=True)
    for i, (a, n, wi, ws) in enumerate(rows):
        b = a + n
        append(
            head[4 * i : 4 * i + 4]
            + (idx4[4 * a : 4 * b] if wi else idx2[2 * a : 2 * b])
            + (sc4[4 * a : 4 * b] if ws else sc2[2 * a : 2 * b])
        )
    return out


def encode_list(
    indices: np.ndarray, scores: np.ndarray, *, score_dtype: ScoreDtype = "auto"
) -> bytes:
    """Encode one list (see :func:`encode_lists`)."""
    idx = np.asarray(indices, dtype=np.int64)
    return encode_lists(np.array([len(idx)]), idx, scores, score_dtype=score_dtype)[0]


def _layout(value: bytes | bytearray | memoryview) -> tuple[int, bool, bool]:
    """``(n, wide_index, wide_score)`` of a stored list; StoreError if it is malformed."""
    size = len(value)
    if size < HEADER_SIZE:
        raise StoreError(f"corrupt ranked list: {size} bytes, shorter than the 4-byte header")
    fmt, flags, n = value[0], value[1], value[2] | (value[3] << 8)
    if fmt != FORMAT_VERSION or flags & ~(FLAG_INDEX_U16 | FLAG_SCORE_F16):
        raise StoreError(
            f"unsupported ranked list format {fmt} (flags {flags:#04x}); this reader knows "
            f"format {FORMAT_VERSION}"
        )
    wide_index, wide_score = not flags & FLAG_INDEX_U16, not flags & FLAG_SCORE_F16
    expected = HEADER_SIZE + n * ((4 if wide_index else 2) + (4 if wide_score else 2))
    if size != expected:
        raise StoreError(f"corrupt ranked list: {size} bytes for {n} entries, expected {expected}")
    return n, wide_index, wide_score


def decode_list(value: bytes | bytearray | memoryview) -> RankedList:
    """Decode one value as numpy arrays; raise StoreError if it is not a well-formed list."""
    n, wide_index, wide_score = _layout(value)
    iw = 4 if wide_index else 2
    idx = np.frombuffer(value, dtype="<u4" if wide_index else "<u2", count=n, offset=HEADER_SIZE)
    sc = np.frombuffer(
        value, dtype="<f4" if wide_score else "<f2", count=n, offset=HEADER_SIZE + n * iw
    )
    return RankedList(idx.astype(np.int64), sc.astype(np.float32))


def unpack_list(value: bytes, *, scores: bool = True) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Decode one value as Python tuples ``(indices, scores)``, with :mod:`struct`.

    The same entries as :func:`decode_list` (and the same StoreError for a malformed value),
    for the request path: for the short lists of a request it takes about half the time of
    building numpy arrays and unboxing them. ``scores=False`` skips the scores (``()``).
    """
    n, wide_index, wide_score = _layout(value)
    indices = struct.unpack_from(f"<{n}{'I' if wide_index else 'H'}", value, HEADER_SIZE)
    if not scores:
        return indices, ()
    offset = HEADER_SIZE + n * (4 if wide_index else 2)
    return indices, struct.unpack_from(f"<{n}{'f' if wide_score else 'e'}", value, offset)


def _json_column(col: pd.Series) -> list[Any]:
    """A column as JSON-ready Python values, ``None`` for missing."""
    missing = col.isna().to_numpy()
    if pd.api.types.is_bool_dtype(col.dtype):
        values = col.astype(object).tolist()
        return [None if m else bool(v) for v, m in zip(values, missing, strict=True)]
    if pd.api.types.is_integer_dtype(col.dtype) and not missing.any():
        return col.astype("int64").tolist()
    if pd.api.types.is_numeric_dtype(col.dtype):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan).tolist()
        return [None if m else v for v, m in zip(values, missing, strict=True)]
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return [None if m else v.isoformat() for v, m in zip(col, missing, strict=True)]
    values = col.astype(object).tolist()
    return [None if m else str(v) for v, m in zip(values, missing, strict=True)]


@dataclass(frozen=True, eq=False)
class Catalog:
    """The items of one published version: id <-> index and attributes as numpy arrays.

    Ranked lists of a version store indices into this order, so a list must be decoded with
    the catalog of the version it was read from. ``price`` is float64 (NaN when unknown),
    ``in_stock`` is bool (True when unknown), ``name`` and ``category`` are object arrays
    (``None`` when unknown); every attribute, as stored, is in ``attributes``.
    """

    ids: np.ndarray
    attributes: dict[str, np.ndarray]
    price: np.ndarray = field(init=False, repr=False)
    in_stock: np.ndarray = field(init=False, repr=False)
    name: np.ndarray = field(init=False, repr=False)
    category: np.ndarray = field(init=False, repr=False)
    _index: pd.Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=object)
        index = pd.Index(ids, dtype=object)
        if not index.is_unique:
            dupes = index[index.duplicated()].unique()[:5].tolist()
            raise DataError(f"catalog item ids must be unique; duplicated: {dupes}")
        n = len(ids)
        for attr, values in self.attributes.items():
            if len(values) != n:
                raise ValueError(
                    f"catalog attribute {attr!r} has {len(values)} values, expected {n}"
                )
        missing = np.full(n, None, dtype=object)
        price = self.attributes.get(C.PRICE)
        stock = self.attributes.get(C.IN_STOCK)
        derived = {
            "ids": ids,
            "_index": index,
            "name": self.attributes.get(C.NAME, missing),
            "category": self.attributes.get(C.CATEGORY, missing),
            "price": np.full(n, np.nan)
            if price is None
            else np.array([np.nan if v is None else v for v in price], dtype=np.float64),
            "in_stock": np.ones(n, dtype=bool)
            if stock is None
            else np.array([True if v is None else v for v in stock], dtype=bool),
        }
        for attr, value in derived.items():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, attr, value)

    # -- construction and serialisation --------------------------------------------------
    @classmethod
    def from_frame(cls, items: pd.DataFrame) -> Catalog:
        """Build from an items table (``item_id`` plus any attribute columns), in row order."""
        found = list(map(str, items.columns))
        if C.ITEM_ID not in items.columns:
            raise DataError(f"items table has no {C.ITEM_ID!r} column; found {found}")
        ids = items[C.ITEM_ID]
        if ids.isna().any():
            raise DataError(f"items table has {int(ids.isna().sum())} rows with no {C.ITEM_ID}")
        if C.PRICE in items.columns and not pd.api.types.is_numeric_dtype(items[C.PRICE].dtype):
            raise DataError(f"items column {C.PRICE!r} must be numeric, got {items[C.PRICE].dtype}")
        if C.IN_STOCK in items.columns:
            dtype = items[C.IN_STOCK].dtype
            if not (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)):
                raise DataError(f"items column {C.IN_STOCK!r} must be boolean, got {dtype}")
            items = items.assign(**{C.IN_STOCK: items[C.IN_STOCK].astype("boolean")})
        attrs = {
            str(col): np.array(_json_column(items[col]), dtype=object)
            for col in items.columns
            if col != C.ITEM_ID
        }
        return cls(ids.astype(str).to_numpy(dtype=object), attrs)

    def to_json(self) -> bytes:
        """The stored form: ``{"format": 1, "item_id": [...], "columns": {...}}``."""
        doc = {
            "format": CATALOG_FORMAT,
            "item_id": self.ids.tolist(),
            "columns": {attr: values.tolist() for attr, values in self.attributes.items()},
        }
        return orjson.dumps(doc)

    @classmethod
    def from_json(cls, raw: bytes) -> Catalog:
        """Parse the stored form; StoreError if it is not a catalog this code can read."""
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise StoreError(f"corrupt catalog: not JSON ({exc})") from None
        fmt = doc.get("format") if isinstance(doc, dict) else None
        if fmt != CATALOG_FORMAT:
            raise StoreError(
                f"unsupported catalog format {fmt!r}; this reader knows {CATALOG_FORMAT}"
            )
        ids, cols = doc.get("item_id"), doc.get("columns", {})
        if not isinstance(ids, list) or not isinstance(cols, dict):
            raise StoreError("corrupt catalog: 'item_id' must be a list and 'columns' an object")
        try:
            return cls(
                np.array(ids, dtype=object),
                {attr: np.array(values, dtype=object) for attr, values in cols.items()},
            )
        except (ValueError, TypeError, DataError) as exc:
            raise StoreError(f"corrupt catalog: {exc}") from None

    # -- lookups -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id: object) -> bool:
        return str(item_id) in self._index

    def index_of(self, item_ids: Iterable[object]) -> np.ndarray:
        """Catalog indices of ``item_ids`` (int64), ``-1`` for unknown ids."""
        values = (
            item_ids if isinstance(item_ids, np.ndarray | pd.Series | pd.Index) else list(item_ids)
        )
        keys = pd.Index(np.asarray(values, dtype=object).astype(str), dtype=object)
        return self._index.get_indexer(keys).astype(np.int64)

    def position(self, item_id: object) -> int | None:
        """Index of one item id, or None when it is not in the catalog."""
        try:
            loc = self._index.get_loc(str(item_id))
        except KeyError:
            return None
        return int(loc)  # type: ignore[arg-type]  # ids are unique: get_loc gives an int

    def pairs(self, ranked: RankedList) -> list[tuple[str, float]]:
        """``(item_id, score)`` pairs of a decoded list; StoreError on an out-of-range index."""
        idx = ranked.indices
        if len(idx) and idx.max() >= len(self.ids):
            raise StoreError(
                f"ranked list refers to item index {int(idx.max())} but the catalog has "
                f"{len(self.ids)} items (list and catalog from different versions?)"
            )
        return list(zip(self.ids[idx].tolist(), ranked.scores.tolist(), strict=True))
