"""Item-based nearest neighbours ("customers who bought this also bought") via implicit.

implicit builds a sparse item x item similarity matrix ``S`` keeping the ``K`` best neighbours
of each item (cosine of the item columns, or BM25-weighted). A customer's score is
``matrix[customer] @ S``: the similarity to what they interacted with, weighted by how much.
Items no neighbour path reaches get ``-inf`` (no evidence), so lists can be shorter than ``k``
instead of being padded with arbitrary zero-score items.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from implicit.utils import ParameterWarning

from recsys.data.dataset import InteractionDataset
from recsys.errors import ConfigError
from recsys.models import _implicit as imp
from recsys.models.base import Recommender
from recsys.models.recent import recency_interest
from recsys.models.registry import register


def _dense_or_neg_inf(m: sp.csr_matrix) -> np.ndarray:
    """Dense ``float32`` copy of a sparse matrix with ``-inf`` where it has no entry."""
    m = m.tocsr()
    m.eliminate_zeros()
    out = np.full(m.shape, -np.inf, dtype=np.float32)
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    out[rows, m.indices] = m.data
    return out


@register
class ItemKNNRecommender(Recommender):
    """Item-item cosine neighbours.

    Parameters
    ----------
    K:
        Neighbours kept per item, besides the item itself (implicit's ``K`` counts the item
        too; this passes ``K + 1``). The self-similarity stays in ``S``, so with
        ``exclude_seen=False`` an item the customer has scores its own weight on top.
    num_threads:
        Threads for the similarity computation (0: every core). The result does not depend
        on it.
    half_life_days:
        ``None``: a customer's row is their whole history (``matrix``). Else their recent
        interest (:func:`~recsys.models.recent.recency_interest`: signed event weights
        halved every ``half_life_days``), so what they looked at lately leads: "similar to
        what you just viewed".
    """

    name = "itemknn"
    supports_similar = True
    #: Subclasses without the parameter score whole histories.
    half_life_days: float | None = None

    def __init__(
        self, K: int = 100, num_threads: int = 0, half_life_days: float | None = None
    ) -> None:
        self.K = K
        self.num_threads = num_threads
        self.half_life_days = half_life_days

    def _check_params(self) -> None:
        imp.check_positive_int(self.name, K=self.K)
        imp.check_threads(self.name, self.num_threads)
        if self.half_life_days is not None:
            imp.check_positive(self.name, half_life_days=self.half_life_days)

    def _make(self) -> Any:
        return CosineRecommender(K=self.K + 1, num_threads=self.num_threads)

    def _fit(self, dataset: InteractionDataset) -> None:
        model = self._make()
        with warnings.catch_warnings():
            # implicit's own weighting hands its kNN a COO matrix and then warns about it.
            warnings.simplefilter("ignore", ParameterWarning)
            model.fit(imp.user_items(dataset.matrix), show_progress=False)
        sim = model.similarity.tocsr().astype(np.float32)
        sim.eliminate_zeros()
        sim.sort_indices()
        imp.check_finite(self.name, "fix the event weights in MatrixConfig", similarity=sim.data)
        self.similarity_ = sim
        if self.half_life_days is not None:
            self.interest_ = recency_interest(dataset, float(self.half_life_days))

    def _score(self, customer_idx: np.ndarray) -> np.ndarray:
        rows = self.seen_ if self.half_life_days is None else self.interest_
        return _dense_or_neg_inf(rows[customer_idx] @ self.similarity_)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return _dense_or_neg_inf(self.similarity_[item_idx])

    def _get_state(self) -> dict[str, np.ndarray]:
        s = self.similarity_
        state = {"sim_data": s.data, "sim_indices": s.indices, "sim_indptr": s.indptr}
        if self.half_life_days is not None:
            h = self.interest_
            state.update(
                {
                    "interest_data": h.data,
                    "interest_indices": h.indices,
                    "interest_indptr": h.indptr,
                }
            )
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        n = len(state["sim_indptr"]) - 1
        self.similarity_ = sp.csr_matrix(
            (state["sim_data"], state["sim_indices"], state["sim_indptr"]), shape=(n, n)
        )
        if "interest_indptr" in state:
            self.interest_ = sp.csr_matrix(
                (state["interest_data"], state["interest_indices"], state["interest_indptr"]),
                shape=(len(state["interest_indptr"]) - 1, n),
            )


@register
class BM25ItemKNNRecommender(ItemKNNRecommender):
    """Item-item neighbours on BM25-weighted columns (damps heavy buyers and popular items).

    Note implicit's BM25 idf is ``log(n_items) - log(1 + items the customer has)``: on tiny
    catalogs, customers who bought a large share of it get zero or negative weight.

    Parameters
    ----------
    K:
        Neighbours kept per item, besides the item itself.
    K1, B:
        BM25 term-frequency saturation and length normalisation.
    num_threads:
        Threads for the similarity computation (0: every core).
    """

    name = "bm25"

    def __init__(
        self, K: int = 100, K1: float = 1.2, B: float = 0.75, num_threads: int = 0
    ) -> None:
        self.K = K
        self.K1 = K1
        self.B = B
        self.num_threads = num_threads

    def _check_params(self) -> None:
        super()._check_params()
        imp.check_non_negative(self.name, K1=self.K1)
        imp.check_non_negative(self.name, B=self.B)
        if self.B > 1:
            raise ConfigError(f"{self.name}: B == {self.B!r}, must be a number in [0, 1]")

    def _make(self) -> Any:
        return BM25Recommender(K=self.K + 1, K1=self.K1, B=self.B, num_threads=self.num_threads)
