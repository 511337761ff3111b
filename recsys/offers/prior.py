"""Uplift without campaign history: a documented prior, labelled as such everywhere.

Until a randomised campaign has been run, no model can know who responds to what. The prior
ranks pairs by what the rest of the engine knows, with these assumptions stated:

``uplift_prior[i, j] = base_uplift * affinity[i, j] * persuadability[i] * value_weight[i]``

* ``affinity[i, j]`` in [0, 1]: the customer's recommendation affinity to what offer j applies
  to: the best recommendation score among the offer's ``items`` (or items of its
  ``categories``), divided by the customer's best score overall; 1 for an offer that applies
  to everything; 0 when the customer has no recommendations for those items.
* ``persuadability[i] = 0.25 + 0.75 * 4 r (1 - r)`` from churn risk ``r`` (column
  ``churn_risk``, or ``1 - p_alive``): customers sure to buy anyway (r ~ 0) and customers
  already gone (r ~ 1) are the least persuadable ("sure things" and "lost causes" of uplift
  modelling, Radcliffe & Surry 2011, "Real-world uplift modelling with significance-based
  uplift trees"); r = 0.5 gets 1. Missing churn risk: 1.
* ``value_weight[i] = 0.5 + CLV percentile rank`` (column ``clv``; missing: 1): the same
  incremental purchase is worth more from a customer with a longer expected future.

``response`` (probability of redeeming when offered) is ``base_response + uplift_prior``.
Every row carries ``source = "prior"`` and a ``reason`` naming the inputs, so nothing
downstream mistakes it for a measured effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.errors import DataError
from recsys.offers.catalog import Catalog

SOURCE = "prior"


def _per_customer(customers: pd.DataFrame) -> pd.DataFrame:
    ids = customers["customer_id"].astype(str)
    if "churn_risk" in customers:
        risk = pd.to_numeric(customers["churn_risk"], errors="coerce")
    elif "p_alive" in customers:
        risk = 1 - pd.to_numeric(customers["p_alive"], errors="coerce")
    else:
        risk = pd.Series(np.nan, index=customers.index)
    r = risk.clip(0, 1).to_numpy(float)
    persuade = np.where(np.isnan(r), 1.0, 0.25 + 0.75 * 4 * r * (1 - r))
    if "clv" in customers:
        pct = pd.to_numeric(customers["clv"], errors="coerce").rank(pct=True).to_numpy(float)
        weight = np.where(np.isnan(pct), 1.0, 0.5 + pct)
    else:
        weight = np.ones(len(customers))
    return pd.DataFrame(
        {"persuadability": persuade, "value_weight": weight, "churn_risk": r},
        index=pd.Index(ids, name="customer_id"),
    )


def _affinity(
    pairs: pd.DataFrame,
    catalog: Catalog,
    scores: pd.DataFrame | None,
    items: pd.DataFrame | None,
) -> np.ndarray:
    out = np.ones(len(pairs))
    if scores is None:
        return out
    s = scores.assign(
        customer_id=scores["customer_id"].astype(str), item_id=scores["item_id"].astype(str)
    )
    best = s.groupby("customer_id")["score"].max()
    category = (
        items.assign(item_id=items["item_id"].astype(str)).set_index("item_id")["category"]
        if items is not None and "category" in items
        else pd.Series(dtype=str)
    )
    for offer in catalog.offers:
        if not (offer.items or offer.categories):
            continue
        rows = (pairs["offer_id"] == offer.offer_id).to_numpy()
        if not rows.any():
            continue
        covered = s["item_id"].isin(offer.items)
        if offer.categories:
            covered |= s["item_id"].map(category).isin(offer.categories).fillna(False).astype(bool)
        top = s[covered].groupby("customer_id")["score"].max()
        ids = pairs.loc[rows, "customer_id"]
        ratio = (ids.map(top) / ids.map(best)).fillna(0.0).clip(0, 1)
        out[rows] = ratio.to_numpy(float)
    return out


def prior_uplift(
    pairs: pd.DataFrame,
    customers: pd.DataFrame,
    catalog: Catalog,
    *,
    recommendations: pd.DataFrame | None = None,
    items: pd.DataFrame | None = None,
    base_uplift: float = 0.05,
    base_response: float = 0.05,
) -> pd.DataFrame:
    """The prior for eligible ``pairs`` (``customer_id, offer_id``).

    ``recommendations``: ``customer_id, item_id, score`` (e.g. ``recommendations.parquet``);
    ``items``: ``item_id, category``. Returns ``pairs`` plus ``uplift``, ``response`` (both
    probabilities), ``source`` (``"prior"``) and ``reason``.
    """
    if not 0 <= base_uplift <= 1 or not 0 <= base_response <= 1:
        raise DataError("base_uplift and base_response are probabilities in [0, 1]")
    if "customer_id" not in customers:
        raise DataError("customers need a 'customer_id' column")
    frame = pairs[["customer_id", "offer_id"]].astype(str).reset_index(drop=True)
    per = _per_customer(customers).reindex(frame["customer_id"])
    affinity = _affinity(frame, catalog, recommendations, items)
    persuade = per["persuadability"].fillna(1.0).to_numpy()
    weight = per["value_weight"].fillna(1.0).to_numpy()
    uplift = base_uplift * affinity * persuade * weight
    risk = per["churn_risk"].to_numpy()
    reason = [
        f"prior (no campaign history): affinity {a:.2f}, churn risk "
        + ("n/a" if np.isnan(r) else f"{r:.2f}")
        + f", value weight {w:.2f}"
        for a, r, w in zip(affinity, risk, weight, strict=True)
    ]
    return frame.assign(
        uplift=uplift,
        response=np.minimum(base_response + uplift, 1.0),
        source=SOURCE,
        reason=reason,
    )
