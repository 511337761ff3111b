"""From uplift to money, and from an allocation to the publishable offers table.

:func:`expected_value`: per (customer, offer)

``value = priority * (uplift * margin * basket - P(redeem) * cost_per_redemption)``

where ``basket`` is the customer's expected basket (column ``basket_value``, else the
``default_basket``), ``cost_per_redemption`` is the offer's ``cost`` (``fixed``) or
``cost * basket`` (``basket_share``), and ``P(redeem)`` is ``response`` (the probability of
buying when offered, so customers who would buy anyway cost money too) or, if absent, the
uplift. ``budget_use`` is ``P(redeem) * cost_per_redemption`` for a money budget, ``P(redeem)``
for a redemptions budget: the ``cost`` :func:`~recsys.offers.allocation.allocate` checks.

:func:`offers_table`: ``customer_id, rank, offer_id, channel, expected_value, uplift, reason``,
one row per assigned offer and channel it is shown on (rank 1 = most valuable per customer and
channel); customers left without an offer on a channel get the catalog's fallback offer with
reason ``"fallback"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.errors import DataError
from recsys.offers.catalog import CHANNELS, Catalog

COLUMNS = ["customer_id", "rank", "offer_id", "channel", "expected_value", "uplift", "reason"]


def expected_value(
    pairs: pd.DataFrame,
    catalog: Catalog,
    customers: pd.DataFrame | None = None,
    *,
    default_basket: float = 50.0,
) -> pd.DataFrame:
    """``pairs`` (``customer_id, offer_id, uplift`` [, ``response``]) plus ``value`` and
    ``cost`` (budget use), ready for :func:`~recsys.offers.allocation.allocate`."""
    if not {"customer_id", "offer_id", "uplift"} <= set(pairs.columns):
        raise DataError("pairs need columns customer_id, offer_id, uplift")
    frame = pairs.reset_index(drop=True).copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    basket = np.full(len(frame), float(default_basket))
    if customers is not None and "basket_value" in customers:
        per = pd.Series(
            pd.to_numeric(customers["basket_value"], errors="coerce").to_numpy(float),
            index=customers["customer_id"].astype(str),
        )
        basket = frame["customer_id"].map(per).fillna(default_basket).to_numpy(float)
    offers = {o.offer_id: o for o in catalog.offers}
    unknown = set(frame["offer_id"]) - set(offers)
    if unknown:
        raise DataError(f"offer {sorted(unknown)[0]!r} is not in the catalog")
    col = frame["offer_id"].map
    margin = col({k: o.margin for k, o in offers.items()}).to_numpy(float)
    cost = col({k: o.cost for k, o in offers.items()}).to_numpy(float)
    share = col({k: o.cost_model == "basket_share" for k, o in offers.items()}).to_numpy(bool)
    priority = col({k: o.priority for k, o in offers.items()}).to_numpy(float)
    redemptions = col({k: o.budget_unit == "redemptions" for k, o in offers.items()})
    uplift = frame["uplift"].to_numpy(float)
    p_redeem = frame["response"].to_numpy(float) if "response" in frame else uplift.clip(0)
    per_redemption = np.where(share, cost * basket, cost)
    frame["value"] = priority * (uplift * margin * basket - p_redeem * per_redemption)
    frame["cost"] = np.where(redemptions.to_numpy(bool), p_redeem, p_redeem * per_redemption)
    return frame


def budgets_of(catalog: Catalog) -> dict[str, float]:
    """``offer_id -> budget`` for the offers that have one."""
    return {o.offer_id: float(o.budget) for o in catalog.offers if o.budget is not None}


def channels_of(catalog: Catalog) -> dict[str, list[str]]:
    return {o.offer_id: list(o.channels) for o in catalog.offers}


def offers_table(
    assignments: pd.DataFrame, catalog: Catalog, customer_ids: list[str] | pd.Series
) -> pd.DataFrame:
    """The publishable table (:data:`COLUMNS`) from chosen pairs (``customer_id, offer_id,
    value, uplift`` [, ``reason``]) and every customer id (for fallback offers)."""
    chan = channels_of(catalog)
    rows = assignments.assign(
        customer_id=assignments["customer_id"].astype(str),
        channel=assignments["offer_id"].map(chan),
        expected_value=assignments["value"],
        reason=assignments["reason"] if "reason" in assignments else "uplift",
    ).explode("channel")
    table = rows[["customer_id", "offer_id", "channel", "expected_value", "uplift", "reason"]]
    parts = [table]
    ids = pd.Series(customer_ids, dtype=str).drop_duplicates()
    covered = {ch: set(table.loc[table["channel"] == ch, "customer_id"]) for ch in CHANNELS}
    for offer in (o for o in catalog.offers if o.fallback):  # the first fallback per channel
        for channel in offer.channels:
            rest = ids[~ids.isin(covered[channel])]
            covered[channel].update(rest)
            parts.append(
                pd.DataFrame(
                    {
                        "customer_id": rest.to_numpy(),
                        "offer_id": offer.offer_id,
                        "channel": channel,
                        "expected_value": 0.0,
                        "uplift": 0.0,
                        "reason": "fallback",
                    }
                )
            )
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(
        ["customer_id", "channel", "expected_value", "offer_id"],
        ascending=[True, True, False, True],
        kind="mergesort",
    )
    out["rank"] = out.groupby(["customer_id", "channel"]).cumcount() + 1
    return out[COLUMNS].reset_index(drop=True)
