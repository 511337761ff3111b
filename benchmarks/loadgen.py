"""A small HTTP/1.1 load generator for loopback benchmarks (no dependencies).

Two modes, both bounded in count and time:
- ``open_loop``: requests are *scheduled* at a fixed rate and latency is measured from the
  scheduled time, so a stalled server shows up in the tail (no coordinated omission).
- ``closed_loop``: ``connections`` clients send back-to-back for ``duration`` seconds; gives the
  peak throughput.
Connections are opened before the clock starts (a benchmark measures requests, not TCP
set-up). :func:`run` drives either with the generator's own pauses kept out of the numbers:
uvloop when installed (less CPU taken from the server on a small machine) and no garbage
collection while it measures. Only 127.0.0.1 / localhost targets are accepted.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    elapsed_s: float = 0.0

    @property
    def completed(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    @classmethod
    def merge(cls, results: Iterable[LoadResult]) -> LoadResult:
        """One result from several runs (latencies pooled, times and counts added)."""
        out = cls()
        for r in results:
            out.latencies_ms.extend(r.latencies_ms)
            for status, count in r.statuses.items():
                out.statuses[status] = out.statuses.get(status, 0) + count
            out.errors += r.errors
            out.elapsed_s += r.elapsed_s
        return out

    def summary(self) -> dict[str, float | int | dict[int, int]]:
        return {
            "completed": self.completed,
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50), 3),
            "p90_ms": round(self.percentile(90), 3),
            "p99_ms": round(self.percentile(99), 3),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 3),
        }


class _Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = None


def _raw(host: str, path: str, headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


def _check_target(host: str) -> None:
    if host not in LOOPBACK:
        raise ValueError(f"load tests only target loopback, not {host!r}")


async def _one(conn: _Conn, raw: bytes, start: float, result: LoadResult) -> None:
    try:
        status = await conn.request(raw)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        result.errors += 1
        await conn.close()
        return
    result.latencies_ms.append((time.perf_counter() - start) * 1000)
    result.statuses[status] = result.statuses.get(status, 0) + 1


async def open_loop(
    host: str,
    port: int,
    paths: list[str],
    *,
    rate: float,
    duration: float,
    connections: int = 64,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Send ``rate`` requests/s for ``duration`` s, cycling through ``paths``."""
    _check_target(host)
    raws = [_raw(host, p, headers or {}) for p in paths]
    conns = [_Conn(host, port) for _ in range(connections)]
    await asyncio.gather(*(conn.open() for conn in conns))
    pool: asyncio.Queue[_Conn] = asyncio.Queue()
    for conn in conns:
        pool.put_nowait(conn)
    result = LoadResult()
    total = int(rate * duration)
    tasks = []

    async def fire(raw: bytes, scheduled: float) -> None:
        conn = await pool.get()
        try:
            await _one(conn, raw, scheduled, result)
        finally:
            pool.put_nowait(conn)

    t0 = time.perf_counter()
    for i, raw in zip(range(total), itertools.cycle(raws), strict=False):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(raw, scheduled)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + 30)
    result.elapsed_s = time.perf_counter() - t0
    while not pool.empty():
        await pool.get_nowait().close()
    return result


async def closed_loop(
    host: str,
    port: int,
    paths: list[str],
    *,
    duration: float,
    connections: int = 32,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """``connections`` clients each send back-to-back requests for ``duration`` s."""
    _check_target(host)
    raws = [_raw(host, p, headers or {}) for p in paths]
    result = LoadResult()
    conns = [_Conn(host, port) for _ in range(connections)]
    await asyncio.gather(*(conn.open() for conn in conns))
    deadline = time.perf_counter() + duration

    async def client(conn: _Conn, offset: int) -> None:
        for raw in itertools.islice(itertools.cycle(raws), offset, None):
            if time.perf_counter() >= deadline:
                break
            await _one(conn, raw, time.perf_counter(), result)
        await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(conn, i * 7) for i, conn in enumerate(conns)))
    result.elapsed_s = time.perf_counter() - t0
    return result


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a load coroutine (``open_loop`` / ``closed_loop``) without the generator's pauses.

    uvloop when installed; the garbage collector is off while it runs (what exists is frozen
    first), so a collection in this process never shows up as server latency.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        try:
            import uvloop
        except ImportError:
            return asyncio.run(main)
        return uvloop.run(main)  # type: ignore[no-any-return]
    finally:
        gc.enable()
        gc.unfreeze()
