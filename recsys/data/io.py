"""Reading input tables (CSV, gzipped CSV, Parquet) with clear errors.

CSV columns are read as text: ids keep their exact spelling (leading zeros, no ``13085.0``
float artefacts), and a rejects file can echo a row exactly as it was read. Typed parsing
(numbers, timestamps) happens in :mod:`recsys.data.parsing`, :mod:`recsys.data.timestamps` and
:mod:`recsys.data.events`, where a failure becomes a
reject reason instead of a crash. Parquet columns keep their stored types.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recsys.errors import DataError

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 200
# "2,55", "-1.234,50": a decimal comma; "2.55": a decimal point.
_COMMA_DECIMAL = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+")
_POINT_DECIMAL = re.compile(r"[+-]?\d+\.\d+")


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: field separator and decimal mark."""

    sep: str = ","
    decimal: str = "."


def table_format(path: str | Path) -> str:
    """``"csv"`` or ``"parquet"`` from the file name; :class:`DataError` for anything else."""
    name = Path(path).name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise DataError(
        f"cannot read {path}: unsupported file type (expected one of "
        f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)})"
    )


def _first_lines(path: Path, n: int = 1) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    lines: list[str] = []
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            for line in fh:
                lines.append(line)
                if len(lines) >= n:
                    break
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return lines


def _first_line(path: Path) -> str:
    lines = _first_lines(path)
    return lines[0] if lines else ""


def sniff_csv(path: str | Path) -> CsvDialect:
    """The separator (from the header line) and decimal mark (from the first rows) of a CSV.

    The separator is the most frequent of ``,`` ``;`` tab ``|`` in the header. The decimal
    mark is ``,`` when the separator is not ``,`` and the first rows hold more decimal-comma
    numbers (``2,55``, ``1.234,50``) than decimal-point ones (``2.55``); else ``.``. A
    Parquet file (typed numbers) gives the defaults.
    """
    p = Path(path)
    if p.is_dir() or table_format(p) != "csv" or not p.is_file():
        return CsvDialect()
    lines = _first_lines(p, _SNIFF_LINES)
    if not lines or not lines[0].strip():
        return CsvDialect()
    sep, _ = _header(lines[0])
    if sep == ",":
        return CsvDialect(sep, ".")
    comma = point = 0
    for row in csv.reader((line.rstrip("\r\n") for line in lines[1:]), delimiter=sep):
        for cell in row:
            cell = cell.strip()
            comma += _COMMA_DECIMAL.fullmatch(cell) is not None
            point += _POINT_DECIMAL.fullmatch(cell) is not None
    return CsvDialect(sep, "," if comma > point else ".")


def _header(line: str) -> tuple[str, list[str]]:
    """The delimiter (the most frequent candidate in the header line) and the column names."""
    delim = max(_DELIMITERS, key=line.count)
    if not line.count(delim):
        delim = ","
    names = next(csv.reader([line.rstrip("\r\n")], delimiter=delim), [])
    return delim, names


def _check_columns(path: Path, found: list[str], columns: list[str] | None) -> None:
    if columns is None:
        return
    missing = [c for c in columns if c not in found]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; columns found: {found}")


def _read_csv(path: Path, columns: list[str] | None, sep: str | None) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes); expected a header line and rows")
    line = _first_line(path)
    if not line.strip():
        raise DataError(f"{path} is empty: no header line")
    delim, names = _header(line)
    if sep is not None and sep != delim:
        delim = sep
        names = next(csv.reader([line.rstrip("\r\n")], delimiter=delim), [])
    _check_columns(path, names, columns)
    kwargs = {"sep": delim, "dtype": str, "usecols": columns}
    try:
        # The pyarrow parser is several times faster; the C parser is the fallback for what
        # it rejects (odd encodings, quoting) and gives the clearer error message.
        return pd.read_csv(path, engine="pyarrow", **kwargs)  # type: ignore[call-overload]
    except Exception:  # noqa: BLE001 - any pyarrow failure: retry with the C parser
        pass
    for encoding in ("utf-8", "latin-1"):
        try:
            frame = pd.read_csv(path, encoding=encoding, **kwargs)  # type: ignore[call-overload]
            _refuse_short_lines(path, delim, len(names), encoding)
            return frame
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise DataError(f"{path} is empty: no header line") from None
        except (pd.errors.ParserError, ValueError, OSError, EOFError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"cannot parse CSV {path}: {reason}") from None
    raise DataError(f"cannot decode {path}: neither UTF-8 nor Latin-1 text")


