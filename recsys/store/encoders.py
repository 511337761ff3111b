"""Encoders: bundle tables -> stored values, one value per owner (customer, item, segment).

Each encoder is a small frozen dataclass naming the bundle table it reads; a key family
declaration (:mod:`recsys.store.families`) attaches one to each field it publishes. An
encoder's :meth:`~Encoder.encode` returns ``(owners, values)``: the owner ids (str, first-seen
order) and one encoded value (bytes) per owner, or None when its optional table is absent.
Bad rows raise :class:`~recsys.errors.DataError` before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from recsys import columns as C
from recsys.errors import DataError
from recsys.store.bundle import TABLES, Bundle
from recsys.store.codec import MAX_LENGTH, Catalog, ScoreDtype, encode_lists

#: Owner ids (object array of str) and one encoded value per owner.
Encoded = tuple[np.ndarray, list[bytes]]
#: Owner of a value stored in a single-key STRING family (catalog, manifest).
SINGLE: Final = ""


@dataclass(frozen=True)
class EncodeContext:
    """What every encoder may use: the bundle, its catalog, the score width policy."""

    bundle: Bundle
    catalog: Catalog
    score_dtype: ScoreDtype = "auto"


class Encoder(Protocol):
    """Turns a bundle table into stored values (see the module docs)."""

    @property
    def table(self) -> str:
        """The bundle table read (a key of ``recsys.store.bundle.TABLES``, or a file name)."""

    @property
    def required(self) -> bool:
        """False: the table is optional and ``encode`` returns None when it is absent."""

    def encode(self, ctx: EncodeContext) -> Encoded | None:
        """Owner ids and their encoded values; DataError on a bad table."""


# -- Arrow helpers -------------------------------------------------------------------------


def dict_codes(column: pa.ChunkedArray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and distinct values (str, object array) of an id column."""
    value_type = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not (
        pa.types.is_string(value_type)
        or pa.types.is_large_string(value_type)
        or pa.types.is_integer(value_type)
    ):
        raise DataError(f"{what} must be strings (or integers), got {value_type}")
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    first = column.chunk(0).dictionary
    # Batches read from one row group share a dictionary: comparing is cheaper than unifying.
    if not all(chunk.dictionary.equals(first) for chunk in column.chunks[1:]):
        column = column.unify_dictionaries()
    values = column.chunk(0).dictionary.cast(pa.string()).to_numpy(zero_copy_only=False)
    parts = [chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks]
    codes = parts[0] if len(parts) == 1 else np.concatenate(parts)
    values = np.asarray(values, dtype=object)
    if not pd.Index(values).is_unique:  # a writer may repeat dictionary entries
        remap, values = pd.factorize(values)
        codes = remap[codes]
        values = np.asarray(values, dtype=object)
    return codes, values


