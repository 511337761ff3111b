"""Picking the model to ship from an evaluation table.

The engine's default has to be good at discovery (new items) *and* at re-buys (all purchases),
so a model is judged by its worst showing: for each protocol its metric is divided by the best
model's metric on that protocol, and the model with the highest minimum ratio wins (ties go to
the higher mean ratio). With a single protocol this is simply the best model on it.
"""

from __future__ import annotations

import pandas as pd

from recsys.errors import ConfigError

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr")


def relative_scores(table: pd.DataFrame, metric: str = "ndcg") -> pd.DataFrame:
    """Models x protocols matrix of ``metric / best metric on that protocol``."""
    if metric not in METRICS:
        raise ConfigError(f"metric {metric!r} unknown; choose one of {list(METRICS)}")
    wide = table.pivot_table(index="model", columns="protocol", values=metric, aggfunc="first")
    best = wide.max(axis=0).replace(0.0, float("nan"))
    return (wide / best).fillna(0.0)


def select_model(table: pd.DataFrame, metric: str = "ndcg") -> str:
    """Name of the model with the best worst-protocol relative ``metric`` (see module doc)."""
    if table.empty:
        raise ConfigError("no evaluation results to select a model from")
    rel = relative_scores(table, metric)
    ranking = pd.DataFrame({"worst": rel.min(axis=1), "mean": rel.mean(axis=1)})
    ranking = ranking.sort_values(["worst", "mean"], ascending=False, kind="stable")
    return str(ranking.index[0])
