"""Bayesian Personalized Ranking (Rendle et al. 2009) by implicit's SGD.

BPR learns from which items a customer interacted with, not how much: implicit treats every
non-zero of the matrix as a positive. The last factor column is an item bias (the customer
side of that column is fixed at 1), so ``user_factors[rows] @ item_factors.T`` is the score.
"""

from __future__ import annotations

import numpy as np
from implicit.cpu.bpr import BayesianPersonalizedRanking

from recsys.models import _implicit as imp
from recsys.models.factors import FactorRecommender
from recsys.models.registry import register


@register
class BPRRecommender(FactorRecommender):
    """Pairwise-ranking matrix factorisation.

    Parameters
    ----------
    factors:
        Latent dimensions (plus one bias column).
    learning_rate, regularization:
        SGD step size and L2 penalty.
    iterations:
        Epochs; each samples as many (positive, negative) pairs as the matrix has non-zeros.
    random_state:
        Seed of the initial factors and the samplers.
    num_threads:
        Fitting threads; 0 uses every core. ``None`` (default) means 1 thread when
        ``random_state`` is set (lock-free parallel SGD is not reproducible across runs) and
        every core otherwise.
    """

    name = "bpr"
    fit_hint = "lower learning_rate or raise regularization"

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 100,
        random_state: int | None = 0,
        num_threads: int | None = None,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _check_params(self) -> None:
        imp.check_positive_int(self.name, factors=self.factors, iterations=self.iterations)
        imp.check_positive(self.name, learning_rate=self.learning_rate)
        imp.check_non_negative(self.name, regularization=self.regularization)
        imp.check_seed(self.name, self.random_state)
        imp.check_threads(self.name, self.num_threads, allow_none=True)

    def _threads(self) -> int:
        if self.num_threads is None:
            return 1 if self.random_state is not None else 0
        return int(self.num_threads)

    def _implicit_model(self) -> BayesianPersonalizedRanking:
        return BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.random_state,
            num_threads=self._threads(),
        )

    def _topk_threads(self) -> int:
        return self.num_threads or 0  # top-k is deterministic on any number of threads

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        # Cosine over the taste columns only: the bias column is popularity, not likeness.
        return imp.cosine_rows(self.item_factors_[:, :-1], item_idx)
