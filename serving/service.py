"""The request path: resolve the version once, read once, rank, and degrade instead of failing.

Round trips per request: the active-version GET (skipped while the in-process pointer cache is
fresh, ``version_cache_seconds``) and one read of what the answer needs (the customer HASH,
the item's similar list, or one pipeline for a session). The catalog, popular lists and
manifest come from the version's in-process :class:`~serving.fallback.Snapshot`. With
``realtime`` on, the customer's (or session's) live state comes in that same pipeline; only a
live state with recent items to fold in costs one more round trip (at most
``realtime_fold_in`` similar lists, one pipeline; :mod:`recsys.answers.realtime`).

When Redis fails, requests are answered from the snapshot of the newest version seen
(``source: popular``), and for ``redis_retry_seconds`` after a failure Redis is not tried
at all, so an outage costs no timeouts on the request path; then the next request tries again
(the client reconnects), so personal answers resume without a restart.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from recsys.answers.compose import customer_answer
from recsys.answers.ranking import Filters, Ranked, Rung, Source, blend, mix, pick
from recsys.answers.realtime import fold_in_items, realtime_list, wants_fold_in
from recsys.errors import StoreError
from recsys.store import StoreReader
from recsys.store.catalog_view import Scored
from recsys.store.connection import redact_url
from recsys.store.live_reader import LiveReader
from recsys.store.reader import CustomerRecord
from recsys.store.realtime import LiveState
from serving.errors import ApiError
from serving.experiments import Assignment, RunningExperiments
from serving.metrics import Metrics
from serving.settings import Settings
from serving.snapshots import Snapshot, Snapshots

logger = logging.getLogger("serving")

#: What a broken or unreachable Redis (or a version deleted mid-request) raises.
STORE_FAILURES = (redis.RedisError, OSError, StoreError)

_LOG_EVERY = 10.0  # seconds between two log lines about failures of one operation


@dataclass(frozen=True, slots=True)
class Answer:
    """A ranked answer and the version (snapshot) it came from, whole."""

    version: str
    source: Source
    items: list[Ranked]
    snapshot: Snapshot
    degraded: bool
    experiment: str | None = None  # the running experiment whose arm answered, if any
    arm: str | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether the service can answer from Redis, and if not, why."""

    ready: bool
    version: str | None = None
    code: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class Context:
    version: str
    snapshot: Snapshot
    live: bool  # False: answer from the in-process snapshot only
    experiment: str | None = None  # set when an experiment's arm picked the version
    arm: str | None = None


def freeze_long_lived() -> None:
    """Collect garbage, then move every object still alive into the permanent generation.

    Collecting first keeps unreachable cycles (tracebacks, parse temporaries) from being
    frozen with the long-lived data, where they could never be freed.
    """
    gc.collect()
    gc.freeze()


def _is_connection_failure(exc: BaseException) -> bool:
    """A Redis/network failure (as opposed to missing or corrupt data)."""
    cause = exc.__cause__ if isinstance(exc, StoreError) else exc
    return isinstance(cause, redis.RedisError | OSError)


