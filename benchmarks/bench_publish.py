"""Publish rate and Redis memory per customer, vs redis-benchmark in the same run.

A bundle shaped like a real one (N customers x top-50 from a catalog of M items, plus
similar-items lists and popular lists) is published with ``recsys.store.publish.publish``,
once with each writer: ``pipeline`` (plain redis-py ``pipeline(transaction=False)``, chunked,
hiredis) and ``raw`` (packed RESP HSETs streamed on one socket), alternated ``--rounds`` times
(best write rate of each kept). References, measured right after against the same server with
the same value size:
- ``redis-benchmark -t set -P 64 -d SIZE``: pipelined SETs, all to one key (the tool's default);
- ``redis-benchmark -P 64 -r 100000000 set key:__rand_int__ VALUE``: pipelined SETs of *new*
  keys, which is what a publish does.
Reports keys/s of each writer's write phase as a ratio to each (SPEC target >= 0.5), and Redis
``used_memory`` growth per customer (target < 1 KB for a top-50 list).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import redis

from benchmarks.common import save
from recsys.store import keys
from recsys.store.bundle import write_bundle_tables
from recsys.store.connection import resolve_redis_url
from recsys.store.publish import publish
from recsys.store.versions import unlink_matching
from recsys.store.writer import WriterMode


def make_bundle(path: Path, n_customers: int, n_items: int, top_n: int = 50) -> Path:
    rng = np.random.default_rng(0)
    items = np.array([f"I{i:06d}" for i in range(n_items)])
    customers = np.array([f"C{i:07d}" for i in range(n_customers)])
    idx = (
        np.argsort(rng.random((n_customers, n_items)), axis=1)[:, :top_n]
        if n_items < 5000
        else rng.integers(0, n_items, (n_customers, top_n))
    )
    scores = np.sort(rng.random((n_customers, top_n)).astype(np.float32), axis=1)[:, ::-1]
    recs = pd.DataFrame(
        {
            "customer_id": np.repeat(customers, top_n),
            "rank": np.tile(np.arange(1, top_n + 1), n_customers),
            "item_id": items[idx.ravel()],
            "score": scores.ravel(),
        }
    )
    recs = recs.drop_duplicates(["customer_id", "item_id"])
    recs["rank"] = recs.groupby("customer_id").cumcount() + 1
    sim_n = 20
    sim = pd.DataFrame(
        {
            "item_id": np.repeat(items, sim_n),
            "rank": np.tile(np.arange(1, sim_n + 1), n_items),
            "similar_item_id": items[
                (np.arange(n_items)[:, None] + np.arange(1, sim_n + 1)) % n_items
            ].ravel(),
            "score": np.tile(np.linspace(1, 0.1, sim_n, dtype=np.float32), n_items),
        }
    )
    popular = pd.DataFrame(
        {
            "segment": "_all",
            "rank": np.arange(1, 101),
            "item_id": items[:100],
            "score": np.linspace(1, 0.01, 100, dtype=np.float32),
        }
    )
    catalog = pd.DataFrame({"item_id": items, "in_stock": True})
    version = f"bench-{uuid.uuid4().hex[:6]}"
    return write_bundle_tables(
        path / version,
        {"version": version, "created_at": "2026-01-01T00:00:00+00:00", "top_n": top_n},
        items=catalog,
        recommendations=recs,
        similar_items=sim,
        popular=popular,
    )


def redis_benchmark(url: str, size: int, *, new_keys: bool, n: int = 200_000) -> float:
    exe = shutil.which("redis-benchmark")
    if exe is None:
        raise RuntimeError("redis-benchmark not found (Debian package redis-tools)")
    u = urlparse(url)
    target = (
        ["-s", u.path]
        if u.scheme == "unix"
        else ["-h", u.hostname or "127.0.0.1", "-p", str(u.port or 6379)]
    )
    if new_keys:
        prefix = f"benchref:{uuid.uuid4().hex[:6]}:"
        cmd = [
            exe,
            *target,
            "-q",
            "-n",
            str(n),
            "-P",
            "64",
            "-r",
            "100000000",
            "set",
            f"{prefix}__rand_int__",
            "x" * size,
        ]
    else:
        prefix = None
        cmd = [exe, *target, "-q", "-n", str(n), "-P", "64", "-t", "set", "-d", str(size)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    rates = re.findall(r"([\d.]+) requests per second", out)
    if not rates:
        raise RuntimeError(f"cannot parse redis-benchmark output: {out!r}")
    client = redis.Redis.from_url(url)
    if prefix:
        unlink_matching(client, prefix.encode() + b"*")
    client.delete("key:__rand_int__")
    return float(rates[-1])


def _publish_once(client: redis.Redis, bundle: Path, writer: WriterMode) -> tuple[float, Any]:
    """Publish into a fresh namespace with ``writer``; (write keys/s, result). Cleans up."""
    namespace = f"benchpub:{uuid.uuid4().hex[:6]}"
    try:
        result = publish(bundle, client, namespace=namespace, writer=writer)
    finally:
        unlink_matching(client, keys.namespace_pattern(namespace))
    return result.n_keys / result.write_seconds, result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2, help="publishes per writer")
    args = parser.parse_args(argv)

    url = resolve_redis_url(None)
    client = redis.Redis.from_url(url)
    namespace = f"benchpub:{uuid.uuid4().hex[:6]}"
    rates: dict[WriterMode, list[float]] = {"pipeline": [], "raw": []}
    with tempfile.TemporaryDirectory() as tmp:
        bundle = make_bundle(Path(tmp), args.customers, args.items)
        before = int(client.info("memory")["used_memory"])
        result = publish(bundle, client, namespace=namespace)
        after = int(client.info("memory")["used_memory"])
        try:
            ckey = keys.customer_key(namespace, result.version, "C0000000")
            sample = [
                keys.customer_key(namespace, result.version, f"C{i:07d}")
                for i in range(0, args.customers, max(1, args.customers // 200))
            ]
            mem_usage = [int(client.memory_usage(k) or 0) for k in sample]
            value_size = len(client.hget(ckey, "rec") or b"")
        finally:
            unlink_matching(client, keys.namespace_pattern(namespace))
        for _ in range(args.rounds):
            for writer in rates:
                rate, _res = _publish_once(client, bundle, writer)
                rates[writer].append(rate)
    same_key = redis_benchmark(url, value_size, new_keys=False)
    new_keys = redis_benchmark(url, value_size, new_keys=True)
    best = {w: max(r) for w, r in rates.items()}
    payload: dict[str, Any] = {
        "customers": args.customers,
        "items": args.items,
        "value_bytes": value_size,
        "default_writer": result.writer,
        "keys": result.n_keys,
        "publish_total_s": round(result.seconds, 3),
        "redis_benchmark_set_same_key_rps": same_key,
        "redis_benchmark_set_new_keys_rps": new_keys,
        "used_memory_per_customer_bytes": round((after - before) / args.customers, 1),
        "memory_usage_per_customer_key_median": float(np.median(mem_usage)),
    }
    for writer, rate in best.items():
        payload[f"{writer}_write_keys_per_s"] = round(rate)
        payload[f"{writer}_write_keys_per_s_rounds"] = [round(r) for r in rates[writer]]
        payload[f"{writer}_ratio_vs_same_key"] = round(rate / same_key, 3)
        payload[f"{writer}_ratio_vs_new_keys"] = round(rate / new_keys, 3)
    # The publish path's figures (the default writer), under the names earlier runs used.
    default = "raw" if result.writer == "raw" else "pipeline"
    payload["write_keys_per_s"] = payload[f"{default}_write_keys_per_s"]
    payload["ratio_vs_same_key"] = payload[f"{default}_ratio_vs_same_key"]
    payload["ratio_vs_new_keys"] = payload[f"{default}_ratio_vs_new_keys"]
    print(
        f"publish {result.n_keys:,} keys ({value_size} B lists); whole publish "
        f"{result.seconds:.2f} s with the default writer ({result.writer})"
    )
    print(
        f"redis-benchmark pipelined SET -d {value_size}: same key {same_key:,.0f}/s, "
        f"new keys {new_keys:,.0f}/s"
    )
    for writer, rate in best.items():
        print(
            f"  {writer:8s} writer: {rate:,.0f} keys/s (best of {args.rounds}) -> ratios "
            f"{payload[f'{writer}_ratio_vs_same_key']:.2f} (same key) / "
            f"{payload[f'{writer}_ratio_vs_new_keys']:.2f} (new keys) (target >= 0.5)"
        )
    print(
        f"Redis memory per customer: {payload['used_memory_per_customer_bytes']:.0f} B "
        f"(used_memory delta, all keys), MEMORY USAGE of a customer key "
        f"{payload['memory_usage_per_customer_key_median']:.0f} B (target < 1024)"
    )
    print(f"saved {save('publish', payload)}")
    return payload


if __name__ == "__main__":
    main()
