"""A customer's offers on one channel from their stored record: the one composition the API
(``GET /v1/customers/{id}/offers``) and the email export share.

Inputs are what :class:`recsys.store.reader.StoreReader` reads: the customer's stored offers
(``offers`` field: ``{"offers": {id: [expected_value, uplift, reason]}, "channels": {channel:
[ids best first]}, "held": {channel: reason}}``, None for an unknown customer or one with only
the fallback) and the version's offer catalog (``{"offers": [rows], "fallback": {channel:
id}}``). The rule, per channel:

1. a channel the contact policy holds (``held``) gets no offer (``source: held``);
2. else the customer's allocated offers, best first (``source: allocated``);
3. else the version's fallback offer for the channel (``source: fallback``; expected value and
   uplift 0, reason ``fallback``, as in ``offers.parquet``);
4. else nothing (``source: none``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

OfferSource = Literal["allocated", "fallback", "held", "none"]
#: Catalog facts copied into each answered offer.
FACTS = ("name", "kind", "value")


@dataclass(frozen=True)
class OfferCatalog:
    """One version's offer catalog: rows in catalog order, by id, and the fallbacks."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    fallback: dict[str, str] = field(default_factory=dict)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | None) -> OfferCatalog:
        """From the stored catalog (None: a version without offers)."""
        if not doc:
            return cls()
        rows = [r for r in doc.get("offers", []) if isinstance(r, dict)]
        fallback = {str(k): str(v) for k, v in (doc.get("fallback") or {}).items()}
        return cls(rows, fallback, {str(r.get("offer_id")): r for r in rows})

    def __contains__(self, offer_id: object) -> bool:
        return offer_id in self.by_id


@dataclass(frozen=True)
class OfferAnswer:
    """The offers shown on one channel, best first, and where they came from."""

    source: OfferSource
    offers: list[dict[str, Any]]
    held: str | None = None


def _entry(
    rank: int, offer_id: str, value: Any, uplift: Any, reason: Any, catalog: OfferCatalog
) -> dict[str, Any]:
    row = catalog.by_id.get(offer_id, {})
    facts = {k: row.get(k) for k in FACTS}
    return {
        "rank": rank,
        "offer_id": offer_id,
        **facts,
        "expected_value": value,
        "uplift": uplift,
        "reason": reason,
    }


def offer_answer(
    stored: Mapping[str, Any] | None, catalog: OfferCatalog, channel: str
) -> OfferAnswer:
    """The customer's offers on ``channel`` (see the module docs for the rule)."""
    if stored:
        held = (stored.get("held") or {}).get(channel)
        if held:
            return OfferAnswer("held", [], str(held))
        ids = (stored.get("channels") or {}).get(channel) or []
        details = stored.get("offers") or {}
        if ids:
            offers = []
            for rank, oid in enumerate(ids, start=1):
                value, uplift, reason = (list(details.get(oid) or []) + [None] * 3)[:3]
                offers.append(_entry(rank, str(oid), value, uplift, reason, catalog))
            return OfferAnswer("allocated", offers)
    fallback = catalog.fallback.get(channel)
    if fallback is not None:
        return OfferAnswer("fallback", [_entry(1, fallback, 0.0, 0.0, "fallback", catalog)])
    return OfferAnswer("none", [])
