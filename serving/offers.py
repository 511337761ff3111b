"""Offers for the API: a customer's offers, the catalog, offer and item audiences.

Everything comes from the answering version. A customer's offers are one round trip (the
stored ``offers`` field, the customer's suppression and the offers' redemption counters: the
live effects of ``offer_redeemed`` events, :mod:`recsys.realtime.offers`) composed by
:func:`recsys.realtime.offers.live_offer_answer` with the version's offer catalog (one GET,
then kept in memory per version); audiences are paged like segment lists (one round trip for
a page of up to 1,000, cursors bound to their version: 410 once it is gone). An offer's
audience leaves out the customers the contact policy holds now (a second round trip per page:
one pipeline of GETs of their suppression keys, :meth:`LiveReader.suppressions`), so a page
may hold fewer than ``limit`` customers, even none, while ``next_cursor`` still leads on: the
cursor is an offset into the stored list, not into what was shown.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from recsys.offers.answer import OfferAnswer, OfferCatalog, offer_answer
from recsys.realtime.offers import budget_remaining, exhausted, is_suppressed, live_offer_answer
from recsys.store.live_reader import LiveReader
from recsys.store.reader import StoreReader
from serving.errors import ApiError
from serving.present import CSV_PAGE, csv_line
from serving.segments import Page, decode_cursor, encode_cursor
from serving.service import STORE_FAILURES, Context, Service

OFFER_SORT = "value"
ITEM_SORT = "top"
_CACHE_SIZE = 3
Rows = list[dict[str, Any]]


class OfferCatalogs:
    """The offer catalogs of the last few versions, read once each (one per app)."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self.size = size
        self._cache: OrderedDict[str, OfferCatalog] = OrderedDict()

    def cached(self, version: str) -> OfferCatalog | None:
        return self._cache.get(version)

    async def get(self, reader: StoreReader, version: str) -> OfferCatalog:
        found = self._cache.get(version)
        if found is None:
            found = OfferCatalog.from_json(await reader.offer_catalog(version))
            self._cache[version] = found
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return found