def _refuse_short_lines(path: Path, delim: str, n_fields: int, encoding: str) -> None:
    """DataError naming the first line with fewer fields than the header.

    pandas' C parser pads such a line with missing values, so a truncated row (an offer
    without its ``budget``, an event without its ``value``) would be read as if the fields
    were left empty on purpose. Only reached when the pyarrow parser refused the file, which
    it does for a short line. Blank lines are skipped, as the parsers skip them.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delim)
        next(reader, None)
        for row in reader:
            if row and len(row) < n_fields:
                raise DataError(
                    f"cannot parse CSV {path}: line {reader.line_num} has {len(row)} fields, "
                    f"the header {n_fields}; a short line would be read with its last fields "
                    "missing, so fix or remove it"
                )


def _read_parquet(path: Path, columns: list[str] | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        found = list(pq.read_schema(path).names)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several unrelated types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read Parquet file {path}: {reason}") from None
    _check_columns(path, found, columns)
    try:
        return pd.read_parquet(path, columns=columns)
    except Exception as exc:  # noqa: BLE001
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read Parquet file {path}: {reason}") from None


def _read_parquet_folder(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """Every Parquet file under ``path`` (partitions such as ``date=2024-01-01/part-*.parquet``,
    as ``recsys events export`` writes them), in path order, as one table."""
    frames = [_read_parquet(f, columns) for f in parquet_files(path)]
    return pd.concat(frames, ignore_index=True)


def parquet_files(path: Path) -> list[Path]:
    """The Parquet files under a folder, in path order; DataError when there is none."""
    files = sorted(f for f in path.rglob("*") if f.is_file() and table_format_ok(f))
    if not files:
        raise DataError(f"cannot read {path}: a folder with no Parquet file")
    return files


def table_format_ok(path: Path) -> bool:
    """Whether ``path`` is a Parquet file by name (hidden and temporary files excluded)."""
    return not path.name.startswith((".", "_")) and path.name.lower().endswith(PARQUET_SUFFIXES)


def read_table(
    path: str | Path, *, columns: list[str] | None = None, sep: str | None = None
) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``, ``.tsv``...) or Parquet file into a DataFrame.

    Parameters
    ----------
    path:
        The file, or a folder of Parquet files (read together, in path order). CSV
        delimiters (``,`` ``;`` tab ``|``) are detected from the header line; text is UTF-8
        with a Latin-1 fallback. Malformed CSV lines (too many fields, or too few: a
        truncated line) stop the read (no row is silently dropped or padded).
    columns:
        Read only these columns; a missing one is an error that lists the columns found.
    sep:
        The CSV field separator, when detection from the header line is not wanted.

    Returns
    -------
    DataFrame with a fresh ``RangeIndex`` (row ``i`` is data row ``i`` of the file). CSV
    columns are text (``str``, missing values NaN); Parquet columns keep their stored types.

    Raises
    ------
    DataError
        Missing, unreadable, empty or malformed file, unsupported type, missing column.
    """
    p = Path(path)
    if not p.exists():  # before the suffix: a mistyped folder is missing, not "unsupported"
        raise DataError(f"cannot read {p}: no such file or folder")
    if p.is_dir() and not p.name.lower().endswith(CSV_SUFFIXES):
        return _read_parquet_folder(p, columns)
    fmt = table_format(p)
    if not p.is_file():
        raise DataError(f"cannot read {p}: not a regular file")
    frame = _read_csv(p, columns, sep) if fmt == "csv" else _read_parquet(p, columns)
    return frame.reset_index(drop=True)
