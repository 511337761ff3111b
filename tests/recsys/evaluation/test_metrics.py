import math

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.evaluation import ranking_metrics_at_k

from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import (
    METRICS,
    catalog_coverage,
    per_user_metrics,
    ranking_metrics,
)

L3 = 1 / math.log2(3)  # discount at position 2
L4 = 1 / math.log2(4)  # discount at position 3 (= 0.5)


def _relevance(rows, n_items):
    data, r, c = [], [], []
    for u, items in enumerate(rows):
        for i in items:
            r.append(u)
            c.append(i)
            data.append(1.0)
    return sp.csr_matrix((data, (r, c)), shape=(len(rows), n_items))


# Hand-worked case, k = 3, catalog of 10 items.
RECS = np.array(
    [
        [0, 1, 2],  # user 0: relevant {1, 3}     -> one hit, at position 2
        [4, 3, -1],  # user 1: relevant {0..4}    -> hits at positions 1 and 2, list of 2
        [0, 1, 2],  # user 2: relevant {}         -> not evaluated
        [0, 1, 2],  # user 3: relevant {4}        -> no hit
    ]
)
REL = _relevance([[1, 3], [4, 3, 0, 1, 2], [], [4]], n_items=10)


def test_hand_worked_per_user_values():
    m = per_user_metrics(RECS, REL, k=3)
    # user 0: P = 1/3; R = 1/2; DCG = 1/log2(3); IDCG over min(2, 3) = 2 hits: 1 + 1/log2(3);
    #         AP = (1/2 at position 2) / min(2, 3); first hit at 2 -> RR = 1/2.
    # user 1: P = 2/3; R = 2/5; DCG = 1 + 1/log2(3); IDCG over min(5, 3) = 3: 1 + 1/log2(3) + 1/2;
    #         AP = (1/1 + 2/2) / min(5, 3) = 2/3; RR = 1.
    # user 3: all zero.
    expected = {
        "precision": [1 / 3, 2 / 3, np.nan, 0.0],
        "recall": [1 / 2, 2 / 5, np.nan, 0.0],
        "ndcg": [L3 / (1 + L3), (1 + L3) / (1 + L3 + L4), np.nan, 0.0],
        "map": [(1 / 2) / 2, (1 + 1) / 3, np.nan, 0.0],
        "hit_rate": [1.0, 1.0, np.nan, 0.0],
        "mrr": [1 / 2, 1.0, np.nan, 0.0],
    }
    for name, values in expected.items():
        np.testing.assert_allclose(m[name], values, rtol=1e-12, err_msg=name)
    assert m["hits"].tolist() == [1, 2, 0, 0]
    assert m["n_relevant"].tolist() == [2, 5, 0, 1]
    assert m["ndcg"][0] == pytest.approx(0.386853, abs=1e-6)
    assert m["ndcg"][1] == pytest.approx(0.765361, abs=1e-6)


def test_hand_worked_means_skip_users_without_relevant_items():
    r = ranking_metrics(RECS, REL, k=3)
    assert r["n_users"] == 3  # users 0, 1, 3
    assert r["precision"] == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert r["recall"] == pytest.approx((1 / 2 + 2 / 5 + 0) / 3)
    assert r["ndcg"] == pytest.approx((L3 / (1 + L3) + (1 + L3) / (1 + L3 + L4)) / 3)
    assert r["map"] == pytest.approx((1 / 4 + 2 / 3) / 3)
    assert r["hit_rate"] == pytest.approx(2 / 3)
    assert r["mrr"] == pytest.approx((1 / 2 + 1) / 3)
    # Items 0, 1, 2, 3, 4 appear in some list: 5 of 10.
    assert r["coverage"] == pytest.approx(0.5)
    assert set(r) == {*METRICS, "n_users"}