def _group_order(
    owner_codes: np.ndarray, ranks: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Order rows by (owner, rank): None when already so (strictly, so no duplicate ranks),
    else the sorting permutation and the sorted codes and ranks."""
    if len(ranks) == 0:
        return None, owner_codes, ranks
    lo, hi = int(ranks.min()), int(ranks.max())
    span = hi - lo + 1
    if span * (int(owner_codes.max()) + 1) < 2**62:  # one int64 sort key
        key = owner_codes.astype(np.int64) * span + (ranks - lo)
        if (np.diff(key) > 0).all():
            return None, owner_codes, ranks
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((ranks, owner_codes))
    return order, owner_codes[order], ranks[order]


def encode_ranked(
    table: pa.Table,
    owner_col: str,
    item_col: str,
    catalog: Catalog,
    file: str,
    score_dtype: ScoreDtype,
) -> Encoded:
    """Group a (owner, rank, item, score) table into one encoded ranked list per owner.

    Returns the owner ids (first-seen order) and their lists (``recsys.store.codec`` format);
    DataError on missing values, non-integer ranks, duplicate ranks, non-finite scores, items
    not in the catalog or a list longer than the format allows.
    """
    cols = [owner_col, C.RANK, item_col, C.SCORE]
    nulls = {c: table.column(c).null_count for c in cols if table.column(c).null_count}
    if nulls:
        raise DataError(f"{file} has missing values: {nulls}")
    if not pa.types.is_integer(table.schema.field(C.RANK).type):
        raise DataError(
            f"{file}: column {C.RANK!r} must be integer, got {table.schema.field(C.RANK).type}"
        )
    score_type = table.schema.field(C.SCORE).type
    if not (pa.types.is_floating(score_type) or pa.types.is_integer(score_type)):
        raise DataError(f"{file}: column {C.SCORE!r} must be numeric, got {score_type}")
    owner_codes, owner_ids = dict_codes(table.column(owner_col), f"{file} {owner_col}")
    item_codes, item_values = dict_codes(table.column(item_col), f"{file} {item_col}")
    positions = catalog.index_of(item_values)
    unknown = (positions < 0) & (np.bincount(item_codes, minlength=len(item_values)) > 0)
    if unknown.any():
        raise DataError(
            f"{file} refers to {int(unknown.sum())} item id(s) not in the catalog "
            f"(items.parquet), e.g. {item_values[unknown][:5].tolist()}"
        )
    ranks = table.column(C.RANK).to_numpy().astype(np.int64, copy=False)
    scores = table.column(C.SCORE).to_numpy()
    if not pa.types.is_floating(score_type):
        scores = scores.astype(np.float64)
    if not np.isfinite(scores).all():
        raise DataError(f"{file} has {int((~np.isfinite(scores)).sum())} non-finite score(s)")
    order, owner_codes, ranks = _group_order(owner_codes, ranks)
    dup = (np.diff(owner_codes) == 0) & (np.diff(ranks) == 0) if order is not None else None
    if dup is not None and dup.any():
        at = int(np.flatnonzero(dup)[0])
        raise DataError(
            f"{file}: {owner_col} {owner_ids[owner_codes[at]]!r} has rank {int(ranks[at])} more "
            f"than once ({int(dup.sum())} duplicated rank(s) in all)"
        )
    counts = np.bincount(owner_codes, minlength=len(owner_ids))
    if counts.max(initial=0) > MAX_LENGTH:
        raise DataError(f"{file}: a list has {int(counts.max())} entries; at most {MAX_LENGTH}")
    entries = positions[item_codes] if order is None else positions[item_codes[order]]
    encoded = encode_lists(
        counts, entries, scores if order is None else scores[order], score_dtype=score_dtype
    )
    used = counts > 0  # a dictionary may hold values no row uses
    if not used.all():
        keep = np.flatnonzero(used)
        return owner_ids[keep], [encoded[i] for i in keep.tolist()]
    return owner_ids, encoded


def encode_text(table: pa.Table, owner_col: str, column: str, file: str) -> Encoded:
    """One UTF-8 text value per owner (e.g. the segment); DataError on gaps or repeats."""
    for col in (owner_col, column):
        if table.column(col).null_count:
            raise DataError(f"{file}: {table.column(col).null_count} rows have no {col}")
    codes, owners = dict_codes(table.column(owner_col), f"{file} {owner_col}")
    if len(owners) != len(codes):
        dupes = owners[np.bincount(codes, minlength=len(owners)) > 1][:5].tolist()
        raise DataError(f"{file}: {owner_col}(s) listed more than once, e.g. {dupes}")
    values = table.column(column).cast(pa.string()).to_pylist()
    ordered: list[bytes] = [b""] * len(owners)
    for code, value in zip(codes.tolist(), values, strict=True):
        ordered[code] = str(value).encode()
    return owners, ordered


# -- encoders a family declaration names ---------------------------------------------------


@dataclass(frozen=True)
class RankedTable:
    """A ``(owner, rank, item, score)`` table -> one ranked list per owner.

    ``owners_in_catalog``: every owner must be a catalog item (similar-items lists).
    ``must_have``: an owner that must be present (the global popular list).
    """

    table: str
    owner: str
    item: str = C.ITEM_ID
    required: bool = True
    owners_in_catalog: bool = False
    must_have: str | None = None

    def encode(self, ctx: EncodeContext) -> Encoded | None:
        if not self.required and not ctx.bundle.has(self.table):
            return None
        file = TABLES[self.table]
        owners, values = encode_ranked(
            ctx.bundle.read_arrow(self.table, [self.owner, C.RANK, self.item, C.SCORE]),
            self.owner,
            self.item,
            ctx.catalog,
            file,
            ctx.score_dtype,
        )
        if self.owners_in_catalog:
            outside = ctx.catalog.index_of(owners) < 0
            if outside.any():
                raise DataError(
                    f"{file} has lists for {int(outside.sum())} {self.owner}(s) not in "
                    f"items.parquet, e.g. {owners[outside][:5].tolist()}"
                )
        if self.must_have is not None and self.must_have not in set(owners.tolist()):
            raise DataError(
                f"{file} has no global list ({self.owner} {self.must_have!r}); found "
                f"{owners[:5].tolist()}"
            )
        return owners, values


@dataclass(frozen=True)
class TextColumn:
    """One text column of a table keyed by ``owner`` -> its UTF-8 value per owner."""

    table: str
    column: str
    owner: str = C.CUSTOMER_ID
    required: bool = False

    def encode(self, ctx: EncodeContext) -> Encoded | None:
        if not self.required and not ctx.bundle.has(self.table):
            return None
        table = ctx.bundle.read_arrow(self.table, [self.owner, self.column])
        return encode_text(table, self.owner, self.column, TABLES[self.table])


@dataclass(frozen=True)
class CatalogJson:
    """``items.parquet`` -> the catalog JSON (one value, see ``recsys.store.codec.Catalog``)."""

    table: str = "items"
    required: bool = True

    def encode(self, ctx: EncodeContext) -> Encoded:
        return np.array([SINGLE], dtype=object), [ctx.catalog.to_json()]


@dataclass(frozen=True)
class ManifestJson:
    """``manifest.json`` -> stored as JSON, unchanged (one value)."""

    table: str = "manifest.json"
    required: bool = True

    def encode(self, ctx: EncodeContext) -> Encoded:
        return np.array([SINGLE], dtype=object), [orjson.dumps(ctx.bundle.manifest)]


#: Significant digits kept of a float in a JSON row (a profile needs no more; it halves the
#: bytes of a customer's profile in Redis).
JSON_DIGITS: Final = 6


def _json_ready(column: pd.Series) -> list[object]:
    """A column as JSON values: NaN/NaT -> null, timestamps -> ISO 8601 to the second, floats
    to ``JSON_DIGITS`` significant digits, numpy -> Python."""
    missing = column.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        values: list[object] = [
            v.floor("s").isoformat() if v is not pd.NaT else None for v in column
        ]
    elif pd.api.types.is_float_dtype(column.dtype):
        values = [
            None if m else float(f"{v:.{JSON_DIGITS}g}")
            for v, m in zip(column.tolist(), missing, strict=True)
        ]
    else:
        values = column.astype(object).tolist()
    return [None if m else v for v, m in zip(values, missing, strict=True)]


@dataclass(frozen=True)
class JsonRows:
    """A table keyed by ``owner`` -> each owner's other columns as one JSON object.

    ``exclude``: columns left out (besides the owner). DataError on a missing or repeated
    owner.
    """

    table: str
    owner: str = C.CUSTOMER_ID
    exclude: tuple[str, ...] = ()
    required: bool = False

    def encode(self, ctx: EncodeContext) -> Encoded | None:
        if not self.required and not ctx.bundle.has(self.table):
            return None
        frame = ctx.bundle.read(self.table)
        file = TABLES[self.table]
        owners = frame[self.owner]
        if owners.isna().any():
            raise DataError(f"{file}: {int(owners.isna().sum())} rows have no {self.owner}")
        if owners.duplicated().any():
            dupes = owners[owners.duplicated()].astype(str).unique()[:5].tolist()
            raise DataError(f"{file}: {self.owner}(s) listed more than once, e.g. {dupes}")
        columns = [c for c in frame.columns if c != self.owner and c not in self.exclude]
        if not columns:  # nothing beyond the owner (and excluded columns) to publish
            return None
        data = {c: _json_ready(frame[c]) for c in columns}
        values = [
            orjson.dumps(dict(zip(columns, row, strict=True)), option=orjson.OPT_SERIALIZE_NUMPY)
            for row in zip(*(data[c] for c in columns), strict=True)
        ]
        return owners.astype(str).to_numpy(dtype=object), values


#: Members per stored page of a list (a page request of up to this many reads 1-2 pages).
PAGE_SIZE: Final = 1000


def page_id(group: str, sort: str, page: int) -> str:
    """The entity id of one page of a member list: ``{group}|{sort}|{page}``."""
    return f"{group}|{sort}|{page}"


@dataclass(frozen=True)
class Pages:
    """A ``(group, sort, rank, member)`` table -> each list cut into pages of ``PAGE_SIZE``
    members, one JSON array of member ids per page (entity id :func:`page_id`)."""

    table: str
    group: str
    member: str
    sort: str = "sort"
    required: bool = False

    def encode(self, ctx: EncodeContext) -> Encoded | None:
        if not self.required and not ctx.bundle.has(self.table):
            return None
        frame = ctx.bundle.read(self.table)
        file = TABLES[self.table]
        cols = [self.group, self.sort, C.RANK, self.member]
        if frame[cols].isna().any().any():
            raise DataError(f"{file}: rows with missing values in {cols}")
        frame = frame.sort_values([self.group, self.sort, C.RANK], kind="stable")
        ids: list[str] = []
        values: list[bytes] = []
        for (group, sort), members in frame.groupby([self.group, self.sort], sort=False):
            members_list = members[self.member].astype(str).tolist()
            for page, start in enumerate(range(0, len(members_list), PAGE_SIZE)):
                ids.append(page_id(str(group), str(sort), page))
                values.append(orjson.dumps(members_list[start : start + PAGE_SIZE]))
        return np.array(ids, dtype=object), values
