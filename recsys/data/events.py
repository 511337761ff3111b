"""Validation of raw events: every input row ends up clean or rejected with its reason.

:func:`validate_events` maps the source columns (see :mod:`recsys.data.presets`), cleans ids,
parses timestamps, quantities and prices, applies the return rules and checks each row. A row
that fails gets the first failing reason in :data:`recsys.data.rejects.REASON_ORDER`.

Conventions: a missing ``event_type`` column or an empty value means ``purchase``; a missing
``quantity`` column or an empty value means 1. Returns become ``event_type="return"`` with a
positive quantity: rows of orders starting with ``return_order_prefix`` (when their type is
empty, purchase or return), rows typed ``return`` whatever the sign, and, with
``negative_quantity_is_return``, rows with a negative quantity and no event type.

``accepted + rejected == input rows`` always: the clean events and the rejects table both carry
``source_row`` (0-based data row of the input) so they can be reconciled.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.config import IngestConfig, MatrixConfig
from recsys.data.io import read_table, sniff_csv
from recsys.data.parsing import clean_ids, clean_text, id_problems, parse_numbers
from recsys.data.presets import missing_column_error, resolve_columns, resolve_ingest_config
from recsys.data.rejects import (
    BAD_CUSTOMER_ID,
    BAD_ITEM_ID,
    BAD_PRICE,
    BAD_QUANTITY,
    BAD_TIMESTAMP,
    DUPLICATE,
    MISSING_CUSTOMER_ID,
    MISSING_ITEM_ID,
    NEGATIVE_PRICE,
    NON_PRODUCT_ITEM,
    REASON_ORDER,
    REJECT_DETAIL,
    UNKNOWN_EVENT_TYPE,
    ZERO_PRICE,
    RejectReport,
    write_rejects,
)
from recsys.data.timestamps import DateOrder, read_timestamps
from recsys.errors import DataError

_NONE = np.array([None], dtype=object)  # appended so that factorize's code -1 maps to None


@dataclass(frozen=True, eq=False)
class LoadResult:
    """Clean events, the rejected rows (as read, with reasons) and the counts."""

    events: pd.DataFrame
    rejects: pd.DataFrame
    report: RejectReport
    #: The day/month order of the timestamp column (``"day_first"``/``"month_first"``), or
    #: None when no date had the year last; read ``--cutoff`` with it (``parse_date``).
    date_order: DateOrder | None = None


def normalized_ids(values: pd.Series, cfg: IngestConfig) -> pd.Series:
    """Ids cleaned by the config's id rules (``id_case``, ``id_strip``, ``id_float_suffix``)."""
    return clean_ids(values, case=cfg.id_case, strip=cfg.id_strip, float_suffix=cfg.id_float_suffix)


def with_dialect(cfg: IngestConfig, path: str | Path) -> IngestConfig:
    """The config with ``sep``/``decimal`` filled in from the file when not set."""
    if cfg.sep is not None and cfg.decimal is not None:
        return cfg
    found = sniff_csv(path)
    return cfg.model_copy(
        update={"sep": cfg.sep or found.sep, "decimal": cfg.decimal or found.decimal}
    )


def _where(source: str | None, what: str = "events") -> str:
    return f"{what} {source}" if source else what


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


