"""A RESP writer for HASH families: packed HSETs streamed on one dedicated connection.

Kept because a plain redis-py pipeline spends several microseconds of Python per command
(queueing, packing, one parsed reply each) and does not reach the publish target of half of
``redis-benchmark``'s pipelined SETs (``benchmarks/bench_publish.py`` measures both writers in
the same run). Here a chunk's commands are packed with a few bytes operations per key, at most
two chunks are unacknowledged, and replies are checked by counting line ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Final, cast

import redis

from recsys.errors import StoreError
from recsys.store.prepare import Values

_CRLF: Final = b"\r\n"
_BULK: Final = [b"$%d\r\n" % n for n in range(4096)]


class Unsupported(Exception):
    """The raw writer cannot be used with this client."""


def _bulk(n: int) -> bytes:
    return _BULK[n] if n < 4096 else b"$%d\r\n" % n


def pack_hset(prefix: bytes, ids: Sequence[bytes], fields: list[tuple[bytes, Values]]) -> bytes:
    """The RESP encoding of ``HSET prefix+id field value ...`` for every id, concatenated.

    A field whose value is None for an id is left out of that id's command.
    """
    heads = [b"*%d\r\n$4\r\nHSET\r\n" % (2 + 2 * k) for k in range(len(fields) + 1)]
    seps = [b"\r\n$%d\r\n%s\r\n" % (len(name), name) for name, _ in fields]
    plen = len(prefix)
    parts: list[bytes] = []
    if len(fields) == 1 and None not in fields[0][1]:  # the common case, kept tight
        head, sep = heads[1], seps[0]
        dense = cast(Sequence[bytes], fields[0][1])
        for entity, value in zip(ids, dense, strict=True):
            parts += (
                head,
                _bulk(plen + len(entity)),
                prefix,
                entity,
                sep,
                _bulk(len(value)),
                value,
                _CRLF,
            )
        return b"".join(parts)
    columns = [values for _, values in fields]
    for i, entity in enumerate(ids):
        present = [(seps[j], v) for j, col in enumerate(columns) if (v := col[i]) is not None]
        parts += (heads[len(present)], _bulk(plen + len(entity)), prefix, entity)
        for sep, value in present:
            parts += (sep, _bulk(len(value)), value)
        parts.append(_CRLF)
    return b"".join(parts)


class RawHashWriter:
    """Streams packed HSETs on a connection opened with a plain ``redis.Redis``'s settings.

    Every reply of HSET is a RESP integer (``:n\\r\\n``) or an error (``-...\\r\\n``), so
    replies are checked by counting line ends and looking for ``-``: no per-reply parsing.
    Raises :class:`Unsupported` when the client's connection has no plain socket.
    """

    name = "raw"

    def __init__(self, client: redis.Redis) -> None:
        # A dedicated RESP2 connection with the client's settings (auth, db, TLS): RESP2 never
        # interleaves push messages with replies, so counting reply lines is exact.
        pool = client.connection_pool
        settings = {
            k: v
            for k, v in pool.connection_kwargs.items()
            if not k.startswith("maint_notifications")
        }
        settings["protocol"] = 2
        try:
            conn = pool.connection_class(**settings)
            conn.connect()
        except redis.RedisError as exc:
            raise Unsupported(str(exc)) from None
        sock = getattr(conn, "_sock", None)
        if sock is None:
            conn.disconnect()
            raise Unsupported("connection has no socket")
        self._conn, self._sock = conn, sock
        self._inflight: deque[int] = deque()
        self._sent = 0
        self._seen = 0
        self._error: bytes | None = None

    def write(
        self, prefix: bytes, ids: Sequence[bytes], columns: list[tuple[bytes, Values]]
    ) -> None:
        """Send ``HSET`` for each id; waits for the oldest chunk when two are in flight."""
        if not ids:
            return
        payload = pack_hset(prefix, ids, columns)
        try:
            self._sock.sendall(payload)
        except OSError as exc:
            raise StoreError(f"writing keys failed: {exc}") from None
        self._sent += len(ids)
        self._inflight.append(len(ids))
        if len(self._inflight) > 2:  # wait for the oldest chunk's replies
            self._inflight.popleft()
            self._await(self._sent - sum(self._inflight))

    def finish(self) -> None:
        """Wait for every reply; StoreError if Redis refused any command."""
        self._await(self._sent)
        self._inflight.clear()
        self._conn.disconnect()

    def abort(self) -> None:
        self._conn.disconnect()

    def _await(self, target: int) -> None:
        """Read replies until ``target`` replies in total have arrived."""
        while self._seen < target:
            try:
                data = self._sock.recv(1 << 16)
            except OSError as exc:
                raise StoreError(f"writing keys failed: {exc}") from None
            if not data:
                raise StoreError("writing keys failed: Redis closed the connection")
            self._seen += data.count(b"\n")
            if self._error is not None:
                self._error += data
            elif b"-" in data:
                self._error = data[data.index(b"-") :]
        if self._seen > self._sent:
            raise StoreError(f"writing keys failed: {self._seen} replies to {self._sent} commands")
        if self._error is not None and (self._seen == self._sent or b"\n" in self._error):
            message = self._error[1:].split(b"\r\n", 1)[0].decode(errors="replace")
            raise StoreError(f"writing keys failed: Redis replied: {message}")
