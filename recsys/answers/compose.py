"""A customer's answer from their stored record: the one composition the API and the jobs
that must match it (the email export) share.

Given one version's :class:`~recsys.store.reader.VersionData` and a customer's
:class:`~recsys.store.reader.CustomerRecord` (None for an unknown customer), the fallback chain
is: the personal list, then the customer's segment's popular list, then the global popular
list; :func:`~recsys.answers.ranking.pick` applies the filters.

With live state (the API only, :mod:`recsys.answers.realtime`): items ``bought`` since join
the excluded ones (unless ``include_purchased``), and a ``realtime`` rung leads the chain for
a customer without a personal list, or is alternated with it (realtime first) for one who
has it.
"""

from __future__ import annotations

from collections.abc import Sequence

from recsys.answers.ranking import Filters, Ranked, Rung, Source, interleave, mix, pick
from recsys.store import GLOBAL_SEGMENT
from recsys.store.catalog_view import Scored
from recsys.store.reader import CustomerRecord, VersionData

# Customer record fields (see recsys.store.families.CUSTOMER).
_REC, _AGAIN, _ALL, _SEGMENT = "rec", "again", "all", "seg"


def customer_rungs(
    record: CustomerRecord | None,
    data: VersionData,
    *,
    exclude: frozenset[str] = frozenset(),
    include_purchased: bool = False,
    realtime: Sequence[Scored] = (),
    bought: frozenset[str] = frozenset(),
    depth: int | None = None,
) -> tuple[list[Rung], frozenset[str]]:
    """The customer's fallback chain and what must never appear.

    The personal rung is the bundle's evaluated list: the default answer (``rec``), or with
    ``include_purchased`` the all-purchases answer (``all``; a version published before
    bundles carried it interleaves ``rec`` with the bought items). Items the customer bought
    (``again``, and the live state's ``bought``) join ``exclude`` unless
    ``include_purchased``. A non-empty ``realtime`` list leads (see the module docs); with a
    ``depth`` (the answer's ``k``), only the first ``depth`` items of each list are
    alternated, then come the rest of the personal list and of the realtime list (the same
    answer whenever the alternated head fills it, without mixing whole lists per request).
    """
    rungs: list[Rung] = []
    segment = ""
    if bought and not include_purchased:
        exclude = exclude | bought
    if record is not None:
        personal: list[Scored]
        if include_purchased:
            if _ALL in record:
                personal = record[_ALL]
            else:
                personal = interleave(record.get(_REC, []), record.get(_AGAIN, []))
        else:
            personal = record.get(_REC, [])
            again = record.item_ids(_AGAIN)
            exclude = exclude | again if exclude else again
        rungs.append(Rung("personal", personal))
        segment = record.text.get(_SEGMENT, "")
    if realtime:
        live = Rung("realtime", realtime)
        if rungs and rungs[0].items:
            own = rungs[0]
            if exclude:  # filtered before alternating, so an excluded item leaves no gap
                own = Rung(own.source, [e for e in own.items if e[0] not in exclude])
                live = Rung("realtime", [e for e in realtime if e[0] not in exclude])
            if depth is None:
                rungs[0] = mix(live, own)
            else:
                head = mix(
                    Rung("realtime", live.items[:depth]), Rung(own.source, own.items[:depth])
                )
                rungs[0:1] = [head, own, live]
        else:
            rungs.insert(0, live)
    if segment and segment != GLOBAL_SEGMENT:
        segment_popular = data.popular.get(segment)
        if segment_popular is not None:
            rungs.append(Rung("segment", segment_popular))
    rungs.append(Rung("popular", data.global_popular))
    return rungs, exclude


def customer_answer(
    record: CustomerRecord | None,
    data: VersionData,
    k: int,
    *,
    category: str | None = None,
    exclude: frozenset[str] = frozenset(),
    include_purchased: bool = False,
    realtime: Sequence[Scored] = (),
    bought: frozenset[str] = frozenset(),
) -> tuple[Source, list[Ranked]]:
    """The customer's top ``k`` ``(item_id, score, source)`` and the first rung's source."""
    rungs, exclude = customer_rungs(
        record,
        data,
        exclude=exclude,
        include_purchased=include_purchased,
        realtime=realtime,
        bought=bought,
        depth=k,
    )
    return pick(rungs, k, data.view, Filters(exclude, category))
