"""Experiments in Redis: start, stop, list (synchronous redis-py, for the CLI and jobs).

An experiment's record is one JSON string (family ``experiment``), every experiment ever
started is in a ZSET (``experiments``), and the running ones' records are also kept together
in one JSON string (``running_experiments``) that the service reads with the active-version
pointer, once per version-cache interval: every process sees a start or stop within
``RECSYS_VERSION_CACHE_SECONDS``.

Start and stop hold the namespace's publish lock (:class:`recsys.store.lock.PublishLock`), so
they never interleave with a publish's or ``recsys prune``'s pruning, and they write only
single-key commands (cluster-safe). Starting protects the arms' versions (family
``protected``: pruning keeps them) *before* checking they exist, so a version cannot be
pruned between the check and the protection; stopping unprotects them unless another running
experiment names them or they were protected by someone else before the start.

At most one experiment runs per unit kind (customer, session): each splits all of its units.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis

from recsys.errors import ConfigError, StoreError, StoreRequestError
from recsys.experiments.definition import Experiment, check_name
from recsys.store import keys as K
from recsys.store.connection import redis_errors
from recsys.store.families import EXPERIMENT, EXPERIMENTS, PROTECTED, RUNNING_EXPERIMENTS
from recsys.store.lock import PublishLock
from recsys.store.versions import protected_versions


def _record(raw: bytes | None, name: str) -> Experiment | None:
    """A stored experiment record decoded; StoreError (corrupt data, exit 4) if it is not one."""
    if raw is None:
        return None
    try:
        return Experiment.from_json(EXPERIMENT.decode_value(raw))
    except ConfigError as exc:
        raise StoreError(f"corrupt record of experiment {name!r}: {exc}") from None


def get_experiment(client: redis.Redis, namespace: str, name: str) -> Experiment | None:
    """The experiment called ``name`` (running or stopped), or None."""
    with redis_errors(f"reading experiment {name}"):
        raw = client.get(EXPERIMENT.key(namespace, check_name(name)))
    return _record(raw, name)  # type: ignore[arg-type]


def running_experiments(client: redis.Redis, namespace: str) -> dict[str, Experiment]:
    """The running experiments by name (what the service reads)."""
    with redis_errors("reading the running experiments"):
        raw = client.get(RUNNING_EXPERIMENTS.key(namespace))
    return decode_running(raw)  # type: ignore[arg-type]


def decode_running(raw: bytes | None) -> dict[str, Experiment]:
    """The ``running_experiments`` value decoded (``{}`` when absent); StoreError if corrupt."""
    if raw is None:
        return {}
    try:
        data = RUNNING_EXPERIMENTS.decode_value(raw)
        if not isinstance(data, dict):
            raise ConfigError("not a JSON object")
        return {name: Experiment.from_json(record) for name, record in data.items()}
    except ConfigError as exc:
        raise StoreError(f"corrupt running experiments: {exc}") from None


def list_experiments(client: redis.Redis, namespace: str) -> list[Experiment]:
    """Every experiment ever started in ``namespace``, newest first."""
    with redis_errors("listing experiments"):
        names: Any = client.zrange(EXPERIMENTS.key(namespace), 0, -1, desc=True)
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.get(EXPERIMENT.key(namespace, name.decode()))
        raws = pipe.execute()
    records = (_record(raw, name.decode()) for name, raw in zip(names, raws, strict=True))
    return [e for e in records if e is not None]


def _write_running(client: redis.Redis, namespace: str, running: dict[str, Experiment]) -> None:
    key = RUNNING_EXPERIMENTS.key(namespace)
    if running:
        client.set(key, orjson.dumps({n: e.to_json() for n, e in sorted(running.items())}))
    else:
        client.delete(key)


def start_experiment(
    client: redis.Redis, namespace: str, experiment: Experiment, *, now: float | None = None
) -> Experiment:
    """Record ``experiment`` as running and protect its versions; returns the stored record.

    StoreError when a publish holds the lock, an experiment of that name exists (names are
    not reused: a report must never mix two experiments), another experiment splits the same
    unit, or a version is not a complete published version (nothing is left changed).
    """
    name = experiment.name
    with PublishLock(client, namespace), redis_errors(f"starting experiment {name}"):
        if client.exists(EXPERIMENT.key(namespace, name)):
            raise StoreRequestError(f"experiment {name!r} exists already; choose a new name")
        running = running_experiments(client, namespace)
        clash = [e.name for e in running.values() if e.unit == experiment.unit]
        if clash:
            raise StoreRequestError(
                f"experiment {clash[0]!r} already splits the {experiment.unit}s; stop it first"
            )
        named = {v for e in running.values() for v in e.versions}
        before = protected_versions(client, namespace)
        for version in experiment.versions:  # protect first: pruning cannot slip in between
            client.sadd(PROTECTED.key(namespace), version)
        missing = [
            v for v in experiment.versions if client.zscore(K.versions_key(namespace), v) is None
        ]
        if missing:
            for version in set(experiment.versions) - before:
                client.srem(PROTECTED.key(namespace), version)
            raise StoreRequestError(
                f"cannot start {name!r}: version(s) {missing} are not published in namespace "
                f"{namespace!r} (see `recsys versions`)"
            )
        # Protected by someone else: before any experiment named it, as the running ones know.
        external = (before - named) | {v for e in running.values() for v in e.kept_protected}
        kept = tuple(sorted(external & set(experiment.versions)))
        started = time.time() if now is None else now
        record = experiment.with_status("running", started_at=started, kept_protected=kept)
        client.set(EXPERIMENT.key(namespace, name), orjson.dumps(record.to_json()))
        client.zadd(EXPERIMENTS.key(namespace), {name: started})
        _write_running(client, namespace, {**running, name: record})
    return record


def stop_experiment(
    client: redis.Redis, namespace: str, name: str, *, now: float | None = None
) -> tuple[Experiment, list[str]]:
    """Stop a running experiment: (its record, the versions unprotected).

    Its record stays (for the report). StoreError when it is not running or a publish holds
    the lock.
    """
    check_name(name)
    with PublishLock(client, namespace), redis_errors(f"stopping experiment {name}"):
        running = running_experiments(client, namespace)
        experiment = running.pop(name, None)
        if experiment is None:
            known = get_experiment(client, namespace, name)
            state = "is already stopped" if known else "does not exist"
            raise StoreRequestError(f"experiment {name!r} {state} (see `recsys experiments list`)")
        _write_running(client, namespace, running)
        stopped = time.time() if now is None else now
        record = experiment.with_status("stopped", stopped_at=stopped)
        client.set(EXPERIMENT.key(namespace, name), orjson.dumps(record.to_json()))
        still = {v for e in running.values() for v in e.versions} | set(record.kept_protected)
        released = [v for v in record.versions if v not in still]
        for version in released:
            client.srem(PROTECTED.key(namespace), version)
    return record, released
