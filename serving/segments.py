"""Customer segments for marketing: the segment list, a segment's customers, one profile.

Everything comes from the answering version: the segment summaries from its manifest
(``segments.summary``, in memory), a segment's customers from its stored member pages (one
round trip for a page of up to 1,000) and their profiles from the customer records (one
pipeline). A page's ``next_cursor`` is bound to the version it was read from: following it
reads that version for as long as it is kept (``--keep``), even after a newer one is
published; after that it answers 410.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from recsys.data.parsing import IdRule
from recsys.errors import ConfigError
from recsys.store.keys import check_version
from recsys.store.reader import StoreReader
from serving.errors import ApiError
from serving.present import CSV_PAGE, csv_line
from serving.service import STORE_FAILURES, Service

SortKey = Literal["clv", "churn_risk"]
#: Profile columns shown first in a CSV export (any others follow, in stored order).
CSV_FIRST = ("customer_id", "rfm_segment", "cluster", "cluster_name", "churn_band")


@dataclass(frozen=True)
class Page:
    """One page of a segment's customers, from one version."""

    version: str
    customers: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(version: str, sort: str, offset: int, list_id: str) -> str:
    """An opaque cursor naming the version, the list (segment, offer or item), the sort order
    and where the next page starts."""
    raw = orjson.dumps({"v": version, "l": list_id, "s": sort, "o": offset})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, list_id: str) -> tuple[str, str, int]:
    """``(version, sort, offset)`` of a cursor of the list ``list_id``; ApiError 422
    ``invalid_cursor`` when it is not one this API gave for that list."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = orjson.loads(raw)
        version, listed, sort, offset = doc["v"], doc["l"], doc["s"], doc["o"]
        if not (isinstance(version, str) and isinstance(sort, str) and type(offset) is int):
            raise TypeError
        if offset < 0:
            raise ValueError
        check_version(version)  # ConfigError: not a version id at all
    except (binascii.Error, ValueError, TypeError, KeyError, ConfigError):
        message = "query.cursor: not a cursor this API gave"
        raise ApiError(422, "invalid_cursor", message) from None
    if listed != list_id:
        raise ApiError(422, "invalid_cursor", "query.cursor: a cursor of another list")
    return version, sort, offset


class Segments:
    """Segment reads for the API, over the service's version resolution and store reader."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.reader: StoreReader = service.lists_reader

    async def _live_version(self, endpoint: str) -> tuple[str, dict[str, Any]]:
        """The active version and its manifest; 503 when Redis cannot be read (lists have
        no in-process fallback)."""
        ctx = await self.service.context(endpoint)
        if not ctx.live:
            raise ApiError(503, "unavailable", "Redis cannot be read: segment lists need it")
        return ctx.version, ctx.snapshot.data.manifest

    @staticmethod
    def _summaries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
        segments = manifest.get("segments")
        summary = segments.get("summary") if isinstance(segments, dict) else None
        return summary if isinstance(summary, list) else []

    async def summaries(self) -> tuple[str, list[dict[str, Any]]]:
        """Every segment of the active version (RFM and cluster), with its figures."""
        version, manifest = await self._live_version("segments")
        return version, self._summaries(manifest)

    async def profile(self, customer_id: str) -> tuple[str, str | None, dict[str, Any]]:
        """(version, segment slug, profile) of one customer; 404 when it has no profile."""
        version, manifest = await self._live_version("customer_segment")
        customer_id = IdRule.of_manifest(manifest)(customer_id)
        try:
            record = await self.reader.customer(version, customer_id)
        except STORE_FAILURES as exc:
            self.service.record_failure("customer_segment", exc)
            raise ApiError(503, "unavailable", f"reading the customer failed: {exc}") from None
        profile = None if record is None else record.profile
        if profile is None:
            raise ApiError(
                404,
                "unknown_customer",
                f"customer {customer_id!r} has no segment profile in model version {version}",
            )
        return version, record.text.get("seg") if record is not None else None, profile

    def _check_segment(self, version: str, manifest: dict[str, Any], segment: str) -> None:
        known = {s.get("segment") for s in self._summaries(manifest) if isinstance(s, dict)}
        if segment not in known:
            raise ApiError(
                404, "unknown_segment", f"segment {segment!r} is not in model version {version}"
            )

    async def page(self, segment: str, sort: SortKey, limit: int, cursor: str | None) -> Page:
        """A page of ``limit`` customers of ``segment``, best first by ``sort``."""
        version, manifest = await self._live_version("segment_customers")
        offset = 0
        if cursor is not None:
            version, cursor_sort, offset = decode_cursor(cursor, segment)
            if cursor_sort != sort:
                raise ApiError(
                    422,
                    "invalid_cursor",
                    f"query.cursor: the cursor pages by {cursor_sort!r}, not {sort!r}",
                )
            manifest = await self._manifest_of(version)
        self._check_segment(version, manifest, segment)
        try:
            ids, more = await self.reader.segment_members(version, segment, sort, offset, limit)
            profiles = await self.reader.profiles(version, ids) if ids else []
        except STORE_FAILURES as exc:
            self.service.record_failure("segment_customers", exc)
            raise ApiError(503, "unavailable", f"reading the segment failed: {exc}") from None
        rows = [{"customer_id": c, **(p or {})} for c, p in zip(ids, profiles, strict=True)]
        next_cursor = encode_cursor(version, sort, offset + len(ids), segment) if more else None
        return Page(version, rows, next_cursor)

    async def _manifest_of(self, version: str) -> dict[str, Any]:
        """The manifest of the version a cursor names; 410 once that version is gone."""
        try:
            manifest = await self.reader.manifest(version)
        except STORE_FAILURES as exc:
            raise ApiError(503, "unavailable", f"reading version {version}: {exc}") from None
        if manifest is None:
            raise ApiError(
                410,
                "cursor_expired",
                f"model version {version} of this cursor is no longer kept; start again",
            )
        return manifest

    async def csv(
        self, segment: str, sort: SortKey, cursor: str | None = None
    ) -> tuple[str, AsyncIterator[bytes]]:
        """(version, CSV chunks): every customer of ``segment``, a header line first.

        The CSV is always the whole segment: a ``cursor`` is still checked (422 when it is
        not one of this list) but not followed."""
        if cursor is not None:
            decode_cursor(cursor, segment)
        version, manifest = await self._live_version("segment_customers")
        self._check_segment(version, manifest, segment)
        first = await self._rows(version, segment, sort, 0)

        async def chunks() -> AsyncIterator[bytes]:
            rows, offset, header = first, 0, None
            while rows:
                if header is None:
                    keys = {k: None for row in rows for k in row}
                    header = [k for k in CSV_FIRST if k in keys]
                    header += [k for k in keys if k not in header]
                    yield csv_line(header)
                yield b"".join(csv_line([_cell(row.get(k)) for k in header]) for row in rows)
                offset += len(rows)
                if len(rows) < CSV_PAGE:
                    break
                rows = await self._rows(version, segment, sort, offset)

        return version, chunks()

    async def _rows(
        self, version: str, segment: str, sort: str, offset: int
    ) -> list[dict[str, Any]]:
        ids, _ = await self.reader.segment_members(version, segment, sort, offset, CSV_PAGE)
        profiles = await self.reader.profiles(version, ids) if ids else []
        return [{"customer_id": c, **(p or {})} for c, p in zip(ids, profiles, strict=True)]


def _cell(value: Any) -> Any:
    return "" if value is None else value
