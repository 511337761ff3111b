"""Pure list logic of every answer: filters, the fallback chain and session blending.

Shared by the API (``serving/``) and the jobs that must give the same answers (the email
export). No I/O and no stored formats here: lists arrive from :mod:`recsys.store.reader` as
``[(item_id, score), ...]`` best first, and leave as ``(item_id, score, source)`` so that
every item of an answer says which rung it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Literal

from recsys.store.catalog_view import CatalogView, Scored

#: Which rung of the fallback chain an answer (and each of its items) came from.
Source = Literal["personal", "segment", "similar", "popular", "realtime"]

#: An answered item: ``(item_id, score, source)``.
Ranked = tuple[str, float, Source]


@dataclass(frozen=True, slots=True)
class Rung:
    """One rung of the fallback chain: where a list came from, and the list.

    ``sources``: per item, for a rung that mixes two (:func:`mix`); None when every item
    comes from ``source``.
    """

    source: Source
    items: Sequence[Scored]
    sources: Sequence[Source] | None = None


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
        last = rung.source
        sources = repeat(rung.source) if rung.sources is None else rung.sources
        for (item_id, score), source in zip(rung.items, sources, strict=False):
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


def _alternate(first: Sequence[Scored], second: Sequence[Scored]) -> Iterator[tuple[int, Scored]]:
    """``(0 or 1, entry)``: first[0], second[0], first[1], ..., first copies of each id only."""
    seen: set[str] = set()
    for i in range(max(len(first), len(second))):
        for which, lst in enumerate((first, second)):
            if i < len(lst) and lst[i][0] not in seen:
                seen.add(lst[i][0])
                yield which, lst[i]


def interleave(first: Sequence[Scored], second: Sequence[Scored]) -> list[Scored]:
    """Alternate two ranked lists (first[0], second[0], first[1], ...), keeping first copies.

    Only for versions published before bundles carried the all-purchases answer (customer
    field ``all``); newer versions serve that evaluated list as it is.
    """
    return [entry for _, entry in _alternate(first, second)]


def blend(
    lists: Iterable[Sequence[Scored]], weights: Sequence[float] | None = None
) -> list[Scored]:
    """Combine several similar-item lists: an item's score is the (``weights``-weighted,
    default 1 each) sum over the lists.

    Items similar to several of the session's items rise to the top; ties keep first-seen
    order (the sort is stable), so the answer is deterministic.
    """
    total: dict[str, float] = {}
    for lst, weight in zip(lists, repeat(1.0) if weights is None else weights, strict=False):
        for item_id, score in lst:
            total[item_id] = total.get(item_id, 0.0) + weight * score
    return sorted(total.items(), key=lambda kv: kv[1], reverse=True)


def mix(first: Rung, second: Rung) -> Rung:
    """One rung alternating two (first[0], second[0], first[1], ...), keeping first copies;
    each item keeps the source of the rung it came from, the mixed rung is ``first``'s.

    Rank-based on purpose: scores of different rungs (a model's, summed similarities) are
    not comparable, so neither list's scale can drown the other.
    """
    pairs = list(_alternate(first.items, second.items))
    sources = (first.source, second.source)
    return Rung(first.source, [entry for _, entry in pairs], [sources[w] for w, _ in pairs])


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
