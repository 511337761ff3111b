"""Mixed traffic on one uvicorn worker: recommendation reads with event batches.

1. Train a bundle on a generated shop and publish it under a throwaway namespace.
2. Start the service (uvicorn, one worker, loopback), as bench_serving.py does.
3. Open loop at a steady ``--rate`` (500 req/s) for ``--seconds`` (60 s): 90% GET
   recommendations (known and unknown customers), 10% POST /v1/events batches of ``--batch``
   events (views, carts, purchases; unique ids). Latency is measured from the scheduled time
   (no coordinated omission), per kind.
4. Export the stream and check the count: every accepted event is in the export once.

Targets (issue #11): zero errors; p99 reported (reads < 10 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import orjson  # noqa: E402

from benchmarks.bench_serving import _paths, publish_generated_shop  # noqa: E402
from benchmarks.common import save  # noqa: E402
from benchmarks.loadgen import LoadResult, _Conn, _one, closed_loop, run  # noqa: E402
from benchmarks.servers import cpu_seconds, free_port, process, uvicorn_cmd, wait_http  # noqa: E402
from recsys.store import keys  # noqa: E402
from recsys.store.connection import connect, resolve_redis_url  # noqa: E402
from recsys.store.versions import unlink_matching  # noqa: E402
from training.events import export_events  # noqa: E402


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def _post(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _batches(
    customers: list[str], n: int, size: int, seed: int = 0, prefix: str = "b"
) -> list[bytes]:
    rng = random.Random(seed)
    kinds = ["view"] * 6 + ["add_to_cart"] * 2 + ["click", "purchase"]
    out = []
    for b in range(n):
        events = [
            {
                "event_id": f"{prefix}{b}-{i}",
                "event_type": rng.choice(kinds),
                "customer_id": rng.choice(customers),
                "item_id": f"i{rng.randrange(1000)}",
                "channel": "web",
            }
            for i in range(size)
        ]
        out.append(_post("/v1/events", orjson.dumps({"events": events})))
    return out


async def mixed_open_loop(
    port: int, reads: list[bytes], writes: list[bytes], *, rate: float, duration: float
) -> dict[str, LoadResult]:
    """Every 10th scheduled request is an event batch, the others reads."""
    conns = [_Conn("127.0.0.1", port) for _ in range(64)]
    await asyncio.gather(*(c.open() for c in conns))
    pool: asyncio.Queue[_Conn] = asyncio.Queue()
    for c in conns:
        pool.put_nowait(c)
    results = {"read": LoadResult(), "events": LoadResult()}

    async def fire(raw: bytes, scheduled: float, result: LoadResult) -> None:
        conn = await pool.get()
        try:
            await _one(conn, raw, scheduled, result)
        finally:
            pool.put_nowait(conn)

    tasks = []
    t0 = time.perf_counter()
    for i in range(int(rate * duration)):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if i % 10 == 9:
            raw, result = writes[(i // 10) % len(writes)], results["events"]
        else:
            raw, result = reads[i % len(reads)], results["read"]
        tasks.append(asyncio.create_task(fire(raw, scheduled, result)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + 30)
    for r in results.values():
        r.elapsed_s = time.perf_counter() - t0
    while not pool.empty():
        await pool.get_nowait().close()
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=20, help="events per POST")
    args = parser.parse_args(argv)

    url = resolve_redis_url(None)
    client = connect(url)
    namespace = f"bench:{uuid.uuid4().hex[:8]}"
    n_writes = int(args.rate * args.seconds) // 10 + 1
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bundle = publish_generated_shop(
                client, namespace, Path(tmp), args.customers, args.items
            )
            paths = _paths(bundle, 2000)
            customers = [p.split("/")[3] for p in paths]
            reads = [_get(p) for p in paths]
            writes = _batches(customers, n_writes, args.batch)
            warm = _batches(customers, 10, args.batch, seed=1, prefix="warm")

            env = {"RECSYS_REDIS_URL": url, "RECSYS_NAMESPACE": namespace, "RECSYS_API_KEYS": ""}
            port = free_port()
            with process(uvicorn_cmd("serving.app:create_app", port, factory=True), env) as sp:
                wait_http(f"http://127.0.0.1:{port}/readyz")
                run(closed_loop("127.0.0.1", port, paths[:200], duration=2, connections=8))
                run(mixed_open_loop(port, reads[:90], warm, rate=100, duration=1))
                before = cpu_seconds(sp.pid)
                results = run(
                    mixed_open_loop(port, reads, writes, rate=args.rate, duration=args.seconds)
                )
                after = cpu_seconds(sp.pid)
            exported = export_events(client, namespace, Path(tmp) / "export")
    finally:
        unlink_matching(client, keys.namespace_pattern(namespace))

    sent_events = results["events"].statuses.get(202, 0) * args.batch
    warm_events = 10 * args.batch  # 1 s at 100 req/s: 10 batches
    summary = {kind: r.summary() for kind, r in results.items()}
    payload = {
        "rate": args.rate,
        "seconds": args.seconds,
        "batch": args.batch,
        **summary,
        "errors": sum(r.errors for r in results.values())
        + sum(n for r in results.values() for s, n in r.statuses.items() if s >= 400),
        "events_accepted": sent_events,
        # CPU seconds the service used per second of the run (1.0 = one core saturated).
        "service_cpu_share": None
        if before is None or after is None
        else round((after - before) / results["read"].elapsed_s, 3),
        "events_exported": exported.written - warm_events,
    }
    for kind in ("read", "events"):
        s = summary[kind]
        print(
            f"  {kind:6s}: {s['completed']:,} done, {s['errors']} errors, statuses "
            f"{s['statuses']}, p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, "
            f"max {s['max_ms']:.1f} ms"
        )
    print(
        f"  errors {payload['errors']}; events answered 202: {sent_events:,}, exported: "
        f"{payload['events_exported']:,}; service CPU share {payload['service_cpu_share']}"
    )
    print(f"saved {save('events', payload)}")
    return payload


if __name__ == "__main__":
    main()
