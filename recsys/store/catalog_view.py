"""One version's catalog as plain Python lookups, for code that answers requests.

:class:`~recsys.store.codec.Catalog` holds the catalog as numpy arrays (for jobs);
:class:`CatalogView` holds the same facts as a dict and lists, built once per version, so that
per request an item costs one dict lookup and a list index with no numpy scalar boxing, and a
stored ranked list decodes straight into ``(item_id, score)`` pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from recsys.errors import StoreError
from recsys.store.codec import Catalog, unpack_list

#: A ranked entry as served: ``(item_id, score)``.
Scored = tuple[str, float]


@dataclass(frozen=True, slots=True, eq=False)
class CatalogView:
    """Item ids in catalog order, their index, and the attributes the API filters and shows.

    ``price`` is None when unknown; ``in_stock`` is True when unknown; ``categories`` is the
    set of every known category.
    """

    ids: list[str]
    index: dict[str, int]
    name: list[str | None]
    category: list[str | None]
    price: list[float | None]
    in_stock: list[bool]
    categories: frozenset[str]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> CatalogView:
        ids = [str(i) for i in catalog.ids.tolist()]
        category = [None if v is None else str(v) for v in catalog.category.tolist()]
        return cls(
            ids=ids,
            index=dict(zip(ids, range(len(ids)), strict=True)),
            name=[None if v is None else str(v) for v in catalog.name.tolist()],
            category=category,
            price=[None if math.isnan(p) else p for p in catalog.price.tolist()],
            in_stock=[bool(s) for s in catalog.in_stock.tolist()],
            categories=frozenset(c for c in category if c is not None),
        )

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.index

    def __len__(self) -> int:
        return len(self.index)

    def category_of(self, item_id: str) -> str | None:
        """The item's category, None when unknown (or the item is not in the catalog)."""
        i = self.index.get(item_id)
        return None if i is None else self.category[i]

    def decode(self, value: bytes) -> list[Scored]:
        """A stored ranked list of this version as ``(item_id, score)`` pairs, best first.

        Raises StoreError for a malformed value or an index past the catalog (a list read
        with another version's catalog).
        """
        indices, scores = unpack_list(value)
        return list(zip(self._ids_of(indices), scores, strict=True))

    def item_set(self, value: bytes) -> frozenset[str]:
        """The item ids of a stored ranked list (scores unread), e.g. to exclude them."""
        return frozenset(self._ids_of(unpack_list(value, scores=False)[0]))

    def _ids_of(self, indices: tuple[int, ...]) -> list[str]:
        ids = self.ids
        if indices and max(indices) >= len(ids):
            raise StoreError(
                f"ranked list refers to item index {max(indices)} but the catalog has "
                f"{len(ids)} items (list and catalog from different versions?)"
            )
        return list(map(ids.__getitem__, indices))
