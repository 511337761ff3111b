"""Which customer may get which offer: the catalog's eligibility rules applied to customers.

Customers come as a DataFrame with ``customer_id`` and whichever attribute columns the offers'
rules use (built by ``recsys.customers``; nothing here imports it):

=================  ===================================  ==========================
offer field        customers column                     rule
=================  ===================================  ==========================
``segments``       ``segment`` (RFM segment)            value in the list
``clusters``       ``cluster``                          value in the list
``churn_bands``    ``churn_band``                       value in the list
``clv_min/max``    ``clv``                              min <= clv <= max
``orders_min/max`` ``n_orders``                         min <= n_orders <= max
``customer_type``  ``n_orders``                         new: <= 1 order; returning: >= 2
``countries``      ``country``                          value in the list
=================  ===================================  ==========================

An empty list or missing bound means "no restriction"; a customer with a missing value fails a
restriction on it. The offer must be active at ``when``, and a customer who redeemed it
``cap_per_customer`` times in the last ``cap_period_days`` is not eligible again.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from recsys.errors import DataError
from recsys.offers.catalog import Catalog, Offer

COLUMN_OF = {
    "segments": "segment",
    "clusters": "cluster",
    "churn_bands": "churn_band",
    "countries": "country",
}


def _need(customers: pd.DataFrame, column: str, offer: Offer) -> pd.Series:
    if column not in customers.columns:
        raise DataError(
            f"offer {offer.offer_id!r} needs customers column {column!r}; "
            f"columns: {', '.join(map(str, customers.columns))}"
        )
    return customers[column]


def offer_mask(offer: Offer, customers: pd.DataFrame) -> np.ndarray:
    """Boolean (n_customers,) of the customers ``offer``'s attribute rules admit."""
    ok = np.ones(len(customers), dtype=bool)
    for field, column in COLUMN_OF.items():
        allowed = getattr(offer, field)
        if allowed:
            values = _need(customers, column, offer).astype("string").str.strip()
            ok &= values.isin(allowed).fillna(False).to_numpy(bool)
    for low, high, column in (
        (offer.clv_min, offer.clv_max, "clv"),
        (offer.orders_min, offer.orders_max, "n_orders"),
    ):
        if low is None and high is None:
            continue
        numbers: np.ndarray = np.asarray(
            pd.to_numeric(_need(customers, column, offer), errors="coerce"), dtype=float
        )
        inside = ~np.isnan(numbers)
        if low is not None:
            inside &= numbers >= low
        if high is not None:
            inside &= numbers <= high
        ok &= inside
    if offer.customer_type != "any":
        orders: np.ndarray = np.asarray(
            pd.to_numeric(_need(customers, "n_orders", offer), errors="coerce"), dtype=float
        )
        ok &= (orders <= 1) if offer.customer_type == "new" else (orders >= 2)
    return ok


def unmatched_values(catalog: Catalog, customers: pd.DataFrame) -> list[str]:
    """One line per offer rule value that no customer has, e.g. a misspelt segment.

    ``segments: ["Champion"]`` matches nobody when the segment is called ``Champions``; the
    offer then silently reaches no one. A value can also be legitimately empty today (a
    country with no customer yet), so this is a warning for the output, not a reject.
    Columns the customers frame lacks are :func:`offer_mask`'s error, not reported here.
    """
    notes: list[str] = []
    seen: dict[str, set[str]] = {}
    for offer in catalog.offers:
        for field, column in COLUMN_OF.items():
            allowed = getattr(offer, field)
            if not allowed or column not in customers.columns:
                continue
            if column not in seen:
                values = customers[column].dropna().astype(str).str.strip()
                seen[column] = set(values.unique())
            missing = [v for v in allowed if v not in seen[column]]
            if missing:
                known = sorted(seen[column])
                shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
                notes.append(
                    f"offer {offer.offer_id!r}: {field} {missing} match no customer "
                    f"(values found: {shown or 'none'})"
                )
    return notes


def eligible_pairs(
    catalog: Catalog,
    customers: pd.DataFrame,
    *,
    when: datetime | pd.Timestamp,
    redemptions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """All eligible (customer, offer) pairs.

    Parameters
    ----------
    catalog:
        Validated offers; inactive ones at ``when`` are skipped.
    customers:
        ``customer_id`` + attribute columns (table above). Raises DataError when a rule needs a
        missing column.
    redemptions:
        Optional ``customer_id, offer_id, timestamp`` of past redemptions (per-customer caps).

    Returns
    -------
    DataFrame ``customer_id, offer_id`` (customers in input order within each offer, offers in
    catalog order).
    """
    if "customer_id" not in customers.columns:
        raise DataError("customers need a 'customer_id' column")
    ids = customers["customer_id"].astype(str).to_numpy()
    now = pd.Timestamp(when)
    used = _recent_redemptions(redemptions, catalog, now)
    parts = []
    for offer in catalog.offers:
        if not offer.active(now):
            continue
        ok = offer_mask(offer, customers)
        capped = used.get(offer.offer_id)
        if capped is not None:
            ok &= ~np.isin(ids, capped[capped >= offer.cap_per_customer].index.to_numpy())
        parts.append(pd.DataFrame({"customer_id": ids[ok], "offer_id": offer.offer_id}))
    if not parts:
        return pd.DataFrame({"customer_id": pd.Series(dtype=str), "offer_id": pd.Series(dtype=str)})
    return pd.concat(parts, ignore_index=True)


def _recent_redemptions(
    redemptions: pd.DataFrame | None, catalog: Catalog, now: pd.Timestamp
) -> dict[str, pd.Series]:
    """offer_id -> redemptions per customer within that offer's cap period before ``now``."""
    if redemptions is None or redemptions.empty:
        return {}
    missing = {"customer_id", "offer_id", "timestamp"} - set(redemptions.columns)
    if missing:
        raise DataError(
            f"redemptions need columns customer_id, offer_id, timestamp; missing {sorted(missing)}"
        )
    ts = pd.to_datetime(redemptions["timestamp"], errors="coerce")
    out = {}
    for offer in catalog.offers:
        since = now - pd.Timedelta(days=offer.cap_period_days)
        rows = (redemptions["offer_id"].astype(str) == offer.offer_id) & (ts > since) & (ts <= now)
        if rows.any():
            out[offer.offer_id] = redemptions.loc[rows, "customer_id"].astype(str).value_counts()
    return out
