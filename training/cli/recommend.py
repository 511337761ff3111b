"""``recsys generate``, ``evaluate`` and ``train``: the recommender's jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recsys import columns as C
from recsys.cli_options import (
    ConfigFile,
    Preset,
    Quiet,
)
from training.cli.app import (
    Cutoff,
    Events,
    Items,
    K,
    Metric,
    Models,
    TestDays,
    _csv_list,
    _job_config,
    app,
)
from training.progress import Reporter


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the shop into.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="retail (repeat-heavy), marketplace (view-heavy) or ratings (no repeats).",
        ),
    ] = "retail",
    customers: int = 2000,
    items: Annotated[
        int | None, typer.Option(help="Catalogue size (default 500, 5000, 2000 by kind).")
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Period in days (default 180, 14, 365 by kind).")
    ] = None,
    seed: int = 0,
    quiet: Quiet = False,
) -> None:
    """Generate a synthetic shop with planted structure (deterministic for a seed)."""
    from recsys.data.synthetic.shop import generate_shop

    rep = Reporter(quiet)
    with rep.step(f"Generating a {kind} shop of {customers:,} customers"):
        shop = generate_shop(
            customers=customers,
            items=items,
            days=days,
            seed=seed,
            kind=kind,  # type: ignore[arg-type]
        )
        paths = shop.write(out)
        # Planted surveys (NPS/CSAT/CES) and support tickets for the CX report.
        from recsys.customers.synthetic import generate_cx

        cx = generate_cx(
            shop.customers[C.CUSTOMER_ID].to_numpy(),
            shop.start,
            shop.end,
            surveys=max(200, 3 * customers),
            tickets=max(100, customers),
            seed=seed,
        )
        paths.update(cx.write(out))
    rep.info(
        f"  {len(shop.items):,} items over {(shop.end - shop.start).days} days, "
        f"{len(shop.events):,} events; files: " + ", ".join(str(p) for p in paths.values())
    )


@app.command()
def evaluate(
    events: Events,
    items: Items = None,
    models: Models = None,
    k: K = None,
    test_days: TestDays = None,
    cutoff: Cutoff = None,
    metric: Metric = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write CSV/Markdown/rejects.")] = Path(
        "reports"
    ),
    bundle_out: Annotated[
        Path | None,
        typer.Option(
            "--bundle-out",
            help="Also write the chosen model, fitted before the cutoff, as a servable bundle "
            "whose manifest holds its holdout figures (DIR/<version>/).",
        ),
    ] = None,
    top_n: Annotated[int, typer.Option("--top-n", min=1, max=500)] = 50,
    preset: Preset = None,
    config: ConfigFile = None,
    quiet: Quiet = False,
) -> None:
    """Compare models side by side on one temporal split, on both protocols."""
    from recsys.artifacts import ArtifactOptions
    from recsys.evaluation.candidates import candidate_names
    from training.evaluate import DEFAULT_MODELS, run_evaluation

    cfg = _job_config(config, preset, k=k, test_days=test_days, cutoff=cutoff, metric=metric)
    rep = Reporter(quiet)
    job = run_evaluation(
        events,
        config=cfg,
        models=candidate_names(_csv_list(models) or (), DEFAULT_MODELS, cfg),
        items_path=items,
        out_dir=out,
        bundle_out=bundle_out,
        artifacts=ArtifactOptions(top_n=top_n),
        reporter=rep,
    )
    typer.echo(job.result.to_markdown())
    if job.bundle_dir is not None:
        typer.echo(str(job.bundle_dir))
    rep.info("Wrote " + ", ".join(f"{name}: {path}" for name, path in job.outputs.items()))


@app.command()
def train(
    events: Events,
    out: Annotated[Path, typer.Option("--out", help="Bundle root; writes OUT/<version>/.")],
    items: Items = None,
    customers: Annotated[Path | None, typer.Option("--customers", help="Customers file.")] = None,
    offers: Annotated[
        Path | None,
        typer.Option("--offers", help="Offer catalog: allocate offers into the bundle."),
    ] = None,
    no_segments: Annotated[
        bool, typer.Option("--no-segments", help="Skip RFM segments, churn and CLV.")
    ] = False,
    models: Models = None,
    top_n: Annotated[int, typer.Option("--top-n", min=1, max=500)] = 50,
    k: K = None,
    test_days: TestDays = None,
    cutoff: Cutoff = None,
    metric: Metric = None,
    no_eval: Annotated[
        bool,
        typer.Option(
            "--no-eval",
            help="Skip the holdout and tuning: train the default blend with its documented "
            "weights (or the first of --models).",
        ),
    ] = False,
    shards: Annotated[
        int,
        typer.Option(
            "--shards",
            min=1,
            help="Score every customer's lists in N parallel processes (one thread each), "
            "then join them: the same bundle as one process.",
        ),
    ] = 1,
    defer_scoring: Annotated[
        bool,
        typer.Option(
            "--defer-scoring",
            help="Write the bundle without the per-customer lists; complete it with "
            "`recsys score BUNDLE --shard i/N` (any machines) and `--join N`.",
        ),
    ] = False,
    preset: Preset = None,
    config: ConfigFile = None,
    quiet: Quiet = False,
) -> None:
    """Validate, evaluate candidates, pick the best, retrain on all data, write a bundle."""
    from recsys.artifacts import ArtifactOptions
    from training.train import TrainOptions, run_training

    cfg = _job_config(config, preset, k=k, test_days=test_days, cutoff=cutoff, metric=metric)
    options = TrainOptions(
        events=events,
        out_dir=out,
        items=items,
        customers=customers,
        offers=offers,
        segments=not no_segments,
        candidates=tuple(_csv_list(models) or ()),
        skip_evaluation=no_eval,
        artifacts=ArtifactOptions(top_n=top_n),
        shards=shards,
        defer_scoring=defer_scoring,
    )
    rep = Reporter(quiet)
    result = run_training(options, config=cfg, reporter=rep)
    if result.evaluation is not None:
        rep.text(result.evaluation.to_markdown())
    typer.echo(str(result.bundle_dir))


@app.command()
def score(
    bundle: Annotated[
        Path, typer.Argument(help="A trained bundle directory (OUT/<version>).", file_okay=False)
    ],
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard", help="Score shard i/N (1 <= i <= N): customers (i-1)*n//N .. i*n//N - 1."
        ),
    ] = None,
    join: Annotated[
        int | None,
        typer.Option(
            "--join",
            min=1,
            help="Join shards 1..N into the bundle's recommendations, recommendations_all "
            "and buy_again tables.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Shard directory (default .shards-<version> beside BUNDLE)."),
    ] = None,
    threads: Annotated[
        int, typer.Option("--threads", min=1, help="BLAS and top-k threads of this process.")
    ] = 1,
    candidates: Annotated[
        Path | None,
        typer.Option(
            "--candidates",
            help="Parquet file of servable item_id (default: the catalog's in-stock items).",
            dir_okay=False,
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Score one shard of every customer's lists, or join the shards into the bundle."""
    from recsys.errors import ConfigError
    from recsys.scoring import ScoringInputs, ShardSpec, join_shards, score_bundle_shard
    from training.score import write_customer_tables

    if (shard is None) == (join is None):
        raise ConfigError("give exactly one of --shard i/N (score a shard) or --join N")
    shards_dir = out or bundle.parent / f".shards-{bundle.name}"
    rep = Reporter(quiet)
    if shard is not None:
        spec = ShardSpec.parse(shard)
        with rep.step(f"Scoring shard {spec} of {bundle}"):
            path = score_bundle_shard(
                bundle, spec, shards_dir, candidates=candidates, threads=threads
            )
        typer.echo(str(path))
    elif join is not None:
        version = ScoringInputs.version_of(bundle)
        with rep.step(f"Joining {join} shard(s) from {shards_dir} into {bundle}"):
            write_customer_tables(bundle, join_shards(shards_dir, join, version))
        typer.echo(str(bundle))
