"""Bundle tables for offers: what ``recsys train`` (or ``recsys offers``) writes and publish stores.

:func:`offer_tables` runs the offers library end to end on one bundle's tables and returns:

- ``offers``: ``customer_id, rank, offer_id, channel, expected_value, uplift, reason``
  (:func:`recsys.offers.arbitration.offers_table`; fallback rows included, except on a
  channel the contact policy holds for the customer);
- ``offer_holds``: ``customer_id, channel, reason``: channels on which a customer gets no
  offer at all, not even the fallback (``suppressed``: redeemed within the policy's
  ``suppress_days``; ``contact_cap``: the channel's contacts for the period are used up);
- ``offer_catalog``: the validated catalog (list fields joined with ``|``) plus ``active`` (at
  ``as_of``), ``audience`` (customers allocated the offer) and ``budget_left`` (the budget
  minus the expected budget use of this allocation; null for an offer without a budget);
- ``offer_audiences``: ``offer_id, sort, rank, customer_id, expected_value, uplift, reason``:
  each offer's allocated customers, highest expected value first (ties by customer id);
- ``item_audiences``: ``item_id, sort, rank, customer_id, position, score``: per item, the
  customers whose recommendation list holds it highest (position, then score, then id),
  at most ``item_audience_size`` per item (computed without a catalog too);
- ``segments`` (when given): the profiles plus ``best_offer_id`` and ``best_offer_value``
  (the customer's allocated offer of highest expected value over every channel; null when
  only the fallback applies): the offer columns of the marketing lists, joined at bundle time.

Eligibility inputs come from the profiles (``segments.parquet``: see
:data:`PROFILE_COLUMNS`) and the customers file (``country``); the uplift is the documented
prior (:mod:`recsys.offers.prior`: no campaign history), labelled as such in every reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from recsys import columns as C
from recsys.customers.segments import slug
from recsys.errors import DataError
from recsys.offers.allocation import Allocation, allocate
from recsys.offers.arbitration import budgets_of, channels_of, expected_value, offers_table
from recsys.offers.catalog import CHANNELS, Catalog, Offer
from recsys.offers.eligibility import eligible_pairs, unmatched_values
from recsys.offers.policy import ContactPolicy
from recsys.offers.prior import prior_uplift

#: Eligibility column <- profile column (segments.parquet).
PROFILE_COLUMNS: Final = {
    "clv": "predicted_clv",
    "n_orders": "orders",
    "basket_value": "monetary_mean",
    "churn_band": "churn_band",
    "churn_risk": "churn_risk",
    "p_alive": "p_alive",
}
SUPPRESSED: Final = "suppressed"
CONTACT_CAP: Final = "contact_cap"
AUDIENCE_SORT: Final = "value"
ITEM_AUDIENCE_SORT: Final = "top"


class OffersConfig(BaseModel):
    """Settings of the offer allocation (a ``[offers]`` config section).

    ``as_of``: when offers must be active and caps counted (default: now, UTC).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: ContactPolicy = Field(default_factory=ContactPolicy)
    as_of: str | None = None
    method: str = "auto"
    default_basket: float = Field(default=50.0, gt=0)
    base_uplift: float = Field(default=0.05, ge=0, le=1)
    item_audience_size: int = Field(default=200, ge=1, le=100_000)


@dataclass
class OfferArtifacts:
    """The extra bundle tables and the manifest's ``offers`` entry."""

    tables: dict[str, pd.DataFrame]
    manifest: dict[str, Any] = field(default_factory=dict)
    allocation: Allocation | None = None


def _rfm_slug(value: str) -> str:
    return value if value.startswith("rfm:") else slug("rfm", value)


def _cluster_slug(value: str) -> str:
    return value if value.startswith("cluster:") else slug("cluster", value)


