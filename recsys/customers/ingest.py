"""Reading order exports for the customer side through the project's event validation.

The customer models need only ``customer_id``, ``timestamp`` and a value: ``quantity`` and
``price``, or an ``amount`` column (the order or line total). Order-level exports have no item
ids, which :func:`recsys.data.events.validate_events` requires, so a constant item id is
supplied for them; an ``amount`` becomes a line-total price, and a negative amount (without a
quantity column) a return of that value. Everything else (column maps, presets, reject
reasons, stops) is the shared ingest.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.config import IngestConfig
from recsys.data.events import LoadResult, check_result, validate_events
from recsys.data.io import read_table
from recsys.data.presets import resolve_columns, resolve_ingest_config
from recsys.data.rejects import write_rejects

AMOUNT: Final = "amount"
ORDER_ITEM: Final = "(order)"  # the item id given to rows of an export without item ids
_ITEM_COL: Final = "__recsys_item__"
_QTY_COL: Final = "__recsys_quantity__"


def prepare_order_export(
    raw: pd.DataFrame, config: IngestConfig | None = None
) -> tuple[pd.DataFrame, IngestConfig]:
    """The raw table and ingest config adjusted so an order-level export validates.

    Returns ``raw`` itself and the resolved config when it already has item ids and a price.
    """
    cfg = resolve_ingest_config(config)
    mapping = resolve_columns(raw.columns, cfg.column_map, (*C.EVENT_COLUMNS, AMOUNT))
    extra_map: dict[str, str] = {}
    updates: dict[str, object] = {}
    out = raw
    if C.ITEM_ID not in mapping:
        out = out.assign(**{_ITEM_COL: ORDER_ITEM})
        extra_map[_ITEM_COL] = C.ITEM_ID
    if C.PRICE not in mapping and AMOUNT in mapping:
        src = mapping[AMOUNT]
        extra_map[src] = C.PRICE
        updates["price_is_line_total"] = True
        if C.QUANTITY not in mapping:
            amount = pd.to_numeric(out[src], errors="coerce")
            negative = (amount < 0).to_numpy()
            out = out.assign(**{_QTY_COL: np.where(negative, "-1", "1")})
            out[src] = out[src].where(~negative, amount.abs().astype(str))
            extra_map[_QTY_COL] = C.QUANTITY
            updates["negative_quantity_is_return"] = True
    if not extra_map:
        return raw, cfg
    data = cfg.model_dump()
    kept = {k: v for k, v in cfg.column_map.items() if k not in extra_map}
    data.update(updates, column_map={**extra_map, **kept}, preset=None)
    return out, IngestConfig.model_validate(data)


def load_order_events(
    path: str | Path, config: IngestConfig | None = None, *, rejects_path: str | Path | None = None
) -> LoadResult:
    """Read and validate an events or orders file for the customer side.

    Like :func:`recsys.data.events.load_events` (same rejects file, same stops) but accepts
    exports without item ids and with an ``amount`` instead of quantity x price.
    """
    raw = read_table(path)
    prepared, cfg = prepare_order_export(raw, config)
    result = validate_events(prepared, cfg, source=str(path), check=False)
    helper_cols = [c for c in (_ITEM_COL, _QTY_COL) if c in result.rejects.columns]
    if helper_cols:
        result = dataclasses.replace(result, rejects=result.rejects.drop(columns=helper_cols))
    if rejects_path is not None:
        write_rejects(result.rejects, rejects_path)
    check_result(result, cfg, source=str(path), rejects_path=rejects_path)
    return result
