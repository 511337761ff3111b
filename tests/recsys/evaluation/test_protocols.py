import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.dataset import InteractionDataset, build_dataset
from recsys.errors import ConfigError, DataError
from recsys.evaluation.protocols import (
    ALL_PURCHASES,
    NEW_ITEMS,
    build_ground_truths,
    check_protocols,
    evaluate,
    recommendation_matrix,
    score_recommendations,
)
from recsys.evaluation.split import temporal_split
from recsys.models.base import Recommender
from recsys.models.popularity import PopularityRecommender, TrendingRecommender
from recsys.models.registry import MODELS

L3 = 1 / math.log2(3)

# (customer, item, event type, day). Cutoff 2024-02-01: January trains, February tests.
LOG = [
    ("alice", "x", "purchase", "2024-01-02"),
    ("alice", "y", "purchase", "2024-01-03"),
    ("bob", "y", "purchase", "2024-01-04"),
    ("bob", "z", "view", "2024-01-05"),  # a view: bob's z is "seen" although never bought
    ("carol", "x", "purchase", "2024-01-06"),
    ("fred", "x", "purchase", "2024-01-07"),
    # --- test window
    ("alice", "x", "purchase", "2024-02-02"),  # re-buy
    ("alice", "x", "purchase", "2024-02-03"),  # the same re-buy again: one relevant item
    ("alice", "z", "purchase", "2024-02-04"),  # new to alice
    ("bob", "z", "purchase", "2024-02-05"),  # only viewed in training: a new purchase
    ("carol", "w", "purchase", "2024-02-06"),  # w never sold before the cutoff
    ("carol", "y", "view", "2024-02-07"),  # not a purchase: ignored
    ("dave", "x", "purchase", "2024-02-08"),  # dave is a cold customer
    ("erin", "q", "purchase", "2024-02-09"),  # cold customer buying a new item
]


def _events(log=LOG):
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: [r[0] for r in log],
            C.ITEM_ID: [r[1] for r in log],
            C.EVENT_TYPE: [r[2] for r in log],
            C.TIMESTAMP: pd.to_datetime([r[3] for r in log]),
        }
    )


@pytest.fixture
def split():
    return temporal_split(_events(), cutoff="2024-02-01")


class BuyAgain(Recommender):
    """Test-only model (not registered): the customer's own training weights, earlier items
    first on ties."""

    name = "test_buy_again"

    def _fit(self, dataset: InteractionDataset) -> None:
        self.matrix_ = dataset.matrix

    def _score(self, customer_idx: np.ndarray) -> np.ndarray:
        scores = self.matrix_[customer_idx].toarray()
        return scores - 1e-3 * np.arange(scores.shape[1])

    def _get_state(self):
        return {}

    def _set_state(self, state):
        pass


def test_test_model_is_not_registered():
    assert BuyAgain.name not in MODELS


def test_ground_truth_per_protocol_and_dropped_counts(split):
    dataset = build_dataset(split.train)
    truths, facts = build_ground_truths(dataset, split.test)
    assert facts == {
        "n_test_events": 8,
        "n_test_purchases": 7,
        "n_dropped_cold_customer_purchases": 2,  # dave x, erin q
        "n_cold_customers": 2,
        "n_dropped_new_item_purchases": 1,  # carol w (erin's q already counted as cold)
        "n_new_items": 2,  # w and q
        "n_kept_purchases": 4,  # alice x, x, z and bob z
        "n_test_customers": 2,  # alice and bob; carol only bought a new item
        "n_kept_pairs": 3,  # alice x, alice z, bob z
        "n_repeat_pairs": 1,  # alice x: bought before the cutoff too
    }
    everything = truths[ALL_PURCHASES]
    assert everything.customer_ids.tolist() == ["alice", "bob"]
    assert everything.relevant_items("alice") == ["x", "z"]  # the re-buy counts, once
    assert everything.relevant_items("bob") == ["z"]
    assert everything.n_relevant == 3 and everything.n_without_relevant == 0
    assert not everything.exclude_seen

    new = truths[NEW_ITEMS]
    # bob had only viewed z: buying it is a new purchase (seen is not bought)
    assert new.customer_ids.tolist() == ["alice", "bob"]
    assert new.relevant_items("alice") == ["z"]
    assert new.relevant_items("bob") == ["z"]
    assert new.n_without_relevant == 0
    assert new.exclude_seen
    assert new.relevance.shape == (2, 3) and new.items is dataset.items


