"""Uplift targeting on the Hillstrom e-mail experiment, judged on rows the models never saw.

The 42,667 rows of ``hillstrom_dev.csv.gz`` are split once (fixed seed) into a fitting half and
a judging half. On the judging half, at a 50% mailing budget, the estimated visits per customer
(inverse-propensity estimate, randomised arms) of:

* the uplift policy (S-, T- and DR-learner): the half with the highest predicted uplift, each with
  its best e-mail;
* (a) a random half mailed with the best single e-mail (chosen on the fitting half);
* (b) the response model: the half with the highest predicted visit probability if mailed;
* no e-mail at all, for scale.

Run: ``python -m benchmarks.bench_uplift [--data DIR] [--budget 0.5]``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.common import SHARED_DATA, save  # noqa: E402
from recsys.offers.evaluation import (  # noqa: E402
    best_average_arm,
    policy_value,
    qini_coefficient,
    random_policy_value,
    uplift_at_k,
)
from recsys.offers.uplift import UpliftModel  # noqa: E402

FEATURES = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]
CONTROL = "No E-Mail"
SEED = 20260


def _data_dir(arg: str | None) -> Path:
    for candidate in (arg, os.environ.get("RECSYS_SHARED_DATA"), SHARED_DATA, "/work/shared/data"):
        if candidate and (Path(candidate) / "hillstrom" / "hillstrom_dev.csv.gz").exists():
            return Path(candidate) / "hillstrom"
        if candidate and (Path(candidate) / "hillstrom_dev.csv.gz").exists():
            return Path(candidate)
    raise SystemExit("hillstrom data not found: pass --data DIR")


def split(frame: pd.DataFrame, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Half to fit, half to judge; stratified by arm so both halves stay balanced."""
    rng = np.random.default_rng(seed)
    u = rng.random(len(frame))
    rank = pd.Series(u).groupby(frame["segment"].to_numpy()).rank(pct=True).to_numpy()
    fit = rank <= 0.5
    return frame[fit].reset_index(drop=True), frame[~fit].reset_index(drop=True)


def run(data: Path, budget: float, outcome: str = "visit") -> dict:
    frame = pd.read_csv(data / "hillstrom_dev.csv.gz")
    fit, judge = split(frame)
    y, a = judge[outcome].to_numpy(float), judge["segment"].astype(str).to_numpy()
    best_arm, best_effect = best_average_arm(fit[outcome], fit["segment"], CONTROL)
    rows = {
        "no e-mail": {"value": float(y[a == CONTROL].mean()), "se": float("nan")},
        f"(a) random {budget:.0%} with {best_arm}": {
            "value": random_policy_value(y, a, best_arm, CONTROL, budget),
            "se": float("nan"),
        },
    }
    details: dict = {"best_arm": best_arm, "best_arm_effect_fit": best_effect}
    for learner in ("s", "t", "dr"):
        model = UpliftModel(learner=learner, random_state=SEED).fit(
            fit[FEATURES], fit["segment"], fit[outcome], control=CONTROL
        )
        policy = model.assign(judge[FEATURES], budget=budget)
        rows[f"uplift policy ({learner.upper()}-learner)"] = policy_value(
            y, a, policy["arm"]
        ).to_dict()
        if learner == "s":
            response = model.assign_by_response(judge[FEATURES], budget=budget)
            rows["(b) response model"] = policy_value(y, a, response["arm"]).to_dict()
        tau = model.predict_uplift(judge[FEATURES], shrink=False)
        per_arm = {}
        for t, arm in enumerate(model.arms_):
            sel = (a == arm) | (a == CONTROL)
            per_arm[arm] = {
                "qini": qini_coefficient(y[sel], a[sel] == arm, tau[sel, t]),
                "uplift@30%": uplift_at_k(y[sel], a[sel] == arm, tau[sel, t], 0.3),
                "heterogeneity_z": model.heterogeneity_[arm]["z"],
                "evidence": model.heterogeneity_[arm]["evidence"],
            }
        details[learner] = per_arm
        details[f"{learner}_policy_check"] = model.policy_check_
        details[f"{learner}_mailed"] = policy["arm"].value_counts().to_dict()
    print(f"Hillstrom, outcome {outcome!r}: fit on {len(fit):,} rows, judged on {len(judge):,}")
    print(
        f"budget {budget:.0%} of customers mailed; best single e-mail on the fit half: {best_arm}"
    )
    for name, r in rows.items():
        se = "" if np.isnan(r["se"]) else f" +- {r['se']:.4f}"
        print(f"  {name:<40} {r['value']:.4f} {outcome}s/customer{se}")
    for learner in ("s", "t", "dr"):
        check = details[f"{learner}_policy_check"]
        print(
            f"  {learner.upper()}-learner out-of-fold gain over the random best-arm half "
            f"{check['gain']:+.4f} (z {check['z']:.1f})"
            + (": falls back to the best average arm" if check["fallback"] else "")
        )
        for arm, d in details[learner].items():
            print(
                f"  {learner.upper()}-learner {arm:<14} Qini {d['qini']:+.4f}  "
                f"uplift@30% {d['uplift@30%']:+.4f}  BLP z {d['heterogeneity_z']:.1f}"
                f"{'' if d['evidence'] else ' (no evidence: average effect used)'}"
            )
    return {"outcome": outcome, "budget": budget, "policies": rows, **details}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None, help="the hillstrom directory (or its parent)")
    parser.add_argument("--budget", type=float, default=0.5)
    args = parser.parse_args(argv)
    result = run(_data_dir(args.data), args.budget)
    save("uplift", result)


if __name__ == "__main__":
    main()
