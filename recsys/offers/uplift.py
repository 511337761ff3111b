"""Who responds to which treatment: multi-arm uplift meta-learners with honest cross-fitting.

Outcome models ``mu_a(x)`` per arm (control included) on the encoded features (logistic
regression for a 0/1 outcome, ridge regression otherwise). Each treatment arm is compared with
control (Kunzel, Sekhon, Bickel & Yu, PNAS 2019, "Metalearners for estimating heterogeneous
treatment effects"):

* ``learner="s"``: S-learner, one pooled model of features + arm dummies + arm x
  feature interactions (the interactions scaled by ``INTERACTION_SCALE``, i.e. penalised
  harder), ``tau_t(x) = mu(x, t) - mu(x, 0)``. On a logistic scale a common effect already
  varies with the baseline rate, and the stronger penalty keeps noise out; but when customers
  who buy anyway are unmoved (``recsys.offers.synthetic``) that assumption misleads it.
* ``learner="t"``: T-learner, ``tau_t(x) = mu_t(x) - mu_0(x)`` (two separate models).
* ``learner="dr"`` (default): DR-learner (Kennedy, 2023, "Towards optimal doubly robust
  estimation of heterogeneous causal effects"): outcome models are cross-fitted on
  ``n_folds`` folds, each row gets the AIPW pseudo-outcome from models that never saw it,
  ``phi = mu_t - mu_0 + 1[A=t](Y - mu_t)/e_t - 1[A=0](Y - mu_0)/e_0``, and a ridge
  regression of ``phi`` on the features is ``tau_t(x)``.

Propensities ``e`` are the arm shares (the history is assumed randomised, like Hillstrom).

Heterogeneity is tested, not assumed: the out-of-fold uplift ``tau_oof`` of each arm is checked
with the best-linear-predictor test of Chernozhukov, Demirer, Duflo & Fernandez-Val (2018,
"Generic machine learning inference on heterogeneous treatment effects"): regress the
out-of-fold pseudo-outcome on ``tau_oof - mean`` among the rows of that arm and control;
a slope ``z >= min_z`` is evidence. An arm without evidence predicts its average effect (AIPW)
for everyone, so with no evidence at all the policy is "the best average arm". A second check
works on the policy itself: if, out of fold, targeting does not beat the best average arm given
to a random half (AIPW value, paired), every arm falls back to its average effect.

Persistence: ``model.json`` (everything but the coefficients) + ``coefficients.npz``; both load
with ``allow_pickle=False``. Linear models were chosen because their fitted state is a few
arrays (tree ensembles would need pickle or a refit on load).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from recsys.errors import ConfigError, DataError, NotFittedError
from recsys.offers.features import FeatureSpec
from recsys.offers.learners import (
    INTERACTION_SCALE,
    blp_test,
    linear_fit,
    linear_predict,
    pooled_design,
)

FORMAT = "recsys-uplift/1"
LEARNERS = ("s", "t", "dr")
CHECK_BUDGET = 0.5  # share treated in the policy-level fallback check


class UpliftModel:
    """Multi-arm uplift model: one uplift function per treatment arm versus control.

    Parameters
    ----------
    learner:
        ``"dr"`` (default), ``"t"`` or ``"s"``. On Hillstrom all three were within noise of
        each other on held-out rows; on the generated data with "sure things" the DR- and
        T-learners were right and the S-learner was not.
    n_folds:
        Cross-fitting folds (>= 2) for out-of-fold predictions and pseudo-outcomes.
    C:
        Inverse L2 strength of the logistic outcome models (``alpha = 1/C`` for ridge).
    n_knots:
        Spline knots per numeric feature (see :class:`~recsys.offers.features.FeatureSpec`).
    min_z:
        Evidence threshold of the heterogeneity (BLP) test; arms below it predict their
        average effect for everyone. ``0`` trusts every model.
    random_state:
        Seed of the folds and of tie-breaking in :meth:`assign`.
    """

    def __init__(
        self,
        learner: str = "dr",
        n_folds: int = 5,
        C: float = 1.0,
        n_knots: int = 5,
        min_z: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.learner = learner
        self.n_folds = n_folds
        self.C = C
        self.n_knots = n_knots
        self.min_z = min_z
        self.random_state = random_state

    # ----------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.learner not in LEARNERS:
            raise ConfigError(f"learner == {self.learner!r}, must be one of {', '.join(LEARNERS)}")
        if self.n_folds < 2:
            raise ConfigError(f"n_folds == {self.n_folds}, must be >= 2")
        if not self.C > 0:
            raise ConfigError(f"C == {self.C}, must be > 0")

    def fit(
        self,
        X: pd.DataFrame,
        treatment: Any,
        outcome: Any,
        *,
        control: object,
        features: list[str] | None = None,
    ) -> UpliftModel:
        """Fit on a campaign history.

        ``X`` holds the feature columns (``features``, default all of its columns);
        ``treatment`` the arm of each row (compared as text; ``control`` is the untreated
        value); ``outcome`` a number per row (0/1 outcomes use logistic models). Raises
        :class:`DataError` when the control value or a treatment arm is absent.
        """
        self._check_params()
        arm = np.asarray(pd.Series(treatment).astype(str).str.strip(), dtype=object)
        y = np.asarray(pd.to_numeric(pd.Series(outcome), errors="raise"), dtype=float)
        if len(arm) != len(X) or len(y) != len(X):
            raise DataError("features, treatment and outcome must have the same length")
        control_s = str(control).strip()
        values = sorted(set(arm.tolist()))
        if control_s not in values:
            raise DataError(
                f"control value {control_s!r} not found in the treatment column; "
                f"values: {', '.join(values[:10])}"
            )
        arms = [v for v in values if v != control_s]
        if not arms:
            raise DataError("the treatment column has only the control value: nothing to compare")
        self.binary_ = bool(np.isin(y, (0.0, 1.0)).all())
        self.spec_ = FeatureSpec.learn(X, features or list(X.columns), n_knots=self.n_knots)
        Z = self.spec_.transform(X)
        groups = [control_s, *arms]
        codes = np.array([groups.index(a) for a in arm])
        share = np.bincount(codes, minlength=len(groups)) / len(codes)
        small = [g for g, n in zip(groups, np.bincount(codes), strict=True) if n < 2 * self.n_folds]
        if small:
            raise DataError(f"arm {small[0]!r} has too few rows to fit (need {2 * self.n_folds})")

        # cross-fitted outcome predictions: mu_oof[i, g] from models that never saw row i
        mu_oof = np.zeros((len(y), len(groups)))
        folds = KFold(self.n_folds, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(Z):
            fitted = self._fit_outcomes(Z[train], codes[train], y[train], len(groups))
            mu_oof[test] = self._predict_outcomes(Z[test], fitted, len(groups))
        self.coef_: dict[str, np.ndarray] = {}
        self.intercept_: dict[str, float] = {}
        for g, (coef, b) in enumerate(self._fit_outcomes(Z, codes, y, len(groups))):
            self.coef_[f"mu:{groups[g]}"], self.intercept_[f"mu:{groups[g]}"] = coef, b
        self.ate_: dict[str, dict[str, float]] = {}
        self.heterogeneity_: dict[str, dict[str, float | bool]] = {}
        self.oof_uplift_ = np.zeros((len(y), len(arms)))
        for t, name in enumerate(arms, start=1):
            pair = (codes == t) | (codes == 0)
            e_t = share[t] / (share[t] + share[0])
            treated = (codes == t).astype(float)
            ctrl = (codes == 0).astype(float)
            pseudo = (
                mu_oof[:, t]
                - mu_oof[:, 0]
                + treated * (y - mu_oof[:, t]) / e_t
                - ctrl * (y - mu_oof[:, 0]) / (1 - e_t)
            )
            if self.learner != "dr":
                tau_oof = mu_oof[:, t] - mu_oof[:, 0]
            else:
                tau_oof = np.zeros(len(y))
                for train, test in folds.split(Z):
                    rows = train[pair[train]]
                    coef, b = linear_fit(Z[rows], pseudo[rows], False, self.C)
                    tau_oof[test] = Z[test] @ coef + b
                rows = np.flatnonzero(pair)
                self.coef_[f"tau:{name}"], self.intercept_[f"tau:{name}"] = linear_fit(
                    Z[rows], pseudo[rows], False, self.C
                )
            self.oof_uplift_[:, t - 1] = tau_oof
            ps = pseudo[pair]
            self.ate_[name] = {
                "effect": float(ps.mean()),
                "se": float(ps.std(ddof=1) / np.sqrt(len(ps))),
            }
            test = blp_test(ps, tau_oof[pair])
            self.heterogeneity_[name] = {**test, "evidence": bool(test["z"] >= self.min_z)}
        self.arms_ = arms
        self.control_ = control_s
        self.propensity_ = {g: float(s) for g, s in zip(groups, share, strict=True)}
        self.n_rows_ = len(y)
        self.policy_check_ = self._policy_check(mu_oof, codes, y, share)
        return self

    def _policy_check(
        self, mu_oof: np.ndarray, codes: np.ndarray, y: np.ndarray, share: np.ndarray
    ) -> dict[str, float | bool]:
        """Out-of-fold value of the targeting policy minus "the best average arm for a random
        share", both at ``CHECK_BUDGET``, from AIPW scores (Dudik, Langford & Li 2011). A gain
        that is not positive (z < 0) switches the model to the best average arm."""
        gamma = mu_oof.copy()
        for g in range(gamma.shape[1]):
            hit = codes == g
            gamma[hit, g] += (y[hit] - mu_oof[hit, g]) / share[g]
        tau = self.oof_uplift_.copy()
        for t, name in enumerate(self.arms_):
            if not self.heterogeneity_[name]["evidence"]:
                tau[:, t] = self.ate_[name]["effect"]
        plan = (
            _policy_from_scores(
                tau,
                [str(g) for g in range(1, gamma.shape[1])],
                "0",
                CHECK_BUDGET,
                self.random_state,
                value=tau,
            )["arm"]
            .astype(int)
            .to_numpy()
        )
        best = 1 + int(np.argmax([self.ate_[a]["effect"] for a in self.arms_]))
        rows = np.arange(len(y))
        diff = gamma[rows, plan] - (
            CHECK_BUDGET * gamma[:, best] + (1 - CHECK_BUDGET) * gamma[:, 0]
        )
        se = float(diff.std(ddof=1) / np.sqrt(len(diff)))
        gain = float(diff.mean())
        z = gain / se if se > 0 else 0.0
        return {"budget": CHECK_BUDGET, "gain": gain, "se": se, "z": z, "fallback": bool(z < 0)}

    def _fit_outcomes(
        self, Z: np.ndarray, codes: np.ndarray, y: np.ndarray, n_groups: int
    ) -> list[tuple[np.ndarray, float]]:
        """Outcome models per arm (control = 0): one per arm, or one pooled (S-learner) model
        whose per-arm coefficients are returned as if separate (they predict the same)."""
        if self.learner != "s":
            return [
                linear_fit(Z[codes == g], y[codes == g], self.binary_, self.C)
                for g in range(n_groups)
            ]
        design = np.vstack([pooled_design(Z[codes == g], g, n_groups) for g in range(n_groups)])
        target = np.concatenate([y[codes == g] for g in range(n_groups)])
        coef, b = linear_fit(design, target, self.binary_, self.C)
        k = Z.shape[1]
        out = [(coef[:k].copy(), b)]
        for g in range(1, n_groups):
            inter = coef[k + n_groups - 1 + (g - 1) * k : k + n_groups - 1 + g * k]
            out.append((coef[:k] + INTERACTION_SCALE * inter, b + float(coef[k + g - 1])))
        return out

    def _predict_outcomes(
        self, Z: np.ndarray, fitted: list[tuple[np.ndarray, float]], n_groups: int
    ) -> np.ndarray:
        return np.column_stack(
            [linear_predict(Z, coef, b, self.binary_) for coef, b in fitted[:n_groups]]
        )

    # ----------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "arms_"):
            raise NotFittedError("UpliftModel is not fitted: call fit() or UpliftModel.load()")

    def predict_response(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted outcome per arm, shape (n, 1 + n_arms): control first, then ``arms_``."""
        self._check_fitted()
        Z = self.spec_.transform(X)
        names = [self.control_, *self.arms_]
        return np.column_stack(
            [
                linear_predict(Z, self.coef_[f"mu:{n}"], self.intercept_[f"mu:{n}"], self.binary_)
                for n in names
            ]
        )

    def predict_uplift(self, X: pd.DataFrame, *, shrink: bool = True) -> np.ndarray:
        """Uplift per treatment arm vs control, shape (n, n_arms), in outcome units.

        With ``shrink`` (default), arms without heterogeneity evidence (or every arm, when the
        policy check failed) predict their average effect for every row.
        """
        self._check_fitted()
        if self.learner != "dr":
            mu = self.predict_response(X)
            tau = mu[:, 1:] - mu[:, [0]]
        else:
            Z = self.spec_.transform(X)
            tau = np.column_stack(
                [Z @ self.coef_[f"tau:{a}"] + self.intercept_[f"tau:{a}"] for a in self.arms_]
            )
        if shrink:
            for t, a in enumerate(self.arms_):
                if self.policy_check_["fallback"] or not self.heterogeneity_[a]["evidence"]:
                    tau[:, t] = self.ate_[a]["effect"]
        return tau

    def assign(self, X: pd.DataFrame, *, budget: float = 1.0) -> pd.DataFrame:
        """The targeting policy: best arm per row, treating at most ``budget`` share of rows.

        Rows are ranked by their best predicted uplift (ties broken at random with
        ``random_state``); the top ``floor(budget * n)`` rows with a positive uplift get their
        best arm, the rest the control value. Returns a frame aligned with ``X``: ``arm``,
        ``expected_uplift`` (0 for control).
        """
        if not 0.0 <= budget <= 1.0:
            raise ConfigError(f"budget == {budget}, must be a share in [0, 1]")
        tau = self.predict_uplift(X)
        return _policy_from_scores(
            tau, self.arms_, self.control_, budget, self.random_state, value=tau
        )

    def assign_by_response(self, X: pd.DataFrame, *, budget: float = 1.0) -> pd.DataFrame:
        """The response-model policy (for comparison): rank by the highest predicted outcome
        when treated, treat the top ``budget`` share with that arm. Mails people who would have
        responded anyway; ``expected_uplift`` is still the model's uplift for the chosen arm."""
        mu = self.predict_response(X)
        tau = mu[:, 1:] - mu[:, [0]]
        return _policy_from_scores(
            mu[:, 1:], self.arms_, self.control_, budget, self.random_state, value=tau
        )

    # ----------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``model.json`` + ``coefficients.npz`` into ``directory``; returns it."""
        self._check_fitted()
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        keys = sorted(self.coef_)
        meta = {
            "format": FORMAT,
            "params": {
                "learner": self.learner,
                "n_folds": self.n_folds,
                "C": self.C,
                "n_knots": self.n_knots,
                "min_z": self.min_z,
                "random_state": self.random_state,
            },
            "arms": self.arms_,
            "control": self.control_,
            "binary": self.binary_,
            "features": self.spec_.to_dict(),
            "propensity": self.propensity_,
            "ate": self.ate_,
            "heterogeneity": self.heterogeneity_,
            "policy_check": self.policy_check_,
            "n_rows": self.n_rows_,
            "models": keys,
            "intercepts": [self.intercept_[k] for k in keys],
        }
        (out / "model.json").write_text(json.dumps(meta, indent=2))
        arrays: dict[str, Any] = {f"c{i}": self.coef_[k] for i, k in enumerate(keys)}
        np.savez(out / "coefficients.npz", **arrays)
        return out

    @classmethod
    def load(cls, directory: str | Path) -> UpliftModel:
        """Load a saved model (no pickle). Raises :class:`DataError` for a missing/foreign dir."""
        d = Path(directory)
        try:
            meta = json.loads((d / "model.json").read_text())
            with np.load(d / "coefficients.npz", allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot load an uplift model from {d}: {exc}") from None
        if meta.get("format") != FORMAT:
            raise DataError(f"{d / 'model.json'} is not an uplift model ({FORMAT})")
        model = cls(**meta["params"])
        model.arms_ = list(meta["arms"])
        model.control_ = meta["control"]
        model.binary_ = bool(meta["binary"])
        model.spec_ = FeatureSpec.from_dict(meta["features"])
        model.propensity_ = meta["propensity"]
        model.ate_ = meta["ate"]
        model.heterogeneity_ = meta["heterogeneity"]
        model.policy_check_ = meta["policy_check"]
        model.n_rows_ = meta["n_rows"]
        model.coef_ = {k: arrays[f"c{i}"] for i, k in enumerate(meta["models"])}
        model.intercept_ = dict(zip(meta["models"], meta["intercepts"], strict=True))
        return model


def _policy_from_scores(
    score: np.ndarray,
    arms: list[str],
    control: str,
    budget: float,
    seed: int,
    *,
    value: np.ndarray,
) -> pd.DataFrame:
    n = score.shape[0]
    best = score.argmax(axis=1)
    best_score = score[np.arange(n), best]
    best_value = value[np.arange(n), best]
    tiebreak = np.random.default_rng(seed).random(n)
    order = np.lexsort((tiebreak, -best_score))
    chosen = order[: int(np.floor(budget * n + 1e-9))]
    chosen = chosen[best_value[chosen] > 0]
    arm = np.full(n, control, dtype=object)
    arm[chosen] = np.asarray(arms, dtype=object)[best[chosen]]
    uplift = np.zeros(n)
    uplift[chosen] = best_value[chosen]
    return pd.DataFrame({"arm": arm, "expected_uplift": uplift})
