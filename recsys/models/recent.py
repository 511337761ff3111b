"""The "recently engaged" ranker: what the customer has been looking at lately.

On a marketplace most purchases are of items the buyer viewed or carted first; on any shop a
customer's latest interest is a strong signal. Per customer and item::

    interest = max(0, sum over the customer's events of weight(event) * 0.5 ** (age / half_life))

where ``weight`` is the event's signed weight in the dataset (``MatrixConfig.event_weights``:
a view 1, a cart 3, a purchase 5, a return -5 by default, times the quantity factor) and the
age is counted in days before the last event in the data. Items the customer never engaged
with score a popularity tie-breaker (distinct engaged customers) strictly below the smallest
interest anywhere, so lists are always full. With ``exclude_seen=True`` bought items leave
the list and what remains, first, is what the customer viewed or carted recently: the
"recently viewed" baseline, and the component of the default blend that models repeat
*interest* (next to ``repeat``, which models repeat purchase).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys import columns as C
from recsys.data.dataset import CUSTOMER_IDX, ITEM_IDX, InteractionDataset
from recsys.models import _implicit as imp
from recsys.models.base import Recommender
from recsys.models.registry import register


def recency_interest(
    dataset: InteractionDataset, half_life_days: float, view_factor: float = 1.0
) -> sp.csr_matrix:
    """Customers x items ``float32`` CSR of ``max(0, sum of weight * 0.5 ** (age / half-life))``
    over each customer's events (see the module doc); ages in days before the data's last event.
    ``view_factor`` multiplies the weight of ``view`` events (1: the matrix's weights).
    """
    shape = (dataset.n_customers, dataset.n_items)
    ev = dataset.events
    ts = ev[C.TIMESTAMP].to_numpy()
    age_days = (ts.max() - ts) / np.timedelta64(1, "D") if len(ts) else np.empty(0)
    decay = np.power(0.5, np.clip(age_days, 0, None) / half_life_days)
    weight = ev[C.WEIGHT].to_numpy(dtype=np.float64) * decay
    if view_factor != 1.0 and len(ev):
        weight[(ev[C.EVENT_TYPE] == C.VIEW).to_numpy()] *= view_factor
    interest = sp.csr_matrix(
        (weight, (ev[CUSTOMER_IDX].to_numpy(), ev[ITEM_IDX].to_numpy())), shape=shape
    )
    interest.sum_duplicates()
    interest.data[interest.data < 1e-12] = 0.0
    interest.eliminate_zeros()
    interest = interest.astype(np.float32)
    interest.sort_indices()
    return interest


@register
class RecentRecommender(Recommender):
    """Rank each customer's engaged items by recency-weighted, signed event weight.

    Parameters
    ----------
    half_life_days:
        An event this many days before the last event in the data counts half.
    view_factor:
        Multiplies the weight of ``view`` events (1: the matrix's event weights). Below 1 a
        cart or favourite outranks an item merely viewed several times, which suits shops
        where views are cheap and most purchases follow a cart (tuned per shop on the
        validation window, :mod:`recsys.evaluation.hyperparams`).
    """

    name = "recent"

    def __init__(self, half_life_days: float = 14.0, view_factor: float = 1.0) -> None:
        self.half_life_days = half_life_days
        self.view_factor = view_factor

    def _check_params(self) -> None:
        imp.check_positive(
            self.name, half_life_days=self.half_life_days, view_factor=self.view_factor
        )

    def _fit(self, dataset: InteractionDataset) -> None:
        shape = (dataset.n_customers, dataset.n_items)
        interest = recency_interest(dataset, float(self.half_life_days), float(self.view_factor))
        self.interest_ = interest

        popularity = np.bincount(dataset.matrix.indices, minlength=shape[1]).astype(np.float64)
        floor = float(interest.data.min()) if interest.nnz else 1.0
        self.tiebreak_ = (0.5 * floor * popularity / (popularity.max() + 1.0)).astype(np.float32)

    def _score(self, customer_idx: np.ndarray) -> np.ndarray:
        scores = np.repeat(self.tiebreak_[None, :], len(customer_idx), axis=0)
        h = self.interest_[customer_idx]
        scores[np.repeat(np.arange(len(customer_idx)), np.diff(h.indptr)), h.indices] += h.data
        return scores

    def _get_state(self) -> dict[str, np.ndarray]:
        h = self.interest_
        return {
            "interest_data": h.data,
            "interest_indices": h.indices,
            "interest_indptr": h.indptr,
            "tiebreak": self.tiebreak_,
        }

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        shape = (len(state["interest_indptr"]) - 1, len(state["tiebreak"]))
        self.interest_ = sp.csr_matrix(
            (state["interest_data"], state["interest_indices"], state["interest_indptr"]),
            shape=shape,
        )
        self.tiebreak_ = state["tiebreak"]
