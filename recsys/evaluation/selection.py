"""Picking the model to ship from an evaluation table, with protocols that fit the shop.

A protocol *applies* to a shop when at least :data:`MIN_CUSTOMERS` customers are judged on it
and, for ``all_purchases``, when repeat purchases (kept test pairs the customer had bought
before the cutoff) are at least :data:`MIN_REPEAT_SHARE` of the holdout's purchases: where
nobody buys twice, "all purchases" measures nothing the default answer does not. Only
protocols that apply vote; with none, every evaluated protocol votes (and the output says so).

Among the voting protocols a model is judged by its worst showing: its metric divided by the
best model's metric on each protocol, the highest minimum ratio winning (ties: the higher mean).
A model that loses to a simple baseline (:data:`SIMPLE_BASELINES`: popular, buy again,
recently engaged) on a voting protocol is only chosen when no model avoids that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recsys.errors import ConfigError

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr")
MIN_CUSTOMERS = 100
MIN_REPEAT_SHARE = 0.10
#: Candidates a shipped model must not lose to: popularity, buy again, recently engaged.
SIMPLE_BASELINES = ("popular", "trending", "repeat", "recent")


@dataclass(frozen=True)
class Applicability:
    """Whether a protocol votes in model selection, and why (one line for the output)."""

    protocol: str
    applies: bool
    reason: str


def applicable_protocols(
    facts: Mapping[str, Any], protocols: Iterable[str]
) -> dict[str, Applicability]:
    """Protocol -> :class:`Applicability`, from an evaluation's ``facts``."""
    out = {}
    share = float(facts.get("repeat_share", 0.0))
    for protocol in protocols:
        n = int(facts.get("n_customers", {}).get(protocol, 0))
        if n < MIN_CUSTOMERS:
            out[protocol] = Applicability(
                protocol, False, f"{n:,} customers judged (fewer than {MIN_CUSTOMERS})"
            )
        elif protocol == "all_purchases" and share < MIN_REPEAT_SHARE:
            out[protocol] = Applicability(
                protocol,
                False,
                f"repeat purchases are {share:.1%} of the holdout's (below "
                f"{MIN_REPEAT_SHARE:.0%}): nobody re-buys enough to judge it",
            )
        else:
            extra = f", repeat purchases {share:.1%}" if protocol == "all_purchases" else ""
            out[protocol] = Applicability(protocol, True, f"{n:,} customers judged{extra}")
    return out


def relative_scores(table: pd.DataFrame, metric: str = "ndcg") -> pd.DataFrame:
    """Models x protocols matrix of ``metric / best metric on that protocol``."""
    if metric not in METRICS:
        raise ConfigError(f"metric {metric!r} unknown; choose one of {list(METRICS)}")
    wide = table.pivot_table(index="model", columns="protocol", values=metric, aggfunc="first")
    best = wide.max(axis=0).replace(0.0, float("nan"))
    return (wide / best).fillna(0.0)


def _loses_to_a_baseline(wide: pd.DataFrame) -> pd.Series:
    baselines = [m for m in SIMPLE_BASELINES if m in wide.index]
    if not baselines:
        return pd.Series(False, index=wide.index)
    best_baseline = wide.loc[baselines].max(axis=0)
    return (wide < best_baseline - 1e-12).any(axis=1)


def select_model(
    table: pd.DataFrame, metric: str = "ndcg", protocols: Iterable[str] | None = None
) -> str:
    """Name of the model to ship (see the module doc); ``protocols``: those that vote."""
    if table.empty:
        raise ConfigError("no evaluation results to select a model from")
    rel = relative_scores(table, metric)
    voting = [p for p in (protocols or ()) if p in rel.columns] or list(rel.columns)
    rel = rel[voting]
    wide = table.pivot_table(index="model", columns="protocol", values=metric, aggfunc="first")
    loses = _loses_to_a_baseline(wide[voting].fillna(0.0)).reindex(rel.index, fill_value=True)
    ranking = pd.DataFrame(
        {"fair": ~loses, "worst": rel.min(axis=1), "mean": rel.mean(axis=1)}, index=rel.index
    )
    ranking = ranking.sort_values(["fair", "worst", "mean"], ascending=False, kind="stable")
    return str(ranking.index[0])
