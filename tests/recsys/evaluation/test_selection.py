import pandas as pd
import pytest

from recsys.errors import ConfigError
from recsys.evaluation.selection import relative_scores, select_model


def _table(rows):
    return pd.DataFrame(rows, columns=["model", "protocol", "ndcg"])


def test_prefers_the_model_good_at_both_protocols():
    table = _table(
        [
            ("cf", "new_items", 0.10),
            ("cf", "all_purchases", 0.10),
            ("repeat", "new_items", 0.02),
            ("repeat", "all_purchases", 0.30),
            ("blend", "new_items", 0.098),
            ("blend", "all_purchases", 0.31),
        ]
    )
    rel = relative_scores(table)
    assert rel.loc["blend", "new_items"] == pytest.approx(0.98)
    assert rel.loc["repeat", "new_items"] == pytest.approx(0.2)
    assert select_model(table) == "blend"


def test_single_protocol_is_plain_argmax_and_errors_are_clear():
    table = _table([("a", "new_items", 0.1), ("b", "new_items", 0.2)])
    assert select_model(table) == "b"
    with pytest.raises(ConfigError, match="metric 'auc' unknown"):
        select_model(table, metric="auc")
    with pytest.raises(ConfigError, match="no evaluation results"):
        select_model(_table([]))
