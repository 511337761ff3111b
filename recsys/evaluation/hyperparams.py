"""Key hyperparameters tuned per shop on a validation window, with a fixed count of fits.

Each tuned model has a small fixed grid (:data:`GRIDS`, its documented default first): EASE's
``l2``, ALS's ``factors`` and ``regularization``, item-kNN's ``K`` (and whether a customer's
recent interest leads, ``half_life_days``), the recency half-lives
of the "buy it again" and "recently engaged" rankers (used as blend components), and the
latter's ``view_factor`` (views at full or a quarter weight: on view-heavy shops a cart says
far more than a repeated view). Every grid
point is fitted once on the validation window's training side
(:mod:`recsys.evaluation.validation`) and scored on each voting protocol; a model's value on a
protocol is divided by the best value of its grid there, and the best mean ratio wins (ties:
the earlier grid point, so the default unless something beats it).

The search is count-limited, so the same data always gives the same choice. A wall-clock
backstop (:class:`Budget`) only guards against a pathological machine or data; when it
triggers, the rest of the grid is not tried and the notes (hence the manifest) say so.
EASE's grid is tried only up to :data:`EASE_TUNING_MAX_ITEMS` items (each fit is a dense
``O(n_items^3)`` inverse); above it the default ``l2`` is kept, with a note.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys.evaluation.validation import ValidationWindow, metric_on
from recsys.models.base import Recommender, TooLargeError
from recsys.models.registry import make_model

#: Grid per model, the model's default first. Fits per run: the sum of the grid sizes.
GRIDS: dict[str, tuple[dict[str, Any], ...]] = {
    "repeat": (
        {"half_life_days": 60.0},
        {"half_life_days": 15.0},
        {"half_life_days": 240.0},
        {"half_life_days": 60.0, "use_item_repeat_rate": False},
    ),
    "recent": (
        {"half_life_days": 14.0},
        {"half_life_days": 3.0},
        {"half_life_days": 60.0},
        {"half_life_days": 14.0, "view_factor": 0.25},
        {"half_life_days": 3.0, "view_factor": 0.25},
    ),
    "itemknn": (
        {"K": 100},
        {"K": 25},
        {"K": 400},
        {"K": 100, "half_life_days": 3.0},
        {"K": 100, "half_life_days": 30.0},
    ),
    "ease": ({"l2": 200.0}, {"l2": 50.0}, {"l2": 800.0}),
    "als": (
        {"factors": 64, "regularization": 1.0},
        {"factors": 32, "regularization": 1.0},
        {"factors": 128, "regularization": 1.0},
        {"factors": 64, "regularization": 10.0},
    ),
}
#: Largest catalog on which EASE's ``l2`` grid is fitted (3 dense inverses).
EASE_TUNING_MAX_ITEMS = 4_000
#: Wall-clock backstop of the whole tuning (seconds); reported when it triggers.
BACKSTOP_S = 900.0


@dataclass
class Budget:
    """The time backstop shared by one tuning run; ``stopped`` records that it triggered."""

    seconds: float = BACKSTOP_S
    start: float = field(default_factory=time.perf_counter)
    stopped: bool = False

    def exhausted(self) -> bool:
        if time.perf_counter() - self.start > self.seconds:
            self.stopped = True
        return self.stopped

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


@dataclass(frozen=True)
class Tuned:
    """One model's chosen parameters, its fitted model on the validation window, and scores."""

    name: str
    params: dict[str, Any]
    model: Recommender | None
    scores: dict[str, float]
    n_fits: int


def tune_model(
    name: str,
    window: ValidationWindow,
    *,
    k: int,
    metric: str,
    budget: Budget,
    notes: list[str],
    fixed: dict[str, Any] | None = None,
) -> Tuned:
    """Fit ``name``'s grid on the window and keep the best point (see the module doc).

    ``fixed``: parameters the configuration sets (fitted once, as they are). A model that
    cannot fit the window (:class:`TooLargeError`, ``MemoryError``) gives ``model=None`` and
    a note; the default parameters stand.
    """
    grid = GRIDS.get(name, ({},)) if fixed is None else (fixed,)
    n_items = window.dataset.n_items
    limit = int(make_model(name, **grid[0]).get_params().get("max_items", n_items))
    if name == "ease" and EASE_TUNING_MAX_ITEMS < n_items <= limit:
        notes.append(
            f"tuning: ease l2 kept at its default ({n_items:,} items, above "
            f"{EASE_TUNING_MAX_ITEMS:,}: each extra fit is a dense inverse)"
        )
        grid = grid[:1]
    tried: list[tuple[dict[str, Any], Recommender, dict[str, float]]] = []
    for params in grid:
        if tried and budget.exhausted():
            break
        try:
            model = make_model(name, **params).fit(window.dataset)
        except (TooLargeError, MemoryError) as exc:
            notes.append(f"tuning: {name} left out ({exc or type(exc).__name__})")
            return Tuned(name, dict(grid[0]), None, {}, len(tried) + 1)
        scores = {p: metric_on(model, window.judged[p], k, metric) for p in window.voting}
        tried.append((dict(params), model, scores))
    best = _best(tried, window.voting)
    params, model, scores = tried[best]
    return Tuned(name, params, model, scores, len(tried))


def _best(
    tried: list[tuple[dict[str, Any], Recommender, dict[str, float]]], voting: Iterable[str]
) -> int:
    """Index of the grid point with the best mean ratio to the grid's best per protocol."""
    voting = list(voting)
    values = np.array([[s[p] for p in voting] for _, _, s in tried], dtype=np.float64)
    best = values.max(axis=0)
    ratios = np.divide(values, best, out=np.ones_like(values), where=best > 0)
    mean = ratios.mean(axis=1)
    return int(np.flatnonzero(mean >= mean.max() - 1e-12)[0])


def describe(name: str, params: dict[str, Any]) -> str:
    """``ease l2=200`` style text of a choice, for notes."""
    text = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
    return f"{name} {text}" if text else name
