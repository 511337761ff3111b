"""Non-personalised baselines: global popularity and recency-weighted "trending"."""

from __future__ import annotations

import numpy as np

from recsys import columns as C
from recsys.data.dataset import CUSTOMER_IDX, ITEM_IDX, InteractionDataset
from recsys.errors import ConfigError
from recsys.models.base import Recommender
from recsys.models.registry import register


@register
class PopularityRecommender(Recommender):
    """Items ranked by how many distinct customers interacted with them (same list for all)."""

    name = "popular"

    def _fit(self, dataset: InteractionDataset) -> None:
        counts = np.bincount(dataset.matrix.indices, minlength=dataset.n_items)
        self.item_scores_ = counts.astype(np.float32)

    def _score(self, customer_idx: np.ndarray) -> np.ndarray:
        return np.broadcast_to(
            self.item_scores_, (len(customer_idx), len(self.item_scores_))
        ).copy()

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.item_scores_ = state["item_scores"]


@register
class TrendingRecommender(PopularityRecommender):
    """Popularity where each positive event counts ``0.5 ** (age_days / half_life_days)``;
    purchases of an item the customer returned whole do not count."""

    name = "trending"

    def __init__(self, half_life_days: float = 14.0) -> None:
        self.half_life_days = half_life_days

    def _check_params(self) -> None:
        if not self.half_life_days > 0:
            raise ConfigError(f"half_life_days == {self.half_life_days}, must be > 0")

    def _fit(self, dataset: InteractionDataset) -> None:
        ev = dataset.events
        positive = ev[C.WEIGHT].to_numpy() > 0
        # A purchase the customer returned whole (recsys.data.returns) makes nothing popular.
        held = dataset.purchase_counts().tocoo()
        held_keys = held.row.astype(np.int64) * dataset.n_items + held.col
        keys = ev[CUSTOMER_IDX].to_numpy(np.int64) * dataset.n_items + ev[ITEM_IDX].to_numpy()
        bought = (ev[C.EVENT_TYPE] == C.PURCHASE).to_numpy()
        positive &= ~bought | np.isin(keys, held_keys)
        ts = ev[C.TIMESTAMP].to_numpy()[positive]
        age = (ts.max() - ts) / np.timedelta64(1, "D") if len(ts) else np.empty(0)
        decay = np.power(0.5, age / self.half_life_days)
        scores = np.bincount(
            ev[ITEM_IDX].to_numpy()[positive], weights=decay, minlength=dataset.n_items
        )
        self.item_scores_ = scores.astype(np.float32)
