"""Item and customer tables: read from their files, or derived from the events."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.config import IngestConfig
from recsys.data.events import non_product_mask, normalized_ids, with_dialect
from recsys.data.ids import ID_DESCRIPTION
from recsys.data.io import read_table
from recsys.data.parsing import clean_text, id_problems, parse_bools, parse_numbers
from recsys.data.presets import map_columns, missing_column_error, resolve_ingest_config
from recsys.data.timestamps import parse_timestamps
from recsys.errors import DataError

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
        raise missing_column_error(what, [key], cfg, raw.columns)
    ids = normalized_ids(frame[key], cfg)
    absent = ids.isna().to_numpy()
    if absent.any():
        rows = np.flatnonzero(absent)[:5].tolist()
        raise DataError(f"{what}: {int(absent.sum())} row(s) without {key} (data rows {rows})")
    problem = id_problems(ids)
    bad = problem.notna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise DataError(
            f"{what}: {int(bad.sum())} {key}(s) the API cannot carry ({problem[bad].iloc[0]}; "
            f"ids are {ID_DESCRIPTION}) (data rows {rows})"
        )
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
    cfg = with_dialect(cfg, path)
    frame = _keyed_table(read_table(path, sep=cfg.sep), cfg, C.ITEM_ID, _ITEM_COLUMNS, what)
    if C.PRICE in frame.columns:
        _coerce(frame, C.PRICE, what, parse_numbers(frame[C.PRICE], decimal=cfg.decimal or "."))
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
    cfg = with_dialect(cfg, path)
    raw = read_table(path, sep=cfg.sep)
    frame = _keyed_table(raw, cfg, C.CUSTOMER_ID, _CUSTOMER_COLUMNS, what)
    if C.EMAIL_OPT_IN in frame.columns:
        _coerce(frame, C.EMAIL_OPT_IN, what, parse_bools(frame[C.EMAIL_OPT_IN], default=False))
    if C.SIGNUP_DATE in frame.columns:
        try:
            dates = parse_timestamps(
                frame[C.SIGNUP_DATE], timezone=cfg.timezone, fmt=cfg.timestamp_format
            )
        except DataError as exc:
            raise DataError(f"{what}: column {C.SIGNUP_DATE!r}: {exc}") from None
        given = ~pd.isna(clean_text(frame[C.SIGNUP_DATE]))
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
        raise missing_column_error("events", [C.ITEM_ID], cfg, events.columns)
    item = normalized_ids(frame[C.ITEM_ID], cfg)
    keep = item.notna().to_numpy() & ~non_product_mask(item, cfg)
    n = len(frame)
    names = clean_text(frame[C.NAME]) if C.NAME in frame.columns else np.full(n, None, object)
    if C.PRICE in frame.columns:
        price, _ = parse_numbers(frame[C.PRICE], decimal=cfg.decimal or ".")
        is_raw_export = mapping[C.ITEM_ID] != C.ITEM_ID  # clean events carry unit prices
        if cfg.price_is_line_total and is_raw_export and C.QUANTITY in frame.columns:
            q, _ = parse_numbers(frame[C.QUANTITY], decimal=cfg.decimal or ".")
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
