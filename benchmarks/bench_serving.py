"""Serving latency and throughput vs a trivial FastAPI endpoint served the same way.

1. Train a bundle on a generated shop and publish it to Redis under a throwaway namespace.
2. Start the service and a trivial FastAPI app as separate uvicorn processes (one worker each,
   identical flags), on loopback.
3. Steady load: 500 requests/s for ``--seconds`` (open loop, latency from the scheduled time)
   against recommendations for a mix of known and unknown customers -> p50/p99.
4. Peak: closed loop with 32 connections for ``--seconds`` -> throughput ratio vs trivial.

Targets (SPEC): p99 < 10 ms at 500 req/s; peak >= 0.6 x trivial.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd  # noqa: E402

from benchmarks.common import save  # noqa: E402
from benchmarks.loadgen import closed_loop, open_loop  # noqa: E402
from benchmarks.servers import free_port, process, uvicorn_cmd, wait_http  # noqa: E402
from recsys.config import Config  # noqa: E402
from recsys.data.synthetic import generate_shop  # noqa: E402
from recsys.store import keys  # noqa: E402
from recsys.store.connection import connect, resolve_redis_url  # noqa: E402
from recsys.store.publish import publish  # noqa: E402
from recsys.store.versions import unlink_matching  # noqa: E402
from training.train import run_training  # noqa: E402


def _paths(bundle: Path, n: int, seed: int = 0) -> list[str]:
    recs = pd.read_parquet(bundle / "recommendations.parquet", columns=["customer_id"])
    known = recs["customer_id"].drop_duplicates().tolist()
    rng = random.Random(seed)
    paths = []
    for i in range(n):
        cid = rng.choice(known) if i % 10 else f"unknown-{i}"
        paths.append(f"/v1/customers/{cid}/recommendations?k=10")
    return paths


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)

    url = resolve_redis_url(None)
    client = connect(url)
    namespace = f"bench:{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        shop = generate_shop(customers=args.customers, items=args.items, days=180, seed=1)
        files = shop.write(Path(tmp) / "shop")
        trained = run_training(
            files["events"],
            config=Config(),
            out_dir=Path(tmp) / "bundles",
            items_path=files["items"],
            candidates=("blend",),
            skip_evaluation=True,
        )
        publish(trained.bundle_dir, client, namespace=namespace)
        paths = _paths(trained.bundle_dir, 2000)

    env = {"RECSYS_REDIS_URL": url, "RECSYS_NAMESPACE": namespace, "RECSYS_API_KEYS": ""}
    svc_port, ref_port = free_port(), free_port()
    results: dict[str, dict] = {}
    try:
        with (
            process(uvicorn_cmd("serving.app:create_app", svc_port, factory=True), env),
            process(uvicorn_cmd("benchmarks.trivial_app:app", ref_port)),
        ):
            wait_http(f"http://127.0.0.1:{svc_port}/readyz")
            wait_http(f"http://127.0.0.1:{ref_port}/ping")
            targets = {"service": (svc_port, paths), "trivial": (ref_port, ["/ping"])}
            for port, p in targets.values():  # warm-up
                asyncio.run(closed_loop("127.0.0.1", port, p, duration=2, connections=8))
            for name, (port, p) in targets.items():
                steady = asyncio.run(
                    open_loop("127.0.0.1", port, p, rate=args.rate, duration=args.seconds)
                )
                peak = asyncio.run(
                    closed_loop("127.0.0.1", port, p, duration=args.seconds, connections=32)
                )
                results[name] = {"steady": steady.summary(), "peak": peak.summary()}
    finally:
        unlink_matching(client, keys.namespace_pattern(namespace))

    svc, ref = results["service"], results["trivial"]
    ratio = svc["peak"]["throughput_rps"] / ref["peak"]["throughput_rps"]
    payload = {
        "customers": args.customers,
        "rate": args.rate,
        "seconds": args.seconds,
        "results": results,
        "peak_ratio_vs_trivial": round(ratio, 3),
    }
    print(
        f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'peak rps':>9}  @ {args.rate:.0f} rps"
    )
    for name, r in results.items():
        s, p = r["steady"], r["peak"]
        print(
            f"{name:10} {s['p50_ms']:8.2f} {s['p99_ms']:8.2f} {s['errors']:7d} "
            f"{p['throughput_rps']:9.0f}"
        )
    print(f"peak throughput ratio service/trivial: {ratio:.2f} (target >= 0.6)")
    print(f"saved {save('serving', payload)}")
    return payload


if __name__ == "__main__":
    main()
