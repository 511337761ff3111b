"""Scale: the offline job and the publish on a generated 1M customers x 50k items shop.

For each size (events; default 1M, 3M and 10M over the same 1M customer ids and 50k items)
a fresh process generates the events (power-law customers and items, views / carts /
purchases over 180 days) and runs the training core step by step, timing each and
sampling its resident memory (``/proc/self/statm`` every 50 ms, so each step's peak is
its own): the customers x items matrix, ALS fit (64 factors, 15 iterations, implicit on
every core; reported per iteration), top-50 for every customer (the default answer, bought
items removed), similar items and the popular list, and the bundle write. Then ``recsys
publish`` publishes that bundle to the local Redis in a namespace of its own (deleted
afterwards), timed with its peak RSS (``getrusage`` of the child).

The per-customer "all purchases" list and the buy-again ranking, each another pass over
the customers, are left out to keep the run within minutes; ``recsys train`` computes both.
Targets (issue 12): <= 8 s per ALS iteration, <= 300 s for top-50 of every customer,
peak <= 4 GB for fit + top-N.

Outside CI (minutes per size). Run: ``python -m benchmarks.bench_scale [--events 1e6,3e6]``
or ``RECSYS_SCALE_EVENTS=1000000``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.common import save  # noqa: E402

CUSTOMERS = 1_000_000
ITEMS = 50_000
DEFAULT_EVENTS = (1_000_000, 3_000_000, 10_000_000)
TOP_N = 50
ALS = {"factors": 64, "iterations": 15, "regularization": 1.0, "alpha": 0.2}
PAGE = os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples this process's resident set size in a thread; ``peak`` since ``reset``."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def now() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * PAGE

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(self.every)

    def reset(self) -> None:
        self.peak = self.now()

    def stop(self) -> None:
        self._stop.set()


def generate(n_events: int, seed: int = 0) -> pd.DataFrame:
    """Canonical clean events: power-law customers (lognormal activity) and items (Zipf-like
    popularity), 70% views, 15% carts, 15% purchases, uniform over 180 days."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.2, CUSTOMERS)
    cust = np.searchsorted(np.cumsum(activity / activity.sum()), rng.random(n_events))
    cust = np.minimum(cust, CUSTOMERS - 1)
    pop = 1.0 / (np.arange(ITEMS) + 20.0) ** 0.9
    item = np.searchsorted(np.cumsum(pop / pop.sum()), rng.random(n_events))
    item = rng.permutation(ITEMS)[np.minimum(item, ITEMS - 1)]
    kinds = np.array(["view", "add_to_cart", "purchase"], dtype=object)
    kind = kinds[np.searchsorted([0.70, 0.85], rng.random(n_events), side="right")]
    start = np.datetime64("2026-01-01T00:00:00")
    ts = start + rng.integers(0, 180 * 86_400, n_events).astype("timedelta64[s]")
    cids = np.array([f"c{i:07d}" for i in range(CUSTOMERS)], dtype=object)
    iids = np.array([f"i{i:05d}" for i in range(ITEMS)], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": cids[cust],
            "item_id": iids[item],
            "timestamp": ts.astype("datetime64[ns]"),
            "event_type": kind,
            "quantity": np.ones(n_events),
        }
    )


