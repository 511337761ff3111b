"""The result of an evaluation: a tidy table plus the facts of the split, and its renderings.

:class:`EvaluationResult` keeps one row per (model, protocol) in ``table`` and renders it as a
side-by-side Markdown report (one block per protocol, models as rows, best value per column in
bold) or CSV. The Markdown is formatted here rather than with ``DataFrame.to_markdown``, which
needs the optional ``tabulate`` package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import METRICS

if TYPE_CHECKING:
    from recsys.evaluation.protocols import GroundTruth

#: Columns of :attr:`EvaluationResult.table`, in order.
TABLE_COLUMNS: tuple[str, ...] = ("model", "protocol", *METRICS, "fit_time_s", "n_customers")

_DESCRIPTIONS = {
    "new_items": (
        "relevant = items bought in the test window that the customer had not bought in "
        "training (viewed or carted items count); lists exclude bought items (the default answer)"
    ),
    "all_purchases": (
        "relevant = every distinct item bought in the test window, re-buys included; lists may "
        "include bought items (the include_purchased answer)"
    ),
}


def _fmt_int(value: Any) -> str:
    return f"{int(value):,}"


def _fmt(value: float) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.4f}")
    )


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Metrics of several models on one temporal split.

    Attributes
    ----------
    table:
        One row per (model, protocol); columns :data:`TABLE_COLUMNS`.
    k:
        The list length judged.
    facts:
        JSON-ready facts of the split (cutoff, event counts, dropped test purchases, ...).
    truths:
        Protocol -> :class:`~recsys.evaluation.protocols.GroundTruth`, to score further lists
        (blends, precomputed artifacts) on exactly the same customers; see :meth:`with_scores`.
    """

    table: pd.DataFrame
    k: int
    facts: dict[str, Any] = field(default_factory=dict)
    truths: Mapping[str, GroundTruth] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in TABLE_COLUMNS if c not in self.table.columns]
        if missing:
            raise DataError(f"evaluation table lacks column(s) {missing}")

    @property
    def models(self) -> list[str]:
        """Model names in table order."""
        return list(pd.unique(self.table["model"]))

    @property
    def protocols(self) -> list[str]:
        """Protocol names in table order."""
        return list(pd.unique(self.table["protocol"]))

    # ------------------------------------------------------------------ queries
    def metric(self, metric: str = "ndcg", protocol: str = "both") -> pd.Series:
        """One metric per model (index: model, table order); ``"both"`` averages protocols.

        Under ``"both"`` a model must have a value under every protocol of the table to get a
        mean (a model scored on one protocol only gets NaN), so the engine's default is judged
        on discovery and re-buys alike.
        """
        if metric not in METRICS:
            raise ConfigError(f"unknown metric {metric!r}; valid: {list(METRICS)}")
        if protocol in (None, "both"):
            wide = self.table.pivot(index="model", columns="protocol", values=metric)
            wide = wide.reindex(index=self.models, columns=self.protocols)
            return wide.mean(axis=1, skipna=False).rename(metric)
        if protocol not in self.protocols:
            raise ConfigError(f"protocol {protocol!r} not evaluated; have {self.protocols}")
        rows = self.table[self.table["protocol"] == protocol]
        return pd.Series(rows[metric].to_numpy(dtype=float), index=rows["model"], name=metric)

    def best(self, metric: str = "ndcg", protocol: str = "both") -> str:
        """Name of the model with the highest ``metric`` (first in table order on a tie)."""
        values = self.metric(metric, protocol)
        if values.isna().all():
            raise DataError(f"no model has a {metric} value under protocol {protocol!r}")
        return str(values.idxmax())

    def with_scores(
        self,
        model: str,
        scores: Mapping[str, Mapping[str, float]],
        *,
        fit_time_s: float = float("nan"),
    ) -> EvaluationResult:
        """A copy with one more model, from per-protocol scores.

        ``scores`` maps protocol -> the dict returned by
        :func:`~recsys.evaluation.protocols.score_recommendations`.
        """
        if model in self.models:
            raise ConfigError(f"model {model!r} is already in the evaluation")
        if not scores:
            raise ConfigError(f"no scores given for model {model!r}")
        rows = []
        for protocol, values in scores.items():
            missing = [m for m in (*METRICS, "n_customers") if m not in values]
            if missing:
                raise ConfigError(f"scores of {model!r} under {protocol!r} lack {missing}")
            rows.append(
                {
                    "model": model,
                    "protocol": protocol,
                    **{m: values[m] for m in METRICS},
                    "fit_time_s": fit_time_s,
                    "n_customers": int(values["n_customers"]),
                }
            )
        extra = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
        table = pd.concat([self.table, extra], ignore_index=True) if len(self.table) else extra
        return replace(self, table=table)

    # ------------------------------------------------------------------ renderings
    def _summary_lines(self) -> list[str]:
        f = self.facts
        lines = []
        if "cutoff" in f:
            lines.append(
                f"Temporal split at {f['cutoff']}: {_fmt_int(f.get('n_train_events', 0))} "
                f"training events, {_fmt_int(f.get('n_test_events', 0))} test events."
            )
        if "n_train_customers" in f:
            lines.append(
                f"Training catalog: {_fmt_int(f['n_train_customers'])} customers x "
                f"{_fmt_int(f['n_train_items'])} items."
            )
        if "n_test_purchases" in f:
            lines.append(
                f"Test purchases: {_fmt_int(f['n_test_purchases'])}; kept "
                f"{_fmt_int(f['n_kept_purchases'])}; dropped "
                f"{_fmt_int(f['n_dropped_cold_customer_purchases'])} by "
                f"{_fmt_int(f['n_cold_customers'])} customers unseen in training and "
                f"{_fmt_int(f['n_dropped_new_item_purchases'])} of items new in the test window "
                f"({_fmt_int(f['n_new_items'])} items no model can recommend)."
            )
        return lines

    def _block(self, protocol: str) -> list[str]:
        rows = self.table[self.table["protocol"] == protocol]
        k = self.k
        headers = [f"{m}@{k}" if m != "coverage" else m for m in METRICS] + ["fit_time_s"]
        lines = [f"## Protocol `{protocol}`", ""]
        if protocol in _DESCRIPTIONS:
            lines += [_DESCRIPTIONS[protocol] + ".", ""]
        n_customers = rows["n_customers"].max() if len(rows) else 0
        skipped = self.facts.get("n_customers_without_relevant", {}).get(protocol)
        note = f"Customers evaluated: {_fmt_int(n_customers)}"
        if skipped is not None:
            note += f" ({_fmt_int(skipped)} more had nothing relevant and were skipped)"
        lines += [note + ".", ""]
        lines.append("| model | " + " | ".join(headers) + " |")
        lines.append("|:--|" + "--:|" * len(headers))

        columns = [*METRICS, "fit_time_s"]
        values = rows[columns].to_numpy(dtype=float)
        rounded = np.round(values, 4)
        bold = np.zeros(values.shape, dtype=bool)
        if len(rows) > 1:
            for j, col in enumerate(columns):
                col_vals = rounded[:, j]
                if np.isnan(col_vals).all():
                    continue
                target = np.nanmin(col_vals) if col == "fit_time_s" else np.nanmax(col_vals)
                bold[:, j] = col_vals == target
        for i, model in enumerate(rows["model"]):
            cells = []
            for j in range(len(columns)):
                text = _fmt(float(values[i, j]))
                cells.append(f"**{text}**" if bold[i, j] else text)
            lines.append(f"| {_escape(model)} | " + " | ".join(cells) + " |")
        return lines

    def to_markdown(self) -> str:
        """Side-by-side Markdown: a summary of the split, then one table per protocol.

        Models are rows; metric columns hold 4 decimals; the best value of each column is in
        bold (highest for metrics, lowest for ``fit_time_s``; ties all bold; nothing is bold
        with a single model). ``n/a`` marks a missing value (e.g. the fit time of
        precomputed lists).
        """
        lines = [f"# Offline evaluation at k={self.k}", ""]
        summary = self._summary_lines()
        if summary:
            lines += [" ".join(summary), ""]
        for name, reason in self.facts.get("skipped_models", {}).items():
            lines += [f"- skipped `{_escape(name)}`: {_escape(reason)}"]
        if self.facts.get("skipped_models"):
            lines += [""]
        for protocol in self.protocols:
            lines += self._block(protocol) + [""]
        return "\n".join(lines).rstrip("\n") + "\n"

    def to_markdown_file(self, path: str | Path) -> Path:
        """Write :meth:`to_markdown` to ``path`` (parents created); returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.to_markdown(), encoding="utf-8")
        return p

    def to_csv(self, path: str | Path) -> Path:
        """Write the tidy ``table`` (full precision, no index) to ``path``; returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(p, index=False)
        return p
