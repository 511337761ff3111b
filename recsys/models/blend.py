"""A weighted blend of registered models, e.g. "buy it again" + a collaborative model.

Each component's scores are min-max normalised per customer over the items that remain
candidates (so models with different score scales combine fairly) and summed with the
component weights. The two answers are weighted separately: ``weight`` for the default answer
(``exclude_seen=True``: bought items removed, so the repeat ranker contributes only its
popularity tie-break) and ``weight_all`` for the ``include_purchased`` answer
(``exclude_seen=False``: items the customer re-buys rise to the top and the collaborative part
fills the rest of the list). Training tunes both per shop on a validation window
(:mod:`recsys.evaluation.tuning`), each on its own protocol. When tuning learnt one, an
answer's top items are then re-ordered by a tree ensemble over the components' scores, the
purchase timing and what is in season (``rerank_all`` for the ``include_purchased`` answer,
``rerank_new`` for the default one; :mod:`recsys.models.rerank`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from recsys.data.dataset import InteractionDataset
from recsys.errors import ConfigError
from recsys.models import rerank
from recsys.models.base import Recommender, topk
from recsys.models.registry import MODELS, make_model, register
from recsys.models.repeat import RepeatRecommender

#: Chosen from measurements on UCI Online Retail II (last 30 days held out, NDCG@10; see
#: README): repeat + EASE beats every single model on both protocols, ALS adds a little;
#: "recent" (recently engaged, views included) carries repeat interest on view-heavy shops.
#: EASE is optional: above its catalog limit the blend is repeat + recent + ALS. Training
#: re-tunes the weights per shop on a validation window (recsys.evaluation.tuning).
DEFAULT_COMPONENTS: tuple[dict[str, Any], ...] = (
    # In the default answer bought items are gone and buy-again is popularity: left out there.
    {"model": "repeat", "weight": 0.0, "weight_all": 1.0, "params": {}},
    {"model": "recent", "weight": 0.25, "params": {}},
    {"model": "ease", "weight": 0.5, "params": {}, "optional": True},
    {"model": "als", "weight": 0.25, "params": {}},
)


def _weights(component: dict[str, Any]) -> tuple[float, float]:
    """``(weight, weight_all)`` of a component: default answer, include_purchased answer."""
    weight = float(component.get("weight", 1.0))
    return weight, float(component.get("weight_all", weight))


def fit_key(name: str, params: dict[str, Any]) -> str:
    """A model's identity for reusing a fit: its name and parameters."""
    return f"{name}:{json.dumps(params, sort_keys=True, default=str)}"


def minmax_rows(scores: np.ndarray) -> np.ndarray:
    """Each row scaled to [0, 1] over its finite entries (a constant row: 0); ``-inf``: 0."""
    finite = np.isfinite(scores)
    lo = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
    hi = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
    span = hi - lo
    out = np.where(span > 0, (scores - lo) / np.where(span > 0, span, 1.0), 0.0)
    return np.where(finite, out, 0.0).astype(np.float32)


