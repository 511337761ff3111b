"""Encoders of the offer artifacts (issue #10): per-customer offers, the offer catalog, and
audience pages (rows, not bare ids). Same contract as :mod:`recsys.store.encoders`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import orjson

from recsys import columns as C
from recsys.errors import DataError
from recsys.store.bundle import TABLES
from recsys.store.encoders import PAGE_SIZE, SINGLE, EncodeContext, Encoded, _json_ready, page_id

#: Channels a customer's offers are stored for (``recsys.offers.catalog.CHANNELS``).
OFFER_CHANNELS: Final = ("web", "email", "app")


def _round(value: object) -> float | None:
    """A float for JSON, 6 significant digits (None for a missing value)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return float(f"{float(value):.6g}")  # type: ignore[arg-type]


@dataclass(frozen=True)
class CustomerOffers:
    """``offers.parquet`` (+ ``offer_holds.parquet``) -> per customer, one JSON object::

        {"offers": {offer_id: [expected_value, uplift, reason]},
         "channels": {channel: [offer_id, ...best first]},
         "held": {channel: reason}}

    Fallback rows (reason ``fallback``) are not stored: a channel with no stored list and no
    hold gets the version's fallback offer at read time, as an unknown customer does.
    """

    table: str = "offers"
    holds: str = "offer_holds"
    required: bool = False

    def encode(self, ctx: EncodeContext) -> Encoded | None:
        if not ctx.bundle.has(self.table):
            return None
        frame = ctx.bundle.read(self.table)
        file = TABLES[self.table]
        need = [C.CUSTOMER_ID, C.RANK, "offer_id", "channel", "expected_value", "uplift", "reason"]
        absent = [c for c in need if c not in frame.columns]
        if absent:
            raise DataError(f"{file} is missing column(s) {absent}")
        if frame[need[:4]].isna().any().any():
            raise DataError(f"{file}: rows with missing values in {need[:4]}")
        bad = sorted(set(frame["channel"].astype(str)) - set(OFFER_CHANNELS))
        if bad:
            raise DataError(f"{file}: unknown channel(s) {bad}; expected {list(OFFER_CHANNELS)}")
        frame = frame[frame["reason"].astype(str) != "fallback"]
        frame = frame.sort_values([C.CUSTOMER_ID, "channel", C.RANK], kind="stable")
        docs: dict[str, dict[str, Any]] = {}
        for cid, offer, channel, value, uplift, reason in zip(
            frame[C.CUSTOMER_ID].astype(str).tolist(),
            frame["offer_id"].astype(str).tolist(),
            frame["channel"].astype(str).tolist(),
            frame["expected_value"].tolist(),
            frame["uplift"].tolist(),
            frame["reason"].astype(str).tolist(),
            strict=True,
        ):
            doc = docs.setdefault(cid, {"offers": {}, "channels": {}, "held": {}})
            doc["offers"].setdefault(offer, [_round(value), _round(uplift), reason])
            doc["channels"].setdefault(channel, []).append(offer)
        if ctx.bundle.has(self.holds):
            holds = ctx.bundle.read(self.holds)
            for cid, channel, reason in zip(
                holds[C.CUSTOMER_ID].astype(str).tolist(),
                holds["channel"].astype(str).tolist(),
                holds["reason"].astype(str).tolist(),
                strict=True,
            ):
                doc = docs.setdefault(cid, {"offers": {}, "channels": {}, "held": {}})
                doc["held"][channel] = reason
        owners = np.array(list(docs), dtype=object)
        return owners, [orjson.dumps(d) for d in docs.values()]


@dataclass(frozen=True)
class OfferCatalogJson:
    """``offer_catalog.parquet`` -> one JSON object ``{"offers": [row, ...], "fallback":
    {channel: offer_id}}`` (rows in catalog order; the fallback of a channel is the first
    active offer flagged ``fallback`` shown on it)."""

    table: str = "offer_catalog"
    required: bool = False

    def encode(self, ctx: EncodeContext) -> Encoded | None:
        if not ctx.bundle.has(self.table):
            return None
        frame = ctx.bundle.read(self.table)
        if frame["offer_id"].isna().any() or frame["offer_id"].duplicated().any():
            raise DataError(f"{TABLES[self.table]}: offer ids must be present and unique")
        columns = list(frame.columns)
        data = {c: _json_ready(frame[c]) for c in columns}
        rows = [dict(zip(columns, row, strict=True)) for row in zip(*data.values(), strict=True)]
        fallback: dict[str, str] = {}
        for row in rows:
            if row.get("fallback") and row.get("active", True):
                for channel in str(row.get("channels") or "").split("|"):
                    if channel:
                        fallback.setdefault(channel, str(row["offer_id"]))
        doc = {"offers": rows, "fallback": fallback}
        return np.array([SINGLE], dtype=object), [
            orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
        ]


@dataclass(frozen=True)
class RowPages:
    """A ``(group, sort, rank, columns...)`` table -> each list cut into pages of
    ``PAGE_SIZE`` rows, one JSON array of rows per page (each row an array of the
    ``columns``' values, in that order; floats to 6 significant digits), entity id
    :func:`page_id`, as :class:`Pages` does for bare ids."""

    table: str
    group: str
    columns: tuple[str, ...]
    sort: str = "sort"
    required: bool = False

    def encode(self, ctx: EncodeContext) -> Encoded | None:
        if not self.required and not ctx.bundle.has(self.table):
            return None
        frame = ctx.bundle.read(self.table)
        file = TABLES[self.table]
        keys = [self.group, self.sort, C.RANK]
        absent = [c for c in (*keys, *self.columns) if c not in frame.columns]
        if absent:
            raise DataError(f"{file} is missing column(s) {absent}")
        if frame[keys].isna().any().any():
            raise DataError(f"{file}: rows with missing values in {keys}")
        frame = frame.sort_values(keys, kind="stable")
        data = [_json_ready(frame[c]) for c in self.columns]
        rows = [
            [_round(v) if isinstance(v, float) else v for v in row]
            for row in zip(*data, strict=True)
        ]
        ids: list[str] = []
        values: list[bytes] = []
        keys_of = list(
            zip(frame[self.group].astype(str), frame[self.sort].astype(str), strict=True)
        )
        lo = 0
        for hi in range(1, len(keys_of) + 1):
            if hi < len(keys_of) and keys_of[hi] == keys_of[lo]:
                continue
            group, sort = keys_of[lo]
            for page, first in enumerate(range(lo, hi, PAGE_SIZE)):
                ids.append(page_id(group, sort, page))
                chunk = rows[first : min(first + PAGE_SIZE, hi)]
                values.append(orjson.dumps(chunk, option=orjson.OPT_SERIALIZE_NUMPY))
            lo = hi
        return np.array(ids, dtype=object), values
