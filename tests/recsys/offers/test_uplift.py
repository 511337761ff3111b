"""Uplift meta-learners: a planted heterogeneous effect is recovered, noise is not chased."""

import numpy as np
import pandas as pd
import pytest

from recsys.errors import DataError, NotFittedError
from recsys.offers.evaluation import policy_value, qini_coefficient, random_policy_value
from recsys.offers.uplift import UpliftModel


def _experiment(n: int, seed: int, effect: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """Randomised 3-arm experiment. Arm A helps only ``young`` customers (+30 points),
    arm B helps everyone a little (+8 points); the baseline rate depends on ``spend``.
    Without ``effect``: A does nothing, B adds a constant +15 points."""
    rng = np.random.default_rng(seed)
    young = rng.random(n) < 0.5
    spend = rng.gamma(2.0, 50.0, n)
    arm = rng.choice(["ctrl", "A", "B"], n)
    base = 0.1 + 0.1 * (spend > 100)
    tau_a = np.where(young, 0.30, 0.0) if effect else np.zeros(n)
    tau_b = np.full(n, 0.08 if effect else 0.15)
    p = base + np.where(arm == "A", tau_a, 0) + np.where(arm == "B", tau_b, 0)
    frame = pd.DataFrame(
        {
            "young": young.astype(int),
            "spend": spend,
            "channel": rng.choice(["web", "phone"], n),
            "arm": arm,
            "y": (rng.random(n) < p).astype(int),
        }
    )
    return frame, np.column_stack([tau_a, tau_b])


FEATURES = ["young", "spend", "channel"]


@pytest.mark.parametrize("learner", ["s", "t", "dr"])
def test_planted_effect_is_recovered(learner):
    train, _ = _experiment(6000, 0)
    test, true_tau = _experiment(4000, 1)
    model = UpliftModel(learner=learner, n_folds=3).fit(
        train[FEATURES], train["arm"], train["y"], control="ctrl"
    )
    assert model.arms_ == ["A", "B"]
    assert model.heterogeneity_["A"]["evidence"]
    assert not model.policy_check_["fallback"] and model.policy_check_["z"] > 3
    tau = model.predict_uplift(test[FEATURES])
    young = test["young"].to_numpy() == 1
    assert tau[young, 0].mean() == pytest.approx(0.30, abs=0.06)
    assert tau[~young, 0].mean() == pytest.approx(0.0, abs=0.06)
    assert np.abs(tau[:, 1] - 0.08).mean() < 0.05
    # the policy gives A to the young, B to the others
    policy = model.assign(test[FEATURES])
    assert (policy["arm"][young] == "A").mean() > 0.95
    assert (policy["arm"][~young] == "B").mean() > 0.8
    # judged on rows it never saw: better than mailing everyone the best single arm
    y, a = test["y"].to_numpy(), test["arm"].to_numpy()
    value = policy_value(y, a, policy["arm"]).value
    assert value > random_policy_value(y, a, "A", "ctrl", 1.0) + 0.03
    sel = (a == "A") | (a == "ctrl")
    # a perfect ranking has 0.0375 here (half the customers +0.30): triangle 0.5 x 0.075
    assert qini_coefficient(y[sel], a[sel] == "A", tau[sel, 0]) > 0.025


def test_no_heterogeneity_falls_back_to_the_best_average_arm():
    frame, _ = _experiment(6000, 7, effect=False)  # a constant effect for B only
    model = UpliftModel(min_z=2.0).fit(frame[FEATURES], frame["arm"], frame["y"], control="ctrl")
    assert not any(h["evidence"] for h in model.heterogeneity_.values())
    assert model.ate_["B"]["effect"] > 0.08
    policy = model.assign(frame[FEATURES], budget=0.5)
    assert set(policy["arm"]) == {"B", "ctrl"}
    assert (policy["arm"] == "B").sum() == len(frame) // 2
    assert np.allclose(policy["expected_uplift"][policy["arm"] == "B"], model.ate_["B"]["effect"])


def test_save_load_round_trips_without_pickle(tmp_path):
    frame, _ = _experiment(3000, 4)
    model = UpliftModel(learner="dr", n_folds=3).fit(
        frame[FEATURES], frame["arm"], frame["y"], control="ctrl"
    )
    model.save(tmp_path / "m")
    with np.load(tmp_path / "m" / "coefficients.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype == np.float64 for k in npz.files)
    loaded = UpliftModel.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_uplift(frame), model.predict_uplift(frame))
    pd.testing.assert_frame_equal(loaded.assign(frame, budget=0.3), model.assign(frame, budget=0.3))


def test_errors_are_clear():
    frame, _ = _experiment(200, 5)
    with pytest.raises(NotFittedError):
        UpliftModel().predict_uplift(frame)
    with pytest.raises(DataError, match="control value 'none'"):
        UpliftModel().fit(frame[FEATURES], frame["arm"], frame["y"], control="none")
    with pytest.raises(DataError, match="'nope' not found"):
        UpliftModel().fit(frame, frame["arm"], frame["y"], control="ctrl", features=["nope"])


def test_fit_returns_self_and_refit_is_idempotent():
    frame, _ = _experiment(2000, 6)
    model = UpliftModel(n_folds=3)
    assert model.fit(frame[FEATURES], frame["arm"], frame["y"], control="ctrl") is model
    first = model.predict_uplift(frame)
    model.fit(frame[FEATURES], frame["arm"], frame["y"], control="ctrl")
    np.testing.assert_array_equal(model.predict_uplift(frame), first)
    assert not hasattr(UpliftModel(), "arms_")  # nothing learned in __init__