def test_items_frame_puts_unsold_items_in_the_catalog(split):
    frame = pd.DataFrame({C.CATEGORY: ["a", "b"]}, index=pd.Index(["x", "w"], name=C.ITEM_ID))
    dataset = build_dataset(split.train, items_frame=frame)
    truths, facts = build_ground_truths(dataset, split.test)
    assert facts["n_dropped_new_item_purchases"] == 0
    assert facts["n_new_items"] == 1  # only q
    assert truths[NEW_ITEMS].relevant_items("carol") == ["w"]
    assert truths[ALL_PURCHASES].customer_ids.tolist() == ["alice", "bob", "carol"]


def test_missing_event_type_means_purchase():
    ev = _events().drop(columns=[C.EVENT_TYPE])
    s = temporal_split(ev, cutoff="2024-02-01")
    truths, facts = build_ground_truths(build_dataset(s.train), s.test)
    assert facts["n_test_purchases"] == 8
    # bob's z and carol's y are now training/test purchases.
    assert truths[ALL_PURCHASES].relevant_items("carol") == ["y"]
    assert truths[NEW_ITEMS].relevant_items("carol") == ["y"]


def test_protocol_names_are_checked():
    assert check_protocols("both") == (NEW_ITEMS, ALL_PURCHASES)
    assert check_protocols(["all_purchases"]) == (ALL_PURCHASES,)
    with pytest.raises(ConfigError, match="unknown protocol"):
        check_protocols(["new"])
    with pytest.raises(ConfigError, match="repeat"):
        check_protocols([NEW_ITEMS, NEW_ITEMS])
    with pytest.raises(ConfigError, match="no protocol"):
        check_protocols([])


def test_evaluate_popular_gives_the_hand_worked_numbers(split):
    result = evaluate({"popular": PopularityRecommender()}, split, k=2)
    t = result.table.set_index("protocol")
    # Popularity (distinct customers): x 3, y 2, z 1.
    # all_purchases, lists [x, y]: alice {x, z} hits x at 1 -> P 1/2, R 1/2,
    #   NDCG 1 / (1 + 1/log2 3), AP 1 / min(2, 2), RR 1; bob {z}: nothing.
    ap = t.loc[ALL_PURCHASES]
    assert ap["precision"] == pytest.approx(0.25)
    assert ap["recall"] == pytest.approx(0.25)
    assert ap["ndcg"] == pytest.approx((1 / (1 + L3)) / 2)
    assert ap["map"] == pytest.approx(0.25)
    assert ap["hit_rate"] == pytest.approx(0.5)
    assert ap["mrr"] == pytest.approx(0.5)
    assert ap["coverage"] == pytest.approx(2 / 3)
    assert ap["n_customers"] == 2
    # new_items: alice bought x and y, so her list is [z] alone; relevant {z}:
    #   P 1/2 (divides by k), R 1, NDCG 1, AP 1, RR 1. bob bought y and only viewed z, so his
    #   list is [x, z]; relevant {z} at 2: P 1/2, R 1, NDCG 1/log2 3, AP 1/2, RR 1/2.
    #   Coverage: x and z, 2 items of 3.
    ni = t.loc[NEW_ITEMS]
    assert ni[["precision", "recall", "ndcg", "map", "hit_rate", "mrr"]].tolist() == [
        pytest.approx(v) for v in (0.5, 1.0, (1 + L3) / 2, 0.75, 1.0, 0.75)
    ]
    assert ni["coverage"] == pytest.approx(2 / 3)
    assert ni["n_customers"] == 2
    assert ni["fit_time_s"] >= 0
    assert result.k == 2
    assert result.facts["cutoff"] == "2024-02-01T00:00:00"
    assert result.facts["n_train_events"] == 6 and result.facts["n_test_events"] == 8
    assert result.facts["n_train_customers"] == 4 and result.facts["n_train_items"] == 3
    assert result.facts["n_customers_without_relevant"] == {NEW_ITEMS: 0, ALL_PURCHASES: 0}
    assert result.facts["n_dropped_cold_customer_purchases"] == 2


