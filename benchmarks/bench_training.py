"""Training core vs raw implicit, on the same matrix, in the same run.

Ours: ``recsys`` ALS ``fit`` + ``recommend`` top-50 for every customer (and, separately, the
same plus building the matrix from clean events). Reference: implicit's
``AlternatingLeastSquares.fit`` + batch ``recommend(all users, N=50,
filter_already_liked_items=True)`` on the identical CSR matrix with identical hyperparameters.
Reported as ratios ours / reference (target <= 1.2).

Run: ``python -m benchmarks.bench_training [--events N]``.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402

from benchmarks.common import ONLINE_RETAIL, best_of, save  # noqa: E402
from recsys.data.dataset import build_dataset  # noqa: E402
from recsys.models import make_model  # noqa: E402

PARAMS = {"factors": 64, "iterations": 15, "regularization": 0.05, "alpha": 1.0}
TOP_N = 50


def _raw_implicit(matrix) -> None:
    model = AlternatingLeastSquares(**PARAMS, random_state=0)
    model.fit(matrix, show_progress=False)
    users = np.arange(matrix.shape[0])
    model.recommend(users, matrix, N=TOP_N, filter_already_liked_items=True)


def _ours(dataset) -> None:
    model = make_model("als", **PARAMS, random_state=0).fit(dataset)
    model.recommend(dataset.customers.external_ids, k=TOP_N, exclude_seen=True)


def bench_case(name: str, events, repeat: int) -> dict:
    dataset = build_dataset(events)
    matrix = dataset.matrix.copy()  # implicit needs a writable matrix; ours is read-only
    build_s, _ = best_of(lambda: build_dataset(events), repeat)
    raw_s, raw_all = best_of(lambda: _raw_implicit(matrix), repeat)
    ours_s, ours_all = best_of(lambda: _ours(dataset), repeat)
    row = {
        "case": name,
        "events": len(events),
        "customers": dataset.n_customers,
        "items": dataset.n_items,
        "nnz": int(matrix.nnz),
        "raw_implicit_s": raw_s,
        "ours_fit_recommend_s": ours_s,
        "matrix_build_s": build_s,
        "ratio_fit_recommend": ours_s / raw_s,
        "ratio_with_matrix_build": (ours_s + build_s) / raw_s,
        "runs": {"raw": raw_all, "ours": ours_all},
    }
    print(
        f"{name:<28} {len(events):>9,} ev {dataset.n_customers:>7,} x {dataset.n_items:>6,} "
        f"raw {raw_s:6.2f}s  ours {ours_s:6.2f}s  ratio {row['ratio_fit_recommend']:.2f}  "
        f"(+matrix build {build_s:.2f}s -> {row['ratio_with_matrix_build']:.2f})"
    )
    return row


def _end_to_end(shop) -> dict:
    """``recsys train`` as a user runs it (files in, bundle out) on the generated shop."""
    import tempfile
    import time
    from pathlib import Path

    from recsys.config import Config
    from training.train import TrainOptions, run_training

    with tempfile.TemporaryDirectory() as tmp:
        files = shop.write(Path(tmp) / "shop")
        start = time.perf_counter()
        result = run_training(
            TrainOptions(
                events=files["events"],
                out_dir=Path(tmp) / "bundles",
                items=files["items"],
                customers=files["customers"],
            ),
            config=Config(),
        )
        seconds = time.perf_counter() - start
    row = {
        "events": len(shop.events),
        "seconds": seconds,
        "chosen": result.manifest.chosen_model,
    }
    print(
        f"end to end: recsys train on {len(shop.events):,} events (evaluate "
        f"{len(result.manifest.candidates)} candidates, retrain, score, bundle): {seconds:.1f} s"
    )
    return row


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5500)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from recsys.data.synthetic.shop import generate_shop

    rows = []
    shop = generate_shop(customers=args.customers, items=args.items, days=args.days, seed=0)
    rows.append(bench_case("synthetic shop", shop.events, args.repeat))
    if ONLINE_RETAIL.exists():
        from recsys.config import IngestConfig
        from recsys.data.events import load_events

        loaded = load_events(ONLINE_RETAIL, IngestConfig(preset="online-retail"))
        rows.append(bench_case("online retail II 2009-10", loaded.events, args.repeat))
    end_to_end = _end_to_end(shop)
    path = save(
        "training", {"params": PARAMS, "top_n": TOP_N, "cases": rows, "end_to_end": end_to_end}
    )
    print(f"saved {path}")
    return {"cases": rows}


if __name__ == "__main__":
    main()