class Offers:
    """Offer reads for the API, over the service's version resolution and store reader."""

    def __init__(self, service: Service, catalogs: OfferCatalogs) -> None:
        self.service = service
        self.reader: StoreReader = service.lists_reader
        self.live = LiveReader(self.reader)
        self.catalogs = catalogs

    async def _live(self, endpoint: str) -> Context:
        ctx = await self.service.context(endpoint)
        if not ctx.live:
            raise ApiError(503, "unavailable", "Redis cannot be read: offers need it")
        return ctx

    def _failed(self, endpoint: str, exc: BaseException) -> ApiError:
        self.service.record_failure(endpoint, exc)
        return ApiError(503, "unavailable", f"reading offers failed: {exc}")

    async def for_customer(self, customer_id: str, channel: str) -> tuple[Context, OfferAnswer]:
        """(the answering context: version, experiment arm; the customer's offers on
        ``channel``), redemptions applied (held while the customer is suppressed, used-up
        offers left out). While Redis cannot be read, the fallback offer of the last catalog
        read (503 when none was)."""
        endpoint = "customer_offers"
        ctx = await self.service.context(endpoint, customer=customer_id)
        customer_id = ctx.snapshot.data.normal_id(customer_id)
        if ctx.live:
            try:
                catalog = await self.catalogs.get(self.reader, ctx.version)
                stored, redeemed_at, counters = await self.live.offers(ctx.version, customer_id)
                manifest = ctx.snapshot.data.manifest
                answer = live_offer_answer(
                    stored,
                    catalog,
                    channel,
                    suppressed=is_suppressed(redeemed_at, manifest, time.time()),
                    used_up=exhausted(catalog, counters),
                )
                return ctx, answer
            except STORE_FAILURES as exc:
                self.service.record_failure(endpoint, exc)
        cached = self.catalogs.cached(ctx.version)
        if cached is None:
            raise ApiError(503, "unavailable", "Redis cannot be read and no offers were loaded")
        return ctx, offer_answer(None, cached, channel)

    async def catalog(self) -> tuple[str, list[dict[str, Any]]]:
        """(version, every offer of its catalog with ``budget_left`` as allocated, and live:
        ``redemptions`` so far and ``budget_remaining``, the budget minus what they used)."""
        ctx = await self._live("offers")
        try:
            rows = (await self.catalogs.get(self.reader, ctx.version)).rows
            counters = await self.live.redemptions()
        except STORE_FAILURES as exc:
            raise self._failed("offers", exc) from None
        out = []
        for row in rows:
            counts = counters.get(str(row.get("offer_id")))
            live = {
                "redemptions": 0 if counts is None else counts.n,
                "budget_remaining": budget_remaining(row, counts),
            }
            out.append({**row, **live})
        return ctx.version, out

    async def _start(
        self, endpoint: str, sort: str, cursor: str | None, list_id: str
    ) -> tuple[str, int]:
        """The version and offset a page request reads (a cursor names both)."""
        if cursor is None:
            return (await self._live(endpoint)).version, 0
        version, cursor_sort, offset = decode_cursor(cursor, list_id)
        if cursor_sort != sort:
            raise ApiError(422, "invalid_cursor", "query.cursor: not a cursor of this list")
        try:
            manifest = await self.reader.manifest(version)
        except STORE_FAILURES as exc:
            raise self._failed(endpoint, exc) from None
        if manifest is None:
            raise ApiError(
                410,
                "cursor_expired",
                f"model version {version} of this cursor is no longer kept; start again",
            )
        return version, offset

    async def _check_offer(self, version: str, offer_id: str) -> float | None:
        """The offer's live ``budget_remaining`` (None: no budget); 404 when the version's
        catalog does not hold it."""
        try:
            catalog = await self.catalogs.get(self.reader, version)
            row = catalog.by_id.get(offer_id)
            counts = None if row is None else (await self.live.redemptions()).get(offer_id)
        except STORE_FAILURES as exc:
            raise self._failed("offer_audience", exc) from None
        if row is None:
            raise ApiError(
                404, "unknown_offer", f"offer {offer_id!r} is not in model version {version}"
            )
        return budget_remaining(row, counts)

    async def _stored_item(self, version: str, item_id: str) -> str:
        """The item id as the version stored it (its ingest id rule); 404 when unknown."""
        try:
            data = await self.reader.version_data(version)
        except STORE_FAILURES as exc:
            raise self._failed("item_audience", exc) from None
        stored = data.normal_id(item_id)
        if stored not in data.view:
            raise ApiError(
                404,
                "unknown_item",
                f"item {item_id!r} is not in the catalog of model version {version}",
            )
        return stored

    async def _unsuppressed(self, version: str, rows: Rows) -> Rows:
        """``rows`` (audience rows with ``customer_id``) without the customers the version's
        contact policy holds now (one pipeline, :meth:`LiveReader.suppressions`)."""
        manifest = (await self.reader.version_data(version)).manifest
        redeemed = await self.live.suppressions([str(r["customer_id"]) for r in rows])
        now = time.time()
        return [
            row
            for row, at in zip(rows, redeemed, strict=True)
            if not is_suppressed(at, manifest, now)
        ]

    async def offer_audience(
        self, offer_id: str, limit: int, cursor: str | None
    ) -> tuple[Page, float | None]:
        """(a page of the customers allocated ``offer_id``, best first, less those the contact
        policy holds now: up to ``limit``, maybe fewer or none while ``next_cursor`` leads on;
        the offer's live ``budget_remaining``). Once redemptions used the budget up the
        audience is empty: nobody more can redeem it."""
        version, offset = await self._start("offer_audience", OFFER_SORT, cursor, offer_id)
        remaining = await self._check_offer(version, offer_id)
        if remaining == 0.0:
            return Page(version, [], None), remaining
        try:
            rows, more = await self.reader.offer_audience(version, offer_id, offset, limit)
            shown = await self._unsuppressed(version, rows)
        except STORE_FAILURES as exc:
            raise self._failed("offer_audience", exc) from None
        # The cursor counts the stored rows read, the held ones included.
        next_cursor = (
            encode_cursor(version, OFFER_SORT, offset + len(rows), offer_id) if more else None
        )
        return Page(version, shown, next_cursor), remaining

    async def item_audience(self, item_id: str, limit: int, cursor: str | None) -> Page:
        """A page of ``limit`` customers most likely to buy ``item_id``."""
        version, offset = await self._start("item_audience", ITEM_SORT, cursor, item_id)
        stored = await self._stored_item(version, item_id)
        try:
            rows, more = await self.reader.item_audience(version, stored, offset, limit)
        except STORE_FAILURES as exc:
            raise self._failed("item_audience", exc) from None
        next_cursor = (
            encode_cursor(version, ITEM_SORT, offset + len(rows), item_id) if more else None
        )
        return Page(version, rows, next_cursor)

    async def offer_csv(self, offer_id: str) -> tuple[str, AsyncIterator[bytes]]:
        """(version, CSV chunks) of an offer's whole audience less the customers the contact
        policy holds (the header only once its budget is used up)."""
        version = (await self._live("offer_audience")).version
        remaining = await self._check_offer(version, offer_id)
        header = ["customer_id", "expected_value", "uplift", "reason"]
        if remaining == 0.0:
            return version, self._header_only(header)
        return version, self._csv(
            self.reader.offer_audience, version, offer_id, header, keep=self._unsuppressed
        )

    @staticmethod
    async def _header_only(header: list[str]) -> AsyncIterator[bytes]:
        yield csv_line(header)

    async def item_csv(self, item_id: str) -> tuple[str, AsyncIterator[bytes]]:
        """(version, CSV chunks) of an item's whole audience."""
        version = (await self._live("item_audience")).version
        stored = await self._stored_item(version, item_id)
        header = ["customer_id", "position", "score"]
        return version, self._csv(self.reader.item_audience, version, stored, header)

    @staticmethod
    async def _csv(
        read: Any,
        version: str,
        group: str,
        header: list[str],
        keep: Callable[[str, Rows], Awaitable[Rows]] | None = None,
    ) -> AsyncIterator[bytes]:
        """The header, then ``read``'s pages of ``CSV_PAGE`` rows, each filtered by the
        coroutine ``keep(version, rows)`` when given."""
        yield csv_line(header)
        offset = 0
        while True:
            rows, more = await read(version, group, offset, CSV_PAGE)
            shown = rows if keep is None else await keep(version, rows)
            if shown:
                yield b"".join(
                    csv_line(["" if r.get(k) is None else r[k] for k in header]) for r in shown
                )
            offset += len(rows)
            if not more:
                break