def normalise_catalog(catalog: Catalog) -> Catalog:
    """Segment and cluster rules written as names (``Champions``, ``3``) or slugs
    (``rfm:champions``, ``cluster:3``) all become slugs, as the profiles' columns are."""
    offers = tuple(
        o.model_copy(
            update={
                "segments": tuple(_rfm_slug(s) for s in o.segments),
                "clusters": tuple(_cluster_slug(s) for s in o.clusters),
            }
        )
        for o in catalog.offers
    )
    return Catalog(offers, catalog.rejects, catalog.n_rows)


def eligibility_frame(
    profiles: pd.DataFrame | None, customers: pd.DataFrame | None, ids: pd.Series
) -> pd.DataFrame:
    """One row per id in ``ids``: ``customer_id`` and the eligibility columns of
    :mod:`recsys.offers.eligibility` (``segment`` and ``cluster`` as slugs)."""
    frame = pd.DataFrame({C.CUSTOMER_ID: pd.Series(ids, dtype=str).drop_duplicates().to_numpy()})
    if profiles is not None:
        prof = profiles.assign(**{C.CUSTOMER_ID: profiles[C.CUSTOMER_ID].astype(str)})
        prof = prof.drop_duplicates(C.CUSTOMER_ID).set_index(C.CUSTOMER_ID)
        at = prof.reindex(frame[C.CUSTOMER_ID])
        for target, source in PROFILE_COLUMNS.items():
            if source in at.columns:
                frame[target] = at[source].to_numpy()
        if "rfm_segment" in at.columns:
            frame["segment"] = [
                None if pd.isna(v) else slug("rfm", v) for v in at["rfm_segment"].tolist()
            ]
        if "cluster" in at.columns:
            frame["cluster"] = [
                None if pd.isna(v) else slug("cluster", v) for v in at["cluster"].tolist()
            ]
    if customers is not None:
        cust = (
            customers
            if C.CUSTOMER_ID not in customers.columns
            else customers.set_index(C.CUSTOMER_ID)
        )
        cust.index = cust.index.astype(str)
        if C.COUNTRY in cust.columns:
            frame[C.COUNTRY] = cust[C.COUNTRY].reindex(frame[C.CUSTOMER_ID]).to_numpy()
    return frame


def item_audience_table(recommendations: pd.DataFrame, size: int = 200) -> pd.DataFrame:
    """Per item, the customers whose list holds it highest (:data:`ITEM_AUDIENCE_SORT`).

    ``recommendations``: ``customer_id, rank, item_id, score``. Returns ``item_id, sort, rank,
    customer_id, position, score`` (``position``: the item's rank in the customer's list),
    at most ``size`` customers per item.
    """
    recs = recommendations[[C.CUSTOMER_ID, C.RANK, C.ITEM_ID, C.SCORE]]
    recs = recs.assign(
        **{C.CUSTOMER_ID: recs[C.CUSTOMER_ID].astype(str), C.ITEM_ID: recs[C.ITEM_ID].astype(str)}
    )
    ordered = recs.sort_values(
        [C.ITEM_ID, C.RANK, C.SCORE, C.CUSTOMER_ID],
        ascending=[True, True, False, True],
        kind="mergesort",
    )
    rank = ordered.groupby(C.ITEM_ID, sort=False).cumcount() + 1
    keep = (rank <= size).to_numpy()
    ordered = ordered[keep]
    return pd.DataFrame(
        {
            C.ITEM_ID: ordered[C.ITEM_ID].to_numpy(),
            "sort": ITEM_AUDIENCE_SORT,
            C.RANK: rank[keep].to_numpy(np.int64),
            C.CUSTOMER_ID: ordered[C.CUSTOMER_ID].to_numpy(),
            "position": ordered[C.RANK].to_numpy(np.int64),
            C.SCORE: ordered[C.SCORE].to_numpy(float),
        }
    )


def _holds(
    ids: pd.Series, suppressed: np.ndarray, caps: pd.DataFrame, channels: list[str]
) -> pd.DataFrame:
    rows: list[tuple[str, str, str]] = []
    used_up = {
        ch: caps[ch].reindex(ids.to_numpy()).to_numpy() <= 0 for ch in channels if ch in caps
    }
    for i, (cid, gone) in enumerate(zip(ids.tolist(), suppressed.tolist(), strict=True)):
        for ch in channels:
            if gone:
                rows.append((cid, ch, SUPPRESSED))
            elif ch in used_up and used_up[ch][i]:
                rows.append((cid, ch, CONTACT_CAP))
    return pd.DataFrame(rows, columns=[C.CUSTOMER_ID, "channel", "reason"])


