"""Per-version data held in-process, and which version is the fallback.

A :class:`Snapshot` wraps one version's :class:`~recsys.store.reader.VersionData` (catalog,
popular lists, manifest, read once by the store reader) with what presenting answers needs:
the JSON fragments of its items and popular lists per category. The snapshot of the newest
version seen is also the fallback: while Redis is unreachable every recommendation request is
answered from it (``source: popular``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from recsys.answers.ranking import in_category
from recsys.store.catalog_view import CatalogView, Scored
from recsys.store.reader import StoreReader, VersionData
from serving.present import ItemEncoder

_MAX_CATEGORIES = 10_000  # categories are few; never grow unbounded


@dataclass(eq=False)
class Snapshot:
    """One published version's shared data, ready for the request path."""

    data: VersionData
    encoder: ItemEncoder = field(init=False, repr=False)
    _by_category: dict[str, list[Scored]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.encoder = ItemEncoder(self.data.view)

    @property
    def version(self) -> str:
        return self.data.version

    @property
    def view(self) -> CatalogView:
        return self.data.view

    def popular_of(self, segment: str) -> list[Scored] | None:
        """A segment's popular list, None when the version has none for it."""
        return self.data.popular.get(segment)

    @property
    def global_popular(self) -> list[Scored]:
        return self.data.global_popular

    def popular_in(self, category: str | None) -> list[Scored]:
        """The global popular list restricted to one category (computed once per category)."""
        if category is None:
            return []
        cached = self._by_category.get(category)
        if cached is None:
            cached = in_category(self.global_popular, self.view, category)
            if len(self._by_category) < _MAX_CATEGORIES:
                self._by_category[category] = cached
        return cached


class Snapshots:
    """The snapshots of the last few versions, and which one is the fallback.

    ``current`` is the snapshot of the version the pointer named most recently; every request
    gets the snapshot of the version it resolved, so each answer comes whole from one version.
    """

    def __init__(
        self,
        reader: StoreReader,
        size: int = 3,
        *,
        on_load: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.reader = reader
        self.size = size
        self.on_load = on_load
        self.current: Snapshot | None = None
        self._cache: OrderedDict[str, Snapshot] = OrderedDict()

    async def get(self, version: str) -> Snapshot:
        """The snapshot of ``version`` (the reader loads a version once however many requests
        ask at once); it becomes the fallback. StoreError when the version cannot be read."""
        snap = self._cache.get(version)
        if snap is None:
            data = await self.reader.version_data(version)
            snap = self._cache.get(version)
            if snap is None or snap.data is not data:
                snap = self._cache[version] = Snapshot(data)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
                if self.on_load is not None:
                    self.on_load(snap)
        if self.current is not snap:
            self.current = snap
        return snap
