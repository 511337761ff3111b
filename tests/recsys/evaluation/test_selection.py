"""Model selection that fits the shop: which protocols vote, and who may ship."""

import pandas as pd
import pytest

from recsys import columns as C
from recsys.evaluation.selection import applicable_protocols, select_model
from recsys.evaluation.split import default_test_days, holdout_split


def _table(rows: dict[tuple[str, str], float]) -> pd.DataFrame:
    return pd.DataFrame([{"model": m, "protocol": p, "ndcg": v} for (m, p), v in rows.items()])


def test_a_protocol_applies_with_100_judged_customers_and_10_percent_repeats():
    facts = {"n_customers": {"new_items": 100, "all_purchases": 99}, "repeat_share": 0.5}
    got = applicable_protocols(facts, ["new_items", "all_purchases"])
    assert got["new_items"].applies and not got["all_purchases"].applies
    assert "99 customers judged (fewer than 100)" in got["all_purchases"].reason
    facts = {"n_customers": {"new_items": 500, "all_purchases": 500}, "repeat_share": 0.099}
    got = applicable_protocols(facts, ["new_items", "all_purchases"])
    assert got["new_items"].applies and not got["all_purchases"].applies
    assert "9.9%" in got["all_purchases"].reason
    facts["repeat_share"] = 0.10
    assert applicable_protocols(facts, ["all_purchases"])["all_purchases"].applies


def test_a_protocol_that_does_not_apply_does_not_vote():
    """The ratings case: the blend wins new items; popularity's only edge is all purchases,
    which is meaningless where nobody buys twice."""
    table = _table(
        {
            ("popular", "new_items"): 0.040,
            ("popular", "all_purchases"): 0.080,
            ("blend", "new_items"): 0.069,
            ("blend", "all_purchases"): 0.030,
        }
    )
    assert select_model(table, "ndcg") == "popular"  # both vote: the worst ratio decides
    assert select_model(table, "ndcg", ["new_items"]) == "blend"


def test_never_ship_a_model_that_loses_to_a_simple_baseline_when_another_does_not():
    table = _table(
        {
            ("als", "new_items"): 0.30,  # best worst-ratio, but loses to recent on all purchases
            ("als", "all_purchases"): 0.39,
            ("blend", "new_items"): 0.25,
            ("blend", "all_purchases"): 0.41,
            ("recent", "new_items"): 0.20,
            ("recent", "all_purchases"): 0.40,
        }
    )
    assert select_model(table, "ndcg") == "blend"
    # blend now loses on all purchases too: the baseline itself is what may ship
    table.loc[table["model"] == "blend", "ndcg"] = [0.25, 0.35]
    assert select_model(table, "ndcg") == "recent"


def test_with_no_model_clear_of_the_baselines_the_worst_ratio_decides():
    table = _table(
        {
            ("popular", "new_items"): 0.20,
            ("popular", "all_purchases"): 0.10,
            ("repeat", "new_items"): 0.05,
            ("repeat", "all_purchases"): 0.50,
            ("als", "new_items"): 0.19,
            ("als", "all_purchases"): 0.45,
        }
    )
    assert select_model(table, "ndcg") == "als"


@pytest.mark.parametrize(("days", "expected"), [(9, 2), (1, 1), (60, 12), (150, 30), (730, 30)])
def test_default_holdout_fits_the_span(days, expected):
    ts = pd.date_range("2024-01-01", periods=days, freq="D") + pd.Timedelta("12h")
    events = pd.DataFrame({C.CUSTOMER_ID: "a", C.ITEM_ID: "x", C.TIMESTAMP: ts})
    assert default_test_days(events) == (expected, days)
    if days > 1:
        split, note = holdout_split(events)
        assert split.n_test == expected
        assert f"the last {expected} day(s)" in note and f"{days}-day span" in note
