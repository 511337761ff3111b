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
from recsys.data.dataset import InteractionDataset

#: Event types whose items leave a customer's default answer (net of returns) by default.
DEFAULT_EXCLUDE_TYPES: tuple[str, ...] = (C.PURCHASE,)


def bought_matrix(
    dataset: InteractionDataset, types: Iterable[str] = DEFAULT_EXCLUDE_TYPES
) -> sp.csr_matrix:
    """Customers x items, 1.0 where the customer's events of ``types`` are not all returned
    (:meth:`~recsys.data.dataset.InteractionDataset.purchase_counts`: a partial return keeps
    the item bought).

    What "already bought" means for a default answer: with the default types a purchase
    counts, a view or a cart does not (a viewed item stays a candidate: people buy what they
    looked at), and an item bought and returned is a candidate again. ``float32`` CSR with
    sorted indices, shaped like ``dataset.matrix``.
    """
    m = dataset.purchase_counts(types).copy()  # the dataset's own is shared, read-only
    m.data = np.ones_like(m.data)
    return m


def servable_items(items_frame: pd.DataFrame | None) -> np.ndarray | None:
    """Item ids the API may answer with (in stock), or None when all may be."""
    if items_frame is None or C.IN_STOCK not in items_frame.columns:
        return None
    stock = items_frame[C.IN_STOCK].fillna(True).astype(bool).to_numpy()
    return None if stock.all() else items_frame.index.astype(str).to_numpy()[stock]