def _catalog_table(
    catalog: Catalog, active: set[str], chosen: pd.DataFrame, budgets: Mapping[str, float]
) -> pd.DataFrame:
    table = catalog.to_frame()
    used = chosen.groupby("offer_id")["cost"].sum() if len(chosen) else pd.Series(dtype=float)
    audience = chosen.groupby("offer_id").size() if len(chosen) else pd.Series(dtype=int)
    ids = table["offer_id"]
    table["active"] = ids.isin(active).to_numpy()
    table["audience"] = ids.map(audience).fillna(0).astype(np.int64).to_numpy()
    left = [
        max(budgets[o] - float(used.get(o, 0.0)), 0.0) if o in budgets else None
        for o in ids.tolist()
    ]
    table["budget_left"] = pd.array(left, dtype="Float64")
    return table


def offer_tables(
    tables: Mapping[str, pd.DataFrame],
    catalog: Catalog | None,
    *,
    customers: pd.DataFrame | None = None,
    config: OffersConfig | None = None,
    redemptions: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
) -> OfferArtifacts:
    """The offer tables of a bundle (see the module docs) from its ``tables``
    (``recommendations`` required; ``segments`` and ``items`` used when present).

    ``customers``: the customers file (``customer_id`` column or index; ``country`` used);
    ``redemptions``: ``customer_id, offer_id, timestamp`` (per-customer caps, suppression);
    ``contacts``: ``customer_id, channel, timestamp`` (contact policy). ``catalog`` None:
    only ``item_audiences``. Raises DataError when a rule needs a column nobody provides.
    """
    cfg = config or OffersConfig()
    if "recommendations" not in tables:
        raise DataError("offer tables need the bundle's recommendations table")
    recs = tables["recommendations"]
    out: dict[str, pd.DataFrame] = {
        "item_audiences": item_audience_table(recs, cfg.item_audience_size)
    }
    if catalog is None:
        return OfferArtifacts(out)
    when = pd.Timestamp(cfg.as_of) if cfg.as_of else pd.Timestamp.now("UTC").tz_localize(None)
    catalog = normalise_catalog(catalog)
    profiles = tables.get("segments")
    universe = [recs[C.CUSTOMER_ID].astype(str)]
    if profiles is not None:
        universe.insert(0, profiles[C.CUSTOMER_ID].astype(str))
    ids = pd.Series(pd.concat(universe, ignore_index=True).unique(), dtype=str)
    frame = eligibility_frame(profiles, customers, ids)
    policy = cfg.policy
    suppressed = policy.suppressed(ids, when=when, redemptions=redemptions)
    caps = policy.channel_caps(ids, when=when, contacts=contacts)
    holds = _holds(ids, suppressed, caps, list(CHANNELS))
    pairs = eligible_pairs(catalog, frame, when=when, redemptions=redemptions)
    pairs = pairs[~pairs[C.CUSTOMER_ID].isin(set(ids[suppressed]))]
    items = tables.get("items")
    prior = prior_uplift(
        pairs,
        frame,
        catalog,
        recommendations=recs,
        items=items,
        base_uplift=cfg.base_uplift,
    )
    valued = expected_value(prior, catalog, frame, default_basket=cfg.default_basket)
    budgets = budgets_of(catalog)
    allocation = allocate(
        valued,
        budgets,
        max_offers=policy.max_offers,
        channels=channels_of(catalog),
        channel_caps=caps,
        method=cfg.method,
    )
    active_offers = tuple(o for o in catalog.offers if o.active(when))
    active = Catalog(active_offers, catalog.rejects, catalog.n_rows)
    chosen = allocation.assignments
    offers = offers_table(chosen, active, ids)
    held = set(zip(holds[C.CUSTOMER_ID], holds["channel"], strict=True))
    if held:
        is_held = [
            (c, ch) in held
            for c, ch in zip(
                offers[C.CUSTOMER_ID].tolist(), offers["channel"].tolist(), strict=True
            )
        ]
        offers = offers[~np.asarray(is_held, dtype=bool)].reset_index(drop=True)
    out["offers"] = offers
    out["offer_holds"] = holds
    out["offer_catalog"] = _catalog_table(
        catalog, {o.offer_id for o in active_offers}, chosen, budgets
    )
    out["offer_audiences"] = _audiences(chosen)
    if profiles is not None:
        out["segments"] = _with_best_offer(profiles, chosen)
    manifest = {
        "uplift_source": "prior",
        "as_of": when.isoformat(),
        "offers": len(catalog),
        "rejected_offers": int(len(catalog.rejects)),
        "eligible_pairs": int(len(pairs)),
        "allocated": int(len(chosen)),
        "customers_with_offers": int(chosen[C.CUSTOMER_ID].nunique()) if len(chosen) else 0,
        "held": int(len(holds)),
        "method": allocation.method,
        "objective": allocation.objective,
        "lp_bound": allocation.lp_bound,
        # JSON has no NaN: an undefined gap (nothing to allocate) is null
        "gap": allocation.gap if np.isfinite(allocation.gap) else None,
        "policy": policy.model_dump(),
        "warnings": unmatched_values(catalog, frame) + _none_active(catalog, active_offers, when),
    }
    return OfferArtifacts(out, manifest, allocation)


