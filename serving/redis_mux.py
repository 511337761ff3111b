"""A multiplexed Redis connection for the request path.

Kept because it measures: a recommendation request costs 1.17M instructions with it and 1.42M
with redis-py's asyncio client (callgrind, in process; benchmarks/bench_request_path.py
reports the same comparison in CPU time). redis-py's asyncio client spends 60-130 µs of CPU
per command (a pooled connection taken and
released under locks, asyncio streams, a timeout context, retries, observability hooks), and a
recommendation request needs only one read, so that was most of a request's cost. Here ONE
connection carries every request's commands: a command is written at once and its future
queued; Redis answers in order (RESP), hiredis parses the replies, and each reply resolves the
oldest waiting future. Concurrent requests are thereby pipelined for free (about 10 µs of CPU
per command under load).

Scope: exactly the read commands the store reader sends on the request path (GET, HGET,
HGETALL, and a non-transactional pipeline of them; nothing else can be sent) over TCP (``redis://``) or a Unix socket (``unix://``), with the user,
password and database of the URL. :func:`supports` says whether a URL can be served this way
(``rediss://`` cannot: the app then uses redis-py's client, which has the same methods).

Failures raise redis-py's exception types, so callers handle them as before: an error reply
is ``ResponseError``; a refused or lost connection is ``ConnectionError``; a command without a
reply within ``socket_timeout`` is ``TimeoutError``. After a lost or timed-out connection it
is closed (every command waiting on it fails) and the next command reconnects; a command that
found its connection lost is retried once on a new one (all commands here are reads).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any, cast
from urllib.parse import urlsplit

import hiredis
from redis import exceptions as rx
from redis.asyncio.connection import parse_url

SCHEMES = frozenset({"redis", "unix"})

Reply = Any  # bytes, int, None, a ResponseError or a list of those
Convert = Callable[[Reply], Any]


def supports(url: str) -> bool:
    """Whether :class:`MultiplexedRedis` can serve ``url`` (``redis://`` or ``unix://``)."""
    return urlsplit(url).scheme in SCHEMES


def _as_dict(reply: list[bytes]) -> dict[bytes, bytes]:
    """A flat RESP2 ``[field, value, ...]`` reply as a dict (what redis-py returns)."""
    it = iter(reply)
    return dict(zip(it, it, strict=True))


def _same(reply: Reply) -> Reply:
    return reply


class _Connection(asyncio.Protocol):
    """One socket to Redis; replies resolve the queued futures in order.

    One watchdog timer (not one per command) fails the connection when its oldest command
    has waited ``timeout`` seconds for its reply.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader(protocolError=rx.ConnectionError, replyError=rx.ResponseError)
        self.waiting: deque[tuple[asyncio.Future[Reply], float]] = deque()  # (reply, deadline)
        self.outgoing: list[bytes] = []
        self.watchdog: asyncio.TimerHandle | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.waiting
        while True:
            try:
                reply = self.reader.gets()
            except rx.ConnectionError as exc:  # not RESP: nothing more on it can be trusted
                self.abort(rx.ConnectionError(f"Redis protocol error: {exc}"))
                return
            if reply is False:
                return
            if not waiting:
                self.abort(rx.ConnectionError("Redis sent a reply nobody asked for"))
                return
            future = waiting.popleft()[0]
            if future.done():  # its caller was cancelled
                continue
            if isinstance(reply, rx.ResponseError):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc else ""
        self._fail(rx.ConnectionError(f"Connection to Redis lost{reason}"))

    def _fail(self, exc: Exception) -> None:
        self.lost = True
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        while self.waiting:
            future = self.waiting.popleft()[0]
            if not future.done():
                future.set_exception(exc)

    def abort(self, exc: Exception) -> None:
        """Close at once, failing every waiting command with ``exc``."""
        self._fail(exc)
        if self.transport is not None:
            self.transport.abort()

    def send(self, packed: bytes, count: int) -> list[asyncio.Future[Reply]]:
        """Queue ``count`` packed commands; the futures of their replies, in order.

        Commands queued during one turn of the event loop go out in one write (one system
        call for all the requests being handled at once).
        """
        if self.lost or self.transport is None or self.transport.is_closing():
            raise rx.ConnectionError("Connection to Redis lost")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        futures = [loop.create_future() for _ in range(count)]
        if not self.outgoing:
            loop.call_soon(self._flush)
        self.outgoing.append(packed)
        self.waiting.extend([(future, deadline) for future in futures])
        if self.watchdog is None:
            self.watchdog = loop.call_at(deadline, self._watch)
        return futures

    def _flush(self) -> None:
        outgoing, self.outgoing = self.outgoing, []
        if not self.lost and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(outgoing))

    def _watch(self) -> None:
        """Fail the connection if its oldest command is overdue, else wait for that one."""
        self.watchdog = None
        if self.lost or not self.waiting:
            return
        deadline = self.waiting[0][1]
        loop = asyncio.get_running_loop()
        if loop.time() >= deadline - 0.001:  # loop clocks may tick in milliseconds
            self.abort(rx.TimeoutError("Timeout reading from Redis"))
        else:
            self.watchdog = loop.call_at(deadline, self._watch)


class MultiplexedRedis:
    """An asyncio Redis client over one multiplexed connection (see the module docs).

    Parameters
    ----------
    url
        ``redis://[[user]:password@]host[:port][/db]`` or ``unix://path[?db=N]``.
    socket_timeout
        Seconds a command may wait for its reply.
    socket_connect_timeout
        Seconds to connect (and authenticate / select the database).
    """

    def __init__(
        self, url: str, *, socket_timeout: float = 1.0, socket_connect_timeout: float = 1.0
    ) -> None:
        if not supports(url):
            raise ValueError(f"unsupported Redis URL scheme in {url!r}: use redis:// or unix://")
        options = parse_url(url)
        self.path: str | None = options.get("path")
        self.host: str = options.get("host", "localhost")
        self.port: int = int(options.get("port", 6379))
        self.db = int(options.get("db", 0) or 0)
        self.username: str | None = options.get("username")
        self.password: str | None = options.get("password")
        self.socket_timeout = socket_timeout
        self.socket_connect_timeout = socket_connect_timeout
        self._conn: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None
        self._closed = False

    def __repr__(self) -> str:
        where = self.path or f"{self.host}:{self.port}"
        return f"MultiplexedRedis({where}, db={self.db})"

    # -- connection ---------------------------------------------------------------------
    async def _connection(self) -> _Connection:
        """The open connection, else a new one (one connect for all commands waiting)."""
        conn = self._conn
        if conn is not None and not conn.lost:
            return conn
        if self._closed:
            raise rx.ConnectionError("the Redis client is closed")
        if self._connecting is None:  # one connect, however many commands wait for it
            self._connecting = asyncio.ensure_future(self._connect())
            self._connecting.add_done_callback(self._connected)
        return await asyncio.shield(self._connecting)

    def _connected(self, future: asyncio.Future[_Connection]) -> None:
        self._connecting = None
        if not future.cancelled() and future.exception() is None:
            self._conn = future.result()
            if self._closed:
                self._conn.abort(rx.ConnectionError("the Redis client was closed"))

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        where = self.path or f"{self.host}:{self.port}"
        try:
            async with asyncio.timeout(self.socket_connect_timeout):
                protocol = partial(_Connection, self.socket_timeout)
                if self.path is not None:
                    _, conn = await loop.create_unix_connection(protocol, self.path)
                else:
                    _, conn = await loop.create_connection(protocol, self.host, self.port)
                try:
                    if self.password is not None:
                        auth = [self.username] if self.username else []
                        await self._call(conn, (b"AUTH", *auth, self.password))
                    if self.db:
                        await self._call(conn, (b"SELECT", self.db))
                except BaseException:
                    conn.abort(rx.ConnectionError("Redis handshake failed"))
                    raise
        except TimeoutError as exc:  # the builtin, from asyncio.timeout
            raise rx.TimeoutError(f"Timeout connecting to Redis at {where}") from exc
        except OSError as exc:
            raise rx.ConnectionError(f"Error connecting to Redis at {where}: {exc}") from exc
        except rx.ResponseError as exc:
            raise rx.ConnectionError(f"Redis at {where} refused the connection: {exc}") from exc
        return conn

    async def _call(self, conn: _Connection, args: tuple[Any, ...]) -> Reply:
        (future,) = conn.send(hiredis.pack_command(args), 1)
        return await future

    @staticmethod
    async def _wait(futures: list[asyncio.Future[Reply]]) -> list[Reply]:
        """The replies of ``futures`` in order; raise the first error.

        Every future's outcome is collected, so none is left unretrieved.
        """
        last = futures[-1]
        try:
            await last  # replies come in order: when the last is in, all are
        except asyncio.CancelledError:
            for future in futures:  # nobody will read these replies: skip them when they come
                future.cancel()
            raise
        except Exception:  # noqa: S110 - examined below, with the other replies
            pass
        errors = [future.exception() for future in futures]
        for exc in errors:
            if exc is not None and not isinstance(exc, rx.ResponseError):
                raise exc  # the connection failed: every reply is lost
        for exc in errors:
            if exc is not None:
                raise exc
        return [future.result() for future in futures]

    async def _execute(self, packed: bytes, count: int) -> list[Reply]:
        """Send ``count`` packed commands and return their replies, retrying once if the
        connection turns out to be lost before they could be answered."""
        for attempt in (1, 2):
            conn = self._conn
            if conn is None or conn.lost:
                conn = await self._connection()
            try:
                futures = conn.send(packed, count)
                if count == 1:  # the common case, without the bookkeeping of _wait
                    return [await futures[0]]
                return await self._wait(futures)
            except rx.ConnectionError:  # lost (not timed out): once more on a new connection
                if attempt == 2 or self._closed:
                    raise
        raise AssertionError("unreachable")

    # -- commands (the redis-py method names and reply types) ---------------------------
    async def _command(self, *args: Any) -> Reply:
        """One command (``"GET", key``); the raw reply (bytes, list, int or None)."""
        (reply,) = await self._execute(hiredis.pack_command(args), 1)
        return reply

    async def get(self, key: bytes | str) -> bytes | None:
        return await self._command(b"GET", key)

    async def hget(self, key: bytes | str, field: bytes | str) -> bytes | None:
        return await self._command(b"HGET", key, field)

    async def hgetall(self, key: bytes | str) -> dict[bytes, bytes]:
        return _as_dict(await self._command(b"HGETALL", key))

    def pipeline(self, transaction: bool = False) -> Pipeline:
        """Commands sent together and answered together (never a MULTI transaction)."""
        if transaction:
            raise ValueError("MultiplexedRedis pipelines are never transactional")
        return Pipeline(self)

    async def aclose(self) -> None:
        """Close the connection; commands still waiting fail with ConnectionError."""
        self._closed = True
        if self._conn is not None:
            self._conn.abort(rx.ConnectionError("the Redis client was closed"))
            self._conn = None


class Pipeline:
    """Queued commands of :meth:`MultiplexedRedis.pipeline`, sent in one write.

    ``execute()`` returns the replies in order (HGETALL as a dict) and raises the first error
    reply, like redis-py's non-transactional pipeline.
    """

    def __init__(self, client: MultiplexedRedis) -> None:
        self.client = client
        self._commands: list[bytes] = []
        self._converts: list[Convert] = []

    def _queue(self, convert: Convert, *args: Any) -> Pipeline:
        self._commands.append(hiredis.pack_command(args))
        self._converts.append(convert)
        return self

    def get(self, key: bytes | str) -> Pipeline:
        return self._queue(_same, b"GET", key)

    def hget(self, key: bytes | str, field: bytes | str) -> Pipeline:
        return self._queue(_same, b"HGET", key, field)

    def hgetall(self, key: bytes | str) -> Pipeline:
        return self._queue(_as_dict, b"HGETALL", key)

    async def execute(self) -> list[Any]:
        commands, converts = self._commands, self._converts
        self._commands, self._converts = [], []
        if not commands:
            return []
        futures_replies = await self.client._execute(b"".join(commands), len(commands))
        return [convert(reply) for convert, reply in zip(converts, futures_replies, strict=True)]
