"""Item-kNN (cosine and BM25): hand-worked similarities and scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.config import MatrixConfig
from recsys.data.dataset import InteractionDataset, build_dataset
from recsys.errors import ConfigError
from recsys.models import load_model, make_model
from recsys.models.itemknn import BM25ItemKNNRecommender, ItemKNNRecommender


def _ds(pairs: list[tuple[str, str]]) -> InteractionDataset:
    events = pd.DataFrame(pairs, columns=[C.CUSTOMER_ID, C.ITEM_ID])
    events[C.TIMESTAMP] = pd.Timestamp("2024-01-01")
    return build_dataset(events, MatrixConfig(quantity="count"))


@pytest.fixture
def tiny() -> InteractionDataset:
    """a: x y; b: x y; c: x z. Columns x=(1,1,1), y=(1,1,0), z=(0,0,1) (each weight 5)."""
    return _ds([("a", "x"), ("a", "y"), ("b", "x"), ("b", "y"), ("c", "x"), ("c", "z")])


def _rows(df: pd.DataFrame, key: str, item: str) -> dict[str, list[tuple[str, float]]]:
    return {
        k: list(zip(g[item], g[C.SCORE].astype(float).round(5), strict=True))
        for k, g in df.groupby(key, sort=False)
    }


def test_cosine_similarities_by_hand(tiny: InteractionDataset) -> None:
    model = ItemKNNRecommender().fit(tiny)
    sims = model.similar_items(["x", "y", "z"], k=5)
    xy, xz = round(2 / np.sqrt(6), 5), round(1 / np.sqrt(3), 5)
    # y and z share no customer: they are not neighbours, so their lists are short.
    assert _rows(sims, C.ITEM_ID, C.SIMILAR_ITEM_ID) == {
        "x": [("y", xy), ("z", xz)],
        "y": [("x", xy)],
        "z": [("x", xz)],
    }


def test_scores_are_weighted_sums_of_neighbour_similarities(tiny: InteractionDataset) -> None:
    model = ItemKNNRecommender().fit(tiny)
    recs = model.recommend(["a", "c"], k=5, exclude_seen=True)
    # a owns x, y (weight 5 each): z is reached from x only -> 5 * cos(x, z).
    # c owns x, z: y is reached from x only -> 5 * cos(x, y).
    assert _rows(recs, C.CUSTOMER_ID, C.ITEM_ID) == {
        "a": [("z", round(5 / np.sqrt(3), 5))],
        "c": [("y", round(10 / np.sqrt(6), 5))],
    }
    everything = model.recommend(["c"], k=5, exclude_seen=False)
    # Own items score their own weight (self-similarity 1) plus their neighbours'.
    assert _rows(everything, C.CUSTOMER_ID, C.ITEM_ID)["c"] == [
        ("x", round(5 + 5 / np.sqrt(3), 5)),
        ("z", round(5 + 5 / np.sqrt(3), 5)),
        ("y", round(10 / np.sqrt(6), 5)),
    ]


def test_K_counts_neighbours_besides_the_item_itself(tiny: InteractionDataset) -> None:
    one = ItemKNNRecommender(K=1).fit(tiny)
    assert one.similar_items(["x"], k=5)[C.SIMILAR_ITEM_ID].tolist() == ["y"]
    nnz_per_row = np.diff(one.similarity_.indptr)
    assert nnz_per_row.tolist() == [2, 2, 2]  # itself + one neighbour


def _bm25_similarity(x: np.ndarray, k1: float, b: float) -> np.ndarray:
    """implicit's BM25 item-item score, written out: weighted item rows, dot products."""
    items = x.T  # items x customers
    n = items.shape[0]
    idf = np.log(n) - np.log1p((items > 0).sum(axis=0))
    length = items.sum(axis=1)
    norm = (1 - b) + b * length / length.mean()
    w = np.where(items > 0, items * (k1 + 1) / (k1 * norm[:, None] + items) * idf[None, :], 0)
    return w @ w.T


def test_bm25_matches_the_formula_and_uses_its_parameters() -> None:
    rng = np.random.default_rng(0)
    pairs = sorted({(f"c{rng.integers(0, 30)}", f"i{rng.integers(0, 12)}") for _ in range(80)})
    ds = _ds(pairs)
    dense = ds.matrix.toarray().astype(np.float64)
    results = []
    for k1, b in ((1.2, 0.75), (3.0, 0.2)):
        model = BM25ItemKNNRecommender(K=50, K1=k1, B=b).fit(ds)
        expected = _bm25_similarity(dense, k1, b)
        np.testing.assert_allclose(model.similarity_.toarray(), expected, rtol=1e-4, atol=1e-5)
        results.append(model.similarity_.toarray())
    assert not np.allclose(results[0], results[1])


def test_bm25_and_cosine_are_registered_separately() -> None:
    assert type(make_model("itemknn")) is ItemKNNRecommender
    assert type(make_model("bm25", K1=2.0)) is BM25ItemKNNRecommender
    assert make_model("bm25").get_params() == {"K": 100, "K1": 1.2, "B": 0.75, "num_threads": 0}


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [
        ("itemknn", "K", 0),
        ("itemknn", "num_threads", -2),
        ("bm25", "K1", -1.0),
        ("bm25", "B", 1.5),
        ("bm25", "B", "x"),
    ],
)
def test_bad_parameters_are_config_errors(name: str, param: str, value: object, tiny) -> None:
    with pytest.raises(ConfigError, match=rf"{name}: {param} =="):
        make_model(name, **{param: value}).fit(tiny)


def test_recent_interest_leads_when_a_half_life_is_set(tmp_path) -> None:
    # Everyone who bought p also bought q; everyone who bought r also bought s. Customer "me"
    # viewed p long ago and r yesterday: with a half-life, r's neighbour s comes first.
    rows = []
    day0 = pd.Timestamp("2024-01-01")
    for c in range(4):
        for item in ("p", "q") if c % 2 else ("r", "s"):
            rows.append((f"c{c}", item, C.PURCHASE, day0))
    rows += [("me", "p", C.VIEW, day0), ("me", "r", C.VIEW, day0 + pd.Timedelta(days=59))]
    rows.append(("me", "p", C.VIEW, day0 + pd.Timedelta(days=1)))  # p viewed twice, long ago
    events = pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE, C.TIMESTAMP])
    ds = build_dataset(events)
    neighbours = ["q", "s"]  # (the viewed items themselves stay candidates)
    whole = ItemKNNRecommender().fit(ds).recommend(["me"], k=1, items=neighbours)
    recent = ItemKNNRecommender(half_life_days=3.0).fit(ds)
    assert whole[C.ITEM_ID].tolist() == ["q"]
    assert recent.recommend(["me"], k=1, items=neighbours)[C.ITEM_ID].tolist() == ["s"]
    again = load_model(recent.save(tmp_path / "knn.npz"))
    pd.testing.assert_frame_equal(again.recommend(["me"], k=3), recent.recommend(["me"], k=3))
    with pytest.raises(ConfigError, match="half_life_days"):
        ItemKNNRecommender(half_life_days=0).fit(ds)
