"""Pure list logic on the request path: filters, the fallback chain and session blending.

No I/O here. Lists are ``[(item_id, score), ...]`` best first, as the store returns them.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recsys.errors import StoreError
from recsys.store import Catalog
from recsys.store.codec import FLAG_INDEX_U16, FLAG_SCORE_F16, FORMAT_VERSION, HEADER_SIZE
from serving.schemas import Source

Scored = tuple[str, float]

_KNOWN_FLAGS = FLAG_INDEX_U16 | FLAG_SCORE_F16


@dataclass(frozen=True, slots=True, eq=False)
class CatalogView:
    """One version's catalog as plain Python lookups (a dict and lists) for the request path.

    Built once per version; per request an item costs one dict lookup and a list index, with
    no numpy scalar boxing.
    """

    ids: list[str]
    index: dict[str, int]
    name: list[str | None]
    category: list[str | None]
    price: list[float | None]
    in_stock: list[bool]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> CatalogView:
        ids = [str(i) for i in catalog.ids.tolist()]
        return cls(
            ids=ids,
            index=dict(zip(ids, range(len(ids)), strict=True)),
            name=[None if v is None else str(v) for v in catalog.name.tolist()],
            category=[None if v is None else str(v) for v in catalog.category.tolist()],
            price=[None if math.isnan(p) else p for p in catalog.price.tolist()],
            in_stock=[bool(s) for s in catalog.in_stock.tolist()],
        )

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.index

    def __len__(self) -> int:
        return len(self.index)

    def category_of(self, item_id: str) -> str | None:
        i = self.index.get(item_id)
        return None if i is None else self.category[i]

    def decode(self, value: bytes) -> list[Scored]:
        """A stored ranked list of this version as ``(item_id, score)`` pairs.

        The same answer as ``Catalog.pairs(decode_list(value))`` (and the same StoreError
        for a malformed value), with :mod:`struct` instead of numpy: about half the time for
        the short lists of a request.
        """
        indices, scores = self._unpack(value)
        return list(zip(map(self.ids.__getitem__, indices), scores, strict=True))

    def item_set(self, value: bytes) -> frozenset[str]:
        """The item ids of a stored ranked list (scores unread), e.g. to exclude them."""
        return frozenset(map(self.ids.__getitem__, self._unpack(value, scores=False)[0]))

    def _unpack(
        self, value: bytes, *, scores: bool = True
    ) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """Catalog indices and scores of a stored list (see :mod:`recsys.store.codec`)."""
        size = len(value)
        if size < HEADER_SIZE:
            raise StoreError(f"corrupt ranked list: {size} bytes, shorter than the 4-byte header")
        fmt, flags, n = value[0], value[1], value[2] | (value[3] << 8)
        if fmt != FORMAT_VERSION or flags & ~_KNOWN_FLAGS:
            raise StoreError(
                f"unsupported ranked list format {fmt} (flags {flags:#04x}); this reader knows "
                f"format {FORMAT_VERSION}"
            )
        wide_index, wide_score = not flags & FLAG_INDEX_U16, not flags & FLAG_SCORE_F16
        index_end = HEADER_SIZE + n * (4 if wide_index else 2)
        expected = index_end + n * (4 if wide_score else 2)
        if size != expected:
            raise StoreError(
                f"corrupt ranked list: {size} bytes for {n} entries, expected {expected}"
            )
        indices = struct.unpack_from(f"<{n}{'I' if wide_index else 'H'}", value, HEADER_SIZE)
        if n and max(indices) >= len(self.ids):
            raise StoreError(
                f"ranked list refers to item index {max(indices)} but the catalog has "
                f"{len(self.ids)} items (list and catalog from different versions?)"
            )
        if not scores:
            return indices, ()
        return indices, struct.unpack_from(f"<{n}{'f' if wide_score else 'e'}", value, index_end)


@dataclass(frozen=True, slots=True)
class Rung:
    """One rung of the fallback chain: where a list came from, and the list."""

    source: Source
    items: Sequence[Scored]


@dataclass(frozen=True, slots=True)
class Filters:
    """What must never appear (``exclude``) and what the caller restricts to (``category``)."""

    exclude: frozenset[str] = frozenset()
    category: str | None = None


def pick(
    rungs: Iterable[Rung], k: int, catalog: CatalogView, filters: Filters
) -> tuple[Source, list[Scored]]:
    """Walk the rungs in order and keep the first ``k`` allowed, distinct items.

    An item is dropped when it is excluded, already taken from an earlier rung, out of stock,
    or outside the requested category. Items unknown to the catalog are kept (nothing says
    they are unavailable) unless a category is requested. The returned source is the first
    rung that contributed an item (the last rung's when none did).
    """
    taken: list[Scored] = []
    seen: set[str] = set()
    exclude, category = filters.exclude, filters.category
    index, in_stock, categories = catalog.index, catalog.in_stock, catalog.category
    source: Source | None = None
    last: Source = "popular"
    for rung in rungs:
        last = rung.source
        for item_id, score in rung.items:
            if item_id in seen or item_id in exclude:
                continue
            seen.add(item_id)
            i = index.get(item_id)
            if i is not None and not in_stock[i]:
                continue
            if category is not None and (i is None or categories[i] != category):
                continue
            taken.append((item_id, score))
            if source is None:
                source = rung.source
            if len(taken) >= k:
                return source, taken
    return (source or last), taken


def interleave(first: Sequence[Scored], second: Sequence[Scored]) -> list[Scored]:
    """Alternate two ranked lists (first[0], second[0], first[1], ...), keeping first copies."""
    out: list[Scored] = []
    seen: set[str] = set()
    for i in range(max(len(first), len(second))):
        for lst in (first, second):
            if i < len(lst) and lst[i][0] not in seen:
                seen.add(lst[i][0])
                out.append(lst[i])
    return out


def blend(lists: Iterable[Sequence[Scored]]) -> list[Scored]:
    """Combine several similar-item lists: an item's score is the sum over the lists.

    Items similar to several of the session's items rise to the top; ties keep first-seen
    order (the sort is stable), so the answer is deterministic.
    """
    total: dict[str, float] = {}
    for lst in lists:
        for item_id, score in lst:
            total[item_id] = total.get(item_id, 0.0) + score
    return sorted(total.items(), key=lambda kv: kv[1], reverse=True)


def in_category(
    items: Sequence[Scored], catalog: CatalogView, category: str | None
) -> list[Scored]:
    """The entries of ``items`` whose catalog category is ``category``."""
    if category is None:
        return []
    index, categories = catalog.index, catalog.category
    return [
        entry
        for entry in items
        if (i := index.get(entry[0])) is not None and categories[i] == category
    ]
