import math

import pandas as pd
import pytest

from recsys.errors import ConfigError, DataError
from recsys.evaluation.report import TABLE_COLUMNS, EvaluationResult

ROWS = [
    # model, protocol, precision, recall, ndcg, map, hit_rate, mrr, coverage, fit_time_s, n
    ("popular", "new_items", 0.01, 0.02, 0.03, 0.04, 0.20, 0.10, 0.05, 0.001, 90),
    ("als", "new_items", 0.05, 0.06, 0.07, 0.08, 0.40, 0.30, 0.25, 1.5, 90),
    ("repeat", "new_items", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.01, 90),
    ("popular", "all_purchases", 0.02, 0.03, 0.04, 0.05, 0.30, 0.20, 0.05, 0.001, 120),
    ("als", "all_purchases", 0.06, 0.07, 0.08, 0.09, 0.50, 0.40, 0.25, 1.5, 120),
    ("repeat", "all_purchases", 0.20, 0.25, 0.123456, 0.30, 0.80, 0.60, 0.25, 0.01, 120),
]

FACTS = {
    "cutoff": "2010-11-10T00:00:00",
    "n_train_events": 349420,
    "n_test_events": 58244,
    "n_train_customers": 4037,
    "n_train_items": 3965,
    "n_test_purchases": 58244,
    "n_kept_purchases": 47676,
    "n_dropped_cold_customer_purchases": 9879,
    "n_cold_customers": 275,
    "n_dropped_new_item_purchases": 689,
    "n_new_items": 52,
    "n_customers_without_relevant": {"new_items": 30, "all_purchases": 0},
}


@pytest.fixture
def result():
    return EvaluationResult(pd.DataFrame(ROWS, columns=list(TABLE_COLUMNS)), k=10, facts=FACTS)


def test_best_per_protocol_and_over_both(result):
    assert result.best("ndcg", "new_items") == "als"
    assert result.best("ndcg", "all_purchases") == "repeat"
    # Mean over protocols: popular .035, als .075, repeat .061728.
    assert result.best("ndcg") == "als"
    assert result.best("recall") == "repeat"  # (0 + .25) / 2 > (.06 + .07) / 2
    assert result.metric("ndcg")["repeat"] == pytest.approx(0.061728)


def test_best_errors(result):
    with pytest.raises(ConfigError, match="unknown metric 'auc'"):
        result.best("auc")
    with pytest.raises(ConfigError, match="not evaluated"):
        result.best("ndcg", "recent")
    empty = EvaluationResult(
        pd.DataFrame([("a", "new_items", *[math.nan] * 8, 0)], columns=list(TABLE_COLUMNS)), k=5
    )
    with pytest.raises(DataError, match="no model has a ndcg"):
        empty.best("ndcg", "new_items")
    with pytest.raises(DataError, match="lacks column"):
        EvaluationResult(pd.DataFrame({"model": ["a"]}), k=5)


def test_markdown_blocks_decimals_and_bold(result):
    md = result.to_markdown()
    lines = md.splitlines()
    assert lines[0] == "# Offline evaluation at k=10"
    assert "Temporal split at 2010-11-10T00:00:00: 349,420 training events" in md
    assert "dropped 9,879 by 275 customers unseen in training and 689 of items new" in md
    assert md.index("## Protocol `new_items`") < md.index("## Protocol `all_purchases`")
    assert "Customers evaluated: 90 (30 more had nothing relevant and were skipped)." in md
    header = (
        "| model | precision@10 | recall@10 | ndcg@10 | map@10 | hit_rate@10 | mrr@10 "
        "| coverage | fit_time_s |"
    )
    assert lines.count(header) == 2
    assert lines.count("|:--|--:|--:|--:|--:|--:|--:|--:|--:|") == 2
    # new_items: als best on every metric; popular has the lowest fit time.
    assert (
        "| als | **0.0500** | **0.0600** | **0.0700** | **0.0800** | **0.4000** | **0.3000** "
        "| **0.2500** | 1.5000 |" in lines
    )
    assert (
        "| popular | 0.0100 | 0.0200 | 0.0300 | 0.0400 | 0.2000 | 0.1000 | 0.0500 "
        "| **0.0010** |" in lines
    )
    # all_purchases: repeat wins the quality columns; coverage is a tie between als and repeat.
    assert (
        "| repeat | **0.2000** | **0.2500** | **0.1235** | **0.3000** | **0.8000** | **0.6000** "
        "| **0.2500** | 0.0100 |" in lines
    )
    assert "| als | 0.0600 | 0.0700 | 0.0800 | 0.0900 | 0.5000 | 0.4000 | **0.2500** |" in md
    assert md.endswith("|\n")


def test_markdown_single_model_has_no_bold_and_nan_is_na():
    table = pd.DataFrame(
        [("a|b", "new_items", 0.5, 0.25, 0.125, 0.0625, 1.0, 1.0, 0.1, math.nan, 3)],
        columns=list(TABLE_COLUMNS),
    )
    md = EvaluationResult(table, k=3).to_markdown()
    assert "| a\\|b | 0.5000 | 0.2500 | 0.1250 | 0.0625 | 1.0000 | 1.0000 | 0.1000 | n/a |" in md
    assert "**" not in md
    assert "Customers evaluated: 3." in md


def test_csv_round_trip_and_files(result, tmp_path):
    csv = result.to_csv(tmp_path / "out" / "evaluation.csv")
    back = pd.read_csv(csv)
    assert list(back.columns) == list(TABLE_COLUMNS)
    assert back["model"].tolist() == ["popular", "als", "repeat"] * 2
    assert back.loc[5, "ndcg"] == pytest.approx(0.123456)  # full precision, not 4 decimals
    assert back["n_customers"].tolist() == [90, 90, 90, 120, 120, 120]
    md = result.to_markdown_file(tmp_path / "out" / "evaluation.md")
    assert md.read_text(encoding="utf-8") == result.to_markdown()


def test_with_scores_adds_a_precomputed_model(result):
    scores = {
        p: {
            "precision": 0.3,
            "recall": 0.3,
            "ndcg": ndcg,
            "map": 0.3,
            "hit_rate": 0.9,
            "mrr": 0.7,
            "coverage": 0.1,
            "n_customers": n,
        }
        for p, ndcg, n in (("new_items", 0.069, 90), ("all_purchases", 0.2, 120))
    }
    more = result.with_scores("blend", scores)
    assert len(result.table) == 6  # the original is unchanged
    assert more.models == ["popular", "als", "repeat", "blend"]
    assert more.best("ndcg") == "blend"
    assert more.best("ndcg", "new_items") == "als"
    assert math.isnan(more.table.iloc[-1]["fit_time_s"])
    assert "| blend | " in more.to_markdown() and "| n/a |" in more.to_markdown()
    with pytest.raises(ConfigError, match="already"):
        more.with_scores("blend", scores)
    with pytest.raises(ConfigError, match="lack"):
        result.with_scores("x", {"new_items": {"ndcg": 0.1}})
