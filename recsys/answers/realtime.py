"""The ``realtime`` rung: what a customer or session did in the last days, folded into answers.

Inputs are a :class:`~recsys.store.realtime.LiveState` (recent views, clicks and carts newest
first; items bought) read on the request path, and the published similar-item lists of the
newest recent items. Nothing here reads or trains:

1. :func:`fold_in_items`: the ``limit`` newest distinct recent items, each weighted
   ``KIND_WEIGHT[event_type] * DECAY ** rank`` (rank 0 = newest): a cart counts twice a view,
   and each older item counts 0.7 of the one after it. Bounded by ``limit`` (default 5), so a
   request reads at most that many lists, in one pipeline.
2. :func:`realtime_list`: those items' similar lists blended with the weights
   (:func:`~recsys.answers.ranking.blend`), the items themselves left out: "more like what you
   just looked at", item-to-item fold-in as in Linden et al., *Amazon.com recommendations:
   item-to-item collaborative filtering* (IEEE Internet Computing, 2003).
3. :func:`wants_fold_in`: when the rung is worth its read. A customer without a personal list
   (unknown, brand-new, or only a segment) folds in any live state; a customer with a personal
   list only when their newest recent event is newer than the version's ``created_at``, since
   older events may already be in the model. Composition (:mod:`recsys.answers.compose`):
   the realtime rung leads for a customer without a personal list, and is alternated with the
   personal list (realtime first, :func:`~recsys.answers.ranking.mix`) for one who has it.

Items the live state says were bought are excluded from every answer (unless
``include_purchased``), whatever the version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from recsys.answers.ranking import blend
from recsys.store.catalog_view import Scored
from recsys.store.reader import CustomerRecord, VersionData
from recsys.store.realtime import LiveState

#: Weight of an event type in the fold-in (a cart says more than a view).
KIND_WEIGHT: Final = {"add_to_cart": 2.0, "click": 1.0, "view": 1.0}
#: Weight of each recent item relative to the next newer one.
DECAY: Final = 0.7
_PERSONAL = "rec"


def fold_in_items(
    state: LiveState, limit: int, *, skip: frozenset[str] = frozenset()
) -> list[tuple[str, float]]:
    """The ``limit`` newest distinct recent items not in ``skip``, ``(item_id, weight)``
    newest first (weights as in the module docs)."""
    out: list[tuple[str, float]] = []
    seen: set[str] = set()
    for item_id, _, kind in state.recent:
        if item_id in seen or item_id in skip:
            continue
        seen.add(item_id)
        out.append((item_id, KIND_WEIGHT.get(kind, 1.0) * DECAY ** len(out)))
        if len(out) >= limit:
            break
    return out


def realtime_list(
    lists: Sequence[Sequence[Scored] | None],
    weights: Sequence[float],
    drop: frozenset[str] = frozenset(),
) -> list[Scored]:
    """The weighted blend of the fold-in items' similar ``lists`` (None: no list) without
    the ``drop`` items (the recent items themselves), best first."""
    present = [(lst, w) for lst, w in zip(lists, weights, strict=True) if lst]
    blended = blend([lst for lst, _ in present], [w for _, w in present])
    return [entry for entry in blended if entry[0] not in drop]


def version_time(data: VersionData) -> float:
    """Unix time the version was made (its manifest's ``created_at``); ``inf`` when unknown,
    so that no event counts as newer than an undated version."""
    created = data.manifest.get("created_at")
    if isinstance(created, str):
        try:
            return datetime.fromisoformat(created).timestamp()
        except ValueError:
            pass
    return float("inf")


def wants_fold_in(
    state: LiveState | None, record: CustomerRecord | None, data: VersionData
) -> bool:
    """Whether a customer's answer gets a realtime rung (see the module docs)."""
    if state is None or not state.recent:
        return False
    if record is None or _PERSONAL not in record:
        return True
    return state.newest > version_time(data)
