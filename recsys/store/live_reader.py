"""Reads of the live state (issue #11) together with the records they complete, each in ONE
round trip (a non-transactional pipeline of single-key commands: cluster-safe).

Used by the service next to :class:`~recsys.store.reader.StoreReader`, whose client and
version data it shares: the customer's HASH and their live state (two HGETALLs), a session's
live state and similar lists, a customer's offers with their suppression and the offers'
redemption counters; and in bulk, for audiences and the email export, the suppressions of
many customers (one GET each) with, when asked, the counters (one HGETALL). A live state
Redis refuses (an error reply such as ``WRONGTYPE``) or that is corrupt never costs the
answer: the record is returned with the error, to be logged (the bulk reads raise instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from recsys.errors import StoreError
from recsys.store import keys as K
from recsys.store.catalog_view import Scored
from recsys.store.connection import REDIS_ERRORS
from recsys.store.families import CUSTOMER, ITEM
from recsys.store.reader import CustomerRecord, StoreReader
from recsys.store.realtime import (
    LiveState,
    Redemptions,
    decode_counters,
    decode_state,
    decode_suppressed,
)

_SIMILAR = ITEM.fields[K.FIELD_SIMILAR.decode()].raw_name
_OFFERS_FIELD = CUSTOMER.fields[K.FIELD_OFFERS.decode()]


class LiveReader:
    """Live-state reads over a :class:`StoreReader`'s client and namespace.

    Every method raises :class:`~recsys.errors.StoreError` when the record itself cannot be
    read (Redis fails, or it is corrupt), with the Redis exception as ``__cause__``.
    """

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.client = reader.client
        self.namespace = reader.namespace

    async def customer(
        self, version: str, customer_id: str
    ) -> tuple[CustomerRecord | None, LiveState | None, StoreError | None]:
        """The customer's record (None: unknown) and live state (None: no events), and what
        went wrong with the live state, if anything (then the record is read alone)."""
        data = await self.reader.version_data(version)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(K.customer_key(self.namespace, version, customer_id))
        pipe.hgetall(K.realtime_customer_key(self.namespace, customer_id))
        try:
            raw, live = await pipe.execute()
        except redis.ResponseError as exc:
            record = await self.reader.customer(version, customer_id)
            return record, None, StoreError(f"reading a live state failed: {exc}")
        except REDIS_ERRORS as exc:
            raise StoreError(f"reading a customer failed: {type(exc).__name__}: {exc}") from exc
        record = CustomerRecord(raw, data.view) if raw else None
        try:
            return record, decode_state(live), None
        except StoreError as exc:
            return record, None, exc

    async def session(
        self, version: str, session_id: str, item_ids: Sequence[str]
    ) -> tuple[list[list[Scored] | None], LiveState | None, StoreError | None]:
        """The similar lists of ``item_ids`` (as :meth:`StoreReader.similar_many`) and the
        session's live state, and what went wrong with the live state, if anything."""
        data = await self.reader.version_data(version)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(K.realtime_session_key(self.namespace, session_id))
        for item_id in item_ids:
            pipe.hget(K.item_key(self.namespace, version, item_id), _SIMILAR)
        try:
            live, *raws = await pipe.execute()
        except redis.ResponseError as exc:
            lists = await self.reader.similar_many(version, item_ids) if item_ids else []
            return lists, None, StoreError(f"reading a live state failed: {exc}")
        except REDIS_ERRORS as exc:
            raise StoreError(f"reading similar items failed: {type(exc).__name__}: {exc}") from exc
        lists = [None if raw is None else data.view.decode(raw) for raw in raws]
        try:
            return lists, decode_state(live), None
        except StoreError as exc:
            return lists, None, exc

    async def offers(
        self, version: str, customer_id: str
    ) -> tuple[dict[str, Any] | None, float | None, dict[str, Redemptions]]:
        """The customer's stored offers (the ``offers`` field, None when absent), the time of
        a redemption that suppresses them (None: none does) and every offer's redemption
        counters. StoreError when any of them cannot be read or is corrupt."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(K.customer_key(self.namespace, version, customer_id), _OFFERS_FIELD.raw_name)
        pipe.get(K.offer_suppressed_key(self.namespace, customer_id))
        pipe.hgetall(K.offer_redemptions_key(self.namespace))
        try:
            raw, suppressed, counters = await pipe.execute()
        except REDIS_ERRORS as exc:
            raise StoreError(f"reading offers failed: {type(exc).__name__}: {exc}") from exc
        stored = None if raw is None else _OFFERS_FIELD.decode(raw)
        if stored is not None and not isinstance(stored, dict):
            raise StoreError("corrupt offers: not a JSON object")
        return stored, decode_suppressed(suppressed), decode_counters(counters)

    async def suppressions(self, customer_ids: Sequence[str]) -> list[float | None]:
        """For each of ``customer_ids`` (ids as the version stores them), the time of their
        latest redemption (unix seconds) while its suppression key lives, else None: one
        pipeline of GETs (no round trip for an empty list). Whether it still suppresses is
        the answering version's policy: :func:`recsys.realtime.offers.is_suppressed`.
        StoreError when Redis fails or a value is corrupt."""
        if not customer_ids:
            return []
        times, _ = await self._offer_state(customer_ids, counters=False)
        return times

    async def offer_state(
        self, customer_ids: Sequence[str]
    ) -> tuple[list[float | None], dict[str, Redemptions]]:
        """(:meth:`suppressions` of ``customer_ids``, every offer's redemption counters) in
        ONE pipeline (GETs and one HGETALL). StoreError when Redis fails or a value is
        corrupt."""
        return await self._offer_state(customer_ids, counters=True)

    async def _offer_state(
        self, customer_ids: Sequence[str], *, counters: bool
    ) -> tuple[list[float | None], dict[str, Redemptions]]:
        pipe = self.client.pipeline(transaction=False)
        for customer_id in customer_ids:
            pipe.get(K.offer_suppressed_key(self.namespace, customer_id))
        if counters:
            pipe.hgetall(K.offer_redemptions_key(self.namespace))
        try:
            replies = await pipe.execute()
        except REDIS_ERRORS as exc:
            raise StoreError(f"reading suppressions failed: {type(exc).__name__}: {exc}") from exc
        raw_counters = replies.pop() if counters else {}
        return [decode_suppressed(raw) for raw in replies], decode_counters(raw_counters)

    async def redemptions(self) -> dict[str, Redemptions]:
        """Every offer's redemption counters (one HGETALL)."""
        key = K.offer_redemptions_key(self.namespace)
        try:
            raw: dict[bytes, bytes] = await self.client.hgetall(key)  # type: ignore[assignment]
            return decode_counters(raw)
        except REDIS_ERRORS as exc:
            raise StoreError(f"reading offer redemptions failed: {exc}") from exc
