from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from recsys.customers.clusters import feature_matrix, fit_clusters, match_previous


def _planted(seed: int = 0, n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    """Three behaviours: recent frequent big spenders, lapsed one-offs, mid occasional."""
    rng = np.random.default_rng(seed)
    truth = np.repeat([0, 1, 2], n)
    rec = np.choose(truth, [rng.uniform(1, 10, 3 * n), rng.uniform(200, 400, 3 * n),
                            rng.uniform(40, 80, 3 * n)])  # fmt: skip
    orders = np.choose(truth, [rng.integers(15, 30, 3 * n), np.ones(3 * n, int),
                               rng.integers(3, 6, 3 * n)])  # fmt: skip
    money = orders * np.choose(truth, [rng.uniform(80, 120, 3 * n), rng.uniform(5, 15, 3 * n),
                                       rng.uniform(30, 50, 3 * n)])  # fmt: skip
    summary = pd.DataFrame(
        {"recency_days": rec, "orders": orders, "monetary_total": money},
        index=[f"c{i}" for i in range(3 * n)],
    )
    garden = np.where(truth == 1, 0.9, 0.1)
    shares = pd.DataFrame(
        {"category:Garden": garden, "category:Toys": 1 - garden}, index=summary.index
    )
    return feature_matrix(summary, shares), truth


def test_recovers_planted_clusters_and_names_them() -> None:
    X, truth = _planted()
    res = fit_clusters(X, k_min=2, k_max=6)
    assert res.k == 3 and max(res.silhouette, key=res.silhouette.get) == 3
    assert adjusted_rand_score(truth, res.labels) > 0.95
    names = res.labels.map(res.profiles["name"])
    assert names[truth == 0].iloc[0].startswith("recent frequent high-spend")
    assert names[truth == 1].iloc[0].startswith("lapsed one-off low-spend")
    assert "Garden-leaning" in names[truth == 1].iloc[0]
    assert res.profiles["customers"].sum() == len(X)
    big = res.profiles.loc[res.labels[truth == 0].iloc[0]]
    assert 15 <= big["median_orders"] <= 30


def test_ids_stable_across_retrains() -> None:
    X, truth = _planted(seed=1)
    first = fit_clusters(X, k_min=3, k_max=3, seed=0)
    # Retrain on new data with another seed: raw k-means numbering is arbitrary ...
    X2, truth2 = _planted(seed=2)
    second = fit_clusters(X2, k_min=3, k_max=3, seed=5)
    matched = match_previous(second, first.to_dict()["profiles"])
    # ... but after matching, each planted group keeps its id.
    for g in range(3):
        assert matched.labels[truth2 == g].mode()[0] == first.labels[truth == g].mode()[0]
    assert (matched.profiles.index == sorted(matched.profiles.index)).all()
    # A retrain with more clusters keeps the old ids and numbers the new one after them.
    more = match_previous(fit_clusters(X2, k_min=4, k_max=4), first.to_dict()["profiles"])
    assert sorted(more.profiles.index) == [0, 1, 2, 3]