def non_product_mask(items: pd.Series, cfg: IngestConfig) -> np.ndarray:
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
        ``source_row``, ``reject_reason`` and ``reject_detail`` (the id problem of
        ``bad_item_id``/``bad_customer_id`` rows, else empty). ``date_order``: how
        year-last dates were read (see :mod:`recsys.data.timestamps`).

    Raises
    ------
    DataError
        No rows, a required column missing after mapping, dates whose day/month order is
        mixed or undecidable (naming ``timestamp_format``), or (``check``) a stop condition.
    """
    cfg = resolve_ingest_config(config)
    decimal = cfg.decimal or "."
    vocab = list(MatrixConfig().event_weights if event_types is None else event_types)
    where = _where(source)
    n = len(raw)
    if n == 0:
        raise DataError(f"{where}: no rows (expected a header and at least one event row)")
    if not all(isinstance(c, str) for c in raw.columns):
        raw = raw.rename(columns=str)
    clash = [c for c in (C.SOURCE_ROW, C.REJECT_REASON, REJECT_DETAIL) if c in raw.columns]
    if clash:
        raise DataError(f"{where}: column name(s) {clash} are reserved for the rejects file")
    mapping = resolve_columns(raw.columns, cfg.column_map, C.EVENT_COLUMNS)
    missing = [c for c in C.REQUIRED_EVENT_COLUMNS if c not in mapping]
    if missing:
        raise missing_column_error(where, missing, cfg, raw.columns)

    fails: dict[str, np.ndarray] = {}
    customer = normalized_ids(raw[mapping[C.CUSTOMER_ID]], cfg)
    item = normalized_ids(raw[mapping[C.ITEM_ID]], cfg)
    customer_problem, item_problem = id_problems(customer), id_problems(item)
    fails[MISSING_CUSTOMER_ID] = customer.isna().to_numpy()
    fails[BAD_CUSTOMER_ID] = customer_problem.notna().to_numpy()
    fails[MISSING_ITEM_ID] = item.isna().to_numpy()
    fails[BAD_ITEM_ID] = item_problem.notna().to_numpy()
    fails[NON_PRODUCT_ITEM] = non_product_mask(item, cfg)

    ts_raw = raw[mapping[C.TIMESTAMP]]
    try:
        ts, date_order = read_timestamps(ts_raw, timezone=cfg.timezone, fmt=cfg.timestamp_format)
    except DataError as exc:
        raise DataError(f"{where}: column {mapping[C.TIMESTAMP]!r}: {exc}") from None
    fails[BAD_TIMESTAMP] = ts.isna().to_numpy()

    order = clean_ids(raw[mapping[C.ORDER_ID]]) if C.ORDER_ID in mapping else None
    if C.EVENT_TYPE in mapping:
        given = _event_types(clean_text(raw[mapping[C.EVENT_TYPE]]), cfg, vocab)
    else:
        given = np.full(n, None, dtype=object)
    untyped = pd.isna(given)
    etype = np.where(untyped, C.PURCHASE, given).astype(object)

    if C.QUANTITY in mapping:
        q, q_bad = parse_numbers(raw[mapping[C.QUANTITY]], decimal=decimal)
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
        price, p_bad = parse_numbers(raw[mapping[C.PRICE]], decimal=decimal)
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
    codes = np.asarray(REASON_ORDER, dtype=object)[reason[rej_rows]]
    rejects[C.REJECT_REASON] = pd.array(codes, dtype="str")
    detail = np.full(len(rej_rows), "", dtype=object)
    for name, problem in ((BAD_CUSTOMER_ID, customer_problem), (BAD_ITEM_ID, item_problem)):
        at = codes == name
        detail[at] = problem.to_numpy(dtype=object)[rej_rows[at]]
    rejects[REJECT_DETAIL] = pd.array(detail, dtype="str")

    counts_arr = np.bincount(reason[rej_rows], minlength=len(REASON_ORDER))
    counts = {r: int(c) for r, c in zip(REASON_ORDER, counts_arr, strict=True) if c}
    result = LoadResult(events, rejects, RejectReport(n, int(ok.sum()), counts), date_order)
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
    cfg = with_dialect(resolve_ingest_config(config), path)
    raw = read_table(path, sep=cfg.sep)
    source = str(path)
    result = validate_events(raw, cfg, event_types=event_types, source=source, check=False)
    if rejects_path is not None:
        write_rejects(result.rejects, rejects_path)
    check_result(result, cfg, source=source, rejects_path=rejects_path)
    return result