def test_evaluate_several_models_clones_them_and_ranks_them(split):
    mine = BuyAgain()
    messages = []
    result = evaluate(
        {"popular": PopularityRecommender(), "buy_again": mine},
        split,
        k=2,
        progress=messages.append,
    )
    assert not mine.is_fitted  # a clone was fitted, the caller's instance is untouched
    assert result.models == ["popular", "buy_again"]
    assert result.protocols == [NEW_ITEMS, ALL_PURCHASES]
    row = result.table.set_index(["model", "protocol"]).loc[("buy_again", ALL_PURCHASES)]
    # bob's list is [y, z] (his own weights 5 and 1): hit at 2 -> P 1/2, R 1, NDCG 1/log2 3,
    # AP (1/2) / 1, RR 1/2; alice as under popularity.
    assert row["recall"] == pytest.approx((0.5 + 1) / 2)
    assert row["ndcg"] == pytest.approx((1 / (1 + L3) + L3) / 2)
    assert row["map"] == pytest.approx((0.5 + 0.5) / 2)
    assert row["mrr"] == pytest.approx((1 + 0.5) / 2)
    assert row["coverage"] == pytest.approx(1.0)
    assert result.best("ndcg", ALL_PURCHASES) == "buy_again"
    # bob's viewed z is his top new item under buy_again (weight 1), second under popular
    assert result.best("ndcg", NEW_ITEMS) == "buy_again"
    assert result.best("ndcg") == "buy_again"
    assert any("buy_again: fitting" in m for m in messages)
    assert any("scoring all_purchases" in m for m in messages)


def test_evaluate_one_protocol(split):
    result = evaluate({"popular": PopularityRecommender()}, split, k=2, protocols=ALL_PURCHASES)
    assert result.table["protocol"].tolist() == [ALL_PURCHASES]
    assert list(result.truths) == [ALL_PURCHASES]


def test_evaluate_bad_arguments(split):
    with pytest.raises(ConfigError, match="non-empty mapping"):
        evaluate({}, split)
    with pytest.raises(ConfigError, match="not Recommender"):
        evaluate({"x": object()}, split)
    with pytest.raises(ConfigError, match="TemporalSplit"):
        evaluate({"p": PopularityRecommender()}, _events())
    with pytest.raises(ConfigError, match="k == 0"):
        evaluate({"p": PopularityRecommender()}, split, k=0)
    with pytest.raises(ConfigError, match="unknown protocol"):
        evaluate({"p": PopularityRecommender()}, split, protocols=["recent"])


def test_evaluate_with_nobody_to_evaluate_is_a_data_error():
    log = [r for r in LOG if r[0] not in ("alice", "bob")]
    s = temporal_split(_events(log), cutoff="2024-02-01")
    with pytest.raises(DataError, match="nothing to evaluate"):
        evaluate({"p": PopularityRecommender()}, s)


def _fitted_popular(split):
    dataset = build_dataset(split.train)
    return PopularityRecommender().fit(dataset), build_ground_truths(dataset, split.test)[0]


def test_precomputed_lists_score_like_evaluate(split):
    model, truths = _fitted_popular(split)
    result = evaluate({"popular": PopularityRecommender()}, split, k=2)
    for protocol, truth in truths.items():
        recs = model.recommend(truth.customer_ids, 2, exclude_seen=truth.exclude_seen)
        shuffled = recs.sample(frac=1.0, random_state=3)  # order comes from rank, not rows
        scores = score_recommendations(shuffled, truth, k=2)
        row = result.table.set_index("protocol").loc[protocol]
        for metric in ("precision", "recall", "ndcg", "map", "hit_rate", "mrr", "coverage"):
            assert scores[metric] == pytest.approx(row[metric]), (protocol, metric)
        assert scores["n_customers"] == row["n_customers"]


def test_recommendation_matrix_layout(split):
    _, truths = _fitted_popular(split)
    truth = truths[ALL_PURCHASES]  # customers alice, bob; catalog x, y, z
    recs = pd.DataFrame(
        {
            C.CUSTOMER_ID: ["bob", "alice", "alice", "alice", "zoe", "alice"],
            C.RANK: [1, 7, 3, 5, 1, 9],  # gaps are fine; order is what counts
            C.ITEM_ID: ["z", "y", "x", "unknown", "x", "z"],
        }
    )
    matrix = recommendation_matrix(recs, truth, k=3)
    # alice: x (rank 3), unknown (5: keeps its slot, can't hit), y (7); z at rank 9 is cut.
    assert matrix.tolist() == [[0, -1, 1], [2, -1, -1]]
    scores = score_recommendations(recs, truth, k=3)
    assert scores["hit_rate"] == 1.0 and scores["n_customers"] == 2
    assert scores["recall"] == pytest.approx((1 / 2 + 1) / 2)


