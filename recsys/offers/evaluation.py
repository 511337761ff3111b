"""Judging uplift models and targeting policies on held-out randomised data.

* :func:`qini_curve` / :func:`qini_coefficient` (Radcliffe 2007, "Using control groups to
  target on predicted lift"): customers sorted by predicted uplift; at each depth the
  incremental outcome ``Y_t(k) - Y_c(k) * N_t(k) / N_c(k)``.
* :func:`uplift_at_k`: treated minus control mean outcome among the top ``k`` share.
* :func:`policy_value`: inverse-propensity (Horvitz-Thompson) estimate of the mean outcome per
  customer if a targeting policy had been followed, from a randomised experiment
  (Dudik, Langford & Li 2011, "Doubly robust policy evaluation and learning"): unbiased when
  the propensities are the true assignment probabilities.
* :func:`random_policy_value`: the exact value of "treat a random share with one arm".
* :func:`best_average_arm`: the arm with the highest mean outcome difference to control.
* :func:`auc_interval`: ROC AUC of a ranking (e.g. redeemers vs non-redeemers of a campaign),
  optionally pooled within groups, with a stratified percentile bootstrap interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from recsys.errors import DataError


def _arrays(*values: Any) -> list[np.ndarray]:
    out = [np.asarray(v) for v in values]
    if len({len(v) for v in out}) != 1:
        raise DataError("inputs must have the same length")
    return out


@dataclass(frozen=True)
class PolicyValue:
    """Estimated mean outcome per customer under a policy, with its standard error."""

    value: float
    se: float
    n: int
    n_matched: int

    def to_dict(self) -> dict[str, float | int]:
        return {"value": self.value, "se": self.se, "n": self.n, "n_matched": self.n_matched}


def policy_value(
    outcome: Any,
    treatment: Any,
    policy: Any,
    propensity: dict[str, float] | None = None,
) -> PolicyValue:
    """Inverse-propensity estimate of a policy's mean outcome on randomised data.

    Parameters
    ----------
    outcome, treatment, policy:
        Per customer: the observed outcome, the arm actually received, and the arm the policy
        would give (arms compared as text). Length n each.
    propensity:
        Probability of each arm in the experiment; default the observed arm shares (the
        design shares when the experiment was balanced).

    Returns
    -------
    PolicyValue: ``mean(1[A = pi] * Y / p(A))`` and its standard error (``std / sqrt(n)``).
    """
    y, a, p = _arrays(outcome, treatment, policy)
    y = y.astype(float)
    a = a.astype(str)
    p = p.astype(str)
    if propensity is None:
        names, counts = np.unique(a, return_counts=True)
        propensity = dict(zip(names.tolist(), (counts / len(a)).tolist(), strict=True))
    unknown = sorted(set(p.tolist()) - set(propensity))
    if unknown:
        raise DataError(f"policy arm {unknown[0]!r} never occurs in the experiment")
    prob = np.array([propensity[x] for x in a])
    match = a == p
    terms = np.where(match, y / prob, 0.0)
    se = float(terms.std(ddof=1) / np.sqrt(len(terms))) if len(terms) > 1 else float("nan")
    return PolicyValue(float(terms.mean()), se, len(terms), int(match.sum()))


def random_policy_value(
    outcome: Any, treatment: Any, arm: str, control: str, share: float
) -> float:
    """Mean outcome of treating a random ``share`` with ``arm`` and leaving the rest alone."""
    y, a = _arrays(outcome, treatment)
    a = a.astype(str)
    y = y.astype(float)
    if not (a == arm).any() or not (a == control).any():
        raise DataError(f"arms {arm!r} and {control!r} must both occur")
    return float(share * y[a == arm].mean() + (1 - share) * y[a == control].mean())


def arm_means(outcome: Any, treatment: Any) -> dict[str, float]:
    """Mean outcome per arm."""
    y, a = _arrays(outcome, treatment)
    frame = pd.DataFrame({"y": y.astype(float), "a": a.astype(str)})
    return {str(k): float(v) for k, v in frame.groupby("a")["y"].mean().items()}


def best_average_arm(outcome: Any, treatment: Any, control: str) -> tuple[str, float]:
    """The arm with the largest mean outcome difference to control, and that difference."""
    means = arm_means(outcome, treatment)
    if control not in means:
        raise DataError(f"control value {control!r} does not occur")
    effects = {k: v - means[control] for k, v in means.items() if k != control}
    if not effects:
        raise DataError("no treatment arm besides control")
    best = max(sorted(effects), key=lambda k: effects[k])
    return best, effects[best]


def qini_curve(outcome: Any, treated: Any, score: Any, n_points: int = 100) -> pd.DataFrame:
    """Qini curve of one treatment vs control.

    ``treated`` is 1 for treated rows, 0 for control rows (rows of other arms excluded by the
    caller). Returns ``n_points + 1`` rows: ``fraction`` (0..1 of customers targeted, best
    score first), ``qini`` (incremental outcomes, in outcome units summed over the treated
    group scale) and ``random`` (the straight line of random targeting).
    """
    y, t, s = _arrays(outcome, treated, score)
    y = y.astype(float)
    t = t.astype(bool)
    order = np.lexsort((np.arange(len(s)), -s.astype(float)))
    y, t = y[order], t[order]
    cy_t = np.cumsum(y * t)
    cy_c = np.cumsum(y * ~t)
    n_t = np.cumsum(t)
    n_c = np.cumsum(~t)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = cy_t - np.where(n_c > 0, cy_c * n_t / n_c, 0.0)
    idx = np.unique(np.linspace(0, len(y), n_points + 1).round().astype(int))
    qini = np.concatenate([[0.0], q])[idx]
    return pd.DataFrame({"fraction": idx / len(y), "qini": qini, "random": qini[-1] * idx / len(y)})


def qini_coefficient(outcome: Any, treated: Any, score: Any) -> float:
    """Area between the Qini curve and the random line, divided by the number of treated
    rows: mean incremental outcome per treated customer gained by ranking (0 = random)."""
    t = np.asarray(treated).astype(bool)
    curve = qini_curve(outcome, treated, score, n_points=200)
    gap = (curve["qini"] - curve["random"]).to_numpy()
    area = float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(curve["fraction"].to_numpy())))
    return area / max(int(t.sum()), 1)


def uplift_at_k(outcome: Any, treated: Any, score: Any, k: float = 0.3) -> float:
    """Treated minus control mean outcome among the top ``k`` share by ``score``."""
    if not 0 < k <= 1:
        raise DataError(f"k == {k}, must be a share in (0, 1]")
    y, t, s = _arrays(outcome, treated, score)
    order = np.lexsort((np.arange(len(s)), -s.astype(float)))[: max(1, int(round(k * len(s))))]
    yt = y[order].astype(float)
    tt = t[order].astype(bool)
    if not tt.any() or tt.all():
        return float("nan")
    return float(yt[tt].mean() - yt[~tt].mean())


@dataclass(frozen=True)
class AucInterval:
    """ROC AUC with its percentile bootstrap interval.

    ``auc`` is the probability that a random positive scores above a random negative (ties
    count one half); with groups, over pairs taken within the same group only. ``n_pos`` and
    ``n_neg`` count the rows of the groups that have both classes (``n_groups`` of them).
    """

    auc: float
    low: float
    high: float
    n_pos: int
    n_neg: int
    n_groups: int
    confidence: float

    def __str__(self) -> str:
        return f"{self.auc:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def to_dict(self) -> dict[str, float | int]:
        return {
            "auc": self.auc,
            "low": self.low,
            "high": self.high,
            "n_pos": self.n_pos,
            "n_neg": self.n_neg,
            "n_groups": self.n_groups,
            "confidence": self.confidence,
        }


def _u_statistic(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Mann-Whitney U of ``pos`` over ``neg`` along the last axis (ties count one half)."""
    ranks = rankdata(np.concatenate([pos, neg], axis=-1), axis=-1)
    p = pos.shape[-1]
    return ranks[..., :p].sum(axis=-1) - p * (p + 1) / 2


