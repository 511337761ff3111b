"""Sharded scoring: N = 2 shard processes vs N = 1 on a 200k customers x 20k items case.

The case is an ALS model with synthetic factors (64 dimensions, normal), 200,000 customers x
20,000 items, each customer having bought 1-20 items (power-law popular), written as a
bundle (model, catalog with 5% of items out of stock, manifest). Both runs go through
:func:`training.score.run_local_shards`, what ``recsys train --shards N`` runs: N processes
``recsys score BUNDLE --shard i/N``, one BLAS thread and one top-k thread each, then the
join. Each scores every customer's default list, include-purchased list (top-50) and
buy-again ranking. Reported: wall time of each (process start to joined tables), the ratio
N=2 / N=1 (target <= 0.7 on 2 cores), the join's share, and the load average, since the
machine is shared.

Run: ``python -m benchmarks.bench_shards [--customers 200000 --items 20000]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from benchmarks.common import save  # noqa: E402
from recsys import columns as C  # noqa: E402
from recsys.data.ids import IdMap  # noqa: E402
from recsys.models.als import ALSRecommender  # noqa: E402
from recsys.scoring import join_shards  # noqa: E402
from recsys.store.bundle import write_bundle_tables  # noqa: E402
from training.score import run_local_shards  # noqa: E402

TOP_N = 50
FACTORS = 64


def make_bundle(root: Path, customers: int, items: int, seed: int = 0) -> Path:
    """A bundle of a synthetic-factor ALS model (see the module docstring)."""
    rng = np.random.default_rng(seed)
    model = ALSRecommender(factors=FACTORS, num_threads=1)
    model.customers_ = IdMap(np.array([f"c{i:07d}" for i in range(customers)]))
    model.items_ = IdMap(np.array([f"i{i:05d}" for i in range(items)]))
    model.user_factors_ = rng.normal(0, 0.3, (customers, FACTORS)).astype(np.float32)
    model.item_factors_ = rng.normal(0, 0.3, (items, FACTORS)).astype(np.float32)
    per = rng.integers(1, 21, customers)
    pop = 1.0 / (np.arange(items) + 10.0)
    cols = np.searchsorted(np.cumsum(pop / pop.sum()), rng.random(int(per.sum())))
    rows = np.repeat(np.arange(customers), per)
    bought = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, np.minimum(cols, items - 1))),
        shape=(customers, items),
    )
    bought.sum_duplicates()
    bought.data[:] = 1.0
    bought.sort_indices()
    model.seen_ = model.exclude_ = bought
    model.fit_time_ = 0.0
    version = "bench-shards"
    bundle = root / version
    items_frame = pd.DataFrame(
        {C.ITEM_ID: model.items_.external_ids, C.IN_STOCK: rng.random(items) >= 0.05}
    )
    write_bundle_tables(
        bundle,
        {
            "version": version,
            "created_at": datetime.now(UTC).isoformat(),
            "top_n": TOP_N,
            "model_file": "model.npz",
        },
        items=items_frame,
    )
    model.save(bundle / "model.npz")
    return bundle


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(bundle: Path, count: int, out: Path) -> tuple[float, float, float, dict[str, int]]:
    """Wall seconds of ``count`` shard processes + join, the join alone, the shard
    processes' CPU seconds, and row counts."""
    load = os.getloadavg()[0]
    cpu = _children_cpu()
    start = time.perf_counter()
    tables = run_local_shards(bundle, count, out / f"n{count}", version=bundle.name)
    wall = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    start = time.perf_counter()
    join_shards(out / f"n{count}", count, bundle.name)
    join = time.perf_counter() - start
    print(
        f"  N={count}: {wall:.1f} s wall (join {join:.1f} s), shard processes {cpu:.1f} s CPU, "
        f"load before {load:.2f}",
        flush=True,
    )
    return wall, join, cpu, {name: len(frame) for name, frame in tables.items()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        root = Path(tmp)
        bundle = make_bundle(root, args.customers, args.items)
        load_start = os.getloadavg()
        one, join_one, cpu_one, rows_one = timed_run(bundle, 1, root)
        two, join_two, cpu_two, rows_two = timed_run(bundle, 2, root)
        load_end = os.getloadavg()
    assert rows_one == rows_two, (rows_one, rows_two)
    payload = {
        "customers": args.customers,
        "items": args.items,
        "top_n": TOP_N,
        "rows": rows_one,
        "n1_wall_s": round(one, 2),
        "n2_wall_s": round(two, 2),
        "n1_join_s": round(join_one, 2),
        "n2_join_s": round(join_two, 2),
        "n1_shard_cpu_s": round(cpu_one, 2),
        "n2_shard_cpu_s": round(cpu_two, 2),
        "ratio_n2_over_n1": round(two / one, 3),
        "target_ratio": 0.7,
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in load_end],
        "cpus": os.cpu_count(),
    }
    print(
        f"N=2 / N=1 = {payload['ratio_n2_over_n1']:.3f} (target <= 0.7); "
        f"load {load_start[0]:.2f} -> {load_end[0]:.2f} on {os.cpu_count()} cores"
    )
    print(f"saved {save('shards', payload)}")
    return payload


if __name__ == "__main__":
    main()
