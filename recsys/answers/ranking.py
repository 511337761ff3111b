"""Pure list logic of every answer: filters, the fallback chain and session blending.

Shared by the API (``serving/``) and the jobs that must give the same answers (the email
export). No I/O and no stored formats here: lists arrive from :mod:`recsys.store.reader` as
``[(item_id, score), ...]`` best first, and leave as ``(item_id, score, source)`` so that
every item of an answer says which rung it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from recsys.store.catalog_view import CatalogView, Scored

#: Which rung of the fallback chain an answer (and each of its items) came from.
Source = Literal["personal", "segment", "similar", "popular", "realtime"]

#: An answered item: ``(item_id, score, source)``.
Ranked = tuple[str, float, Source]


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
) -> tuple[Source, list[Ranked]]:
    """Walk the rungs in order and keep the first ``k`` allowed, distinct items.

    An item is dropped when it is excluded, already taken from an earlier rung, out of stock,
    or outside the requested category. Items unknown to the catalog are kept (nothing says
    they are unavailable) unless a category is requested. The returned source is the first
    rung that contributed an item (the last rung's when none did); each item carries its own.
    """
    taken: list[Ranked] = []
    seen: set[str] = set()
    exclude, category = filters.exclude, filters.category
    index, in_stock, categories = catalog.index, catalog.in_stock, catalog.category
    last: Source = "popular"
    for rung in rungs:
        last = source = rung.source
        for item_id, score in rung.items:
            if item_id in seen or item_id in exclude:
                continue
            seen.add(item_id)
            i = index.get(item_id)
            if i is not None and not in_stock[i]:
                continue
            if category is not None and (i is None or categories[i] != category):
                continue
            taken.append((item_id, score, source))
            if len(taken) >= k:
                return taken[0][2], taken
    return (taken[0][2] if taken else last), taken


def interleave(first: Sequence[Scored], second: Sequence[Scored]) -> list[Scored]:
    """Alternate two ranked lists (first[0], second[0], first[1], ...), keeping first copies.

    Only for versions published before bundles carried the all-purchases answer (customer
    field ``all``); newer versions serve that evaluated list as it is.
    """
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
