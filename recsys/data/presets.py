"""Named ingest presets and column mapping.

A preset is a ready-made :class:`~recsys.config.IngestConfig` fragment for a well-known export
layout: its column map and its cleaning rules (returns, non-product codes, time zone, ...).
``IngestConfig(preset="online-retail")`` merges the preset in when the config is built; fields
given explicitly win, and explicit ``column_map`` entries take precedence over the preset's.

Column maps may name several spellings of one source column (``Invoice`` and ``InvoiceNo``):
:func:`resolve_columns` picks whichever is present in the file.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from recsys import columns as C
from recsys.config import IngestConfig
from recsys.errors import DataError

# UCI "Online Retail" (2010-2011) and "Online Retail II" (2009-2011) exports. The two releases
# spell three columns differently; both spellings are mapped.
_ONLINE_RETAIL: dict[str, Any] = {
    "column_map": {
        "Invoice": C.ORDER_ID,
        "InvoiceNo": C.ORDER_ID,
        "StockCode": C.ITEM_ID,
        "Quantity": C.QUANTITY,
        "InvoiceDate": C.TIMESTAMP,
        "Price": C.PRICE,
        "UnitPrice": C.PRICE,
        "Customer ID": C.CUSTOMER_ID,
        "CustomerID": C.CUSTOMER_ID,
        "Description": C.NAME,
        "Country": C.COUNTRY,
    },
    # Cancellation invoices ("C489449") are returns of the listed lines.
    "return_order_prefix": "C",
    # Other negative lines (no "C" invoice) are stock write-offs ("damaged", "missing", "?"),
    # not customer returns: they are rejected as bad_quantity.
    "negative_quantity_is_return": False,
    # Postage, carriage, manual entries, discounts, fees, bad-debt adjustments, samples, tests.
    "non_product_items": [
        "POST",
        "DOT",
        "C2",
        "C3",
        "M",
        "D",
        "S",
        "B",
        "CRUK",
        "PADS",
        "GIFT",
        "ADJUST",
        "ADJUST2",
        "AMAZONFEE",
        "BANK CHARGES",
        "TEST001",
        "TEST002",
    ],  # fmt: skip
    # Any code without a digit (except the DCGS party bags, which are real products), gift
    # vouchers (gift_0001_20), test and adjustment codes, carriage codes (C2).
    "non_product_pattern": r"(?i)(?!DCGS)[^0-9]+|gift_\d+_\d+|test\d*|adjust\d*|c\d",
    # Invoice times are UK local time.
    "timezone": "Europe/London",
    # Stock codes differ in letter case only by typing slips: 85123A and 85123a are one
    # product (151 such codes in the 2009-10 file).
    "id_case": "upper",
}

# 84.51 "The Complete Journey 2.0" (R package completejourney): transactions, products and
# demographics files share the household_id / product_id keys.
_DUNNHUMBY: dict[str, Any] = {
    "column_map": {
        "household_id": C.CUSTOMER_ID,
        "product_id": C.ITEM_ID,
        "basket_id": C.ORDER_ID,
        "quantity": C.QUANTITY,
        "sales_value": C.PRICE,
        "transaction_timestamp": C.TIMESTAMP,
        "product_category": C.CATEGORY,
    },
    # sales_value is what the line cost: unit price = sales_value / quantity.
    "price_is_line_total": True,
}

PRESETS: dict[str, dict[str, Any]] = {
    "online-retail": _ONLINE_RETAIL,
    "dunnhumby": _DUNNHUMBY,
}


def merge_preset(data: Mapping[str, Any]) -> dict[str, Any]:
    """Merge the preset named in raw ``IngestConfig`` input under the explicit fields.

    Explicit fields replace the preset's values, except ``column_map``, whose entries are
    combined (explicit entries first, so they win when both map the same target). When
    ``data`` names every field (a ``model_dump()`` round trip, as in
    ``Config.with_overrides(ingest={"preset": ...})``), fields at their default value count
    as not given; to switch a preset rule off there, give a non-default value (e.g.
    ``return_order_prefix=""``, ``non_product_pattern=""``).

    Raises
    ------
    ValueError
        The preset is unknown (pydantic reports it as a validation error).
    """
    name = data.get("preset")
    if name is None:
        return dict(data)
    if name not in PRESETS:
        raise ValueError(f"unknown ingest preset {name!r}; known presets: {sorted(PRESETS)}")
    preset = copy.deepcopy(PRESETS[name])
    data = dict(data)
    fields = IngestConfig.model_fields
    if set(fields) <= set(data):
        # Every field given: a model_dump() round trip of a config built without this preset
        # (Config.with_overrides(ingest={"preset": ...})). Fields still at their default were
        # not chosen by anyone, so the preset's values apply to them.
        data = {
            k: v
            for k, v in data.items()
            if k == "preset"
            or k not in fields
            or v != fields[k].get_default(call_default_factory=True)
        }
    merged = {**preset, **data}
    explicit_map = dict(data.get("column_map") or {})
    preset_map = preset.get("column_map", {})
    merged["column_map"] = {
        **explicit_map,
        **{k: v for k, v in preset_map.items() if k not in explicit_map},
    }
    return merged


def resolve_ingest_config(cfg: IngestConfig | None = None) -> IngestConfig:
    """The config with its preset merged in (idempotent; ``None`` gives the defaults).

    Configs built normally are already resolved; this also resolves one made with
    ``model_construct`` and is the one call the loaders rely on.
    """
    if cfg is None:
        return IngestConfig()
    if cfg.preset is None:
        return cfg
    return IngestConfig.model_validate(cfg.model_dump(include=set(cfg.model_fields_set)))


def _norm(name: object) -> str:
    return re.sub(r"[\s_\-.]+", "", str(name)).lower()


def resolve_columns(
    found: Iterable[object], column_map: Mapping[str, str], targets: Iterable[str]
) -> dict[str, str]:
    """Which source column feeds each target column: ``{target: source}``.

    Entries of ``column_map`` are tried in order and the first source present wins for its
    target (so alternative spellings can all be listed). Targets no entry provides are taken
    from a column already carrying that name. Names match exactly first, then ignoring case,
    spaces, ``_``, ``-`` and ``.`` (``Customer ID`` matches ``customer_id``). A source column
    feeds at most one target.
    """
    cols = [str(c) for c in found]
    exact = set(cols)
    loose: dict[str, str] = {}
    for col in cols:
        loose.setdefault(_norm(col), col)

    def lookup(name: str) -> str | None:
        return name if name in exact else loose.get(_norm(name))

    out: dict[str, str] = {}
    used: set[str] = set()
    candidates = [*column_map.items(), *((t, t) for t in targets)]
    for source, target in candidates:
        if target in out:
            continue
        found_col = lookup(source)
        if found_col is not None and found_col not in used:
            out[target] = found_col
            used.add(found_col)
    return out


def map_columns(
    frame: pd.DataFrame, column_map: Mapping[str, str], targets: Iterable[str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the mapped columns of ``frame`` (a new frame; other columns kept as they are).

    Returns the renamed frame and the ``{target: source}`` mapping used. A source column whose
    original name collides with a target name it does not feed is dropped, so that every
    target name appears once.
    """
    mapping = resolve_columns(frame.columns, column_map, targets)
    renames = {src: tgt for tgt, src in mapping.items()}
    keep = [c for c in frame.columns if c in renames or c not in mapping]
    out = frame.loc[:, keep].rename(columns=renames)
    return out, mapping


def missing_column_error(
    where: str, missing: list[str], cfg: IngestConfig, found: Iterable[object]
) -> DataError:
    """The error for required columns ``missing`` after mapping: what was looked for and found."""
    looked = {m: [s for s, t in cfg.column_map.items() if t == m] + [m] for m in missing}
    tried = "; ".join(f"{m!r} (looked for {looked[m]})" for m in missing)
    return DataError(
        f"{where}: required column {tried} not found after column mapping; "
        # columns the engine added itself (``__recsys_*``) are not the file's: left out
        f"columns found: {[str(c) for c in found if not str(c).startswith('__recsys_')]}"
    )
