"""Pure list logic on the request path: filters, the fallback chain and session blending.

No I/O here. Lists are ``[(item_id, score), ...]`` best first, as the store returns them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recsys.store import Catalog
from serving.schemas import Source

Scored = tuple[str, float]


@dataclass(frozen=True, slots=True, eq=False)
class CatalogView:
    """One version's catalog as plain Python lookups (a dict and lists) for the request path.

    Built once per version; per request an item costs one dict lookup and a list index, with
    no numpy scalar boxing.
    """

    index: dict[str, int]
    name: list[str | None]
    category: list[str | None]
    price: list[float | None]
    in_stock: list[bool]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> CatalogView:
        ids = [str(i) for i in catalog.ids.tolist()]
        return cls(
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
    seen = set(filters.exclude)
    category = filters.category
    index, in_stock, categories = catalog.index, catalog.in_stock, catalog.category
    source: Source | None = None
    last: Source = "popular"
    for rung in rungs:
        last = rung.source
        for item_id, score in rung.items:
            if item_id in seen:
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
