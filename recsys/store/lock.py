"""The publish lock: one publisher per namespace, on redis-py's :class:`redis.lock.Lock`.

The lock key is ``{ns}:lock`` (family ``lock`` in :mod:`recsys.store.families`, with its TTL).
Taking it never waits: a second publisher gets a StoreError at once. The holder refreshes the
TTL while it works (``Lock.reacquire``, at most every few seconds), so a crashed publisher's
lock expires on its own while a slow one keeps it. Release is redis-py's compare-and-delete
script: a lock that expired and was taken by someone else is never deleted.
"""

from __future__ import annotations

import time
from typing import Final

import redis
from redis.exceptions import LockError, LockNotOwnedError

from recsys.errors import StoreError
from recsys.store import keys as K
from recsys.store.connection import redis_errors
from recsys.store.families import LOCK

#: Seconds the lock lives without a refresh.
LOCK_TTL: Final = float(LOCK.ttl or 120.0)
#: Seconds between two refreshes (each is one round trip).
REFRESH_EVERY: Final = 5.0


class PublishLock:
    """Context manager holding ``{ns}:lock`` for the duration of a publish.

    Raises StoreError on entry when another publish holds it, and from :meth:`refresh` when
    the lock was lost (it expired and another publisher took it).
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._key = K.lock_key(namespace)
        self._lock = client.lock(
            self._key.decode(), timeout=LOCK_TTL, blocking=False, thread_local=False
        )
        self._last = 0.0

    def __enter__(self) -> PublishLock:
        with redis_errors("taking the publish lock"):
            acquired = self._lock.acquire()
        if not acquired:
            raise StoreError(
                f"another publish holds the lock {self._key.decode()!r}; wait for it to finish "
                f"(the lock expires {LOCK_TTL:.0f} s after its holder stops)"
            )
        self._last = time.monotonic()
        return self

    def refresh(self) -> None:
        """Push the expiry back to a full TTL (no-op when refreshed in the last few seconds)."""
        now = time.monotonic()
        if now - self._last < REFRESH_EVERY:
            return
        try:
            self._lock.reacquire()
        except LockNotOwnedError:  # before RedisError: it is one
            raise StoreError(
                f"lost the publish lock {self._key.decode()!r}: it expired and another "
                "publisher may be writing; this publish stops"
            ) from None
        except redis.RedisError as exc:
            raise StoreError(f"refreshing the publish lock failed: {exc}") from exc
        self._last = now

    def __exit__(self, *exc: object) -> None:
        try:
            self._lock.release()
        except (LockError, redis.RedisError):
            pass  # expired (and maybe taken by another publisher): not ours to delete