def test_k_truncates_longer_lists_and_pads_shorter_ones():
    rel = _relevance([[2]], n_items=5)
    # The hit is at position 3: outside the top 2.
    cut = ranking_metrics(np.array([[0, 1, 2]]), rel, k=2)
    assert cut["hit_rate"] == 0.0 and cut["coverage"] == pytest.approx(2 / 5)
    # A list of 1 judged at k = 4: precision divides by k, not by the list length.
    short = per_user_metrics(np.array([[2]]), rel, k=4)
    assert short["precision"][0] == pytest.approx(1 / 4)
    assert short["ndcg"][0] == pytest.approx(1.0)
    assert short["map"][0] == pytest.approx(1.0)


def test_map_normalises_by_min_of_relevant_and_k():
    # 4 relevant, k = 2, both positions hit: AP = (1/1 + 2/2) / min(4, 2) = 1.
    m = per_user_metrics(np.array([[0, 1]]), _relevance([[0, 1, 2, 3]], 5), k=2)
    assert m["map"][0] == pytest.approx(1.0)
    assert m["ndcg"][0] == pytest.approx(1.0)
    assert m["recall"][0] == pytest.approx(0.5)
    # Hit only at position 2: AP = (1/2) / 2 = 0.25.
    m = per_user_metrics(np.array([[4, 1]]), _relevance([[0, 1, 2, 3]], 5), k=2)
    assert m["map"][0] == pytest.approx(0.25)


def test_explicit_zeros_and_duplicate_entries_in_relevance_are_handled():
    rel = sp.csr_matrix(
        (np.array([1.0, 0.0, 1.0]), np.array([1, 2, 1]), np.array([0, 3])), shape=(1, 4)
    )  # item 1 stored twice, item 2 stored as an explicit zero (not relevant)
    m = per_user_metrics(np.array([[2, 1]]), rel, k=2)
    assert m["n_relevant"].tolist() == [1]
    assert m["mrr"][0] == pytest.approx(0.5)


def test_padding_minus_one_never_hits_the_previous_users_last_item():
    # Key arithmetic u * n_items + item: -1 for user 1 equals item 2 of user 0.
    rel = _relevance([[2], [0]], n_items=3)
    m = per_user_metrics(np.array([[2, -1], [-1, 0]]), rel, k=2)
    assert m["hits"].tolist() == [1, 1]
    assert m["mrr"].tolist() == [1.0, 0.5]


def test_no_evaluable_user_gives_nan_means():
    r = ranking_metrics(np.array([[0, 1]]), _relevance([[]], 3), k=2)
    assert r["n_users"] == 0 and math.isnan(r["ndcg"])
    assert r["coverage"] == pytest.approx(2 / 3)


def test_catalog_coverage():
    assert catalog_coverage(np.array([[0, 1], [1, -1]]), 4) == pytest.approx(0.5)
    assert catalog_coverage(np.full((2, 2), -1), 4) == 0.0
    with pytest.raises(ConfigError):
        catalog_coverage(np.array([[0]]), 0)


def test_bad_inputs_are_clear_errors():
    rel = _relevance([[0], [1]], 3)
    with pytest.raises(DataError, match="repeat an item"):
        per_user_metrics(np.array([[0, 1], [2, 2]]), rel, k=2)
    with pytest.raises(DataError, match=r"in \[0, 3\)"):
        per_user_metrics(np.array([[0, 3], [1, 2]]), rel, k=2)
    with pytest.raises(DataError, match="relevance has 2 rows but recommendations have 1"):
        per_user_metrics(np.array([[0, 1]]), rel, k=2)
    with pytest.raises(DataError, match="2-D"):
        per_user_metrics(np.array([0, 1]), rel, k=2)
    with pytest.raises(DataError, match="integer"):
        per_user_metrics(np.array([[0.0, 1.0], [1.0, 2.0]]), rel, k=2)
    with pytest.raises(ConfigError, match="k == 0"):
        per_user_metrics(np.array([[0, 1], [1, 2]]), rel, k=0)
    with pytest.raises(DataError, match="sparse"):
        per_user_metrics(np.array([[0, 1], [1, 2]]), np.eye(2), k=2)