class Service:
    """Everything a request needs; one per app, created by the lifespan."""

    def __init__(
        self,
        settings: Settings,
        reader: StoreReader,
        metrics: Metrics,
        *,
        redis_url: str = "",
        loader: StoreReader | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.redis_url = redact_url(redis_url) if redis_url else "Redis"
        self.reader = reader
        self.metrics = metrics
        # Snapshots (catalog, popular lists: up to megabytes) may come over their own
        # connection, so a load never queues the request path's small reads behind it.
        self.snapshots = Snapshots(loader or reader, on_load=self._snapshot_loaded)
        # Marketing lists (pages of up to 1,000 profiles) read over that connection too, with
        # its longer timeout, off the recommendation path's connection.
        self.lists_reader = loader or reader
        # Live state (issue #11) read with the records, over the request path's connection.
        self.live = LiveReader(reader)
        self.clock = clock
        self._pointer: str | None = None
        self._pointer_expires = -math.inf
        self.experiments = RunningExperiments()  # read and cached with the pointer
        self._down_until = -math.inf
        self._logged: dict[str, float] = {}

    @property
    def last_version(self) -> str | None:
        """The version of the fallback snapshot (the newest version seen), if any."""
        current = self.snapshots.current
        return None if current is None else current.version

    def _snapshot_loaded(self, snapshot: Snapshot) -> None:
        if self.settings.gc_freeze:  # a new version's data is long-lived: never rescan it
            freeze_long_lived()

    async def start(self) -> None:
        """Load the active version's snapshot so that the fallback exists from the start.

        Never raises: a service started while Redis is down comes up unready and recovers.
        """
        try:
            version = await self._active_version(self.clock())
            if version is not None:
                await self.snapshots.get(version)
        except STORE_FAILURES as exc:
            self.record_failure("startup", exc)
        if self.last_version is None:
            logger.warning("no model version loaded at start-up; /readyz answers 503 until one is")

    # -- version resolution and degradation ---------------------------------------------
    async def _active_version(self, now: float, *, fresh: bool = False) -> str | None:
        ttl = self.settings.version_cache_seconds
        if not fresh and ttl > 0 and now < self._pointer_expires:
            return self._pointer
        arms = self.experiments.versions  # checked to exist, with the pointer
        version, running, present = await self.reader.active_and_experiments(sorted(arms))
        self.experiments.keep(present, arms)
        if self.experiments.update(running):  # keep every arm's snapshot (and the active's)
            room = max(3, len(self.experiments.versions) + 2)
            self.snapshots.size = self.reader.cache_size = room
        if version != self._pointer:
            self.metrics.set_version(version)
        self._pointer, self._pointer_expires = version, now + ttl
        return version

    def record_failure(self, operation: str, exc: BaseException) -> None:
        """Record a store failure; a connection failure pauses Redis use for a moment.

        Every failure is counted in metrics; the log gets at most one line per operation
        every ``_LOG_EVERY`` seconds, so an outage does not flood it.
        """
        self.metrics.redis_errors.labels(operation).inc()
        self._pointer_expires = -math.inf  # re-read the pointer next time
        now = self.clock()
        connection = _is_connection_failure(exc)
        if connection:
            self._down_until = now + self.settings.redis_retry_seconds
        if now - self._logged.get(operation, -math.inf) >= _LOG_EVERY:
            self._logged[operation] = now
            what = "Redis unavailable" if connection else "store read failed"
            level = logging.WARNING if connection else logging.ERROR
            logger.log(level, "%s during %s, answering from fallback: %s", what, operation, exc)

    def _fallback(self, endpoint: str) -> Context:
        current = self.snapshots.current
        if current is None:
            raise ApiError(
                503,
                "unavailable",
                "no model version is available: Redis cannot be read and none was loaded before",
            )
        self.metrics.degraded.labels(endpoint).inc()
        return Context(current.version, current, live=False)

    async def context(
        self, endpoint: str, *, customer: str | None = None, session: str | None = None
    ) -> Context:
        """The version this request answers from (resolved once) and its snapshot: the arm's
        version when a running experiment splits the request's ``customer`` or ``session``
        (:mod:`serving.experiments`), else the active version."""
        now = self.clock()
        if now >= self._down_until:
            try:
                version = await self._active_version(now)
                if version is not None:
                    picked = self.experiments.pick(customer, session)
                    if picked is not None:
                        arm = await self._arm_context(endpoint, picked)
                        if arm is not None:
                            return arm
                    return Context(version, await self.snapshots.get(version), live=True)
                if self.snapshots.current is None:
                    raise ApiError(503, "no_model", "no model version is published yet")
            except STORE_FAILURES as exc:
                self.record_failure(endpoint, exc)
        return self._fallback(endpoint)

    async def _arm_context(self, endpoint: str, picked: Assignment) -> Context | None:
        """The arm's version, or None (logged) when it cannot be read although Redis answers:
        the request then falls back to the active version. Connection failures propagate."""
        try:
            snapshot = await self.snapshots.get(picked.version)
        except StoreError as exc:
            if _is_connection_failure(exc):
                raise
            self.record_failure(f"{endpoint}:experiment", exc)
            return None
        return Context(picked.version, snapshot, True, picked.experiment, picked.arm)

    def _answer(self, endpoint: str, ctx: Context, source: Source, items: list[Ranked]) -> Answer:
        self.metrics.answered(endpoint, source)
        return Answer(
            ctx.version, source, items, ctx.snapshot, not ctx.live, ctx.experiment, ctx.arm
        )

    @staticmethod
    def _normal(ctx: Context, one: str, exclude: frozenset[str]) -> tuple[str, frozenset[str]]:
        """An id and an exclude set as the version's ingest stored them (its id rule)."""
        normal = ctx.snapshot.data.normal_id
        if normal.identity:
            return one, exclude
        return normal(one), frozenset(normal(i) for i in exclude) if exclude else exclude

    @staticmethod
    def _check_category(ctx: Context, category: str | None) -> None:
        if category is not None and category not in ctx.snapshot.view.categories:
            raise ApiError(
                422,
                "unknown_category",
                f"query.category: {category!r} is not a category of model version {ctx.version}",
            )

    # -- endpoints ----------------------------------------------------------------------
    async def for_customer(
        self,
        customer_id: str,
        k: int,
        *,
        category: str | None = None,
        exclude: frozenset[str] = frozenset(),
        include_purchased: bool = False,
    ) -> Answer:
        """A customer's top ``k``: personal, then their segment's popular, then popular.

        Composed by :func:`recsys.answers.compose.customer_answer` (the evaluated list, bought
        items left out unless ``include_purchased``). Raises ApiError 422 for a category the
        version's catalog does not have.
        """
        endpoint = "recommendations"
        ctx = await self.context(endpoint, customer=customer_id)
        self._check_category(ctx, category)
        customer_id, exclude = self._normal(ctx, customer_id, exclude)
        record: CustomerRecord | None = None
        state: LiveState | None = None
        if ctx.live:
            try:
                if self.settings.realtime:
                    record, state, problem = await self.live.customer(ctx.version, customer_id)
                    if problem is not None:
                        self.record_failure("realtime", problem)
                else:
                    record = await self.reader.customer(ctx.version, customer_id)
            except STORE_FAILURES as exc:
                self.record_failure(endpoint, exc)
                ctx = self._fallback(endpoint)
        realtime: list[Scored] = []
        if state is not None and wants_fold_in(state, record, ctx.snapshot.data):
            realtime = await self._fold_in(ctx, state)
        source, items = customer_answer(
            record,
            ctx.snapshot.data,
            k,
            category=category,
            exclude=exclude,
            include_purchased=include_purchased,
            realtime=realtime,
            bought=frozenset() if state is None else state.bought,
        )
        return self._answer(endpoint, ctx, source, items)

    async def _fold_in(
        self, ctx: Context, state: LiveState, skip: frozenset[str] = frozenset()
    ) -> list[Scored]:
        """The realtime list of a live state: the similar lists of its newest recent items
        (at most ``realtime_fold_in``, one pipeline) blended by recency; empty when they
        cannot be read (the answer goes on without it)."""
        items = fold_in_items(state, self.settings.realtime_fold_in, skip=skip)
        if not items:
            return []
        try:
            lists = await self.reader.similar_many(ctx.version, [i for i, _ in items])
        except STORE_FAILURES as exc:
            self.record_failure("realtime", exc)
            return []
        recent = frozenset(item_id for item_id, _, _ in state.recent)
        return realtime_list(lists, [w for _, w in items], recent)

    async def similar(
        self,
        item_id: str,
        k: int,
        *,
        category: str | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> Answer:
        """Items similar to ``item_id``, topped up with popular items of its category (or of
        the requested ``category``; every popular item for an item without a category); never
        the item itself nor ``exclude``.

        Raises ApiError 404 for an item the version's catalog does not know, 422 for a
        category it does not have.
        """
        endpoint = "similar"
        ctx = await self.context(endpoint)
        item_id, exclude = self._normal(ctx, item_id, exclude)
        if item_id not in ctx.snapshot.view:
            raise ApiError(
                404,
                "unknown_item",
                f"item {item_id!r} is not in the catalog of model version {ctx.version}",
            )
        self._check_category(ctx, category)
        similar: list[tuple[str, float]] = []
        if ctx.live:
            try:
                similar = await self.reader.similar(ctx.version, item_id) or []
            except STORE_FAILURES as exc:
                self.record_failure(endpoint, exc)
                ctx = self._fallback(endpoint)
        snap = ctx.snapshot
        # an item with no category (a catalog without any) tops up from the global list, so
        # with no similar list (or Redis down) it still gets an answer
        within = category or snap.view.category_of(item_id)
        popular = snap.popular_in(within) if within is not None else snap.global_popular
        rungs = [Rung("similar", similar), Rung("popular", popular)]
        filters = Filters(exclude | {item_id}, category)
        source, items = pick(rungs, k, snap.view, filters)
        return self._answer(endpoint, ctx, source, items)

    async def session(
        self,
        item_ids: Sequence[str],
        k: int,
        session_id: str | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> Answer:
        """Suggestions for an anonymous session: the blended similar lists of its items.

        With a ``session_id`` whose events were posted, its live state adds a ``realtime``
        rung (its newest recent items folded in, alternated with the ``similar`` one when
        ``item_ids`` are given too) and its bought items are left out. The session's own
        items (given or recent) and ``exclude`` never appear; unknown ids are ignored; popular
        items top up.
        """
        endpoint = "session"
        ctx = await self.context(endpoint, session=session_id)
        normal = ctx.snapshot.data.normal_id
        if not normal.identity:
            item_ids = [normal(i) for i in item_ids]
            exclude = frozenset(normal(i) for i in exclude)
        known = [i for i in dict.fromkeys(item_ids) if i in ctx.snapshot.view]
        lists: list[list[tuple[str, float]] | None] = []
        state: LiveState | None = None
        if ctx.live and (known or (session_id and self.settings.realtime)):
            try:
                if session_id and self.settings.realtime:
                    lists, state, problem = await self.live.session(ctx.version, session_id, known)
                    if problem is not None:
                        self.record_failure("realtime", problem)
                else:
                    lists = list(await self.reader.similar_many(ctx.version, known))
            except STORE_FAILURES as exc:
                self.record_failure(endpoint, exc)
                ctx = self._fallback(endpoint)
                lists = []
        snap = ctx.snapshot
        similar = Rung("similar", blend([lst for lst in lists if lst]))
        exclude = exclude | frozenset(item_ids)
        if state is not None:
            exclude |= state.bought | {item_id for item_id, _, _ in state.recent}
            live = Rung("realtime", await self._fold_in(ctx, state, skip=frozenset(known)))
            similar = mix(similar, live) if similar.items else live
        rungs = [similar, Rung("popular", snap.global_popular)]
        source, items = pick(rungs, k, snap.view, Filters(exclude))
        return self._answer(endpoint, ctx, source, items)

    async def model(self) -> tuple[str, dict]:
        """The version answering now and its manifest."""
        ctx = await self.context("model")
        return ctx.version, ctx.snapshot.data.manifest

    async def readiness(self) -> Readiness:
        """Ask Redis directly (ignoring the pause after failures) whether a version is served."""
        try:
            version = await self._active_version(self.clock(), fresh=True)
        except STORE_FAILURES as exc:
            self.record_failure("readyz", exc)
            if _is_connection_failure(exc):
                message = f"cannot read {self.redis_url}: {exc}"
                return Readiness(False, None, "redis_unavailable", message)
            return Readiness(False, None, "store_corrupt", str(exc))
        self._down_until = -math.inf  # Redis answers: stop short-circuiting requests
        if version is None:
            return Readiness(
                False,
                None,
                "no_model",
                f"no model version is published in namespace {self.reader.namespace!r}",
            )
        try:
            await self.snapshots.get(version)
        except STORE_FAILURES as exc:
            self.record_failure("readyz", exc)
            return Readiness(False, version, "model_unreadable", f"version {version}: {exc}")
        return Readiness(True, version)