def _none_active(catalog: Catalog, active: tuple[Offer, ...], when: pd.Timestamp) -> list[str]:
    """A warning when the catalog has offers but none runs on ``when`` (a wrong date)."""
    if active or not len(catalog):
        return []
    starts = [o.start for o in catalog.offers if o.start is not None]
    ends = [o.end for o in catalog.offers if o.end is not None]
    span = ""
    if starts or ends:
        first = min(starts).date() if starts else "open"
        last = max(ends).date() if ends else "open"
        span = f" (they run between {first} and {last})"
    return [
        f"none of the {len(catalog)} offers is active on {when.date()}{span}: "
        "check the allocation date (--as-of)"
    ]


def _audiences(chosen: pd.DataFrame) -> pd.DataFrame:
    cols = ["offer_id", "sort", C.RANK, C.CUSTOMER_ID, "expected_value", "uplift", "reason"]
    if chosen.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    frame = chosen.assign(
        **{C.CUSTOMER_ID: chosen[C.CUSTOMER_ID].astype(str)}, expected_value=chosen["value"]
    )
    frame = frame.sort_values(
        ["offer_id", "expected_value", C.CUSTOMER_ID],
        ascending=[True, False, True],
        kind="mergesort",
    )
    frame["sort"] = AUDIENCE_SORT
    frame[C.RANK] = frame.groupby("offer_id").cumcount() + 1
    if "reason" not in frame:
        frame["reason"] = "uplift"
    return frame[cols].reset_index(drop=True)


def _with_best_offer(profiles: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    out = profiles.copy()
    ids = out[C.CUSTOMER_ID].astype(str)
    if chosen.empty:
        out["best_offer_id"] = pd.Series([None] * len(out), dtype=object).to_numpy()
        out["best_offer_value"] = np.nan
        return out
    best = chosen.assign(**{C.CUSTOMER_ID: chosen[C.CUSTOMER_ID].astype(str)}).sort_values(
        [C.CUSTOMER_ID, "value", "offer_id"], ascending=[True, False, True], kind="mergesort"
    )
    best = best.drop_duplicates(C.CUSTOMER_ID).set_index(C.CUSTOMER_ID)
    best_id = ids.map(best["offer_id"]).astype(object)
    out["best_offer_id"] = best_id.where(best_id.notna(), None).to_numpy()
    out["best_offer_value"] = ids.map(best["value"]).astype(float).to_numpy()
    return out
