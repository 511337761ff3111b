"""Behavioural clusters: k-means on scaled log-RFM plus category and channel shares.

Features: log1p of recency (days), orders and monetary total, standardised, plus the share
columns (already in [0, 1]; kept unscaled so a category counts as much as a share move).
k is chosen in a range by the silhouette score on a fixed random sample
(``sklearn.metrics.silhouette_score``). Each cluster is profiled from its members (medians of
the raw RFM values, mean shares) and named from its centroid: recency / frequency / spend
level against the whole base, plus its dominant category when one stands out.

Cluster ids are stable across retrains: :func:`match_previous` pairs the new centroids with
the previous version's (``scipy.optimize.linear_sum_assignment`` on centroid distances over
the features both share), new clusters get fresh ids after the previous maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

RFM_FEATURES = ("log_recency", "log_orders", "log_monetary")


def feature_matrix(summary: pd.DataFrame, shares: pd.DataFrame | None = None) -> pd.DataFrame:
    """Unscaled features per customer: log1p RFM and the share columns (same index)."""
    f = pd.DataFrame(
        {
            "log_recency": np.log1p(summary["recency_days"].clip(lower=0)),
            "log_orders": np.log1p(summary["orders"].astype(float)),
            "log_monetary": np.log1p(summary["monetary_total"].clip(lower=0)),
        },
        index=summary.index,
    )
    if shares is not None and len(shares.columns):
        f = f.join(shares.reindex(summary.index).fillna(0.0))
    return f


@dataclass
class ClusterResult:
    """Labels per customer (Series), profiles (DataFrame indexed by cluster id), k scores."""

    labels: pd.Series
    profiles: pd.DataFrame
    centroids: pd.DataFrame  # in the unscaled feature space, indexed by cluster id
    silhouette: dict[int, float]
    k: int

    def to_dict(self) -> dict[str, Any]:
        """Profiles and centroids as JSON-ready records (for segments.json)."""
        return {
            "k": self.k,
            "silhouette": {str(k): v for k, v in self.silhouette.items()},
            "profiles": [
                {
                    "cluster": int(cid),
                    **{str(k): _plain(v) for k, v in row.items()},
                    "centroid": {str(k): float(v) for k, v in cen.items()},
                }
                for cid, row, (_, cen) in zip(
                    self.profiles.index.astype(int),
                    self.profiles.to_dict("records"),
                    self.centroids.iterrows(),
                    strict=True,
                )
            ],
        }


def _plain(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _level(z: float, words: tuple[str, str, str]) -> str:
    return words[0] if z < -0.5 else words[2] if z > 0.5 else words[1]


def name_cluster(z: pd.Series, shares: pd.Series) -> str:
    """A readable name from a centroid: standardised log-RFM levels and a standout share.

    ``z`` holds the centroid's z-scores of ``log_recency, log_orders, log_monetary``;
    ``shares`` the centroid's share columns minus the base average.
    """
    parts = [
        _level(-z["log_recency"], ("lapsed", "mid-recency", "recent")),
        _level(z["log_orders"], ("one-off", "occasional", "frequent")),
        _level(z["log_monetary"], ("low-spend", "mid-spend", "high-spend")),
    ]
    if len(shares) and shares.max() > 0.15:
        parts.append(f"{str(shares.idxmax()).split(':', 1)[-1]}-leaning")
    return " ".join(parts)


def fit_clusters(
    features: pd.DataFrame, *, k_min: int = 3, k_max: int = 8, sample: int = 5000, seed: int = 0
) -> ClusterResult:
    """Choose k in [k_min, k_max] by silhouette and cluster ``features`` (from
    :func:`feature_matrix`). Fewer customers than k_min + 1 gives one cluster."""
    X = features.to_numpy(np.float64)
    n = len(X)
    mu = X[:, :3].mean(axis=0)
    sd = X[:, :3].std(axis=0)
    sd[sd == 0] = 1.0
    Xs = X.copy()
    Xs[:, :3] = (X[:, :3] - mu) / sd
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, size=min(n, sample), replace=False)
    scores: dict[int, float] = {}
    best = None
    if n > k_min:
        for k in range(k_min, min(k_max, n - 1) + 1):
            # One OpenMP thread: on a shared 2-core machine k-means' spin-waiting threads
            # were 25x slower than one thread on 800 customers.
            with threadpool_limits(limits=1, user_api="openmp"):
                km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(Xs)
            if len(np.unique(km.labels_[idx])) < 2:
                continue
            scores[k] = float(silhouette_score(Xs[idx], km.labels_[idx]))
            if best is None or scores[k] > scores[best.n_clusters]:
                best = km
    labels = best.labels_ if best is not None else np.zeros(n, dtype=np.int64)
    k = int(labels.max()) + 1
    centroids = pd.DataFrame(
        [X[labels == c].mean(axis=0) for c in range(k)], columns=features.columns
    )
    zc = (centroids[list(RFM_FEATURES)] - mu) / sd
    share_cols = [c for c in features.columns if c not in RFM_FEATURES]
    base_share = features[share_cols].mean()
    rows = []
    for c in range(k):
        members = labels == c
        rows.append(
            {
                "name": name_cluster(zc.iloc[c], centroids[share_cols].iloc[c] - base_share),
                "customers": int(members.sum()),
                "median_recency_days": float(np.expm1(np.median(X[members, 0]))),
                "median_orders": float(np.expm1(np.median(X[members, 1]))),
                "median_monetary_total": float(np.expm1(np.median(X[members, 2]))),
            }
        )
    profiles = pd.DataFrame(rows)
    return ClusterResult(
        pd.Series(labels, index=features.index, name="cluster"), profiles, centroids, scores, k
    )


def match_previous(result: ClusterResult, previous: list[dict[str, Any]]) -> ClusterResult:
    """Renumber ``result`` so clusters keep the ids of the nearest previous centroids.

    ``previous`` is the ``profiles`` list of an earlier :meth:`ClusterResult.to_dict`. The
    assignment minimises the total Euclidean distance over shared features; unmatched new
    clusters get ids above every previous one. Returns a new result.
    """
    if not previous:
        return result
    prev = pd.DataFrame(
        [p["centroid"] for p in previous], index=[int(p["cluster"]) for p in previous]
    )
    common = [c for c in result.centroids.columns if c in prev.columns]
    a = result.centroids[common].to_numpy()
    b = prev[common].to_numpy()
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    rows, cols = linear_sum_assignment(cost)
    mapping = {int(r): int(prev.index[c]) for r, c in zip(rows, cols, strict=True)}
    nxt = int(prev.index.max()) + 1
    for r in range(len(a)):
        if r not in mapping:
            mapping[r] = nxt
            nxt += 1
    labels = result.labels.map(mapping).astype(np.int64)
    profiles = result.profiles.rename(index=mapping).sort_index()
    centroids = result.centroids.rename(index=mapping).sort_index()
    return ClusterResult(labels, profiles, centroids, result.silhouette, result.k)
