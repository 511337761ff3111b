"""The immutable interaction dataset that every model receives.

:class:`InteractionDataset` bundles the id maps, the weighted customers x items CSR matrix
(implicit's orientation) and the aligned event log. Build it from clean events with
:func:`build_dataset`; nothing here mutates or holds the caller's DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys import columns as C
from recsys.config import MatrixConfig
from recsys.data.ids import IdMap
from recsys.data.returns import held_in
from recsys.errors import DataError

CUSTOMER_IDX = "customer_idx"
ITEM_IDX = "item_idx"


@dataclass(frozen=True, eq=False)
class InteractionDataset:
    """Id maps + weighted CSR matrix + event log, read-only.

    Attributes
    ----------
    customers, items:
        External <-> internal id maps (rows and columns of ``matrix``).
    matrix:
        ``float32`` CSR, customers x items; the net positive weight of each pair (returns and
        negative events net out; pairs at or below zero are dropped).
    events:
        One row per clean event: ``customer_idx, item_idx, event_type, timestamp, quantity,
        weight`` (``weight`` is the event's signed, decayed contribution).
    items_frame:
        Optional item attributes indexed by external ``item_id`` (``category``, ``price``,
        ``in_stock``, ...), for business filters and content-aware models.
    """

    customers: IdMap
    items: IdMap
    matrix: sp.csr_matrix
    events: pd.DataFrame
    items_frame: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        shape = (len(self.customers), len(self.items))
        if self.matrix.shape != shape:
            raise ValueError(f"matrix shape {self.matrix.shape} != id maps {shape}")
        for arr in (self.matrix.data, self.matrix.indices, self.matrix.indptr):
            arr.setflags(write=False)

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_interactions(self) -> int:
        return int(self.matrix.nnz)

    def purchase_counts(self, types: Iterable[str] = (C.PURCHASE,)) -> sp.csr_matrix:
        """Customers x items count of events of ``types`` (purchases) net of returns (>= 0),
        ``float32``, sorted indices (computed once per ``types``; read-only).

        Returns are netted by :mod:`recsys.data.returns` (in time order, by quantity: a
        partial return keeps the item bought; a return of stock bought before the data
        cancels nothing later). The count is the purchase events netted the same way, at least
        1 while anything is kept. With no ``quantity`` column every event is one unit.
        """
        key = tuple(sorted(set(types)))
        cache: dict[tuple[str, ...], sp.csr_matrix] = self.__dict__.setdefault("_net_cache", {})
        if key not in cache:
            cache[key] = self._net_purchases(key)
        return cache[key]

    def _net_purchases(self, types: tuple[str, ...]) -> sp.csr_matrix:
        ev = self.events
        shape = (self.n_customers, self.n_items)
        pair = ev[CUSTOMER_IDX].to_numpy(dtype=np.int64) * shape[1] + ev[ITEM_IDX].to_numpy(
            dtype=np.int64
        )
        h = held_in(ev, pair, types)
        net = np.where(h.bought, np.maximum(h.events, 1.0), 0.0)
        m = sp.csr_matrix(
            (net.astype(np.float32), (h.pairs // shape[1], h.pairs % shape[1])), shape=shape
        )
        m.eliminate_zeros()
        m.sort_indices()
        for arr in (m.data, m.indices, m.indptr):
            arr.setflags(write=False)
        return m

    def last_timestamp(self) -> pd.Timestamp:
        return pd.Timestamp(self.events[C.TIMESTAMP].max())


def _index(ids: pd.Series, existing: IdMap | None) -> tuple[IdMap, np.ndarray]:
    """Extend (or create) an id map with ``ids`` and return it with each row's index."""
    codes, uniques = pd.factorize(ids.astype(str), sort=False)
    if (codes < 0).any():
        raise DataError(f"{int((codes < 0).sum())} events have no {ids.name}")
    if existing is None:
        idmap = IdMap(np.asarray(uniques, dtype=object))
        return idmap, codes.astype(np.int32)
    idmap = existing.add(uniques)
    return idmap, idmap.to_internal(uniques).astype(np.int32)[codes]


def _quantity_factor(quantity: np.ndarray, mode: str) -> np.ndarray:
    q = np.abs(np.nan_to_num(quantity.astype(np.float64), nan=1.0))
    q = np.where(q > 0, q, 1.0)
    if mode == "count":
        return np.ones_like(q)
    if mode == "linear":
        return q
    return 1.0 + np.log(q)


def build_dataset(
    events: pd.DataFrame,
    config: MatrixConfig | None = None,
    *,
    customers: IdMap | None = None,
    items: IdMap | None = None,
    items_frame: pd.DataFrame | None = None,
    reference_time: pd.Timestamp | None = None,
) -> InteractionDataset:
    """Build the training dataset from clean events.

    Parameters
    ----------
    events:
        Clean events (canonical columns; see :func:`recsys.data.events.validate_events`).
        ``event_type`` and ``quantity`` are optional (purchase, 1).
    config:
        Event weights, quantity handling and time decay.
    customers, items:
        Existing id maps to extend (append-only), e.g. to keep a model's indices.
    items_frame:
        Item attributes; items listed there join the item map even with no events.
    reference_time:
        "Now" for time decay; defaults to the last event.
    """
    cfg = config or MatrixConfig()
    missing = [c for c in (C.CUSTOMER_ID, C.ITEM_ID, C.TIMESTAMP) if c not in events.columns]
    if missing:
        raise DataError(f"events lack column(s) {missing}; found {list(events.columns)}")
    if events.empty:
        raise DataError("no events to build a dataset from")

    # Factorise each column once and translate only the distinct values: string work on
    # every row dominated the build time on large logs.
    cmap, cidx = _index(events[C.CUSTOMER_ID], customers)
    imap, iidx = _index(events[C.ITEM_ID], items)
    if items_frame is not None:
        imap = imap.add(items_frame.index.astype(str))
    if C.EVENT_TYPE in events.columns:
        et_codes, et_values = pd.factorize(events[C.EVENT_TYPE].astype(str), sort=False)
    else:
        et_codes, et_values = np.zeros(len(events), dtype=np.intp), pd.Index([C.PURCHASE])
    unknown = set(et_values) - set(cfg.event_weights)
    if unknown:
        raise DataError(
            f"event type(s) {sorted(unknown)} have no weight; known: {sorted(cfg.event_weights)}"
        )
    event_type = pd.Categorical.from_codes(et_codes, categories=pd.Index(et_values, dtype=object))
    quantity = (
        events[C.QUANTITY].to_numpy(dtype=np.float64, na_value=1.0)
        if C.QUANTITY in events.columns
        else np.ones(len(events))
    )
    ts = pd.to_datetime(events[C.TIMESTAMP]).to_numpy()

    base = np.array([cfg.event_weights[v] for v in et_values], dtype=np.float64)[et_codes]
    weight = base * _quantity_factor(quantity, cfg.quantity)
    if cfg.half_life_days is not None:
        ref = np.datetime64(reference_time or pd.Timestamp(ts.max()))
        age_days = (ref - ts) / np.timedelta64(1, "D")
        weight = weight * np.power(0.5, np.clip(age_days, 0, None) / cfg.half_life_days)

    m = sp.csr_matrix((weight, (cidx, iidx)), shape=(len(cmap), len(imap)), dtype=np.float64)
    m.sum_duplicates()
    m.data[m.data < 1e-9] = 0.0  # net returns / negative feedback remove the pair
    m.eliminate_zeros()
    matrix = m.astype(np.float32)
    matrix.sort_indices()

    log = pd.DataFrame(
        {
            CUSTOMER_IDX: cidx,
            ITEM_IDX: iidx,
            C.EVENT_TYPE: event_type,
            C.TIMESTAMP: ts,
            C.QUANTITY: quantity,
            C.WEIGHT: weight.astype(np.float32),
        }
    )
    if C.PRICE in events.columns:
        log[C.PRICE] = events[C.PRICE].to_numpy(dtype=np.float64, na_value=np.nan)
    if C.ORDER_ID in events.columns:
        log[C.ORDER_ID] = events[C.ORDER_ID].astype(str).reset_index(drop=True)
    frame = None
    if items_frame is not None:
        frame = items_frame.copy()
        frame.index = frame.index.astype(str)
    return InteractionDataset(cmap, imap, matrix, log, frame)
