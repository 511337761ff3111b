"""Offers after redemptions: remaining budgets and the contact policy's suppression, live.

Accepted ``offer_redeemed`` events count redemptions per offer and mark their customer
(:mod:`recsys.store.realtime`). Between two trainings this module applies them to the
answering version's offers (:func:`recsys.offers.answer.offer_answer`):

- **budget**: an offer's use is its redemptions (``budget_unit: redemptions``) or money
  (``budget_unit: money``): the sum of the events' ``value`` (what each redemption cost, e.g.
  the discount given), plus, for redemptions reported without a value, the catalog's ``cost``
  of a ``fixed``-cost offer (a ``basket_share`` offer then counts nothing: send ``value``).
  An offer whose use reached its catalog ``budget`` is *exhausted*: no customer is offered it
  any more (nor as the fallback) until a new version's catalog says otherwise.
- **suppression**: a customer who redeemed any offer within the contact policy's
  ``suppress_days`` (:class:`recsys.offers.policy.ContactPolicy`, as the version's manifest
  records it, else its default) is offered nothing on any channel (``source: held``, ``held:
  suppressed``), as training holds redeemers (:mod:`recsys.offers.artifacts`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from recsys.offers.answer import OfferAnswer, OfferCatalog, offer_answer
from recsys.offers.policy import ContactPolicy
from recsys.store.realtime import Redemptions

_DAY = 86400.0
#: The hold reason of a redeemer: ``recsys.offers.artifacts.SUPPRESSED`` (not imported: that
#: module brings the allocation's solvers into the service).
SUPPRESSED = "suppressed"
#: Decimals of a budget left: Redis sums the values in floating point (``HINCRBYFLOAT``), so
#: 100 - 3 * 33.33 reads 0.010000000000005116; money needs no more than micro-units.
BUDGET_DECIMALS = 6


def suppress_seconds(manifest: Mapping[str, Any] | None) -> float:
    """Seconds a redeemer is suppressed under the version's contact policy (the manifest's
    ``offers.policy.suppress_days``; the policy's default when the version has none)."""
    offers = (manifest or {}).get("offers")
    policy = offers.get("policy") if isinstance(offers, Mapping) else None
    days = policy.get("suppress_days") if isinstance(policy, Mapping) else None
    if not isinstance(days, int | float) or isinstance(days, bool) or days < 0:
        days = ContactPolicy().suppress_days
    return float(days) * _DAY


def is_suppressed(
    redeemed_at: float | None, manifest: Mapping[str, Any] | None, now: float
) -> bool:
    """Whether a redemption at ``redeemed_at`` (unix seconds; None: none) still suppresses
    the customer at ``now`` under the version's policy."""
    return redeemed_at is not None and now - redeemed_at < suppress_seconds(manifest)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def budget_used(row: Mapping[str, Any], counts: Redemptions) -> float:
    """What the redemptions ``counts`` used of the offer's budget, in its ``budget_unit``."""
    if row.get("budget_unit") == "redemptions":
        return float(counts.n)
    fixed = row.get("cost_model", "fixed") in (None, "fixed")
    per_redemption = (_number(row.get("cost")) or 0.0) if fixed else 0.0
    return counts.value + counts.unvalued * per_redemption


def budget_remaining(row: Mapping[str, Any], counts: Redemptions | None) -> float | None:
    """The offer's catalog ``budget`` minus what redemptions used (>= 0, rounded to
    :data:`BUDGET_DECIMALS`: a remainder below half a micro-unit is used up); None without
    one."""
    budget = _number(row.get("budget"))
    if budget is None:
        return None
    used = 0.0 if counts is None else budget_used(row, counts)
    return max(0.0, round(budget - used, BUDGET_DECIMALS))  # 0.0 first: never -0.0


def exhausted(catalog: OfferCatalog, counters: Mapping[str, Redemptions]) -> frozenset[str]:
    """The offers of ``catalog`` whose budget the redemptions used up."""
    return frozenset(
        offer_id
        for offer_id, counts in counters.items()
        if (row := catalog.by_id.get(offer_id)) is not None and budget_remaining(row, counts) == 0.0
    )


def live_offer_answer(
    stored: Mapping[str, Any] | None,
    catalog: OfferCatalog,
    channel: str,
    *,
    suppressed: bool,
    used_up: frozenset[str] = frozenset(),
) -> OfferAnswer:
    """:func:`~recsys.offers.answer.offer_answer` with the live effects (module docs): held
    when ``suppressed``, else without the ``used_up`` offers (the next allocated one, else the
    channel's fallback if it is not used up, else none)."""
    if suppressed:
        return OfferAnswer("held", [], SUPPRESSED)
    if used_up:
        if stored:
            channels = {
                ch: [oid for oid in ids if oid not in used_up]
                for ch, ids in (stored.get("channels") or {}).items()
            }
            stored = {**stored, "channels": channels}
        fallback = {ch: oid for ch, oid in catalog.fallback.items() if oid not in used_up}
        catalog = replace(catalog, fallback=fallback)
    return offer_answer(stored, catalog, channel)
