"""The shared machinery of :class:`Recommender`: top-k, k checks, masking, batching, hooks."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.config import MatrixConfig
from recsys.data.dataset import InteractionDataset, build_dataset
from recsys.errors import ConfigError, DataError
from recsys.models import load_model, make_model
from recsys.models.base import Recommender, check_k, topk


# --------------------------------------------------------------------------- topk
def test_topk_orders_best_first() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [3.0, 1.0, 2.0, 0.0]], dtype=np.float32)
    idx, vals = topk(scores, 2)
    assert idx.tolist() == [[1, 3], [0, 2]]
    np.testing.assert_array_equal(vals, np.array([[0.9, 0.7], [3.0, 2.0]], dtype=np.float32))
    assert vals.dtype == np.float32


def test_topk_k_larger_than_catalog_returns_everything_sorted() -> None:
    scores = np.array([[0.2, 0.8, 0.5]], dtype=np.float32)
    idx, vals = topk(scores, 10)
    assert idx.shape == (1, 3)
    assert idx.tolist() == [[1, 2, 0]]
    np.testing.assert_array_equal(vals, np.array([[0.8, 0.5, 0.2]], dtype=np.float32))


def test_topk_ties_keep_index_order_when_everything_is_returned() -> None:
    idx, _ = topk(np.array([[1.0, 2.0, 1.0, 2.0]]), 4)
    assert idx.tolist() == [[1, 3, 0, 2]]


def test_topk_all_minus_inf_rows_come_back_as_minus_inf() -> None:
    scores = np.array([[-np.inf, -np.inf, -np.inf], [1.0, -np.inf, 2.0]], dtype=np.float32)
    idx, vals = topk(scores, 2)
    assert np.isneginf(vals[0]).all()
    assert idx[1].tolist() == [2, 0] and vals[1].tolist() == [2.0, 1.0]
    idx, vals = topk(scores, 5)
    assert vals.shape == (2, 3) and np.isneginf(vals[1, 2])


def test_topk_empty_inputs() -> None:
    idx, vals = topk(np.empty((0, 4), dtype=np.float32), 3)
    assert idx.shape == (0, 3) and vals.shape == (0, 3)
    idx, vals = topk(np.empty((2, 0), dtype=np.float32), 3)
    assert idx.shape == (2, 0) and idx.dtype == np.int64


# --------------------------------------------------------------------------- check_k
@pytest.mark.parametrize("k", [1, 7, np.int64(3), np.int32(1000)])
def test_check_k_accepts_positive_ints(k: int) -> None:
    assert check_k(k) == int(k) and type(check_k(k)) is int


@pytest.mark.parametrize(
    ("k", "message"),
    [
        (0, "k == 0, must be >= 1"),
        (-1, "k == -1, must be >= 1"),
        ("3", "k == '3', must be an integer >= 1"),
        (2.0, "k == 2.0, must be an integer >= 1"),
        (True, "k == True, must be an integer >= 1"),
        (None, "k == None, must be an integer >= 1"),
    ],
)
def test_check_k_rejects_with_a_clear_message(k: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_k(k)  # type: ignore[arg-type]
    assert str(err.value) == message


# --------------------------------------------------------------------------- a hand-scored model
class FixedScores(Recommender):
    """Scores are ``table[customer]``: lets the base machinery be checked exactly."""

    name = "fixed-test-model"  # deliberately not registered
    supports_similar = True
    batch_size: ClassVar[int] = 2  # force several batches

    def __init__(self, table: tuple[tuple[float, ...], ...] = ()) -> None:
        self.table = table

    def _fit(self, dataset: InteractionDataset) -> None:
        self.scores_ = np.asarray(self.table, dtype=np.float32)

    def _score(self, customer_idx: np.ndarray) -> np.ndarray:
        return self.scores_[customer_idx].copy()

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return self.scores_[: len(item_idx)].copy()

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.scores_ = state["scores"]


def _dataset() -> InteractionDataset:
    """Customers a, b, c and items x, y, z, w; a bought x, b bought y and z, c bought w."""
    events = pd.DataFrame(
        {
            C.CUSTOMER_ID: ["a", "b", "b", "c"],
            C.ITEM_ID: ["x", "y", "z", "w"],
            C.TIMESTAMP: pd.Timestamp("2024-01-01"),
        }
    )
    return build_dataset(events, MatrixConfig(quantity="count"))


TABLE = (
    (4.0, 3.0, 2.0, 1.0),  # a
    (1.0, 2.0, 3.0, 4.0),  # b
    (-np.inf, 5.0, -np.inf, 1.0),  # c: only y and w are candidates at all
)


@pytest.fixture
def fixed() -> FixedScores:
    return FixedScores(TABLE).fit(_dataset())


def _lists(recs: pd.DataFrame) -> dict[str, list[str]]:
    return {c: g[C.ITEM_ID].tolist() for c, g in recs.groupby(C.CUSTOMER_ID, sort=False)}


def test_recommend_masks_seen_items_and_drops_non_candidates(fixed: FixedScores) -> None:
    recs = fixed.recommend(["a", "b", "c"], k=3)
    assert _lists(recs) == {"a": ["y", "z", "w"], "b": ["w", "x"], "c": ["y"]}
    assert recs[C.RANK].tolist() == [1, 2, 3, 1, 2, 1]
    assert recs[C.SCORE].tolist() == [3.0, 2.0, 1.0, 4.0, 1.0, 5.0]
    everything = fixed.recommend(["c"], k=10, exclude_seen=False)
    assert _lists(everything) == {"c": ["y", "w"]}


def test_recommend_keeps_request_order_and_duplicates_across_batches(fixed: FixedScores) -> None:
    recs = fixed.recommend(["c", "a", "zzz", "b", "a"], k=1, exclude_seen=False)
    assert recs[C.CUSTOMER_ID].tolist() == ["c", "a", "b", "a"]
    assert recs[C.ITEM_ID].tolist() == ["y", "x", "w", "x"]


def test_recommend_restricts_to_known_allowed_items(fixed: FixedScores) -> None:
    recs = fixed.recommend(["a", "b"], k=5, exclude_seen=False, items=["w", "z", "nope"])
    assert _lists(recs) == {"a": ["z", "w"], "b": ["w", "z"]}


def test_recommend_rejects_missing_ignore(fixed: FixedScores) -> None:
    with pytest.raises(ConfigError, match="missing='ignore'"):
        fixed.recommend(["a"], missing="ignore")


def test_recommend_uses_the_fast_path_hook_when_given(fixed: FixedScores) -> None:
    calls: list[tuple[list[int], int, bool, list[bool] | None]] = []

    class Hooked(FixedScores):
        def _recommend_batch(self, customer_idx, k, exclude_seen, allowed):  # type: ignore[no-untyped-def]
            calls.append(
                (
                    customer_idx.tolist(),
                    k,
                    exclude_seen,
                    None if allowed is None else allowed.tolist(),
                )
            )
            n = len(customer_idx)
            return np.tile([3, 0], (n, 1)), np.tile(np.array([9.0, -np.inf], np.float32), (n, 1))

    model = Hooked(TABLE).fit(_dataset())
    recs = model.recommend(["a", "b", "c"], k=2, items=["x", "w"])
    assert recs[C.ITEM_ID].tolist() == ["w", "w", "w"]  # from the hook; -inf dropped
    assert calls == [
        ([0, 1], 2, True, [True, False, False, True]),
        ([2], 2, True, [True, False, False, True]),
    ]


def test_fit_needs_a_dataset() -> None:
    with pytest.raises(TypeError, match="InteractionDataset"):
        FixedScores(TABLE).fit(pd.DataFrame())  # type: ignore[arg-type]


def test_similar_items_never_returns_the_query_item(fixed: FixedScores) -> None:
    sims = fixed.similar_items(["x", "y"], k=3)
    # Row 0 of the table for x (x itself masked), row 1 for y (y masked).
    assert _lists(
        sims.rename(columns={C.SIMILAR_ITEM_ID: C.ITEM_ID, C.ITEM_ID: C.CUSTOMER_ID})
    ) == {
        "x": ["y", "z", "w"],
        "y": ["w", "z", "x"],
    }


def test_similar_items_of_a_model_without_support_raises() -> None:
    model = make_model("popular").fit(_dataset())
    with pytest.raises(NotImplementedError, match="similar_items"):
        model.similar_items(["x"])


def test_empty_results_have_the_documented_columns(fixed: FixedScores) -> None:
    recs = fixed.recommend([], k=3)
    assert list(recs.columns) == list(C.RECOMMENDATION_COLUMNS) and recs.empty
    sims = fixed.similar_items(["unknown"], k=3)
    assert list(sims.columns) == list(C.SIMILAR_COLUMNS) and sims.empty


# --------------------------------------------------------------------------- persistence
def test_save_adds_the_npz_suffix_and_load_restores(tmp_path: Path) -> None:
    model = make_model("trending", half_life_days=3.0).fit(_dataset())
    path = model.save(tmp_path / "sub" / "model.bin")
    assert path == tmp_path / "sub" / "model.npz"
    loaded = load_model(path)
    assert loaded.get_params() == {"half_life_days": 3.0}
    assert loaded.fit_time_ == model.fit_time_
    assert (loaded.seen_ != model.seen_).nnz == 0


def test_load_model_rejects_garbage_and_foreign_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="cannot load model"):
        load_model(bad)
    with pytest.raises(DataError, match="cannot load model"):
        load_model(tmp_path / "missing.npz")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array([{"model": "popular"}], dtype=object))
    with pytest.raises(DataError, match="cannot load model"):
        load_model(pickled)
