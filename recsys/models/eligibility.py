"""What a list may hold: the two rules training, evaluation and serving share.

- Bought items leave a customer's default answer (:func:`bought_matrix`): events of the
  exclusion types (purchase by default) net of returns; a viewed or carted item stays a
  candidate, and an item bought and returned is one again.
- Items out of stock leave every list (:func:`servable_items`), as serving leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys import columns as C
from recsys.data.dataset import CUSTOMER_IDX, ITEM_IDX, InteractionDataset

#: Event types whose items leave a customer's default answer (net of returns) by default.
DEFAULT_EXCLUDE_TYPES: tuple[str, ...] = (C.PURCHASE,)


def bought_matrix(
    dataset: InteractionDataset, types: Iterable[str] = DEFAULT_EXCLUDE_TYPES
) -> sp.csr_matrix:
    """Customers x items, 1.0 where the customer's events of ``types`` outnumber their returns.

    What "already bought" means for a default answer: with the default types a purchase
    counts, a view or a cart does not (a viewed item stays a candidate: people buy what they
    looked at), and an item bought and returned is a candidate again. ``float32`` CSR with
    sorted indices, shaped like ``dataset.matrix``.
    """
    ev = dataset.events
    kind = ev[C.EVENT_TYPE].astype(str).to_numpy()
    sign = np.where(np.isin(kind, list(types)), 1.0, np.where(kind == C.RETURN, -1.0, 0.0))
    m = sp.csr_matrix(
        (sign, (ev[CUSTOMER_IDX].to_numpy(), ev[ITEM_IDX].to_numpy())),
        shape=(dataset.n_customers, dataset.n_items),
    )
    m.sum_duplicates()
    m.data = (m.data > 0).astype(np.float32)
    m.eliminate_zeros()
    m.sort_indices()
    return m.astype(np.float32)


def servable_items(items_frame: pd.DataFrame | None) -> np.ndarray | None:
    """Item ids the API may answer with (in stock), or None when all may be."""
    if items_frame is None or C.IN_STOCK not in items_frame.columns:
        return None
    stock = items_frame[C.IN_STOCK].fillna(True).astype(bool).to_numpy()
    return None if stock.all() else items_frame.index.astype(str).to_numpy()[stock]
