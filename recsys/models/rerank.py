"""A learned re-ranker of the blend's ``include_purchased`` list (buy again + discovery).

The linear blend (:mod:`recsys.models.blend`) cannot say *when* a customer re-buys: whether
this customer re-buys at all, whether the item's repurchase cycle has come round. A
gradient-boosted tree ensemble (Friedman 2001, "Greedy function approximation: a gradient
boosting machine"; scikit-learn's :class:`~sklearn.ensemble.GradientBoostingClassifier`)
re-orders the blend's top :data:`DEPTH` items per customer from the components' normalised
scores and the purchase timing kept by the buy-again model (:mod:`recsys.models.repeat`):

``score:blend``
    the linear blend's own score over the sum of its weights (the order being refined);
``score:<model>``
    each blend component's score, min-max normalised per customer (as the blend uses it);
``bought``, ``history``
    whether the customer bought the item (net of returns), and its buy-again score;
``log_days``, ``since_last``, ``due``
    ``log(1 + distinct purchase days)``, days since the last purchase, and that over the
    item's repurchase cycle (the customer's own gaps when re-bought, else the item's median
    gap; ``-1`` when neither exists);
``item_repeat_rate``, ``item_cycle``, ``customer_repeat_share``, ``log_customer_items``,
``log_customer_days``, ``log_item_buyers``
    the item's and the customer's re-buy habits and activity.
``log_item_recent_buyers``, ``item_recent_share``
    ``log(1 + buyers whose last purchase of the item is at most 30 days old)`` and that over
    all its buyers: what is in season (a gift shop's Christmas stock in November);
``customer_since``
    days since the customer's last purchase of anything.

Tuning (:mod:`recsys.evaluation.tuning`) learns it on the validation window's labels and
keeps it only when it beats the linear blend on validation customers it was not fitted on.
Its parameters are plain JSON (:func:`to_json`): the feature names and every tree's nodes;
scoring (:func:`predict`) is a vectorised walk down the trees, so the shipped lists are
exactly what was evaluated. Shapes: features ``(n_rows, n_features)`` ``float32``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.ensemble import GradientBoostingClassifier

from recsys.errors import ConfigError
from recsys.models.repeat import RepeatRecommender

#: Items of the linear blend's list re-ordered per customer (at least the list length k).
DEPTH = 50
N_TREES = 100
MAX_DEPTH = 3
LEARNING_RATE = 0.1
#: Regularisation for small shops (few re-buys to learn from): each leaf holds at least this
#: many rows, and each tree sees this share of them (stochastic gradient boosting, Friedman
#: 2002, "Stochastic gradient boosting"; seeded, so the same rows give the same trees).
MIN_SAMPLES_LEAF = 50
SUBSAMPLE = 0.8
#: Negatives kept per positive label when fitting (a seeded sample; all positives stay).
NEGATIVES_PER_POSITIVE = 10
#: The key of the linear blend's own score among the scores :func:`features` reads.
BLEND = "blend"
#: Days since the last purchase of an item never bought (beyond any real gap).
NEVER_DAYS = 10_000.0
HISTORY_FEATURES = (
    "bought",
    "history",
    "log_days",
    "since_last",
    "due",
    "item_repeat_rate",
    "item_cycle",
    "customer_repeat_share",
    "log_customer_items",
    "log_customer_days",
    "log_item_buyers",
    "log_item_recent_buyers",
    "item_recent_share",
    "customer_since",
)


def feature_names(models: list[str]) -> list[str]:
    """The feature columns for blend components named ``models`` (in that order), after the
    blend's own score (``score:blend``)."""
    return [f"score:{m}" for m in (BLEND, *models)] + list(HISTORY_FEATURES)


