"""Scoring shards as local processes: ``recsys train --shards N`` and ``recsys score``.

:func:`run_local_shards` starts ``recsys score BUNDLE --shard i/N`` for every shard as its own
process (one BLAS thread and one top-k thread each, so N processes use N cores), waits for
all of them and joins their outputs (:func:`recsys.scoring.join_shards`). Another job
runner (Spark, a batch queue) calls :func:`recsys.scoring.score_bundle_shard` instead, once
per shard, on whatever machines it has (docs/scaling.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from recsys.errors import DataError
from recsys.scoring import ShardSpec, join_shards, shard_dir
from recsys.store.bundle import DICTIONARY_PAGE_LIMIT, TABLES

#: Thread-pool variables of the BLAS libraries numpy may load, and of OpenMP.
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def run_local_shards(
    bundle: str | Path,
    count: int,
    out: str | Path,
    *,
    version: str,
    candidates: str | Path | None = None,
    threads: int = 1,
) -> dict[str, pd.DataFrame]:
    """Score ``count`` shards of ``bundle`` in ``count`` parallel processes, then join.

    Each process runs ``python -m training score BUNDLE --shard i/N --out OUT`` with
    ``threads`` threads (environment and ``--threads``); its stderr goes to
    ``OUT/shard-i-of-N.log``. Returns the joined per-customer tables. DataError naming the
    shard and the last line of its log when a process fails.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **{var: str(threads) for var in THREAD_VARS})
    extra = [] if candidates is None else ["--candidates", str(candidates)]
    running = []
    for i in range(1, count + 1):
        spec = ShardSpec(i, count)
        log = shard_dir(out, spec).with_suffix(".log")
        command = [
            sys.executable,
            "-m",
            "training",
            "score",
            str(bundle),
            "--shard",
            str(spec),
            "--out",
            str(out),
            "--threads",
            str(threads),
            "--quiet",
            *extra,
        ]
        with open(log, "wb") as err:
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        running.append((spec, proc, log))
    failed = [(spec, rc, log) for spec, proc, log in running if (rc := proc.wait()) != 0]
    if failed:
        spec, rc, log = failed[0]
        lines = log.read_text(errors="replace").strip().splitlines() or ["(no output)"]
        raise DataError(f"scoring shard {spec} failed (exit {rc}): {lines[-1]}")
    return join_shards(out, count, version)


def write_customer_tables(bundle: str | Path, tables: dict[str, pd.DataFrame]) -> None:
    """Replace the bundle's per-customer tables with ``tables`` (each file written aside and
    renamed into place), written as :func:`recsys.store.bundle.write_bundle_tables` does."""
    root = Path(bundle)
    if not root.is_dir():
        raise DataError(f"bundle directory {root} does not exist")
    for name, frame in tables.items():
        final = root / TABLES[name]
        tmp = final.with_name(f".tmp-{final.name}")
        frame.to_parquet(tmp, index=False, dictionary_pagesize_limit=DICTIONARY_PAGE_LIMIT)
        os.replace(tmp, final)
