"""Comparing candidates the way a training job ships one: split, tune, evaluate, select.

:func:`compare_candidates` is what ``recsys train`` and ``recsys evaluate`` both run, so the
table a user reads is the one the shipped model was chosen from: the holdout (a length that
fits the data unless given), the key hyperparameters and the blend tuned on a validation
window inside the training side (:mod:`recsys.evaluation.tuning`, count-limited, so the same
data gives the same choice), every candidate fitted and scored on the lists the API
serves, which protocols apply to this shop, and the model selection rule
(:mod:`recsys.evaluation.selection`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from recsys import columns as C
from recsys.config import Config
from recsys.evaluation import tuning
from recsys.evaluation.hyperparams import BACKSTOP_S
from recsys.evaluation.protocols import evaluate
from recsys.evaluation.report import EvaluationResult
from recsys.evaluation.selection import Applicability, applicable_protocols, select_model
from recsys.evaluation.split import TemporalSplit, holdout_split
from recsys.models.registry import make_model


@dataclass(frozen=True)
class Comparison:
    """Everything a job needs to choose, report and record its model."""

    split: TemporalSplit
    split_note: str
    result: EvaluationResult
    applicability: dict[str, Applicability]
    chosen: str
    params: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    @property
    def voting(self) -> list[str]:
        return [p for p, a in self.applicability.items() if a.applies]

    def summary_lines(self) -> list[str]:
        """What was held out, which protocols apply and why, what was chosen."""
        lines = [self.split_note]
        for a in self.applicability.values():
            verdict = "applies" if a.applies else "does not apply"
            lines.append(f"protocol {a.protocol} {verdict}: {a.reason}")
        if not self.voting:
            lines.append("no protocol applies: every evaluated protocol votes")
        lines.append(f"chosen: {self.chosen} (best worst-protocol {self.metric})")
        return lines + [f"note: {n}" for n in self.notes]

    @property
    def metric(self) -> str:
        return str(self.result.facts.get("metric", "ndcg"))


def candidate_names(
    named: Iterable[str], default: Iterable[str], config: Config
) -> tuple[str, ...]:
    """The models a job compares: ``named`` (``--models``) when given, else ``default`` plus
    any model ``config.models`` sets parameters for (a ``[models.als]`` section tunes ALS;
    it does not narrow the comparison to ALS alone)."""
    explicit = tuple(named)
    if explicit:
        return explicit
    base = tuple(default)
    return base + tuple(m for m in config.models if m not in base)


def compare_candidates(
    events: pd.DataFrame,
    names: Iterable[str],
    *,
    config: Config,
    items_frame: pd.DataFrame | None = None,
    tune: bool = True,
    backstop_s: float = BACKSTOP_S,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Split ``events``, tune, evaluate ``names`` and pick the one to ship.

    Hyperparameters set in ``config.models`` are kept as given (a blend with ``components``
    there is not tuned). ``items_frame`` joins the training catalog (see :func:`evaluate`).
    ``backstop_s``: the tuning's wall-clock backstop (a note says when it triggered).
    """
    say = progress or (lambda _m: None)
    names = tuple(names)
    ev = config.evaluation
    split, split_note = holdout_split(events, test_days=ev.test_days, cutoff=ev.cutoff)
    params = {name: dict(config.models.get(name, {})) for name in names}
    notes: list[str] = []
    if tune and set(names) & {"blend", *tuning.TUNED_MODELS}:
        fixed = {m: dict(p) for m, p in config.models.items() if p and m != "blend"}
        if "components" in params.get("blend", {}):
            fixed["blend"] = {}
        tuned = tuning.tune(
            split.train,
            names,
            test_days=_days(split),
            k=ev.k,
            metric=ev.metric,
            matrix_config=config.matrix,
            fixed=fixed,
            backstop_s=backstop_s,
            progress=say,
        )
        if tuned is None:
            notes.append("not tuned: the training side has no usable validation window")
        else:
            for name, tuned_params in tuned.params.items():
                params[name] = {**params[name], **tuned_params}
            if tuned.components is not None:
                params["blend"] = {"components": tuned.components}
                for key in ("rerank_all", "rerank_new"):
                    if getattr(tuned, key) is not None:
                        params["blend"][key] = getattr(tuned, key)
            notes += tuned.notes
            notes.append(
                f"tuned on a validation window ({tuned.n_fits} fits, {tuned.n_weightings} "
                f"weightings, {tuned.seconds:.0f} s)"
                + (
                    ": blend " + ", ".join(_describe(c) for c in tuned.components)
                    if tuned.components
                    else ""
                )
            )
    result = evaluate(
        {name: make_model(name, **params[name]) for name in names},
        split,
        k=ev.k,
        matrix_config=config.matrix,
        items_frame=items_frame,
        progress=say,
    )
    result.facts["metric"] = ev.metric
    applicability = applicable_protocols(result.facts, result.protocols)
    voting = [p for p, a in applicability.items() if a.applies]
    chosen = select_model(result.table, ev.metric, voting)
    return Comparison(split, split_note, result, applicability, chosen, params, notes)


def _days(split: TemporalSplit) -> int:
    """The outer holdout's length in whole days (the validation window takes as many)."""
    end = pd.Timestamp(split.test[C.TIMESTAMP].max()).normalize() + pd.Timedelta(days=1)
    return max(1, int((end - split.cutoff.normalize()) / pd.Timedelta(days=1)))


def _describe(component: dict[str, Any]) -> str:
    weight, weight_all = component["weight"], component.get("weight_all", component["weight"])
    text = f"{component['model']} {weight:g}/{weight_all:g}"
    if "half_life_days" in component.get("params", {}):
        text += f" (half-life {component['params']['half_life_days']:g} days)"
    return text