def test_missing_customers_count_as_misses(split):
    _, truths = _fitted_popular(split)
    truth = truths[ALL_PURCHASES]
    only_alice = pd.DataFrame({C.CUSTOMER_ID: ["alice"], C.RANK: [1], C.ITEM_ID: ["x"]})
    scores = score_recommendations(only_alice, truth, k=1)
    assert scores["n_customers"] == 2
    assert scores["hit_rate"] == pytest.approx(0.5)  # bob got nothing: a miss, not skipped


def test_precomputed_lists_bad_input(split):
    _, truths = _fitted_popular(split)
    truth = truths[ALL_PURCHASES]
    with pytest.raises(DataError, match=r"lack column\(s\) \['rank'\]"):
        score_recommendations(pd.DataFrame({C.CUSTOMER_ID: ["a"], C.ITEM_ID: ["x"]}), truth, 2)
    with pytest.raises(DataError, match="numeric"):
        score_recommendations(
            pd.DataFrame({C.CUSTOMER_ID: ["alice"], C.RANK: ["first"], C.ITEM_ID: ["x"]}),
            truth,
            2,
        )
    twice = pd.DataFrame({C.CUSTOMER_ID: ["bob", "bob"], C.RANK: [1, 2], C.ITEM_ID: ["x", "x"]})
    with pytest.raises(DataError, match="repeat an item"):
        score_recommendations(twice, truth, 2)


# Real data lives next to the project (never in it); the test skips without it.
REAL = (
    Path(__file__).resolve().parents[3].parent
    / "shared/data/online_retail_ii/online_retail_II_2009-2010.parquet"
)


@pytest.mark.slow
def test_real_retail_accounting_and_sanity():
    if not REAL.exists():
        pytest.skip(f"{REAL} not available")
    raw = pd.read_parquet(REAL)
    keep = (
        raw["Customer ID"].notna()
        & ~raw["Invoice"].astype(str).str.startswith("C")
        & (raw["Quantity"] > 0)
        & (raw["Price"] > 0)
    )
    raw = raw[keep]
    events = pd.DataFrame(
        {
            C.CUSTOMER_ID: raw["Customer ID"].astype("int64").astype(str),
            C.ITEM_ID: raw["StockCode"].astype(str),
            C.TIMESTAMP: raw["InvoiceDate"],
            C.QUANTITY: raw["Quantity"].astype(float),
        }
    )
    split = temporal_split(events, test_days=30)
    assert split.cutoff == pd.Timestamp("2010-11-10")
    result = evaluate(
        {"popular": PopularityRecommender(), "trending": TrendingRecommender(7.0)}, split
    )
    f = result.facts
    assert f["n_test_purchases"] == split.n_test  # no event_type column: all purchases
    assert (
        f["n_kept_purchases"]
        + f["n_dropped_cold_customer_purchases"]
        + f["n_dropped_new_item_purchases"]
        == f["n_test_purchases"]
    )
    for protocol, truth in result.truths.items():
        assert truth.n_customers + truth.n_without_relevant == f["n_test_customers"], protocol
    # Many real purchases are re-buys: fewer relevant pairs when they are left out.
    assert f["n_relevant"][NEW_ITEMS] < 0.8 * f["n_relevant"][ALL_PURCHASES]
    # A recency-weighted list beats all-time popularity right before Christmas.
    assert result.best("ndcg", NEW_ITEMS) == "trending"
    ndcg = result.metric("ndcg", NEW_ITEMS)
    assert ndcg["trending"] > 1.5 * ndcg["popular"] > 0


def test_a_customer_whose_history_nets_out_is_judged_as_cold():
    """Z bought and returned everything before the cutoff: no model serves Z a personal list,
    so Z's later purchase is dropped like a cold customer's, not scored as every model's miss."""
    train = pd.DataFrame(
        {
            C.CUSTOMER_ID: ["A", "A", "Z", "Z"],
            C.ITEM_ID: ["P1", "P2", "P2", "P2"],
            C.EVENT_TYPE: [C.PURCHASE, C.PURCHASE, C.PURCHASE, C.RETURN],
            C.TIMESTAMP: pd.date_range("2024-01-01", periods=4, freq="D"),
        }
    )
    test = pd.DataFrame(
        {C.CUSTOMER_ID: ["A", "Z"], C.ITEM_ID: ["P2", "P1"], C.EVENT_TYPE: C.PURCHASE}
    )
    truths, facts = build_ground_truths(build_dataset(train), test)
    assert facts["n_dropped_cold_customer_purchases"] == 1 and facts["n_cold_customers"] == 1
    assert truths["all_purchases"].customer_ids.tolist() == ["A"]
    assert truths["new_items"].n_customers == 0
