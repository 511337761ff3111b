"""The "buy it again" ranker: a customer's own purchase history, recency-weighted.

In retail a large share of purchases are re-buys, and ranking what the customer already buys
is a strong baseline under the *all purchases* protocol. Per customer and item::

    history = sum over purchase events of 0.5 ** (age_days / half_life_days)
              * (net purchases / gross purchases)          # returns cancel their share
              * repeat_rate(item)                          # if use_item_repeat_rate

where ``repeat_rate`` is the share of the item's buyers who bought it more than once (net of
returns), shrunk towards the catalog-wide share for items with few buyers: people re-buy
tea, not kettles.

Items a customer never bought score a tiny popularity tie-breaker (distinct buyers), scaled
so that it is strictly below the smallest history score anywhere. Lists are therefore always
full: history first, then popular items. With ``exclude_seen=True`` every bought item is
removed (the training matrix holds all of them), so the model degrades to popularity among
the items the customer has not interacted with; use ``exclude_seen=False`` for "buy it again".

The fit also keeps the purchase timing the blend's re-ranker reads
(:mod:`recsys.models.rerank`), none of which changes this model's own ranking: per customer
and item the days since the last purchase and the number of distinct purchase days, per item
the median days between one customer's purchases of it (its repurchase cycle) and that
customer's own mean gap when re-bought, and per customer the number of distinct purchase days
and the share of bought items bought on two days or more (shrunk like the item rate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys import columns as C
from recsys.data.dataset import CUSTOMER_IDX, ITEM_IDX, InteractionDataset
from recsys.errors import ConfigError
from recsys.models import _implicit as imp
from recsys.models.base import Recommender
from recsys.models.registry import register

#: Pseudo-buyers at the catalog-wide repeat share added to each item's own counts.
REPEAT_PRIOR = 5.0
#: Days back that count as "recent" for the item's in-season buyers (the re-ranker's).
RECENT_DAYS = 30.0
#: Floor of the repeat rate, so history always outranks the popularity tie-breaker.
MIN_REPEAT_RATE = 1e-3


@register
class RepeatRecommender(Recommender):
    """Rank each customer's previously bought items by decayed, net purchase frequency.

    Parameters
    ----------
    half_life_days:
        A purchase this many days before the last event in the data counts half.
    use_item_repeat_rate:
        Multiply by the item's learnt repurchase propensity.
    """

    name = "repeat"
    supports_similar = False

    def __init__(self, half_life_days: float = 60.0, use_item_repeat_rate: bool = True) -> None:
        self.half_life_days = half_life_days
        self.use_item_repeat_rate = use_item_repeat_rate

    def _check_params(self) -> None:
        imp.check_positive(self.name, half_life_days=self.half_life_days)
        if not isinstance(self.use_item_repeat_rate, bool | np.bool_):
            raise ConfigError(
                f"{self.name}: use_item_repeat_rate == {self.use_item_repeat_rate!r}, "
                "must be true or false"
            )

    def _fit(self, dataset: InteractionDataset) -> None:
        shape = (dataset.n_customers, dataset.n_items)
        ev = dataset.events
        is_buy = (ev[C.EVENT_TYPE] == C.PURCHASE).to_numpy()
        cidx = ev[CUSTOMER_IDX].to_numpy()[is_buy]
        iidx = ev[ITEM_IDX].to_numpy()[is_buy]
        all_ts = ev[C.TIMESTAMP].to_numpy()
        ts = all_ts[is_buy]
        # Age relative to the last event of any kind: "now" for the training data.
        age_days = (all_ts.max() - ts) / np.timedelta64(1, "D") if len(ts) else np.empty(0)
        decay = np.power(0.5, np.clip(age_days, 0, None) / float(self.half_life_days))
        decayed = sp.csr_matrix((decay, (cidx, iidx)), shape=shape, dtype=np.float64)
        gross = sp.csr_matrix((np.ones(len(cidx)), (cidx, iidx)), shape=shape, dtype=np.float64)
        decayed.sum_duplicates()
        gross.sum_duplicates()
        net = dataset.purchase_counts().astype(np.float64)  # purchases - returns, >= 0

        # Same sparsity pattern for decayed and gross: scale by the share not returned.
        kept = net.multiply(gross.power(-1)).tocsr()  # zero where fully returned
        history = decayed.multiply(kept).tocsr()
        history.eliminate_zeros()

        buyers = np.bincount(net.indices, minlength=shape[1]).astype(np.float64)
        repeaters = np.bincount(net.indices[net.data >= 2], minlength=shape[1]).astype(np.float64)
        overall = repeaters.sum() / buyers.sum() if buyers.sum() else 0.0
        rate = (repeaters + REPEAT_PRIOR * overall) / (buyers + REPEAT_PRIOR)
        self.item_repeat_rate_ = np.maximum(rate, MIN_REPEAT_RATE).astype(np.float32)
        if self.use_item_repeat_rate:
            history = sp.csr_matrix(history.multiply(self.item_repeat_rate_[None, :].astype(float)))

        history = history.astype(np.float32)
        history.sort_indices()
        self.history_ = history
        self._fit_timing(cidx, iidx, age_days, shape)

        # Tie-breaker: popularity (distinct interacting customers), in [0, 0.5 * min history).
        popularity = np.bincount(dataset.matrix.indices, minlength=shape[1]).astype(np.float64)
        floor = float(history.data.min()) if history.nnz else 1.0
        self.tiebreak_ = (0.5 * floor * popularity / (popularity.max() + 1.0)).astype(np.float32)

    def _fit_timing(
        self, cidx: np.ndarray, iidx: np.ndarray, age_days: np.ndarray, shape: tuple[int, int]
    ) -> None:
        """Purchase timing per (customer, item), item and customer (see the module doc)."""
        days = pd.DataFrame({"c": cidx, "i": iidx, "d": np.floor(age_days)}).drop_duplicates()
        agg = days.groupby(["c", "i"], sort=True)["d"].agg(["min", "max", "size"])
        c = agg.index.get_level_values(0).to_numpy()
        i = agg.index.get_level_values(1).to_numpy()
        n = agg["size"].to_numpy(dtype=np.float64)
        # Stored as age + 1 so that a purchase today survives the sparse format's zeros.
        self.last_age_ = sp.csr_matrix(
            (agg["min"].to_numpy(dtype=np.float64) + 1.0, (c, i)), shape=shape, dtype=np.float32
        )
        self.n_days_ = sp.csr_matrix((n, (c, i)), shape=shape, dtype=np.float32)
        gap = (agg["max"].to_numpy() - agg["min"].to_numpy()) / np.maximum(n - 1, 1)
        again = n >= 2
        # re-bought on distinct days: the mean gap is at least 1 / (n - 1) > 0
        self.own_cycle_ = sp.csr_matrix(
            (gap[again], (c[again], i[again])), shape=shape, dtype=np.float32
        )
        self.item_buyers_ = np.bincount(i, minlength=shape[1]).astype(np.float32)
        self.customer_days_ = (
            days.groupby("c")["d"].nunique().reindex(range(shape[0]), fill_value=0).to_numpy()
        ).astype(np.float32)
        cycle = pd.Series(gap[again]).groupby(i[again]).median()
        self.item_cycle_ = np.full(shape[1], -1.0, dtype=np.float32)
        self.item_cycle_[cycle.index.to_numpy(dtype=np.int64)] = cycle.to_numpy()
        items = np.bincount(c, minlength=shape[0]).astype(np.float64)
        repeated = np.bincount(c[again], minlength=shape[0]).astype(np.float64)
        overall = repeated.sum() / items.sum() if items.sum() else 0.0
        self.customer_repeat_share_ = (
            (repeated + REPEAT_PRIOR * overall) / (items + REPEAT_PRIOR)
        ).astype(np.float32)
        self._derive_timing()

    def _derive_timing(self) -> None:
        """What the re-ranker reads that follows from ``last_age_`` (not stored): per item
        the buyers whose last purchase of it is at most :data:`RECENT_DAYS` old (what is in
        season), per customer the days since their last purchase of anything."""
        age = self.last_age_.tocoo()
        recent = age.data <= RECENT_DAYS + 1.0  # stored as age + 1
        self.item_recent_buyers_ = np.bincount(age.col[recent], minlength=age.shape[1]).astype(
            np.float32
        )
        since = np.full(age.shape[0], np.inf)
        np.minimum.at(since, age.row, age.data.astype(np.float64) - 1.0)
        self.customer_since_ = np.where(np.isfinite(since), since, -1.0).astype(np.float32)

    def _score(self, customer_idx: np.ndarray) -> np.ndarray:
        scores = np.repeat(self.tiebreak_[None, :], len(customer_idx), axis=0)
        h = self.history_[customer_idx]
        scores[np.repeat(np.arange(len(customer_idx)), np.diff(h.indptr)), h.indices] += h.data
        return scores

    def _get_state(self) -> dict[str, np.ndarray]:
        h = self.history_
        return {
            "history_data": h.data,
            "history_indices": h.indices,
            "history_indptr": h.indptr,
            "tiebreak": self.tiebreak_,
            "item_repeat_rate": self.item_repeat_rate_,
            "last_age_data": self.last_age_.data,
            "last_age_indices": self.last_age_.indices,
            "last_age_indptr": self.last_age_.indptr,
            "n_days_data": self.n_days_.data,
            "item_cycle": self.item_cycle_,
            "customer_repeat_share": self.customer_repeat_share_,
            "own_cycle_data": self.own_cycle_.data,
            "own_cycle_indices": self.own_cycle_.indices,
            "own_cycle_indptr": self.own_cycle_.indptr,
            "customer_days": self.customer_days_,
            "item_buyers": self.item_buyers_,
        }

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        shape = (len(state["history_indptr"]) - 1, len(state["tiebreak"]))
        self.history_ = sp.csr_matrix(
            (state["history_data"], state["history_indices"], state["history_indptr"]),
            shape=shape,
        )
        self.tiebreak_ = state["tiebreak"]
        self.item_repeat_rate_ = state["item_repeat_rate"]
        if "last_age_data" in state:  # files written before the timing was kept: none
            pattern = (state["last_age_indices"], state["last_age_indptr"])
            self.last_age_ = sp.csr_matrix((state["last_age_data"], *pattern), shape=shape)
            self.n_days_ = sp.csr_matrix((state["n_days_data"], *pattern), shape=shape)
            self.item_cycle_ = state["item_cycle"]
            self.customer_repeat_share_ = state["customer_repeat_share"]
            self.own_cycle_ = sp.csr_matrix(
                (state["own_cycle_data"], state["own_cycle_indices"], state["own_cycle_indptr"]),
                shape=shape,
            )
            self.customer_days_ = state["customer_days"]
            self.item_buyers_ = state["item_buyers"]
            self._derive_timing()