# ---------------------------------------------------------------- against implicit


class _FixedLists:
    """Quacks like an implicit model: ``recommend`` returns precomputed lists."""

    def __init__(self, ids: np.ndarray):
        self.ids = ids.astype(np.int32)

    def recommend(self, userid, user_items, N=10, **kwargs):  # noqa: N803 (implicit's API)
        rows = self.ids[np.asarray(userid)][:, :N]
        return rows, np.zeros(rows.shape, dtype=np.float32)


def _random_case(seed, n_users=200, n_items=50, k=10):
    rng = np.random.default_rng(seed)
    n_rel = rng.integers(0, 15, size=n_users)  # some users have nothing relevant
    rows = [rng.choice(n_items, size=n, replace=False) for n in n_rel]
    rel = _relevance(rows, n_items)
    rel.indices = rel.indices.astype(np.int32)
    rel.indptr = rel.indptr.astype(np.int32)
    # Lists biased towards the relevant items so that hits happen at varied positions.
    scores = rng.random((n_users, n_items)) + 0.6 * rel.toarray()
    recs = np.argsort(-scores, axis=1)[:, :k]
    short = rng.random(n_users) < 0.2  # some lists are shorter than k
    recs[short, k - 3 :] = -1
    return recs, rel


def _implicit_precision(m):
    """implicit's 'precision': sum(hits) / sum(min(k, |rel|)) over users with relevant items."""
    valid = m["n_relevant"] > 0
    k = 10
    return m["hits"][valid].sum() / np.minimum(m["n_relevant"][valid], k).sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_implicit_ranking_metrics_on_the_same_lists(seed):
    recs, rel = _random_case(seed)
    ours = ranking_metrics(recs, rel, k=10)
    theirs = ranking_metrics_at_k(
        _FixedLists(recs), sp.csr_matrix(rel.shape), rel, K=10, show_progress=False
    )
    assert ours["n_users"] == int((np.diff(rel.indptr) > 0).sum()) < 200
    assert 0.05 < ours["ndcg"] < 0.95  # a non-trivial case
    assert ours["ndcg"] == pytest.approx(theirs["ndcg"], rel=1e-9)
    assert ours["map"] == pytest.approx(theirs["map"], rel=1e-9)
    # Where the definitions differ: implicit divides the hits by min(k, |rel|), micro-averaged.
    per_user = per_user_metrics(recs, rel, k=10)
    assert _implicit_precision(per_user) == pytest.approx(theirs["precision"], rel=1e-9)
    assert ours["precision"] != pytest.approx(theirs["precision"], rel=1e-3)


def test_matches_implicit_on_a_trained_implicit_model():
    rng = np.random.default_rng(7)
    n_users, n_items = 200, 50
    groups = rng.integers(0, 4, size=n_users)
    # Planted taste groups: each group prefers one block of items.
    affinity = (np.arange(n_items) // 13)[None, :] == groups[:, None]
    p = np.where(affinity, 0.35, 0.03)
    full = (rng.random((n_users, n_items)) < p).astype(np.float32)
    holdout = rng.random(full.shape) < 0.3
    train = sp.csr_matrix(full * ~holdout)
    test = sp.csr_matrix(full * holdout)
    model = AlternatingLeastSquares(
        factors=8, iterations=5, regularization=0.05, random_state=0, num_threads=1
    )
    model.fit(train, show_progress=False)
    theirs = ranking_metrics_at_k(model, train, test, K=10, show_progress=False)
    ids, _ = model.recommend(np.arange(n_users), train, N=10)
    ours = ranking_metrics(ids, test, k=10)
    assert ours["ndcg"] > 0.1  # the model learned the planted groups
    assert ours["ndcg"] == pytest.approx(theirs["ndcg"], rel=1e-9)
    assert ours["map"] == pytest.approx(theirs["map"], rel=1e-9)
    assert _implicit_precision(per_user_metrics(ids, test, k=10)) == pytest.approx(
        theirs["precision"], rel=1e-9
    )
