"""Tuning the default blend per shop on a validation window inside the training data.

The blend (:mod:`recsys.models.blend`) sums per-customer min-max normalised component scores.
Which components matter depends on the shop: re-buys (``repeat``), recent interest
(``recent``: what the customer viewed or carted lately), taste (``ease`` / ``als``). Here the
last ``test_days`` of the *training* side become a validation holdout; each component (and a
few values of its key hyperparameter: the recency half-life) is fitted once on what precedes
it, and a small grid of weights is scored on the protocols that vote (the same rule as model
selection: the best worst-protocol ratio), within a time budget. The outer holdout is never
looked at, so the blend's figures there stay honest.

Scoring a grid point does not refit anything: for each judged customer the candidate items
are the union of every component's top :data:`CANDIDATES_PER_COMPONENT` (after the protocol's
exclusions), and the blend is ranked over those. An item outside every component's top 100
practically never reaches a blend's top 10; the shipped lists use the exact blend.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys.config import MatrixConfig
from recsys.data.dataset import build_dataset
from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import ranking_metrics
from recsys.evaluation.protocols import EXCLUDE_SEEN, GroundTruth, build_ground_truths
from recsys.evaluation.selection import applicable_protocols
from recsys.evaluation.split import temporal_split
from recsys.models.base import Recommender, TooLargeError, topk
from recsys.models.blend import minmax_rows
from recsys.models.registry import make_model

CANDIDATES_PER_COMPONENT = 100
#: Most validation customers scored per protocol (a random sample beyond that).
MAX_CUSTOMERS = 2000
#: Recency half-lives (days) tried for the "recently engaged" component.
RECENT_HALF_LIVES = (3.0, 14.0, 60.0)
#: Weights tried per component role; the blend needs at least one non-zero.
WEIGHTS = {
    "repeat": (0.0, 0.5, 1.0),
    "recent": (0.0, 0.25, 0.5, 1.0),
    "taste": (0.0, 0.25, 0.5, 1.0),
    "als": (0.0, 0.25),
}


@dataclass(frozen=True)
class TuningResult:
    """The tuned blend components, and what was tried."""

    components: list[dict[str, Any]]
    objective: float
    n_tried: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


def _fit_or_skip(name: str, params: dict[str, Any], dataset: Any, notes: list[str]) -> Any:
    try:
        return make_model(name, **params).fit(dataset)
    except (TooLargeError, MemoryError) as exc:
        notes.append(f"tuning: {name} left out ({exc})")
        return None


def _sample(truth: GroundTruth, rng: np.random.Generator) -> np.ndarray:
    n = truth.n_customers
    rows = np.arange(n) if n <= MAX_CUSTOMERS else np.sort(rng.choice(n, MAX_CUSTOMERS, False))
    return rows


def _candidate_scores(
    models: list[Recommender], cidx: np.ndarray, exclude_seen: bool, batch: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """``(items, scores)``: per customer the union of each model's top items (``-1`` pads)
    and every model's normalised score on them, shape ``(n_models, n_customers, width)``.

    Customers are scored in batches, so memory stays at ``batch x n_items`` per model.
    """
    width = CANDIDATES_PER_COMPONENT * len(models)
    items = np.full((len(cidx), width), -1, dtype=np.int64)
    scores = np.full((len(models), len(cidx), width), -np.inf, dtype=np.float32)
    for start in range(0, len(cidx), batch):
        rows = cidx[start : start + batch]
        normalised = []
        for model in models:
            s = minmax_rows(np.asarray(model._score(rows), dtype=np.float32))
            if exclude_seen:
                ex = model.exclude_[rows]
                s[np.repeat(np.arange(len(rows)), np.diff(ex.indptr)), ex.indices] = -np.inf
            normalised.append(s)
        tops = []
        for s in normalised:
            idx, vals = topk(s, CANDIDATES_PER_COMPONENT)
            tops.append(np.where(np.isfinite(vals), idx, -1))
        union = np.sort(np.concatenate(tops, axis=1), axis=1)
        union[:, 1:][union[:, 1:] == union[:, :-1]] = -1
        here = slice(start, start + len(rows))
        items[here, : union.shape[1]] = union
        at = np.arange(len(rows))[:, None]
        for m, s in enumerate(normalised):
            scores[m, here, : union.shape[1]] = np.where(
                union >= 0, s[at, np.maximum(union, 0)], -np.inf
            )
    return items, scores


def _rank(items: np.ndarray, scores: np.ndarray, weights: tuple[float, ...], k: int) -> np.ndarray:
    """Top-``k`` catalog indices of the weighted blend over the candidates (``-1`` = none)."""
    w = np.asarray(weights, dtype=np.float32)[:, None, None]
    total = (w * np.where(np.isfinite(scores), scores, 0.0)).sum(axis=0)
    total[(items < 0) | ~np.isfinite(scores).any(axis=0)] = -np.inf
    pos, vals = topk(total, k)
    ranked = np.take_along_axis(items, pos, axis=1)
    ranked[~np.isfinite(vals)] = -1
    return ranked


def tune_blend(
    train_events: pd.DataFrame,
    *,
    test_days: int,
    k: int,
    metric: str = "ndcg",
    protocols: Iterable[str],
    matrix_config: MatrixConfig | None = None,
    time_budget_s: float = 60.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> TuningResult | None:
    """Blend components tuned on the last ``test_days`` of ``train_events``.

    Returns None when the training side is too short for a validation window or nobody is
    judged on it (the caller keeps the default blend). Of ``protocols``, those that apply on
    the validation window vote (all of them when none applies there).
    """
    say = progress or (lambda _m: None)
    start = time.perf_counter()
    try:
        split = temporal_split(train_events, test_days=test_days)
        dataset = build_dataset(split.train, matrix_config)
        truths, val_facts = build_ground_truths(dataset, split.test, tuple(protocols))
    except (ConfigError, DataError):
        return None
    truths = {p: t for p, t in truths.items() if t.n_customers > 0}
    if not truths:
        return None
    facts = {
        "n_customers": {p: t.n_customers for p, t in truths.items()},
        "repeat_share": val_facts["n_repeat_pairs"] / max(val_facts["n_kept_pairs"], 1),
    }
    voting = [p for p, a in applicable_protocols(facts, truths).items() if a.applies]
    truths = {p: truths[p] for p in voting} or truths
    notes: list[str] = []
    say(f"tuning the blend on a validation window from {split.cutoff:%Y-%m-%d}")
    recents = {
        hl: _fit_or_skip("recent", {"half_life_days": hl}, dataset, notes)
        for hl in RECENT_HALF_LIVES
    }
    als = _fit_or_skip("als", {}, dataset, notes)
    ease = _fit_or_skip("ease", {}, dataset, notes)
    # "taste" is EASE where the catalog allows it, with ALS as a second opinion; else ALS.
    roles: dict[str, tuple[str, dict[str, Any], Recommender | None]] = {
        "repeat": ("repeat", {}, _fit_or_skip("repeat", {}, dataset, notes)),
        "taste": ("ease", {}, ease) if ease is not None else ("als", {}, als),
        "als": ("als", {}, als if ease is not None else None),
    }
    rng = np.random.default_rng(seed)
    tried: list[tuple[dict[str, float], dict[str, float]]] = []
    for hl, recent in recents.items():
        if recent is None or time.perf_counter() - start > time_budget_s:
            continue
        parts = {"recent": recent, **{r: m for r, (_, _, m) in roles.items()}}
        names = [r for r, m in parts.items() if m is not None]
        models = [parts[r] for r in names]
        grids = {}
        for protocol, truth in truths.items():
            rows = _sample(truth, rng)
            cidx = dataset.customers.to_internal(truth.customer_ids[rows])
            items, scores = _candidate_scores(models, cidx, EXCLUDE_SEEN[protocol])  # type: ignore[arg-type]
            grids[protocol] = (items, scores, truth.relevance[rows])
        for weights in itertools.product(*(WEIGHTS[r] for r in names)):
            if not any(weights) or time.perf_counter() - start > time_budget_s:
                continue
            values = {
                p: ranking_metrics(_rank(items, scores, weights, k), rel, k)[metric]
                for p, (items, scores, rel) in grids.items()
            }
            tried.append(({**dict(zip(names, weights, strict=True)), "half_life": hl}, values))
    if not tried:
        return None
    # The selection rule: each protocol's metric relative to the best grid point on it; the
    # best worst ratio wins (ties: the best mean ratio).
    table = pd.DataFrame([values for _, values in tried]).fillna(0.0)
    rel = table / table.max(axis=0).replace(0.0, np.nan)
    rel = rel.fillna(0.0)
    order = np.lexsort((-rel.mean(axis=1).to_numpy(), -rel.min(axis=1).to_numpy()))
    chosen, best_values = tried[int(order[0])]
    components = []
    for role in ("repeat", "recent", "taste", "als"):
        weight = float(chosen.get(role, 0.0))
        if weight <= 0:
            continue
        if role == "recent":
            name, params = "recent", {"half_life_days": chosen["half_life"]}
        else:
            name, params = roles[role][0], roles[role][1]
        comp: dict[str, Any] = {"model": name, "weight": weight, "params": params}
        if name == "ease":
            comp["optional"] = True
        components.append(comp)
    return TuningResult(
        components=components,
        objective=float(rel.min(axis=1).iloc[int(order[0])]),
        n_tried=len(tried),
        seconds=time.perf_counter() - start,
        notes=notes,
        scores=best_values,
    )
