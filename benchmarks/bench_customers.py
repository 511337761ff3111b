"""The customer side on real and generated data.

1. UCI Online Retail II (preset ``online-retail``) with a 90-day holdout: BG/NBD fitted on the
   orders before the cutoff, predicted vs actual repeat orders in the holdout, in total and per
   calibration-frequency bin; the churn AUC / Brier / lift of 1 - P(alive), BG/NBD's
   P(no order in 90 days) and the gradient-boosting baseline (label: no order in 90 days).
2. ``recsys segments`` end to end (validation included) on ~1M generated events, and on an
   order-level export (no item ids) of ~1M orders from 200k customers: wall time.

Run: ``python -m benchmarks.bench_customers [--events N] [--skip-real] [--data PATH]``.
Timings on a shared machine are indicative; the figures of part 1 are deterministic.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.common import ONLINE_RETAIL, save  # noqa: E402
from recsys.config import Config, IngestConfig  # noqa: E402
from recsys.customers import churn  # noqa: E402
from recsys.customers.config import CustomersConfig  # noqa: E402
from recsys.customers.holdout import holdout_check  # noqa: E402
from recsys.customers.ingest import load_order_events  # noqa: E402
from recsys.customers.segments import default_as_of  # noqa: E402
from recsys.customers.summary import order_table  # noqa: E402
from recsys.data.synthetic.shop import generate_shop  # noqa: E402
from training.segments import run_segments  # noqa: E402

HOLDOUT_DAYS = 90


def real_data(path: Path) -> dict:
    if not path.exists():
        print(f"skipped: {path} not found")
        return {"skipped": str(path)}
    loaded = load_order_events(path, IngestConfig(preset="online-retail"))
    events = loaded.events
    as_of = default_as_of(events)
    orders = order_table(events)
    cfg = CustomersConfig(holdout_days=HOLDOUT_DAYS)
    check = holdout_check(orders, as_of, cfg)
    print(f"Online Retail II: {len(events):,} clean lines, {len(orders):,} orders, as of {as_of}")
    print(
        f"BG/NBD on the calibration period to {check['cutoff']}: "
        + ", ".join(f"{k}={v:.4g}" for k, v in check["bgnbd"].items())
    )
    print(f"\nRepeat orders in the {HOLDOUT_DAYS}-day holdout, {check['n_customers']:,} customers")
    print("| calibration repeat orders | customers | predicted | actual | predicted/actual |")
    print("|---|---:|---:|---:|---:|")
    for b in check["bins"]:
        ratio = b["predicted"] / b["actual"] if b["actual"] else float("nan")
        print(
            f"| {b['bin']} | {b['customers']:,} | {b['predicted']:,.0f} | {b['actual']:,.0f} "
            f"| {ratio:.2f} |"
        )
    pt, at = check["predicted_total"], check["actual_total"]
    print(f"| total | {check['n_customers']:,} | {pt:,.0f} | {at:,.0f} | {pt / at:.2f} |")
    print(f"mean absolute error per customer: {check['mae_per_customer']:.3f} orders")

    # The same check ending one and two quarters earlier: how much of the gap is season.
    print("\nSame check at earlier cutoffs (BG/NBD has no seasonality):")
    print("| holdout | predicted | actual | predicted/actual |\n|---|---:|---:|---:|")
    rolling = []
    for back in (180, 90, 0):
        end = as_of - pd.Timedelta(days=back)
        c = holdout_check(orders, end, cfg)
        rolling.append(c)
        print(
            f"| {c['cutoff']} to {end.date()} | {c['predicted_total']:,.0f} "
            f"| {c['actual_total']:,.0f} | {c['predicted_total'] / c['actual_total']:.2f} |"
        )

    comp = churn.compare(orders, as_of, HOLDOUT_DAYS)
    print(
        f"\nChurn (no order in {HOLDOUT_DAYS} days from {comp.cutoff}), {comp.n_customers:,} "
        f"customers, churn rate {comp.churn_rate:.1%}"
    )
    print("| model | AUC | Brier | lift@10% |\n|---|---:|---:|---:|")
    for name, m in comp.metrics.items():
        print(f"| {name} | {m['auc']:.3f} | {m['brier']:.3f} | {m['lift_at_10']:.2f} |")
    print(f"chosen: {comp.chosen}")
    return {"holdout_check": check, "rolling": rolling, "churn": comp.to_dict()}


def generated(n_events: int) -> dict:
    customers = max(200, int(n_events / 180))
    shop = generate_shop(customers=customers, items=2000, days=365, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.parquet"
        shop.events.to_parquet(path, index=False)
        start = time.perf_counter()
        job = run_segments(path, out_dir=Path(tmp) / "seg", config=Config())
        seconds = time.perf_counter() - start
    n = len(shop.events)
    print(
        f"\nrecsys segments on {n:,} generated events ({job.result.params['n_customers']:,} "
        f"customers): {seconds:.1f} s"
    )
    return {"events": n, "customers": job.result.params["n_customers"], "seconds": seconds}


def order_export(n_customers: int, weeks: float = 104.0, seed: int = 0) -> pd.DataFrame:
    """An order-level export (customer_id, order_id, timestamp, amount; no item ids) drawn from
    BG/NBD (r=0.5, alpha=4, a=0.6, b=2.5) with customers arriving over the first half."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.5, 1 / 4.0, n_customers)
    p = rng.beta(0.6, 2.5, n_customers)
    t = rng.uniform(0, weeks / 2, n_customers)
    cust, times = [np.arange(n_customers)], [t.copy()]
    active = np.arange(n_customers)
    while active.size:
        t[active] += rng.exponential(1.0, active.size) / lam[active]
        active = active[t[active] < weeks]
        cust.append(active)
        times.append(t[active].copy())
        active = active[rng.random(active.size) >= p[active]]
    c, w = np.concatenate(cust), np.concatenate(times)
    start = pd.Timestamp("2023-01-02")
    return pd.DataFrame(
        {
            "customer_id": np.char.add("c", c.astype(str)),
            "order_id": np.char.add("o", np.arange(len(c)).astype(str)),
            "timestamp": start + pd.to_timedelta(w * 7, unit="D"),
            "amount": np.round(rng.gamma(3.0, 15.0, len(c)), 2),
        }
    )


def orders_only(n_customers: int) -> dict:
    frame = order_export(n_customers)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.parquet"
        frame.to_parquet(path, index=False)
        start = time.perf_counter()
        job = run_segments(path, out_dir=Path(tmp) / "seg", config=Config())
        seconds = time.perf_counter() - start
    print(
        f"recsys segments on an order-level export of {len(frame):,} orders "
        f"({job.result.params['n_customers']:,} customers, no item ids): {seconds:.1f} s"
    )
    return {"orders": len(frame), "customers": job.result.params["n_customers"], "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--order-customers", type=int, default=200_000)
    parser.add_argument("--data", type=Path, default=ONLINE_RETAIL, help="Online Retail II file.")
    args = parser.parse_args(argv)
    payload = {}
    if not args.skip_real:
        payload["online_retail"] = real_data(args.data)
    payload["generated"] = generated(args.events)
    payload["orders_only"] = orders_only(args.order_customers)
    print(f"saved {save('customers', payload)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
