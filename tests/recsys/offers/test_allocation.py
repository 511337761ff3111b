"""Allocation: known optima, brute force on small problems, LP bound, caps and budgets."""

import itertools

import numpy as np
import pandas as pd
import pytest

from recsys.errors import DataError
from recsys.offers.allocation import allocate


def _pairs(result):
    return list(result.assignments[["customer_id", "offer_id"]].itertuples(index=False, name=None))


def _known() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c2"],
            "offer_id": ["A", "B", "A", "B"],
            "value": [10.0, 9.0, 8.0, 1.0],
            "cost": [1.0, 1.0, 1.0, 1.0],
        }
    )


@pytest.mark.parametrize("exact_max_pairs", [1_000, 0])  # whole MILP, and LP + core MILP
def test_known_optimum_beats_greedy(exact_max_pairs):
    result = allocate(_known(), {"A": 1}, max_offers=1, exact_max_pairs=exact_max_pairs)
    pairs = set(_pairs(result))
    assert pairs == {("c1", "B"), ("c2", "A")}
    assert result.objective == pytest.approx(17.0)
    assert result.lp_bound == pytest.approx(17.0)
    greedy = allocate(_known(), {"A": 1}, max_offers=1, method="greedy")
    assert greedy.objective == pytest.approx(11.0)
    assert greedy.gap == pytest.approx(1 - 11 / 17)


def _random_problem(seed: int):
    rng = np.random.default_rng(seed)
    rows = [
        (f"c{i}", f"o{j}", rng.uniform(-1, 10), rng.uniform(0.5, 3))
        for i in range(5)
        for j in range(3)
        if rng.random() < 0.8
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "offer_id", "value", "cost"])
    budgets = {"o0": 3.0, "o1": 4.0}  # o2 unlimited
    channels = {"o0": ["email"], "o1": ["email", "web"], "o2": ["web"]}
    return frame, budgets, channels


def _brute_force(frame, budgets, channels, max_offers, email_cap):
    pos = frame[frame["value"] > 0].reset_index(drop=True)
    cust = pd.factorize(pos["customer_id"])[0]
    value, cost = pos["value"].to_numpy(), pos["cost"].to_numpy()
    email = pos["offer_id"].map(lambda o: "email" in channels[o]).to_numpy(bool)
    limits = [(pos["offer_id"].to_numpy() == o, b) for o, b in budgets.items()]
    best = 0.0
    for mask in itertools.product([False, True], repeat=len(pos)):
        pick = np.array(mask)
        if np.bincount(cust[pick], minlength=cust.max() + 1).max(initial=0) > max_offers:
            continue
        if np.bincount(cust[pick & email], minlength=cust.max() + 1).max(initial=0) > email_cap:
            continue
        if any(cost[pick & on].sum() > b + 1e-9 for on, b in limits):
            continue
        best = max(best, value[pick].sum())
    return best


@pytest.mark.parametrize("seed", range(4))
def test_milp_matches_brute_force_with_caps_and_budgets(seed):
    frame, budgets, channels = _random_problem(seed)
    truth = _brute_force(frame, budgets, channels, max_offers=2, email_cap=1)
    for exact in (1_000, 0):
        result = allocate(
            frame,
            budgets,
            max_offers=2,
            channels=channels,
            channel_caps={"email": 1},
            exact_max_pairs=exact,
        )
        if exact:  # the whole problem in one MILP: the true optimum
            assert result.objective == pytest.approx(truth, rel=1e-6)
        else:  # LP-integral pairs fixed first: feasible, close, never above the optimum
            assert truth * 0.9 <= result.objective <= truth + 1e-9
        assert result.lp_bound >= truth - 1e-6
        picked = result.assignments
        assert (picked["value"] > 0).all()
        assert picked.groupby("customer_id").size().max() <= 2
        spent = picked.groupby("offer_id")["cost"].sum()
        assert all(spent.get(o, 0) <= b + 1e-9 for o, b in budgets.items())
    greedy = allocate(
        frame, budgets, max_offers=2, channels=channels, channel_caps={"email": 1}, method="greedy"
    )
    assert greedy.objective <= truth + 1e-9


def test_per_customer_channel_caps_from_the_contact_history():
    frame = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "offer_id": ["x", "y", "x"], "value": [5.0, 4.0, 3.0]}
    )
    caps = pd.DataFrame({"email": [0]}, index=pd.Index(["a"], name="customer_id"))
    result = allocate(
        frame, max_offers=2, channels={"x": ["email"], "y": ["web"]}, channel_caps=caps
    )
    assert sorted(_pairs(result)) == [
        ("a", "y"),
        ("b", "x"),
    ]


def test_bad_candidates_are_refused():
    with pytest.raises(DataError, match="twice"):
        allocate(pd.concat([_known(), _known()]))
    with pytest.raises(DataError, match="columns"):
        allocate(_known().drop(columns="value"))