def _gather(matrix: sp.csr_matrix, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``matrix[rows[r], items[r, j]]`` as a dense ``(len(rows), width)`` array."""
    dense = np.asarray(matrix[rows].todense(), dtype=np.float32)
    return np.take_along_axis(dense, np.maximum(items, 0), axis=1)


def features(
    names: list[str],
    repeat: RepeatRecommender,
    normalised: Mapping[str, np.ndarray],
    customer_idx: np.ndarray,
    items: np.ndarray,
) -> np.ndarray:
    """Feature rows for each customer's candidate ``items`` (``(n, width)``, ``-1`` pads).

    ``repeat``: the fitted buy-again model; ``normalised``: model name -> that component's
    normalised scores at ``items``, and :data:`BLEND` -> the blend's score over the sum of
    its weights (a score missing here counts 0). Returns
    ``(n * width, len(names))`` ``float32`` in row-major (customer, candidate) order.
    """
    n, width = items.shape
    safe = np.maximum(items, 0)
    history = _gather(repeat.history_, customer_idx, items)
    last = _gather(repeat.last_age_, customer_idx, items)
    n_days = _gather(repeat.n_days_, customer_idx, items)
    since = np.where(last > 0, last - 1.0, NEVER_DAYS)
    item_cycle = repeat.item_cycle_[safe]
    own = _gather(repeat.own_cycle_, customer_idx, items)
    cycle = np.where(own > 0, own, item_cycle)
    due = np.where((last > 0) & (cycle > 0), since / np.maximum(cycle, 1.0), -1.0)
    share = repeat.customer_repeat_share_[customer_idx]
    n_items = np.diff(repeat.last_age_.indptr)[customer_idx].astype(np.float32)
    columns = {
        "bought": (history > 0).astype(np.float32),
        "history": history,
        "log_days": np.log1p(n_days),
        "since_last": since,
        "due": due,
        "item_repeat_rate": repeat.item_repeat_rate_[safe],
        "item_cycle": item_cycle,
        "customer_repeat_share": np.repeat(share[:, None], width, axis=1),
        "log_customer_items": np.repeat(np.log1p(n_items)[:, None], width, axis=1),
        "log_customer_days": np.repeat(
            np.log1p(repeat.customer_days_[customer_idx])[:, None], width, axis=1
        ),
        "log_item_buyers": np.log1p(repeat.item_buyers_)[safe],
        "log_item_recent_buyers": np.log1p(repeat.item_recent_buyers_)[safe],
        "item_recent_share": (repeat.item_recent_buyers_ / np.maximum(repeat.item_buyers_, 1.0))[
            safe
        ],
        "customer_since": np.repeat(repeat.customer_since_[customer_idx][:, None], width, axis=1),
    }
    out = np.zeros((n * width, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        if name.startswith("score:"):
            col = normalised.get(name.removeprefix("score:"))
        else:
            col = columns.get(name)
            if col is None:
                raise ConfigError(f"re-ranker feature {name!r} is unknown")
        if col is not None:
            out[:, j] = np.nan_to_num(np.asarray(col, dtype=np.float32), neginf=0.0).ravel()
    return out


def fit(x: np.ndarray, y: np.ndarray, names: list[str], seed: int = 0) -> dict[str, Any]:
    """A tree ensemble fitted on feature rows ``x`` and binary labels ``y``, as JSON.

    Up to :data:`NEGATIVES_PER_POSITIVE` negatives per positive are kept (a sample seeded
    by ``seed``, so the same rows give the same trees). Raises ``ConfigError`` when ``y``
    holds a single class.
    """
    if len(np.unique(y)) < 2:
        raise ConfigError("re-ranker: the labels hold a single class")
    # Negative subsampling (He et al. 2014, "Practical lessons from predicting clicks on ads
    # at Facebook"): the log-odds shift by a constant, so the order within a list holds.
    positive = y > 0
    rate = NEGATIVES_PER_POSITIVE * positive.sum() / max((~positive).sum(), 1)
    keep = positive | (np.random.default_rng(seed).random(len(y)) < rate)
    model = GradientBoostingClassifier(
        n_estimators=N_TREES,
        max_depth=MAX_DEPTH,
        learning_rate=LEARNING_RATE,
        min_samples_leaf=MIN_SAMPLES_LEAF,
        subsample=SUBSAMPLE,
        random_state=seed,
    ).fit(x[keep], y[keep])
    return to_json(model, names)


def to_json(model: GradientBoostingClassifier, names: list[str]) -> dict[str, Any]:
    """Feature names and trees (``feature``, ``threshold``, ``left``, ``right``, ``value``
    per node; a leaf has ``left == -1``), values already times the learning rate."""
    trees = []
    for est in model.estimators_[:, 0]:
        t = est.tree_
        trees.append(
            {
                "feature": t.feature.tolist(),
                "threshold": t.threshold.tolist(),
                "left": t.children_left.tolist(),
                "right": t.children_right.tolist(),
                "value": (model.learning_rate * t.value[:, 0, 0]).tolist(),
            }
        )
    return {"features": list(names), "trees": trees}


def check(params: Any, name: str = "rerank_all") -> None:
    """Raise ``ConfigError`` (naming the parameter ``name``) unless ``params`` looks like
    :func:`to_json`'s output."""
    ok = isinstance(params, dict) and isinstance(params.get("features"), list)
    ok = ok and isinstance(params.get("trees"), list) and bool(params["trees"])
    keys = ("feature", "threshold", "left", "right", "value")
    if not ok or not all(
        isinstance(t, dict) and all(k in t for k in keys) for t in params["trees"]
    ):
        raise ConfigError(f"{name} must be {{'features': [...], 'trees': [{{...}}, ...]}}")


Trees = list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def compile_trees(params: Mapping[str, Any]) -> Trees:
    """The JSON trees as arrays ``(feature, threshold, left, right, value)`` for
    :func:`predict` (convert once, score many batches)."""
    return [
        (
            np.asarray(t["feature"], dtype=np.int64),
            np.asarray(t["threshold"], dtype=np.float64),
            np.asarray(t["left"], dtype=np.int64),
            np.asarray(t["right"], dtype=np.int64),
            np.asarray(t["value"], dtype=np.float64),
        )
        for t in params["trees"]
    ]


def predict(params: Mapping[str, Any], x: np.ndarray, trees: Trees | None = None) -> np.ndarray:
    """Raw scores (log-odds up to a constant) of feature rows ``x``, ``(n_rows,)`` float64.

    ``trees``: :func:`compile_trees` of ``params`` when already at hand. Each tree's split
    tests are evaluated column-wise first, then every row walks down them.
    """
    out = np.zeros(len(x), dtype=np.float64)
    rows = np.arange(len(x))
    for feature, threshold, left, right, value in trees or compile_trees(params):
        inner = np.flatnonzero(left >= 0)
        if not len(inner):
            out += value[0]
            continue
        slot = np.zeros(len(left), dtype=np.int64)
        slot[inner] = np.arange(len(inner))
        goes_left = x[:, feature[inner]] <= threshold[inner]
        node = np.zeros(len(x), dtype=np.int64)
        while True:
            at_inner = left[node] >= 0
            if not at_inner.any():
                break
            step = np.where(goes_left[rows, slot[node]], left[node], right[node])
            node = np.where(at_inner, step, node)
        out += value[node]
    return out


def reorder(
    params: Mapping[str, Any],
    x: np.ndarray,
    idx: np.ndarray,
    vals: np.ndarray,
    trees: Trees | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates ``idx`` (``(n, width)``, best first by ``vals``; ``-inf`` = none)
    re-ordered by the ensemble's score on their feature rows ``x``; ties keep the blend's
    order. Returns ``(indices, scores)`` like :func:`~recsys.models.base.topk`."""
    score = predict(params, x, trees).reshape(idx.shape)
    score = np.where(np.isfinite(vals), score, -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")
    new_idx = np.take_along_axis(idx, order, axis=1)
    new_vals = np.take_along_axis(score, order, axis=1).astype(np.float32)
    return new_idx, new_vals
