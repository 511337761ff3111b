"""The artifact bundle: the directory a training run writes and ``publish`` reads.

``OUT/<version>/`` holds ``manifest.json`` and one Parquet file per table (see ``TABLES``).
:class:`Bundle` validates the directory and reads tables lazily, one at a time, checking the
columns each table must have; :func:`write_bundle_tables` writes one from DataFrames.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from recsys import columns as C
from recsys.errors import ConfigError, DataError
from recsys.store.keys import check_version

MANIFEST_FILE: Final = "manifest.json"
ITEMS_FILE: Final = "items.parquet"
RECOMMENDATIONS_FILE: Final = "recommendations.parquet"
RECOMMENDATIONS_ALL_FILE: Final = "recommendations_all.parquet"
BUY_AGAIN_FILE: Final = "buy_again.parquet"
SIMILAR_ITEMS_FILE: Final = "similar_items.parquet"
POPULAR_FILE: Final = "popular.parquet"
SEGMENTS_FILE: Final = "segments.parquet"
SEGMENT_MEMBERS_FILE: Final = "segment_members.parquet"
OFFERS_FILE: Final = "offers.parquet"

#: Table name -> file name. Tables not in ``REQUIRED_TABLES`` are optional.
TABLES: Final = {
    "items": ITEMS_FILE,
    "recommendations": RECOMMENDATIONS_FILE,
    "recommendations_all": RECOMMENDATIONS_ALL_FILE,
    "buy_again": BUY_AGAIN_FILE,
    "similar_items": SIMILAR_ITEMS_FILE,
    "popular": POPULAR_FILE,
    "segments": SEGMENTS_FILE,
    "segment_members": SEGMENT_MEMBERS_FILE,
    "offers": OFFERS_FILE,
    # Offers (issue #10): see recsys.offers.artifacts.
    "offer_holds": "offer_holds.parquet",
    "offer_catalog": "offer_catalog.parquet",
    "offer_audiences": "offer_audiences.parquet",
    "item_audiences": "item_audiences.parquet",
}
REQUIRED_TABLES: Final = ("items", "recommendations", "similar_items", "popular")
#: Columns each table must have (it may have more).
TABLE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "items": (C.ITEM_ID,),
    "recommendations": (C.CUSTOMER_ID, C.RANK, C.ITEM_ID, C.SCORE),
    # The include_purchased answer: like recommendations, already-purchased items allowed.
    "recommendations_all": (C.CUSTOMER_ID, C.RANK, C.ITEM_ID, C.SCORE),
    "buy_again": (C.CUSTOMER_ID, C.RANK, C.ITEM_ID, C.SCORE),
    "similar_items": (C.ITEM_ID, C.RANK, C.SIMILAR_ITEM_ID, C.SCORE),
    "popular": (C.SEGMENT, C.RANK, C.ITEM_ID, C.SCORE),
    # The segment rung's slug per customer, and any profile columns (published as JSON).
    "segments": (C.CUSTOMER_ID, C.SEGMENT),
    # Marketing lists: every segment's customers in each sort order (rank 1 first).
    "segment_members": (C.SEGMENT, "sort", C.RANK, C.CUSTOMER_ID),
    "offers": (C.CUSTOMER_ID,),
    "offer_holds": (C.CUSTOMER_ID, "channel", "reason"),
    "offer_catalog": ("offer_id",),
    "offer_audiences": ("offer_id", "sort", C.RANK, C.CUSTOMER_ID),
    "item_audiences": (C.ITEM_ID, "sort", C.RANK, C.CUSTOMER_ID),
}
REQUIRED_MANIFEST_KEYS: Final = ("version", "created_at", "top_n")
DICTIONARY_PAGE_LIMIT: Final = 256 << 20


@dataclass(frozen=True)
class Bundle:
    """A validated bundle directory; tables are read on demand with :meth:`read`."""

    path: Path
    manifest: dict[str, Any]

    @classmethod
    def open(cls, path: str | Path) -> Bundle:
        """Check that ``path`` is a complete bundle and read its manifest.

        Raises DataError naming every missing required file, or what is wrong with the manifest.
        """
        root = Path(path)
        if not root.is_dir():
            raise DataError(f"bundle directory {root} does not exist")
        required = [MANIFEST_FILE, *(TABLES[t] for t in REQUIRED_TABLES)]
        missing = [name for name in required if not (root / name).is_file()]
        if missing:
            raise DataError(f"bundle {root} is incomplete: missing {', '.join(missing)}")
        try:
            manifest = orjson.loads((root / MANIFEST_FILE).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise DataError(f"cannot read {root / MANIFEST_FILE}: {exc}") from None
        _check_manifest(manifest, root / MANIFEST_FILE)
        return cls(root, manifest)

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def top_n(self) -> int:
        return int(self.manifest["top_n"])

    def has(self, table: str) -> bool:
        """Whether the (optional) table's file exists."""
        return (self.path / _file_of(table)).is_file()

    def read(self, table: str) -> pd.DataFrame:
        """Read one table, checking its required columns (DataError if absent or unreadable)."""
        file = self.path / _file_of(table)
        if not file.is_file():
            raise DataError(f"bundle {self.path} has no {file.name}")
        try:
            frame = pd.read_parquet(file)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise DataError(f"cannot read {file}: {exc}") from None
        need = TABLE_COLUMNS.get(table, ())
        absent = [col for col in need if col not in frame.columns]
        if absent:
            raise DataError(
                f"{file.name} is missing column(s) {absent}; found {list(map(str, frame.columns))}"
            )
        return frame

    def read_arrow(self, table: str, columns: list[str] | None = None) -> pa.Table:
        """Read one table as Arrow (string columns dictionary-encoded: cheap to group by).

        ``columns`` defaults to the table's required columns. DataError if a column is
        missing or the file is unreadable.
        """
        file = self.path / _file_of(table)
        need = list(columns if columns is not None else TABLE_COLUMNS.get(table, ()))
        try:
            schema = pq.read_schema(file)
            absent = [col for col in need if col not in schema.names]
            if absent:
                raise DataError(f"{file.name} is missing column(s) {absent}; found {schema.names}")
            strings = [
                col
                for col in need
                if pa.types.is_string(schema.field(col).type)
                or pa.types.is_large_string(schema.field(col).type)
            ]
            return pq.read_table(file, columns=need, read_dictionary=strings)
        except DataError:
            raise
        except FileNotFoundError:
            raise DataError(f"bundle {self.path} has no {file.name}") from None
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise DataError(f"cannot read {file}: {exc}") from None

    def read_optional(self, table: str) -> pd.DataFrame | None:
        """:meth:`read` for an optional table; None when its file is absent."""
        return self.read(table) if self.has(table) else None

    def items(self) -> pd.DataFrame:
        return self.read("items")

    def recommendations(self) -> pd.DataFrame:
        return self.read("recommendations")

    def buy_again(self) -> pd.DataFrame | None:
        return self.read_optional("buy_again")

    def similar_items(self) -> pd.DataFrame:
        return self.read("similar_items")

    def popular(self) -> pd.DataFrame:
        return self.read("popular")

    def segments(self) -> pd.DataFrame | None:
        return self.read_optional("segments")


