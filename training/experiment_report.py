"""``recsys experiments report``: each arm's outcomes, the differences, and the split's health.

Answers are attributed to an arm by their ``recommendation_id`` (it names the experiment and
arm: :mod:`recsys.events.recommendation_id`), outcomes to answers as in
:mod:`training.online_report`. The unit of analysis is the experiment's randomisation unit
(customer or session), so the tests compare independent observations (Kohavi, Tang & Xu,
*Trustworthy Online Controlled Experiments*, 2020, ch. 18):

- per arm: ``units`` (with at least one impression), ``impressions``, ``ctr`` (share of
  impressions clicked; descriptive: impressions of one unit are not independent), unit-level
  ``click_rate``, ``add_to_cart_rate``, ``conversion`` (shares of units with at least one
  such attributed event; Wilson 95% intervals via ``scipy.stats.binomtest``) and
  ``revenue_per_unit`` (mean attributed purchase value; percentile bootstrap interval);
- per treatment arm against the control (the first arm): for each unit-level rate the
  difference with a Newcombe hybrid-score 95% interval (Newcombe 1998, method 10, from the
  Wilson limits) and the two-sided two-proportion z-test (pooled variance), computed as the
  equivalent Pearson chi-square test of the 2x2 table (``scipy.stats.chi2_contingency`` with
  ``correction=False``: z squared equals that chi-square); for revenue per unit Welch's t-test
  (``scipy.stats.ttest_ind(equal_var=False)``) and its interval;
- sample-ratio mismatch: Pearson's chi-square goodness of fit of units per arm against the
  configured weights (``scipy.stats.chisquare``), flagged at p < 0.001 (Fabijan et al.,
  "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments", KDD 2019): when it
  fires, the split or the event collection is broken and no difference should be trusted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from recsys import columns as C
from recsys.errors import ConfigError
from recsys.experiments import Experiment
from training.online_report import (
    CONFIDENCE,
    answers_shown,
    attributed_outcomes,
    bootstrap_mean,
    wilson,
)

#: Unit-level rates: column -> the outcome event behind it.
UNIT_RATES: Final = {
    "click_rate": "click",
    "add_to_cart_rate": "add_to_cart",
    "conversion": "purchase",
}
SRM_ALPHA: Final = 0.001


@dataclass
class ExperimentReport:
    """The report of one experiment: ``arms`` (one row per arm), ``tests`` (one row per
    treatment arm x metric against the control) and the sample-ratio check ``srm``."""

    experiment: Experiment
    arms: pd.DataFrame
    tests: pd.DataFrame
    srm: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            rows = frame.to_dict(orient="records")
            return [{str(k): _plain(v) for k, v in row.items()} for row in rows]

        return {
            "experiment": self.experiment.to_json(),
            "arms": records(self.arms),
            "tests": records(self.tests),
            "sample_ratio": {k: _plain(v) for k, v in self.srm.items()},
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def unit_table(events: pd.DataFrame, experiment: Experiment) -> pd.DataFrame:
    """One row per unit shown an answer of ``experiment``: its ``arm`` (the first answer's),
    ``impressions``, ``clicked_impressions``, a 0/1 flag per unit-level outcome and
    ``revenue``. A unit seen in two arms (an assignment or client bug) keeps its first."""
    unit = C.CUSTOMER_ID if experiment.unit == "customer" else "session_id"
    answers = answers_shown(events)
    answers = answers[(answers["experiment"] == experiment.name) & answers[unit].notna()]
    answers = answers.assign(unit=answers[unit].astype(str)).sort_values(C.TIMESTAMP)
    outcomes = attributed_outcomes(events)
    outcomes = outcomes[outcomes["recommendation_id"].isin(answers.index)]
    clicked = set(outcomes.loc[outcomes[C.EVENT_TYPE] == "click", "recommendation_id"])
    answers["clicked"] = answers.index.isin(clicked)
    per = answers.groupby("unit", sort=True).agg(
        arm=("arm", "first"),
        impressions=("arm", "size"),
        clicked_impressions=("clicked", "sum"),
    )
    unit_of = answers["unit"]
    for rate, kind in UNIT_RATES.items():
        hit = outcomes.loc[outcomes[C.EVENT_TYPE] == kind, "recommendation_id"]
        per[rate] = per.index.isin(set(unit_of.reindex(hit.unique()))).astype(int)
    bought = outcomes[outcomes[C.EVENT_TYPE] == "purchase"]
    revenue = bought.groupby(bought["recommendation_id"].map(unit_of))["value"].sum()
    per["revenue"] = revenue.reindex(per.index).fillna(0.0).astype(float)
    return per


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Newcombe's hybrid score 95% interval of ``k2/n2 - k1/n1`` (method 10, from the two
    Wilson intervals); NaNs when an arm is empty."""
    if n1 == 0 or n2 == 0:
        return (float("nan"), float("nan"))
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p2 - p1
    return (d - math.hypot(p2 - l2, u1 - p1), d + math.hypot(u2 - p2, p1 - l1))


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) of the pooled two-proportion z-test of arm 2 against arm 1, as the
    equivalent uncorrected chi-square test of the 2x2 table (scipy); (0, 1) when nothing
    varies; NaNs when an arm has no unit (no test was run)."""
    if n1 == 0 or n2 == 0:
        return (float("nan"), float("nan"))
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    if table.sum(axis=0).min() == 0:
        return (0.0, 1.0)
    res = stats.chi2_contingency(table, correction=False)
    z = math.copysign(math.sqrt(res.statistic), k2 / n2 - k1 / n1)
    return (z, float(res.pvalue))


def sample_ratio(units: pd.Series, experiment: Experiment) -> dict[str, Any]:
    """Chi-square goodness of fit of units per arm (``units``: arm -> count) against the
    configured shares; ``mismatch`` when p < 0.001."""
    shares = experiment.shares
    observed = np.array([int(units.get(arm, 0)) for arm in shares], dtype=float)
    total = observed.sum()
    out: dict[str, Any] = {
        "units": dict(zip(shares, observed.astype(int).tolist(), strict=True)),
        "expected_shares": shares,
        "alpha": SRM_ALPHA,
    }
    if total == 0:
        return out | {"chi2": float("nan"), "p_value": float("nan"), "mismatch": False}
    expected = total * np.array(list(shares.values()))
    res = stats.chisquare(observed, expected)
    p = float(res.pvalue)
    return out | {"chi2": float(res.statistic), "p_value": p, "mismatch": p < SRM_ALPHA}


def experiment_report(events: pd.DataFrame, experiment: Experiment) -> ExperimentReport:
    """The report of ``experiment`` from exported events (see the module doc)."""
    per = unit_table(events, experiment)
    rows = []
    for arm in experiment.arms:
        part = per[per["arm"] == arm.arm]
        n, shown = len(part), int(part["impressions"].sum())
        clicked = int(part["clicked_impressions"].sum())
        low, high = wilson(clicked, shown)
        row: dict[str, Any] = {
            "arm": arm.arm,
            "version": arm.version,
            "share": arm.buckets / 10_000,
            "units": n,
            "impressions": shown,
            "ctr": clicked / shown if shown else float("nan"),
            "ctr_low": low,
            "ctr_high": high,
        }
        for rate in UNIT_RATES:
            k = int(part[rate].sum())
            low, high = wilson(k, n)
            row |= {rate: k / n if n else float("nan"), f"{rate}_low": low, f"{rate}_high": high}
        values = part["revenue"].to_numpy(dtype=float)
        low, high = bootstrap_mean(values)
        mean = float(values.mean()) if n else float("nan")
        row |= {
            "revenue_per_unit": mean,
            "revenue_per_unit_low": low,
            "revenue_per_unit_high": high,
        }
        rows.append(row)
    arms = pd.DataFrame(rows)
    tests = _tests(per, experiment)
    srm = sample_ratio(per["arm"].value_counts(), experiment)
    return ExperimentReport(experiment, arms, tests, srm)


def _tests(per: pd.DataFrame, experiment: Experiment) -> pd.DataFrame:
    control = experiment.arms[0].arm
    base = per[per["arm"] == control]
    rows = []
    for arm in experiment.arms[1:]:
        part = per[per["arm"] == arm.arm]
        for rate in UNIT_RATES:
            k1, n1, k2, n2 = int(base[rate].sum()), len(base), int(part[rate].sum()), len(part)
            z, p = two_proportion_test(k1, n1, k2, n2)
            low, high = newcombe(k1, n1, k2, n2)
            diff = k2 / n2 - k1 / n1 if n1 and n2 else float("nan")
            rows.append(_test_row(arm.arm, control, rate, diff, low, high, "z", z, p))
        a, b = base["revenue"].to_numpy(float), part["revenue"].to_numpy(float)
        nan = float("nan")
        if len(a) > 1 and len(b) > 1 and (a.std() > 0 or b.std() > 0):
            res = stats.ttest_ind(b, a, equal_var=False)
            ci = res.confidence_interval(confidence_level=CONFIDENCE)
            stat, p, low, high = float(res.statistic), float(res.pvalue), ci.low, ci.high
        elif len(a) > 1 and len(b) > 1:  # no revenue varies: nothing differs
            stat, p, low, high = 0.0, 1.0, 0.0, 0.0
        else:  # too few units to test
            stat, p, low, high = nan, nan, nan, nan
        diff = float(b.mean() - a.mean()) if len(a) and len(b) else float("nan")
        rows.append(_test_row(arm.arm, control, "revenue_per_unit", diff, low, high, "t", stat, p))
    return pd.DataFrame(rows)


def _test_row(
    arm: str, control: str, metric: str, diff: float, low: float, high: float, kind: str,
    stat: float, p: float,
) -> dict[str, Any]:  # fmt: skip
    return {
        "arm": arm,
        "control": control,
        "metric": metric,
        "difference": diff,
        "difference_low": float(low),
        "difference_high": float(high),
        "test": "two-proportion z" if kind == "z" else "Welch t",
        "statistic": stat,
        "p_value": p,
        "significant": bool(p < 1 - CONFIDENCE),  # False when no test ran (p is NaN)
    }


def write_experiment_report(report: ExperimentReport, out: str | Path) -> Path:
    """The report as JSON (``.json``), Markdown (``.md``) or HTML (``.html``/``.htm``);
    ConfigError for another suffix."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in {".json", ".md", ".html", ".htm"}:
        raise ConfigError(f"--out {out}: write .json, .md or .html")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        path.write_text(json.dumps(report.to_json(), indent=2))
        return path
    srm = report.srm
    verdict = "MISMATCH: do not trust the differences" if srm.get("mismatch") else "ok"
    title = f"Experiment {report.experiment.name} ({report.experiment.unit}s)"
    srm_line = sample_ratio_line(srm, verdict)
    if suffix == ".md":
        parts = [
            f"# {title}",
            "",
            _markdown(report.arms),
            "",
            _markdown(report.tests),
            "",
            srm_line,
        ]
        path.write_text("\n".join(parts) + "\n")
    else:
        body = [
            f"<h1>{title}</h1>",
            report.arms.to_html(index=False, na_rep="-"),
            "<h2>Against the control</h2>",
            report.tests.to_html(index=False, na_rep="-"),
            f"<p>{srm_line}</p>",
        ]
        head = f"<!doctype html><meta charset='utf-8'><title>{title}</title>"
        path.write_text(head + "".join(body))
    return path


def sample_ratio_line(srm: dict[str, Any], verdict: str) -> str:
    """One line on the sample-ratio check; with no unit yet, says so instead of ``p = nan``."""
    units = srm.get("units") or {}
    if not sum(units.values()):
        return f"Sample ratio: no unit has seen the experiment yet (units {units}); nothing to test"
    return f"Sample ratio: units {units}, chi-square p = {srm['p_value']:.3g} ({verdict})"


def _markdown(frame: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}" if math.isfinite(v) else "-"
        return str(v)

    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])