def auc_interval(
    labels: Any,
    scores: Any,
    groups: Any = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
) -> AucInterval:
    """ROC AUC of ``scores`` for binary ``labels``, with a bootstrap interval.

    Parameters
    ----------
    labels, scores:
        Per row: 1 for a positive (e.g. redeemed), 0 for a negative; a higher score ranks
        higher. Length n each.
    groups:
        Optional per-row group (e.g. the campaign). The AUC is then pooled *within* groups:
        the mean of the per-group AUCs weighted by ``n_pos * n_neg``, i.e. the share of
        (positive, negative) pairs of the same group ranked right. Groups with one class only
        have no pairs and are left out.

    The point estimate is :func:`sklearn.metrics.roc_auc_score` (per group). The interval is
    the percentile interval of a stratified bootstrap (positives and negatives of each group
    resampled separately, so every resample keeps the observed counts; as pROC does, Robin et
    al. 2011, "pROC", BMC Bioinformatics 12:77; Efron & Tibshirani 1993, ch. 13), from a fixed
    ``seed``; the resampled AUCs are Mann-Whitney U / (n_pos * n_neg).

    Raises ``DataError`` when labels are not 0/1, lengths differ, or no group has both classes.
    """
    y, s = _arrays(labels, scores)
    g = np.zeros(len(y), dtype=int) if groups is None else _arrays(groups, y)[0]
    if not np.isin(y, (0, 1)).all():
        raise DataError("labels must be 0 or 1")
    if not 0 < confidence < 1 or n_resamples < 1:
        raise DataError("confidence must be in (0, 1) and n_resamples >= 1")
    y = y.astype(bool)
    s = s.astype(float)
    rng = np.random.default_rng(seed)
    aucs, weights, n_pos, n_neg = [], [], 0, 0
    boot = np.zeros(n_resamples)
    for key in pd.unique(g):
        sel = g == key
        pos, neg = s[sel & y], s[sel & ~y]
        if not len(pos) or not len(neg):
            continue
        pairs = len(pos) * len(neg)
        aucs.append(roc_auc_score(y[sel], s[sel]))
        weights.append(pairs)
        n_pos += len(pos)
        n_neg += len(neg)
        pos_b = pos[rng.integers(0, len(pos), (n_resamples, len(pos)))]
        neg_b = neg[rng.integers(0, len(neg), (n_resamples, len(neg)))]
        boot += _u_statistic(pos_b, neg_b)
    if not weights:
        raise DataError("no group has both positives and negatives: the AUC is undefined")
    total = float(sum(weights))
    boot /= total
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    return AucInterval(
        float(np.dot(aucs, weights) / total),
        float(low),
        float(high),
        n_pos,
        n_neg,
        len(weights),
        confidence,
    )