def _file_of(table: str) -> str:
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(
            f"unknown bundle table {table!r}; expected one of {list(TABLES)}"
        ) from None


def _check_manifest(manifest: object, where: Path) -> None:
    if not isinstance(manifest, dict):
        raise DataError(f"{where} must hold a JSON object, got {type(manifest).__name__}")
    absent = [k for k in REQUIRED_MANIFEST_KEYS if k not in manifest]
    if absent:
        raise DataError(f"{where} is missing key(s) {absent}")
    try:
        check_version(manifest["version"])
    except ConfigError as exc:
        raise DataError(f"{where}: {exc}") from None
    top_n = manifest["top_n"]
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1:
        raise DataError(f"{where}: top_n must be an integer >= 1, got {top_n!r}")
    if not isinstance(manifest["created_at"], str):
        raise DataError(f"{where}: created_at must be an ISO time string")


def write_bundle_tables(path: str | Path, manifest: dict[str, Any], **tables: pd.DataFrame) -> Path:
    """Write a bundle directory: ``manifest.json`` plus one Parquet file per given table.

    Table keyword names are the keys of ``TABLES`` (``items=..., recommendations=...``).
    Used by the training job and by tests; does not check completeness (see ``Bundle.open``).
    """
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown bundle table(s) {unknown}; expected names from {list(TABLES)}")
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for table, frame in tables.items():
        # Large dictionary pages keep id columns dictionary-encoded (no fallback to plain
        # strings past 1 MB of distinct ids), which makes publishing read them ~4x faster.
        with _replacing(root / TABLES[table]) as tmp:
            frame.to_parquet(tmp, index=False, dictionary_pagesize_limit=DICTIONARY_PAGE_LIMIT)
    # Last, so a bundle whose tables failed keeps its old manifest. JSON has no NaN or
    # infinity: such a value (an undefined ratio) is written as null.
    text = json.dumps(_json_safe(manifest), indent=2, default=str, allow_nan=False) + "\n"
    with _replacing(root / MANIFEST_FILE) as tmp:
        tmp.write_text(text)
    return root


@contextmanager
def _replacing(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it atomically once written (and is
    removed if writing fails): readers see the old file or the new one, never half of one."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, infinity) replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
