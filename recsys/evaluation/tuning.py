"""Tuning the default candidates per shop on a validation window inside the training data.

First the key hyperparameters (:mod:`recsys.evaluation.hyperparams`: EASE ``l2``, ALS factors
and regularisation, item-kNN ``K``, the recency half-lives of the buy-again and
recently-engaged components), each from a small fixed grid; then the blend's weights
(:mod:`recsys.models.blend`), for each of its two answers separately: ``weight`` on the
``new_items`` protocol (the default answer) and ``weight_all`` on ``all_purchases`` (the
``include_purchased`` answer), by a deterministic coordinate ascent over fixed weight steps.
The blend's components are buy again (``repeat``), recent interest (``recent``), taste (EASE
where the catalog allows it, else ALS), ALS as a second opinion and item-kNN. The last
``test_days`` of the *training* side are the validation holdout
(:mod:`recsys.evaluation.validation`); the outer holdout is never looked at, so the figures
there stay honest.

Everything is count-limited (a fixed set of fits, a bounded ascent, seeded customer
samples), so the same data gives the same models, parameters and weights on any machine; a
wall-clock backstop (:data:`~recsys.evaluation.hyperparams.BACKSTOP_S`) only stops a
pathological run and is reported in the notes when it triggers.

Scoring a weighting does not refit anything: for each judged customer the candidate
items are the union of every component's top :data:`CANDIDATES_PER_COMPONENT` (after the
protocol's exclusions), and the blend is ranked over those. An item outside every component's
top 100 practically never reaches a blend's top 10; the shipped lists use the exact blend,
normalised the same way (per customer, over the items that remain candidates).

Last, each answer may get a re-ranker (:mod:`recsys.models.rerank`): the ``include_purchased``
answer's learnt on the ``all_purchases`` validation labels, the default answer's on the
``new_items`` ones, each over the tuned blend's top :data:`~recsys.models.rerank.DEPTH` items
for that answer, first on half the judged customers and checked on the other half. One ships
(refitted on all of them) only when it beats the linear blend there, and is only tried where
its protocol applies on the validation window and the blend has a buy-again part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys.config import MatrixConfig
from recsys.errors import ConfigError
from recsys.evaluation.hyperparams import BACKSTOP_S, Budget, Tuned, describe, tune_model
from recsys.evaluation.metrics import ranking_metrics
from recsys.evaluation.validation import (
    MIN_TUNING_CUSTOMERS,
    Judged,
    ValidationWindow,
    validation_window,
)
from recsys.models import rerank
from recsys.models.base import Recommender, topk
from recsys.models.blend import minmax_rows
from recsys.models.repeat import RepeatRecommender

CANDIDATES_PER_COMPONENT = 100
#: Weights a blend component may take (each answer separately; scale-free, so relative).
WEIGHT_STEPS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
#: Most passes of the coordinate ascent over the components.
ASCENT_ROUNDS = 4
#: Models whose hyperparameters are tuned when they are candidates (or blend components).
TUNED_MODELS = ("ease", "als", "itemknn")
#: Blend components tuned for the blend only: as stand-alone candidates they are the simple
#: baselines (buy again, recently viewed) and keep their documented defaults.
COMPONENT_MODELS = ("repeat", "recent")
#: The blend answer each protocol tunes: the component key of its weight.
WEIGHT_KEY = {"new_items": "weight", "all_purchases": "weight_all"}
#: The answer each protocol judges (in notes).
ANSWER = {"new_items": "default", "all_purchases": "include_purchased"}


@dataclass(frozen=True)
class TuningResult:
    """What tuning chose: per-model parameters, the blend's components, and the cost.

    ``params`` holds the tuned candidates' parameters (not the simple baselines'), and
    ``components`` the blend's (``None`` when the blend was not tuned). ``stopped_early``:
    the time backstop triggered (the choice then depends on the machine's speed).
    """

    params: dict[str, dict[str, Any]]
    components: list[dict[str, Any]] | None
    n_fits: int
    n_weightings: int
    seconds: float
    stopped_early: bool = False
    notes: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    rerank_all: dict[str, Any] | None = None
    rerank_new: dict[str, Any] | None = None


def _candidate_scores(
    models: list[Recommender], judged: Judged, batch: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """``(items, scores)``: per customer the union of each model's top items (``-1`` pads)
    and every model's normalised score on them, shape ``(n_models, n_customers, width)``.

    Customers are scored in batches, so memory stays at ``batch x n_items`` per model.
    """
    cidx = judged.customers
    width = CANDIDATES_PER_COMPONENT * len(models)
    items = np.full((len(cidx), width), -1, dtype=np.int64)
    scores = np.full((len(models), len(cidx), width), -np.inf, dtype=np.float32)
    for start in range(0, len(cidx), batch):
        rows = cidx[start : start + batch]
        normalised = []
        for model in models:
            s = np.asarray(model._score(rows), dtype=np.float32)
            if judged.exclude_seen:
                ex = model.exclude_[rows]
                s[np.repeat(np.arange(len(rows)), np.diff(ex.indptr)), ex.indices] = -np.inf
            normalised.append(np.where(np.isfinite(s), minmax_rows(s), -np.inf))
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


def _blend_total(scores: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """The weighted blend's score at each candidate column (a component's ``-inf`` counts 0),
    shape ``(n_customers, width)``: what the blend sums for the same items."""
    w = np.asarray(weights, dtype=np.float32)[:, None, None]
    return (w * np.where(np.isfinite(scores), scores, 0.0)).sum(axis=0)


def _rank_positions(
    items: np.ndarray, scores: np.ndarray, weights: tuple[float, ...], k: int
) -> np.ndarray:
    """Top-``k`` positions in the candidate columns of the weighted blend (``-1`` = none)."""
    total = _blend_total(scores, weights)
    total[(items < 0) | ~np.isfinite(scores).any(axis=0)] = -np.inf
    pos, vals = topk(total, k)
    return np.where(np.isfinite(vals), pos, -1)


def _rank(items: np.ndarray, scores: np.ndarray, weights: tuple[float, ...], k: int) -> np.ndarray:
    """Top-``k`` catalog indices of the weighted blend over the candidates (``-1`` = none)."""
    pos = _rank_positions(items, scores, weights, k)
    ranked = np.take_along_axis(items, np.maximum(pos, 0), axis=1)
    ranked[pos < 0] = -1
    return ranked


def _ascend(
    items: np.ndarray, scores: np.ndarray, judged: Judged, k: int, metric: str, budget: Budget
) -> tuple[tuple[float, ...], float, int]:
    """Coordinate ascent over :data:`WEIGHT_STEPS` from the best single component.

    Deterministic: roles are visited in order, a change is kept only when it raises the
    metric, and at most :data:`ASCENT_ROUNDS` passes run. Returns the weights, their metric
    and the number of weightings scored.
    """
    n_roles = scores.shape[0]
    cache: dict[tuple[float, ...], float] = {}

    def value(weights: tuple[float, ...]) -> float:
        if weights not in cache:
            ranked = _rank(items, scores, weights, k)
            cache[weights] = float(ranking_metrics(ranked, judged.relevance, k)[metric])
        return cache[weights]

    singles = [tuple(float(i == r) for i in range(n_roles)) for r in range(n_roles)]
    best = max(singles, key=lambda w: (value(w), -singles.index(w)))
    for _ in range(ASCENT_ROUNDS):
        improved = False
        for role in range(n_roles):
            for step in WEIGHT_STEPS:
                if budget.exhausted():
                    return best, value(best), len(cache)
                trial = best[:role] + (step,) + best[role + 1 :]
                if any(trial) and value(trial) > value(best) + 1e-12:
                    best, improved = trial, True
        if not improved:
            break
    return best, value(best), len(cache)


def _blend_weights(
    roles: dict[str, Recommender],
    window: ValidationWindow,
    *,
    k: int,
    metric: str,
    budget: Budget,
    candidates: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, float], int]:
    """Protocol -> role -> weight: each protocol's weights tuned on it (:func:`_ascend`).

    A protocol with fewer than :data:`MIN_TUNING_CUSTOMERS` judged validation customers
    borrows the other's weights. Returns the weights, each protocol's validation metric and
    the number of weightings scored; ``candidates``, when given, receives each tuned
    protocol's ``(items, scores)`` (:func:`_candidate_scores`).
    """
    names = list(roles)
    models = [roles[r] for r in names]
    chosen: dict[str, dict[str, float]] = {}
    values: dict[str, float] = {}
    n = 0
    for protocol, judged in window.judged.items():
        if len(judged.customers) < MIN_TUNING_CUSTOMERS or budget.exhausted():
            continue
        items, scores = _candidate_scores(models, judged)
        if candidates is not None:
            candidates[protocol] = (items, scores)
        best, best_value, scored = _ascend(items, scores, judged, k, metric, budget)
        n += scored
        chosen[protocol] = dict(zip(names, best, strict=True))
        values[protocol] = best_value
    for protocol in WEIGHT_KEY:
        if protocol not in chosen and chosen:
            chosen[protocol] = next(iter(chosen.values()))
    return chosen, values, n


def tune(
    train_events: pd.DataFrame,
    names: Iterable[str],
    *,
    test_days: int,
    k: int,
    metric: str = "ndcg",
    protocols: Iterable[str] = ("new_items", "all_purchases"),
    matrix_config: MatrixConfig | None = None,
    fixed: Mapping[str, dict[str, Any]] | None = None,
    backstop_s: float = BACKSTOP_S,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> TuningResult | None:
    """Hyperparameters of ``names`` and the blend's weights, tuned on the last ``test_days``
    of ``train_events`` (see the module doc).

    ``fixed``: model -> parameters the configuration sets (used as they are; ``"blend"``
    there leaves its components alone). Returns None when the training side is too short for a
    validation window or nobody is judged on it (the caller keeps the defaults).
    """
    say = progress or (lambda _m: None)
    budget = Budget(backstop_s)
    window = validation_window(
        train_events,
        test_days=test_days,
        protocols=protocols,
        matrix_config=matrix_config,
        seed=seed,
    )
    if window is None:
        return None
    names, fixed = set(names), dict(fixed or {})
    blend = "blend" in names and "blend" not in fixed
    wanted = [m for m in TUNED_MODELS if m in names or blend]
    wanted += [m for m in COMPONENT_MODELS if blend]
    say(f"tuning {', '.join(wanted)} on a validation window from {window.cutoff:%Y-%m-%d}")
    notes: list[str] = []
    tuned: dict[str, Tuned] = {}
    for name in wanted:
        if budget.exhausted():
            break
        tuned[name] = tune_model(
            name, window, k=k, metric=metric, budget=budget, notes=notes, fixed=fixed.get(name)
        )
    params = {
        m: t.params for m, t in tuned.items() if m in TUNED_MODELS and m in names and m not in fixed
    }
    components = None
    rerank_all = rerank_new = None
    n_weightings = 0
    scores: dict[str, float] = {}
    if blend:
        fitted = {m: t.model for m, t in tuned.items() if t.model is not None}
        roles: dict[str, Recommender] = {}
        for role, model in (
            ("repeat", "repeat"),
            ("recent", "recent"),
            ("taste", "ease" if "ease" in fitted else "als"),
            ("als", "als" if "ease" in fitted else ""),
            ("itemknn", "itemknn"),
        ):
            if model in fitted:
                roles[role] = fitted[model]
        if roles:
            say(f"tuning the blend's weights ({', '.join(roles)})")
            cands: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            weights, scores, n_weightings = _blend_weights(
                roles, window, k=k, metric=metric, budget=budget, candidates=cands
            )
            components = _components(roles, weights, tuned) if weights else None
            # each answer's re-ranker only where its protocol votes (enough to judge)
            for protocol in ("all_purchases", "new_items"):
                if not components or protocol not in window.voting or protocol not in cands:
                    continue
                if budget.exhausted():
                    break
                say(f"learning the {ANSWER[protocol]} re-ranker")
                learnt = _learn_rerank(
                    roles,
                    weights,
                    cands[protocol],
                    window,
                    protocol=protocol,
                    k=k,
                    metric=metric,
                    notes=notes,
                    seed=seed,
                )
                if protocol == "all_purchases":
                    rerank_all = learnt
                else:
                    rerank_new = learnt
    n_fits = sum(t.n_fits for t in tuned.values())
    if budget.stopped:
        notes.append(
            f"tuning stopped by its {backstop_s:.0f} s time backstop after {n_fits} fits and "
            f"{n_weightings} weightings: the choice depends on this machine's speed"
        )
    return TuningResult(
        params=params,
        components=components,
        n_fits=n_fits,
        n_weightings=n_weightings,
        seconds=budget.elapsed,
        stopped_early=budget.stopped,
        notes=notes
        + [
            f"tuned {describe(m, t.params)}"
            for m, t in tuned.items()
            if t.model is not None and m not in fixed
        ],
        scores=scores,
        rerank_all=rerank_all,
        rerank_new=rerank_new,
    )


def _learn_rerank(
    roles: dict[str, Recommender],
    weights: dict[str, dict[str, float]],
    candidates: tuple[np.ndarray, np.ndarray],
    window: ValidationWindow,
    *,
    protocol: str,
    k: int,
    metric: str,
    notes: list[str],
    seed: int,
) -> dict[str, Any] | None:
    """The re-ranker (:mod:`recsys.models.rerank`) of the answer ``protocol`` judges, as
    JSON, or None.

    Features are those of the blend's kept components over the tuned blend's top
    :data:`~recsys.models.rerank.DEPTH` candidates for that answer (after its exclusions);
    labels the protocol's validation purchases. Fitted on the judged customers at even
    positions and checked on the odd ones against the linear blend; shipped (refitted on all
    of them) only when it beats it there.
    """
    repeat = roles.get("repeat")
    if not isinstance(repeat, RepeatRecommender):
        return None
    judged = window.judged[protocol]
    items, scores = candidates
    names = list(roles)
    w_all = weights.get(protocol, {})
    kept = [r for r in names if any(w.get(r, 0.0) > 0 for w in weights.values())]
    if "repeat" not in kept:  # its features are buy again's purchase timing
        notes.append(f"{ANSWER[protocol]} re-ranker not tried: the blend has no buy-again part")
        return None
    fnames = rerank.feature_names([roles[r].name for r in kept])
    w = tuple(w_all.get(r, 0.0) for r in names)
    pos = _rank_positions(items, scores, w, rerank.DEPTH)
    safe = np.maximum(pos, 0)
    cand = np.where(pos >= 0, np.take_along_axis(items, safe, axis=1), -1)
    normalised = {
        roles[r].name: np.take_along_axis(scores[names.index(r)], safe, axis=1) for r in kept
    }
    # the blend's own score over the sum of its weights, as the blend computes it
    total = _blend_total(scores, w)
    normalised[rerank.BLEND] = np.take_along_axis(total, safe, axis=1) / sum(w)
    x = rerank.features(fnames, repeat, normalised, judged.customers, cand)
    n, width = cand.shape
    rel = judged.relevance.tocsr()
    rows = np.repeat(np.arange(n), width)
    y = np.asarray(rel[rows, np.maximum(cand.ravel(), 0)]).ravel() > 0
    valid = cand.ravel() >= 0
    y &= valid
    fit_half = (rows % 2 == 0) & valid
    odd = np.arange(n) % 2 == 1
    try:
        half = rerank.fit(x[fit_half], y[fit_half].astype(np.int64), fnames, seed=seed)
    except ConfigError:
        return None
    vals = np.where(cand[odd] >= 0, 0.0, -np.inf)
    reordered, _ = rerank.reorder(half, x[np.repeat(odd, width)], cand[odd], vals)
    rel_odd = rel[np.flatnonzero(odd)]
    linear = float(ranking_metrics(cand[odd][:, :k], rel_odd, k)[metric])
    learnt = float(ranking_metrics(reordered[:, :k], rel_odd, k)[metric])
    answer = ANSWER[protocol]
    if not learnt > linear:
        notes.append(
            f"{answer} re-ranker not kept: {metric} {learnt:.4f} vs the linear "
            f"blend's {linear:.4f} on half the validation customers"
        )
        return None
    notes.append(
        f"{answer} re-ranker kept: {metric} {learnt:.4f} vs the linear blend's "
        f"{linear:.4f} on half the validation customers"
    )
    return rerank.fit(x[valid], y[valid].astype(np.int64), fnames, seed=seed)


def _components(
    roles: dict[str, Recommender],
    weights: dict[str, dict[str, float]],
    tuned: dict[str, Tuned],
) -> list[dict[str, Any]]:
    """The blend's component list from per-protocol role weights (roles weighted 0 in both
    answers left out)."""
    out = []
    for role, model in roles.items():
        per_answer = {WEIGHT_KEY[p]: float(w[role]) for p, w in weights.items() if p in WEIGHT_KEY}
        if not any(per_answer.values()):
            continue
        comp: dict[str, Any] = {
            "model": model.name,
            "weight": per_answer.get("weight", 0.0),
            "weight_all": per_answer.get("weight_all", per_answer.get("weight", 0.0)),
            "params": dict(tuned[model.name].params),
        }
        if model.name == "ease":
            comp["optional"] = True
        out.append(comp)
    return out
