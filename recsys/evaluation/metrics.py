"""Ranking metrics at k, vectorised over users.

Inputs are a recommendation matrix ``recs`` (``n_users x k`` item indices, best first, ``-1``
where a list is shorter than ``k``) and a CSR ``relevance`` matrix (``n_users x n_items``; a
stored non-zero marks a relevant item). Row ``u`` of both describes the same user.

Definitions (binary relevance; ``hit_i`` is 1 when the item at 1-based position ``i`` is
relevant; ``R = |rel|``):

- precision@k = hits / k (a list shorter than k is not rewarded for being short);
- recall@k = hits / R;
- NDCG@k = sum_i hit_i / log2(i + 1), divided by the ideal DCG of min(R, k) hits at the top;
- AP@k = sum_i hit_i * precision@i / min(R, k); MAP@k is its mean;
- hit rate@k = 1 if any hit; MRR@k = 1 / position of the first hit (0 without a hit);
- catalog coverage = distinct recommended items / catalog size.

Users with an empty relevant set have no defined recall/NDCG/AP: their per-user values are
NaN and they are left out of every mean (as ``implicit.evaluation`` skips them).

Compared with ``implicit.evaluation.ranking_metrics_at_k`` (implicit 0.7): its ``ndcg`` and
``map`` are the same quantities as here. Its ``precision`` is different: a micro average
``sum(hits) / sum(min(k, R))`` over users, i.e. hits divided by the best achievable number of
hits, which is closer to a capped recall. Ours is the textbook per-user ``hits / k`` averaged
over users; :func:`per_user_metrics` returns ``hits`` and ``n_relevant`` so implicit's figure
can be recomputed exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.errors import ConfigError, DataError
from recsys.models.base import check_k

#: Metric names in report order (all "higher is better").
METRICS: tuple[str, ...] = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr", "coverage")
#: The per-user metrics (everything but coverage, which is a property of all lists together).
USER_METRICS: tuple[str, ...] = METRICS[:-1]


def _check_recs(recs: np.ndarray, k: int | None) -> np.ndarray:
    arr = np.asarray(recs)
    if arr.ndim != 2:
        raise DataError(f"recommendations must be a 2-D matrix (users x k), got {arr.ndim}-D")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"recommendations must hold integer item indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if k is None:
        k = arr.shape[1]
    k = check_k(k)
    if arr.shape[1] > k:
        arr = arr[:, :k]
    elif arr.shape[1] < k:  # shorter lists: the missing positions are misses
        pad = np.full((arr.shape[0], k - arr.shape[1]), -1, dtype=np.int64)
        arr = np.hstack([arr, pad])
    return arr


def _check_no_duplicates(recs: np.ndarray) -> None:
    if recs.shape[1] < 2:
        return
    srt = np.sort(recs, axis=1)
    dup = (srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)
    bad = dup.any(axis=1)
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} recommendation list(s) repeat an item (first at row "
            f"{int(np.flatnonzero(bad)[0])}); each item may appear once per list"
        )


def _canonical(relevance: sp.spmatrix | sp.sparray, n_users: int) -> sp.csr_matrix:
    if not sp.issparse(relevance):
        raise DataError(f"relevance must be a scipy sparse matrix, got {type(relevance).__name__}")
    if relevance.shape[0] != n_users:
        raise DataError(
            f"relevance has {relevance.shape[0]} rows but recommendations have {n_users}; "
            "row u of both must describe the same user"
        )
    rel = sp.csr_matrix(relevance, copy=True)
    rel.sum_duplicates()
    rel.eliminate_zeros()
    return rel


def hit_matrix(recs: np.ndarray, relevance: sp.csr_matrix) -> np.ndarray:
    """Boolean ``n_users x k``: whether each recommended item is relevant for its user.

    ``recs`` and ``relevance`` must already be validated (see :func:`per_user_metrics`).
    """
    n_users = recs.shape[0]
    n_items = relevance.shape[1]
    # One sorted key per relevant (user, item) pair; CSR order is already sorted by key.
    rel_keys = (
        np.repeat(np.arange(n_users, dtype=np.int64), np.diff(relevance.indptr)) * n_items
        + relevance.indices
    )
    hit = np.zeros(recs.shape, dtype=bool)
    if not len(rel_keys):
        return hit
    rec_keys = np.arange(n_users, dtype=np.int64)[:, None] * n_items + recs
    pos = np.minimum(np.searchsorted(rel_keys, rec_keys), len(rel_keys) - 1)
    hit[:] = (recs >= 0) & (rel_keys[pos] == rec_keys)
    return hit


def per_user_metrics(
    recs: np.ndarray, relevance: sp.spmatrix | sp.sparray, k: int | None = None
) -> dict[str, np.ndarray]:
    """Per-user precision, recall, NDCG, AP, hit and reciprocal rank at ``k``.

    Parameters
    ----------
    recs:
        ``n_users x m`` integer item indices, best first, ``-1`` for "no item". Only the first
        ``k`` columns count; fewer than ``k`` columns are padded with misses.
    relevance:
        Sparse ``n_users x n_items``; stored non-zeros are the relevant items.
    k:
        Cut-off; defaults to ``recs.shape[1]``.

    Returns
    -------
    Arrays of length ``n_users``: the :data:`USER_METRICS` (NaN for users without relevant
    items; ``hit_rate`` and ``mrr`` too, so every mean runs over the same users), plus
    ``hits`` (int) and ``n_relevant`` (int).
    """
    recs = _check_recs(recs, k)
    n_users, k = recs.shape
    rel = _canonical(relevance, n_users)
    n_items = rel.shape[1]
    if recs.size and (recs.min() < -1 or recs.max() >= n_items):
        raise DataError(
            f"recommended item indices must be in [0, {n_items}) or -1 for padding; "
            f"got range [{recs.min()}, {recs.max()}]"
        )
    _check_no_duplicates(recs)

    hit = hit_matrix(recs, rel)
    n_rel = np.diff(rel.indptr).astype(np.int64)
    valid = n_rel > 0
    hits = hit.sum(axis=1)
    cap = np.minimum(n_rel, k)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[np.nan], np.cumsum(discount)])[cap]  # IDCG of min(R, k) hits
    positions = np.arange(1, k + 1)
    precision_at_i = np.cumsum(hit, axis=1) / positions
    first = np.argmax(hit, axis=1)

    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "precision": hits / k,
            "recall": hits / n_rel,
            "ndcg": (hit * discount).sum(axis=1) / ideal,
            "map": (precision_at_i * hit).sum(axis=1) / cap,
            "hit_rate": (hits > 0).astype(np.float64),
            "mrr": np.where(hits > 0, 1.0 / (first + 1), 0.0),
        }
    for name in USER_METRICS:
        out[name] = np.where(valid, out[name].astype(np.float64), np.nan)
    out["hits"] = hits.astype(np.int64)
    out["n_relevant"] = n_rel
    return out


def catalog_coverage(recs: np.ndarray, n_items: int) -> float:
    """Share of the catalog (``n_items``) that appears in at least one list (``-1`` ignored)."""
    if n_items < 1:
        raise ConfigError(f"n_items == {n_items}, must be >= 1")
    arr = np.asarray(recs)
    items = np.unique(arr[arr >= 0])
    return float(len(items) / n_items)


def ranking_metrics(
    recs: np.ndarray,
    relevance: sp.spmatrix | sp.sparray,
    k: int | None = None,
    *,
    n_items: int | None = None,
) -> dict[str, float]:
    """Mean metrics at ``k`` over users with at least one relevant item, plus coverage.

    ``coverage`` counts the distinct items in all rows of ``recs`` (first ``k`` columns)
    against ``n_items`` (default: the number of columns of ``relevance``). ``n_users`` is the
    number of users the means run over; with none, every mean is NaN.
    """
    per_user = per_user_metrics(recs, relevance, k)
    valid = per_user["n_relevant"] > 0
    n_valid = int(valid.sum())
    result = {
        name: float(per_user[name][valid].mean()) if n_valid else float("nan")
        for name in USER_METRICS
    }
    k_eff = check_k(k) if k is not None else np.asarray(recs).shape[1]
    result["coverage"] = catalog_coverage(
        np.asarray(recs)[:, :k_eff], n_items if n_items is not None else relevance.shape[1]
    )
    result["n_users"] = n_valid
    return result
