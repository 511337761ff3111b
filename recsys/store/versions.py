"""Version registry operations for jobs and the CLI (synchronous redis-py).

A version is *complete* when it is a member of ``{ns}:versions``; ``publish`` adds it there
only after every key of the version is written, then points ``{ns}:active`` at it. The
active version, the one being written and the *protected* ones (members of
``{ns}:protected``, e.g. the versions a running experiment serves; see
:func:`protect_version`) are never deleted. Deletion scans the version's
keys (``SCAN MATCH``, never ``KEYS``) and UNLINKs them in chunks: maintenance only, never on a
request path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import redis

from recsys.errors import StoreError, StoreRequestError
from recsys.store import keys as K
from recsys.store.connection import redis_errors
from recsys.store.families import PROTECTED

DELETE_CHUNK = 1000


@dataclass(frozen=True)
class VersionInfo:
    """One complete version in the registry."""

    version: str
    published_at: datetime
    active: bool
    manifest: dict[str, Any] = field(default_factory=dict)  # the scalar top-level entries
    stats: dict[str, Any] = field(default_factory=dict)  # what publish measured


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


def _json_object(raw: bytes | str | None) -> dict[str, Any]:
    """A stored JSON object, or {} when absent or unreadable (listing must not fail on it)."""
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def active_version(client: redis.Redis, namespace: str = K.DEFAULT_NAMESPACE) -> str | None:
    """The active version id, or None when nothing is published in ``namespace``."""
    with redis_errors("reading the active version"):
        return _text(client.get(K.active_key(namespace)))


def registered_versions(client: redis.Redis, namespace: str) -> list[tuple[str, float]]:
    """Complete versions with their publish time (unix seconds), newest first."""
    with redis_errors("reading the version registry"):
        rows: Any = client.zrange(K.versions_key(namespace), 0, -1, desc=True, withscores=True)
    return [(_text(v) or "", float(t)) for v, t in rows]


def list_versions(client: redis.Redis, namespace: str = K.DEFAULT_NAMESPACE) -> list[VersionInfo]:
    """Every complete version, newest first, with its manifest summary and publish stats."""
    rows = registered_versions(client, namespace)
    active = active_version(client, namespace)
    with redis_errors("reading version manifests"):
        pipe = client.pipeline(transaction=False)
        for version, _ in rows:
            pipe.get(K.manifest_key(namespace, version))
            pipe.get(K.info_key(namespace, version))
        raw = pipe.execute()
    out = []
    for i, (version, ts) in enumerate(rows):
        manifest, stats = _json_object(raw[2 * i]), _json_object(raw[2 * i + 1])
        summary = {
            k: v
            for k, v in manifest.items()
            if v is None or isinstance(v, str | int | float | bool)
        }
        out.append(
            VersionInfo(
                version=version,
                published_at=datetime.fromtimestamp(ts, tz=UTC),
                active=version == active,
                manifest=summary,
                stats=stats,
            )
        )
    return out


def rollback(client: redis.Redis, namespace: str, version: str) -> None:
    """Point the active pointer at an earlier complete version (one SET).

    Raises StoreError when ``version`` is not a complete version of ``namespace``.
    """
    K.check_version(version)
    with redis_errors(f"rolling back to {version}"):
        listed = client.zscore(K.versions_key(namespace), version) is not None
        present = bool(client.exists(K.catalog_key(namespace, version)))
        if not (listed and present):
            known = [v for v, _ in registered_versions(client, namespace)]
            raise StoreRequestError(
                f"cannot roll back to {version!r}: not a complete version in namespace "
                f"{namespace!r} (available: {known or 'none'})"
            )
        client.set(K.active_key(namespace), version)


def protected_versions(client: redis.Redis, namespace: str = K.DEFAULT_NAMESPACE) -> set[str]:
    """Versions pruning and deletion must keep (members of ``{ns}:protected``)."""
    with redis_errors("reading the protected versions"):
        members = client.smembers(PROTECTED.key(namespace))
    return {PROTECTED.decode_value(m if isinstance(m, bytes) else str(m).encode()) for m in members}


def protect_version(client: redis.Redis, namespace: str, version: str) -> bool:
    """Keep ``version`` through pruning and deletion until :func:`unprotect_version`.

    For whoever must keep a version readable, e.g. an experiment that serves it to one arm.
    The version need not be published yet. Returns False when it was already protected.
    """
    K.check_version(version)
    with redis_errors(f"protecting version {version}"):
        return bool(client.sadd(PROTECTED.key(namespace), version))


def unprotect_version(client: redis.Redis, namespace: str, version: str) -> bool:
    """Let pruning delete ``version`` again; False when it was not protected."""
    K.check_version(version)
    with redis_errors(f"unprotecting version {version}"):
        return bool(client.srem(PROTECTED.key(namespace), version))


def delete_version(client: redis.Redis, namespace: str, version: str) -> int:
    """Delete every key of a version and drop it from the registry; returns keys deleted.

    Refuses (StoreError) the active version, a protected version and a version a running
    publish is writing.
    """
    K.check_version(version)
    with redis_errors(f"deleting version {version}"):
        if active_version(client, namespace) == version:
            raise StoreRequestError(f"refusing to delete {version!r}: it is the active version")
        if client.sismember(PROTECTED.key(namespace), version):
            raise StoreRequestError(
                f"refusing to delete {version!r}: it is protected (e.g. a running experiment "
                "serves it); unprotect it first"
            )
        pending = client.sismember(K.pending_key(namespace), version)
        if pending and client.exists(K.lock_key(namespace)):
            raise StoreError(f"refusing to delete {version!r}: a running publish is writing it")
    return drop_version(client, namespace, version)


def drop_version(
    client: redis.Redis,
    namespace: str,
    version: str,
    *,
    heartbeat: Callable[[], None] | None = None,
) -> int:
    """Unchecked delete (the caller guarantees the version is neither active nor being written).

    The registry entry goes first, so a half-deleted version is never listed as complete.
    """
    with redis_errors(f"deleting version {version}"):
        client.zrem(K.versions_key(namespace), version)
        n = unlink_matching(client, K.version_pattern(namespace, version), heartbeat=heartbeat)
        client.srem(K.pending_key(namespace), version)
    return n


def prune_versions(
    client: redis.Redis,
    namespace: str,
    keep: int = 2,
    *,
    protect: Iterable[str] = (),
    heartbeat: Callable[[], None] | None = None,
) -> list[str]:
    """Delete complete versions beyond the ``keep`` newest; never the active one, a version in
    ``protect`` or a protected one (``{ns}:protected``, see :func:`protect_version`).

    Protected versions still count towards ``keep`` when they are among the newest. Returns
    the deleted version ids (oldest first).
    """
    if keep < 1:
        raise StoreRequestError(f"keep={keep}, must be >= 1 (the active version is always kept)")
    rows = registered_versions(client, namespace)
    spared = {v for v, _ in rows[:keep]} | set(protect) | protected_versions(client, namespace)
    active = active_version(client, namespace)
    if active:
        spared.add(active)
    doomed = [v for v, _ in reversed(rows) if v not in spared]
    for version in doomed:
        drop_version(client, namespace, version, heartbeat=heartbeat)
    return doomed


def unlink_matching(
    client: redis.Redis,
    pattern: bytes,
    *,
    chunk_size: int = DELETE_CHUNK,
    heartbeat: Callable[[], None] | None = None,
) -> int:
    """UNLINK every key matching a SCAN pattern, ``chunk_size`` keys per command.

    Maintenance only (it scans the keyspace). On Redis Cluster, redis-py's ``unlink`` splits
    each chunk by slot and ``scan_iter`` visits every primary.
    """
    deleted = 0
    batch: list[bytes] = []
    with redis_errors("deleting keys"):
        for key in client.scan_iter(match=pattern, count=chunk_size):
            batch.append(key)
            if len(batch) >= chunk_size:
                deleted += int(client.unlink(*batch))
                batch.clear()
                if heartbeat:
                    heartbeat()
        if batch:
            deleted += int(client.unlink(*batch))
    return deleted