def core(n_events: int, out: Path) -> dict[str, Any]:
    """Generate, then matrix -> ALS -> top-50 for all -> similar/popular -> bundle write."""
    from recsys.artifacts import ArtifactOptions, catalog, popular_list
    from recsys.config import MatrixConfig
    from recsys.data.dataset import build_dataset
    from recsys.evaluation.protocols import NEW_ITEMS, served_list
    from recsys.models import make_model
    from recsys.store.bundle import write_bundle_tables

    rss = PeakRss()
    row: dict[str, Any] = {"events": n_events}

    @contextmanager
    def step(name: str) -> Iterator[None]:
        rss.reset()
        start, cpu = time.perf_counter(), time.process_time()
        yield
        row[f"{name}_s"] = round(time.perf_counter() - start, 2)
        # CPU seconds of every thread of the process: on a shared, loaded machine the wall
        # time stretches, the work does not (ALS uses every core, top-k one thread each).
        row[f"{name}_cpu_s"] = round(time.process_time() - cpu, 2)
        row[f"{name}_peak_rss_gb"] = round(rss.peak / 2**30, 2)
        took = f"{row[f'{name}_s']} s wall, {row[f'{name}_cpu_s']} s CPU"
        print(f"  {n_events:,} events: {name} {took}", file=sys.stderr, flush=True)

    with step("generate"):
        events = generate(n_events)
    with step("matrix_build"):
        dataset = build_dataset(events, MatrixConfig())
    del events
    row.update(customers=dataset.n_customers, items=dataset.n_items, nnz=int(dataset.matrix.nnz))
    with step("als_fit"):
        model = make_model("als", **ALS, num_threads=0).fit(dataset)
    row["als_per_iteration_s"] = round(row["als_fit_s"] / ALS["iterations"], 2)
    row["als_per_iteration_cpu_s"] = round(row["als_fit_cpu_s"] / ALS["iterations"], 2)
    with step("top50_all_customers"):
        recs = served_list(model, dataset.customers.external_ids, TOP_N, NEW_ITEMS)
    row["top50_rows"] = len(recs)
    with step("similar_and_popular"):
        similar = model.similar_items(dataset.items.external_ids, k=20)
        popular = popular_list(dataset, ArtifactOptions().popular_n)
    version = f"scale-{n_events}-{uuid4().hex[:6]}"
    with step("bundle_write"):
        write_bundle_tables(
            out / version,
            {
                "version": version,
                "created_at": datetime.now(UTC).isoformat(),
                "top_n": TOP_N,
                "model_file": "model.npz",
            },
            items=catalog(dataset, None),
            recommendations=recs,
            similar_items=similar,
            popular=popular,
        )
        model.save(out / version / "model.npz")
    rss.stop()
    row["bundle"] = str(out / version)
    row["bundle_mb"] = round(sum(f.stat().st_size for f in (out / version).iterdir()) / 2**20, 1)
    row["process_max_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return row


def redis_used_gb(url: str) -> float:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return round(int(client.info("memory")["used_memory"]) / 2**30, 2)
    finally:
        client.close()


def publish(bundle: str, url: str) -> dict[str, Any]:
    """``recsys publish`` the bundle into a fresh namespace; delete the namespace after."""
    import redis

    from recsys.store.keys import namespace_pattern
    from recsys.store.versions import unlink_matching

    namespace = f"bench-scale-{uuid4().hex[:8]}"
    before = redis_used_gb(url)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "training", "publish", bundle, "--namespace", namespace]
            + ["--redis", url, "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    took = time.perf_counter() - start
    child_rss = usage.ru_maxrss / 2**20
    during = redis_used_gb(url)
    client = redis.Redis.from_url(url)
    try:
        unlink_matching(client, namespace_pattern(namespace))
    finally:
        client.close()
    if proc.returncode != 0:
        raise RuntimeError(f"publish failed: {stderr.strip()[-500:]}")
    return {
        "publish_s": round(took, 2),
        "publish_child_max_rss_gb": round(child_rss, 2),
        "redis_used_gb_before": before,
        "redis_version_gb": round(during - before, 2),
    }


def _worker(n_events: int, out: Path) -> None:
    print(json.dumps(core(n_events, out)))


def run_size(n_events: int, url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_scale", "--worker", str(n_events), tmp],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        row: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        row.update(publish(row.pop("bundle"), url))
    return row


def _sizes(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--events",
        type=_sizes,
        default=_sizes(os.environ.get("RECSYS_SCALE_EVENTS", ",".join(map(str, DEFAULT_EVENTS)))),
        help="comma-separated event counts (default 1e6,3e6,1e7; env RECSYS_SCALE_EVENTS)",
    )
    parser.add_argument("--worker", nargs=2, metavar=("EVENTS", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(int(args.worker[0]), Path(args.worker[1]))
        return {}
    url = os.environ.get("RECSYS_REDIS_URL", "redis://127.0.0.1:6379/0")
    payload: dict[str, Any] = {
        "customers": CUSTOMERS,
        "items": ITEMS,
        "als": ALS,
        "top_n": TOP_N,
        "targets": {"als_per_iteration_s": 8, "top50_all_customers_s": 300, "peak_gb": 4},
        "rows": [],
    }
    for n in args.events:
        load = os.getloadavg()
        row = run_size(n, url)
        row["loadavg_at_start"] = [round(x, 2) for x in load]
        row["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        payload["rows"].append(row)
        print(json.dumps(row), flush=True)
        path = save("scale", payload)  # after every size: a long run keeps what it finished
    print(f"saved {path}")
    return payload


if __name__ == "__main__":
    main()
