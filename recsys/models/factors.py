"""Shared machinery of the implicit-backed matrix-factorisation models (ALS, BPR).

A subclass builds the implicit estimator (``_implicit_model``) and says which threads its
top-k may use; fitting, the finite-factor check, scoring (one BLAS product per batch), the
top-k fast path and persistence are written once here.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
from implicit.recommender_base import ModelFitError as ImplicitFitError

from recsys.data.dataset import InteractionDataset
from recsys.models import _implicit as imp
from recsys.models.base import Recommender


class FactorRecommender(Recommender):
    """Base of models that learn ``user_factors_`` and ``item_factors_`` with implicit."""

    supports_similar = True
    #: What to change when the factors come out NaN/inf (part of the ModelFitError message).
    fit_hint: ClassVar[str] = "raise regularization"

    @abstractmethod
    def _implicit_model(self) -> Any:
        """A fresh, unfitted implicit estimator configured from the hyperparameters."""

    def _topk_threads(self) -> int:
        """Threads for the top-k fast path (deterministic on any number)."""
        return 0

    def _fit(self, dataset: InteractionDataset) -> None:
        model = self._implicit_model()
        try:
            model.fit(imp.user_items(dataset.matrix), show_progress=False)
        except ImplicitFitError:
            pass  # reported below with our own error and message
        user_factors = imp.to_float32(model.user_factors)
        item_factors = imp.to_float32(model.item_factors)
        imp.check_finite(
            self.name, self.fit_hint, user_factors=user_factors, item_factors=item_factors
        )
        self.user_factors_, self.item_factors_ = user_factors, item_factors

    def _score(self, customer_idx: np.ndarray) -> np.ndarray:
        return self.user_factors_[customer_idx] @ self.item_factors_.T

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return imp.cosine_rows(self.item_factors_, item_idx)

    def _recommend_batch(
        self, customer_idx: np.ndarray, k: int, exclude_seen: bool, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        return imp.factor_topk(
            self.user_factors_,
            self.item_factors_,
            self.exclude_,
            customer_idx,
            k,
            exclude_seen,
            allowed,
            self._topk_threads(),
        )

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.user_factors_ = state["user_factors"]
        self.item_factors_ = state["item_factors"]
