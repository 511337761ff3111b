"""Jobs behind ``recsys uplift fit`` and ``recsys uplift assign``.

``fit`` validates a campaign history (rows without a treatment or with a non-numeric outcome are
rejected with their reason into ``rejects.csv``), judges an uplift model on a held-out share of
the rows it did not fit (Qini, uplift@30%, and the estimated outcome per customer of the uplift
policy, the response-model policy and a random half with the best single arm, at a 50%
budget), then refits on every clean row and saves the model (JSON + npz) with ``report.json``.
``assign`` applies a saved model to a customers file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.data.io import read_table
from recsys.errors import ConfigError, DataError
from recsys.offers.evaluation import (
    best_average_arm,
    policy_value,
    qini_coefficient,
    random_policy_value,
    uplift_at_k,
)
from recsys.offers.uplift import UpliftModel

MISSING_TREATMENT = "missing_treatment"
BAD_OUTCOME = "bad_outcome"
REPORT_BUDGET = 0.5


def _check_columns(frame: pd.DataFrame, names: list[str], path: Path) -> None:
    for name in names:
        if name not in frame.columns:
            raise DataError(
                f"column {name!r} not found in {path}; columns: {', '.join(map(str, frame))}"
            )


def clean_history(
    frame: pd.DataFrame, treatment_col: str, outcome_col: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a history into clean rows and rejects (``source_row``, ``reject_reason``)."""
    treatment = frame[treatment_col].astype("string").str.strip()
    outcome = pd.to_numeric(frame[outcome_col], errors="coerce")
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    reason[treatment.isna() | (treatment == "")] = MISSING_TREATMENT
    reason[reason.isna() & ~np.isfinite(outcome.fillna(np.inf))] = BAD_OUTCOME
    bad = reason.notna().to_numpy()
    rejects = frame[bad].copy()
    rejects.insert(0, "source_row", np.flatnonzero(bad))
    rejects["reject_reason"] = reason[bad].to_numpy()
    clean = frame[~bad].copy()
    clean[outcome_col] = outcome[~bad].astype(float)
    clean[treatment_col] = treatment[~bad].astype(str)
    return clean.reset_index(drop=True), rejects.reset_index(drop=True)


def _holdout(arms: pd.Series, share: float, seed: int) -> np.ndarray:
    rank = pd.Series(np.random.default_rng(seed).random(len(arms))).groupby(arms.to_numpy())
    return (rank.rank(pct=True) > 1 - share).to_numpy()


def judge(
    model: UpliftModel, frame: pd.DataFrame, treatment_col: str, outcome_col: str
) -> dict[str, Any]:
    """Scores of a fitted model on rows it did not see (randomised arms assumed)."""
    y = frame[outcome_col].to_numpy(float)
    a = frame[treatment_col].astype(str).to_numpy()
    policy = model.assign(frame, budget=REPORT_BUDGET)["arm"]
    response = model.assign_by_response(frame, budget=REPORT_BUDGET)["arm"]
    best, _ = best_average_arm(y, a, model.control_)
    tau = model.predict_uplift(frame, shrink=False)
    arms = {}
    for t, arm in enumerate(model.arms_):
        sel = (a == arm) | (a == model.control_)
        arms[arm] = {
            "qini": qini_coefficient(y[sel], a[sel] == arm, tau[sel, t]),
            "uplift_at_30pct": uplift_at_k(y[sel], a[sel] == arm, tau[sel, t], 0.3),
        }
    return {
        "rows": len(frame),
        "budget": REPORT_BUDGET,
        "uplift_policy": policy_value(y, a, policy).to_dict(),
        "response_policy": policy_value(y, a, response).to_dict(),
        "best_single_arm": best,
        "random_best_arm_policy": random_policy_value(y, a, best, model.control_, REPORT_BUDGET),
        "no_treatment": float(y[a == model.control_].mean()),
        "arms": arms,
    }


def fit_uplift(
    history: str | Path,
    *,
    treatment_col: str,
    control: str,
    outcome_col: str,
    out: str | Path,
    id_col: str | None = None,
    features: list[str] | None = None,
    learner: str = "dr",
    holdout: float = 0.3,
    seed: int = 0,
) -> dict[str, Any]:
    """Validate, judge on a holdout, refit on all clean rows, save. Returns the report dict."""
    if not 0 < holdout < 1:
        raise ConfigError(f"holdout == {holdout}, must be in (0, 1)")
    path = Path(history)
    frame = read_table(path)
    names = [treatment_col, outcome_col, *([id_col] if id_col else []), *(features or [])]
    _check_columns(frame, names, path)
    clean, rejects = clean_history(frame, treatment_col, outcome_col)
    if clean.empty:
        raise DataError(f"all {len(frame):,} rows of {path} were rejected")
    excluded = {treatment_col, outcome_col, *([id_col] if id_col else [])}
    cols = features or [c for c in frame.columns if c not in excluded]
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rejects.to_csv(out_dir / "rejects.csv", index=False)

    def make() -> UpliftModel:
        return UpliftModel(learner=learner, random_state=seed)

    test = _holdout(clean[treatment_col], holdout, seed)
    held = make().fit(
        clean.loc[~test, cols],
        clean.loc[~test, treatment_col],
        clean.loc[~test, outcome_col],
        control=control,
        features=cols,
    )
    evaluation = judge(held, clean[test].reset_index(drop=True), treatment_col, outcome_col)
    model = make().fit(
        clean[cols], clean[treatment_col], clean[outcome_col], control=control, features=cols
    )
    model.save(out_dir)
    report = {
        "history": str(path),
        "rows": {"read": len(frame), "accepted": len(clean), "rejected": len(rejects)},
        "reject_counts": rejects["reject_reason"].value_counts().to_dict(),
        "treatment": treatment_col,
        "control": model.control_,
        "outcome": outcome_col,
        "features": cols,
        "learner": learner,
        "holdout": evaluation,
        "average_effects": model.ate_,
        "heterogeneity": model.heterogeneity_,
        "policy_check": model.policy_check_,
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, default=float))
    return report


def assign_uplift(
    model_dir: str | Path,
    customers: str | Path,
    *,
    out: str | Path,
    id_col: str | None = None,
    budget: float = 1.0,
) -> pd.DataFrame:
    """Best arm per customer under a treated-share ``budget``; writes ``out`` (.csv/.parquet).

    Columns ``customer_id, arm, expected_uplift``; ``customer_id`` is ``id_col`` or, when that
    is not given and the file has no ``customer_id`` column, the 0-based row number.
    """
    out_path = Path(out)
    if out_path.suffix not in (".csv", ".parquet"):
        raise ConfigError(f"--out must end in .csv or .parquet, got {out_path.name!r}")
    model = UpliftModel.load(model_dir)
    frame = read_table(customers)
    if id_col is not None:
        _check_columns(frame, [id_col], Path(customers))
        ids = frame[id_col].astype(str).to_numpy()
    elif "customer_id" in frame.columns:
        ids = frame["customer_id"].astype(str).to_numpy()
    else:
        ids = np.arange(len(frame)).astype(str)
    policy = model.assign(frame, budget=budget)
    result = pd.DataFrame(
        {
            "customer_id": ids,
            "arm": policy["arm"].astype(str),
            "expected_uplift": policy["expected_uplift"],
        }
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if out_path.suffix == ".csv":
        result.to_csv(out_path, index=False)
    else:
        result.to_parquet(out_path, index=False)
    return result