@register
class BlendRecommender(Recommender):
    """Weighted sum of per-customer normalised component scores.

    Parameters
    ----------
    components:
        List of ``{"model": name, "weight": w, "weight_all": w2, "params": {...},
        "optional": bool}``; ``weight`` counts in the default answer, ``weight_all`` (default:
        ``weight``) in the ``include_purchased`` one; each >= 0, and each answer needs a
        positive weight somewhere. ``None`` means :data:`DEFAULT_COMPONENTS`. An optional
        component that cannot be fitted on the data (its ``fit`` raises ``ConfigError``, e.g.
        EASE on a too-large catalog) is left out and named in ``skipped_``; a required one
        stops the fit.
    rerank_all:
        ``None``, or a re-ranker of the ``include_purchased`` answer as JSON
        (:func:`recsys.models.rerank.to_json`); it needs a ``repeat`` component, and is
        ignored (named in ``skipped_``) without one.
    rerank_new:
        The same for the default answer (bought items excluded before re-ordering).
    """

    name = "blend"

    def __init__(
        self,
        components: list[dict[str, Any]] | None = None,
        rerank_all: dict[str, Any] | None = None,
        rerank_new: dict[str, Any] | None = None,
    ) -> None:
        self.components = components
        self.rerank_all = rerank_all
        self.rerank_new = rerank_new

    def _resolved(self) -> list[dict[str, Any]]:
        return [dict(c) for c in (self.components or DEFAULT_COMPONENTS)]

    def _check_params(self) -> None:
        for name, params in (("rerank_all", self.rerank_all), ("rerank_new", self.rerank_new)):
            if params is not None:
                rerank.check(params, name)
        comps = self._resolved()
        if not comps:
            raise ConfigError("blend needs at least one component")
        for c in comps:
            if c.get("model") not in MODELS or c.get("model") == self.name:
                raise ConfigError(f"blend component {c.get('model')!r} is not a registered model")
            w, w_all = _weights(c)
            if not (w >= 0 and w_all >= 0 and w + w_all > 0):
                raise ConfigError(
                    f"blend component {c['model']!r}: weight must be > 0 (or weight >= 0 "
                    "and weight_all > 0)"
                )
        for i, answer in enumerate(("default", "include_purchased")):
            if not any(_weights(c)[i] > 0 for c in comps):
                raise ConfigError(
                    f"blend: no component has a positive weight for the {answer} answer"
                )

    def reuse(self, fitted: dict[str, Recommender]) -> None:
        """Offer models already fitted on the dataset the next ``fit`` gets, by
        :func:`fit_key`; a component with the same name and parameters is taken as it is
        instead of being refitted (evaluation fits the candidates first)."""
        self._fitted = fitted

    def _component(self, c: dict[str, Any], dataset: InteractionDataset) -> Recommender:
        key = fit_key(c["model"], c.get("params", {}))
        found = getattr(self, "_fitted", {}).get(key)
        if found is not None:
            return found
        return make_model(c["model"], **c.get("params", {})).fit(dataset)

    def _fit(self, dataset: InteractionDataset) -> None:
        models, used, skipped = [], [], []
        for i, c in enumerate(self._resolved()):
            try:
                models.append(self._component(c, dataset))
            except ConfigError as exc:
                if not c.get("optional", False):
                    raise
                skipped.append(f"{c['model']}: {exc}")
                continue
            used.append(i)
        if not models:
            raise ConfigError("blend: no component could be fitted: " + "; ".join(skipped))
        comps = self._resolved()
        weights = np.array([_weights(comps[i]) for i in used], np.float32).reshape(-1, 2)
        for col, answer in enumerate(("default", "include_purchased")):
            if not (weights[:, col] > 0).any():  # its weighted components were left out
                weights[:, col] = 1.0
                skipped.append(f"the {answer} answer weights its remaining components equally")
        self.models_ = models
        self.used_ = np.array(used, dtype=np.int64)
        self.skipped_ = skipped
        self.weights_ = weights
        self._trees: dict[bool, rerank.Trees] = {}
        if self._repeat() is None:
            for params, answer in (
                (self.rerank_all, "include_purchased"),
                (self.rerank_new, "default"),
            ):
                if params is not None:
                    skipped.append(f"the {answer} re-ranker: no repeat component")

    def _repeat(self) -> RepeatRecommender | None:
        """The buy-again component with its purchase timing, if the blend has one."""
        return next(
            (
                m
                for m in self.models_
                if isinstance(m, RepeatRecommender) and hasattr(m, "last_age_")
            ),
            None,
        )

    def _blended(
        self,
        customer_idx: np.ndarray,
        exclude_seen: bool,
        allowed: np.ndarray | None,
        normalised: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Weighted sum of the components' scores, each normalised over the candidates.

        ``normalised``: when given, filled with every component's normalised scores by model
        name (weighted 0 or not; what the re-ranker reads)."""
        n = len(customer_idx)
        total = np.zeros((n, len(self.items_)), dtype=np.float32)
        excluded: tuple[np.ndarray, np.ndarray] | None = None
        if exclude_seen:
            ex = self.exclude_[customer_idx]
            excluded = (np.repeat(np.arange(n), np.diff(ex.indptr)), ex.indices)
        for model, weight in zip(
            self.models_, self.weights_[:, 0 if exclude_seen else 1], strict=True
        ):
            if weight <= 0 and normalised is None:
                continue
            scores = np.asarray(model._score(customer_idx), dtype=np.float32)
            if excluded is not None:
                scores[excluded] = -np.inf
            if allowed is not None:
                scores[:, ~allowed] = -np.inf
            scaled = minmax_rows(scores)
            if normalised is not None:
                normalised[model.name] = scaled
            if weight > 0:
                total += weight * scaled
        if excluded is not None:
            total[excluded] = -np.inf
        if allowed is not None:
            total[:, ~allowed] = -np.inf
        return total

    def _reranker(self, exclude_seen: bool) -> dict[str, Any] | None:
        """The answer's re-ranker when it has one and the blend can feed it (buy again)."""
        params = self.rerank_new if exclude_seen else self.rerank_all
        return params if params is not None and self._repeat() is not None else None

    def _reranked(
        self, customer_idx: np.ndarray, k: int, allowed: np.ndarray | None, exclude_seen: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The answer's blend top ``max(k, DEPTH)`` re-ordered by its re-ranker:
        ``(indices, re-ranker scores, the blend's dense scores)``."""
        repeat, params = self._repeat(), self._reranker(exclude_seen)
        assert params is not None and repeat is not None
        normalised: dict[str, np.ndarray] = {}
        total = self._blended(customer_idx, exclude_seen, allowed, normalised)
        normalised[rerank.BLEND] = total / float(self.weights_[:, 0 if exclude_seen else 1].sum())
        idx, vals = topk(total, max(k, rerank.DEPTH))
        at = np.arange(len(customer_idx))[:, None]
        safe = np.maximum(idx, 0)
        x = rerank.features(
            params["features"],
            repeat,
            {m: s[at, safe] for m, s in normalised.items()},
            customer_idx,
            idx,
        )
        trees = getattr(self, "_trees", {})
        if exclude_seen not in trees:
            trees[exclude_seen] = rerank.compile_trees(params)
            self._trees = trees
        new_idx, new_vals = rerank.reorder(params, x, idx, vals, trees[exclude_seen])
        return new_idx, new_vals, total

    def _score(self, customer_idx: np.ndarray) -> np.ndarray:
        """The ``include_purchased`` answer's scores over every item (``weight_all``; with a
        re-ranker its top items score above the rest, in the re-ranker's order)."""
        if self._reranker(False) is None:
            return self._blended(customer_idx, False, None)
        idx, vals, total = self._reranked(customer_idx, rerank.DEPTH, None, False)
        finite = np.isfinite(vals)
        # above every blend score (min-max sums are within [0, sum of weights]), in the
        # served order (the re-ranker's ties broken by the blend, as served)
        width = idx.shape[1]
        lifted = float(self.weights_[:, 1].sum()) + 1.0 + (width - np.arange(width))[None, :]
        lifted = np.broadcast_to(lifted, idx.shape).astype(np.float32)
        rows = np.repeat(np.arange(len(customer_idx)), width)
        keep = finite.ravel()
        total[rows[keep], idx.ravel()[keep]] = lifted.ravel()[keep]
        return total

    def _recommend_batch(
        self, customer_idx: np.ndarray, k: int, exclude_seen: bool, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if self._reranker(exclude_seen) is not None:
            idx, vals, _ = self._reranked(customer_idx, k, allowed, exclude_seen)
            return idx[:, :k], vals[:, :k]
        return topk(self._blended(customer_idx, exclude_seen, allowed), k)

    def similarity_model(self) -> Recommender | None:
        """The first fitted component that supports ``similar_items`` (for item pages)."""
        self._check_fitted()
        return next((m for m in self.models_ if m.supports_similar), None)

    def _get_state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {"weights": self.weights_, "used": self.used_}
        for i, model in zip(self.used_.tolist(), self.models_, strict=True):
            state.update({f"c{i}__{k}": v for k, v in model._get_state().items()})
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.weights_ = state["weights"].reshape(len(state["used"]), -1)
        if self.weights_.shape[1] == 1:  # files written before per-answer weights
            self.weights_ = np.repeat(self.weights_, 2, axis=1)
        self.used_ = state["used"]
        self.skipped_ = []
        self.models_ = []
        comps = self._resolved()
        for i in self.used_.tolist():
            c = comps[i]
            model = make_model(c["model"], **c.get("params", {}))
            model.customers_, model.items_, model.seen_ = self.customers_, self.items_, self.seen_
            model.exclude_ = self.exclude_
            model.fit_time_ = 0.0
            prefix = f"c{i}__"
            model._set_state(
                {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
            )
            self.models_.append(model)
