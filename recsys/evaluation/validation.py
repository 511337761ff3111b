"""A validation window inside the training data, and scoring models on it.

Tuning (:mod:`recsys.evaluation.hyperparams`, :mod:`recsys.evaluation.tuning`) never looks at
the outer holdout: the last ``test_days`` of the *training* side become a validation holdout,
judged with the same protocols and applicability rule as the outer one, on a fixed random
sample of at most :data:`MAX_CUSTOMERS` customers per protocol (seeded, so every run of the
same data judges the same customers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.config import MatrixConfig
from recsys.data.dataset import InteractionDataset, build_dataset
from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import ranking_metrics
from recsys.evaluation.protocols import EXCLUDE_SEEN, build_ground_truths
from recsys.evaluation.selection import applicable_protocols
from recsys.evaluation.split import temporal_split
from recsys.models.base import Recommender

#: Most validation customers scored per protocol (a seeded random sample beyond that).
MAX_CUSTOMERS = 2000
#: Fewest judged validation customers for a protocol's own tuning (else it borrows).
MIN_TUNING_CUSTOMERS = 30


@dataclass(frozen=True)
class Judged:
    """One protocol's sampled validation customers: internal indices and relevance rows."""

    protocol: str
    customers: np.ndarray
    relevance: sp.csr_matrix

    @property
    def exclude_seen(self) -> bool:
        return EXCLUDE_SEEN[self.protocol]


@dataclass(frozen=True)
class ValidationWindow:
    """The training side split once more: fit on ``dataset``, judge on ``judged``.

    ``voting`` are the protocols that apply on the validation window (all judged ones when
    none applies), the same rule as model selection on the outer holdout.
    """

    dataset: InteractionDataset
    judged: dict[str, Judged]
    voting: list[str]
    cutoff: pd.Timestamp


def validation_window(
    train_events: pd.DataFrame,
    *,
    test_days: int,
    protocols: Iterable[str],
    matrix_config: MatrixConfig | None = None,
    seed: int = 0,
) -> ValidationWindow | None:
    """The last ``test_days`` of ``train_events`` as a validation holdout.

    Returns None when the training side is too short for it or nobody is judged on it.
    """
    try:
        split = temporal_split(train_events, test_days=test_days)
        dataset = build_dataset(split.train, matrix_config)
        truths, facts = build_ground_truths(dataset, split.test, tuple(protocols))
    except (ConfigError, DataError):
        return None
    truths = {p: t for p, t in truths.items() if t.n_customers > 0}
    if not truths:
        return None
    applies = applicable_protocols(
        {
            "n_customers": {p: t.n_customers for p, t in truths.items()},
            "repeat_share": facts["n_repeat_pairs"] / max(facts["n_kept_pairs"], 1),
        },
        truths,
    )
    voting = [p for p, a in applies.items() if a.applies] or list(truths)
    rng = np.random.default_rng(seed)
    judged = {}
    for protocol, truth in truths.items():
        n = truth.n_customers
        rows = np.arange(n) if n <= MAX_CUSTOMERS else np.sort(rng.choice(n, MAX_CUSTOMERS, False))
        judged[protocol] = Judged(
            protocol,
            dataset.customers.to_internal(truth.customer_ids[rows]),
            truth.relevance[rows],
        )
    return ValidationWindow(dataset, judged, voting, split.cutoff)


def top_k(model: Recommender, judged: Judged, k: int, batch: int = 1024) -> np.ndarray:
    """``model``'s served top-``k`` catalog indices for the judged customers (``-1`` = none)."""
    out = np.full((len(judged.customers), k), -1, dtype=np.int64)
    for start in range(0, len(judged.customers), batch):
        rows = judged.customers[start : start + batch]
        fast = model._recommend_batch(rows, k, judged.exclude_seen, None)
        idx, vals = (
            fast if fast is not None else model._generic_topk(rows, k, judged.exclude_seen, None)
        )
        width = idx.shape[1]
        out[start : start + len(rows), :width] = np.where(np.isfinite(vals), idx, -1)
    return out


def metric_on(model: Recommender, judged: Judged, k: int, metric: str) -> float:
    """Mean ``metric`` at ``k`` of ``model``'s served lists over the judged customers."""
    return float(ranking_metrics(top_k(model, judged, k), judged.relevance, k)[metric])
