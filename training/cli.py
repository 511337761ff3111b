"""The ``recsys`` command line.

Each command is a thin shell over a job function importable from Python. Options shared
with the demo and ``python -m serving`` are declared once in :mod:`recsys.cli_options`; the
evaluation options once here, for ``evaluate`` and ``train`` alike. Errors caused by input,
options or configuration print one line on stderr and exit with the error's code (2 for
bad data/config/options, 3 for a failed fit, 4 for the store); no traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from recsys.cli_options import (
    AccessLog,
    ConfigFile,
    Host,
    Level,
    Namespace,
    Port,
    Preset,
    Quiet,
    RedisUrl,
    Workers,
    new_app,
    run_app,
)
from recsys.config import Config, load_config
from recsys.errors import ConfigError
from recsys.evaluation.selection import METRICS
from training.progress import Reporter

app = new_app(
    "recsys",
    "Personalization engine: generate, evaluate, train, publish and serve.",
    no_args_is_help=True,
)

Events = Annotated[
    Path,
    typer.Option("--events", help="Events file (CSV or Parquet), or a folder of Parquet files."),
]
Items = Annotated[Path | None, typer.Option("--items", help="Items file.")]
Models = Annotated[str | None, typer.Option("--models", help="Model names (comma-separated).")]
K = Annotated[
    int | None, typer.Option("--k", min=1, max=1000, help="List length judged [default: 10].")
]
TestDays = Annotated[
    int | None,
    typer.Option(
        "--test-days",
        min=1,
        help="Hold out the last N days [default: a fifth of the span, at most 30].",
    ),
]
Cutoff = Annotated[
    str | None, typer.Option("--cutoff", help="Hold out from this date (overrides --test-days).")
]
Metric = Annotated[
    str | None,
    typer.Option("--metric", help=f"What 'best' means: one of {', '.join(METRICS)} [ndcg]."),
]


def _csv_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _job_config(
    config: Path | None,
    preset: str | None,
    *,
    k: int | None = None,
    test_days: int | None = None,
    cutoff: str | None = None,
    metric: str | None = None,
) -> Config:
    """The config file's settings with the command-line options laid over them."""
    if metric is not None and metric not in METRICS:
        raise ConfigError(f"--metric {metric!r}: choose one of {', '.join(METRICS)}")
    given = {"k": k, "test_days": test_days, "cutoff": cutoff, "metric": metric}
    overrides: dict[str, Any] = {
        "evaluation": {key: v for key, v in given.items() if v is not None}
    }
    if preset:
        overrides["ingest"] = {"preset": preset}
    return load_config(config).with_overrides(**overrides)


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
        int | None, typer.Option(help="Catalogue size [default: 500, 5000, 2000 by kind].")
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Period in days [default: 180, 14, 365 by kind].")
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
    from training.evaluate import DEFAULT_MODELS, run_evaluation

    cfg = _job_config(config, preset, k=k, test_days=test_days, cutoff=cutoff, metric=metric)
    rep = Reporter(quiet)
    job = run_evaluation(
        events,
        config=cfg,
        models=_csv_list(models) or DEFAULT_MODELS,
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
    models: Models = None,
    top_n: Annotated[int, typer.Option("--top-n", min=1, max=500)] = 50,
    k: K = None,
    test_days: TestDays = None,
    cutoff: Cutoff = None,
    metric: Metric = None,
    no_eval: Annotated[
        bool, typer.Option("--no-eval", help="Skip the holdout; train the first candidate.")
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
        candidates=tuple(_csv_list(models) or ()),
        skip_evaluation=no_eval,
        artifacts=ArtifactOptions(top_n=top_n),
    )
    rep = Reporter(quiet)
    result = run_training(options, config=cfg, reporter=rep)
    if result.evaluation is not None:
        rep.text(result.evaluation.to_markdown())
    typer.echo(str(result.bundle_dir))


@app.command()
def publish(
    bundle: Annotated[Path, typer.Argument(help="A bundle directory OUT/<version>.")],
    redis: RedisUrl = None,
    namespace: Namespace = "recsys",
    keep: Annotated[int, typer.Option("--keep", min=1, help="Versions kept for rollback.")] = 2,
    quiet: Quiet = False,
) -> None:
    """Publish a bundle to Redis under its version and switch the active pointer."""
    from recsys.store.connection import connect
    from recsys.store.publish import publish as publish_bundle

    rep = Reporter(quiet)
    client = connect(redis)
    with rep.step(f"Publishing {bundle}"):
        res = publish_bundle(bundle, client, namespace=namespace, keep=keep, progress=rep)
    rep.info(
        f"  {res.n_keys:,} keys, {res.bytes_written / 1e6:.1f} MB in {res.seconds:.2f} s; "
        f"deleted versions: {', '.join(res.deleted_versions) or 'none'}"
    )
    typer.echo(res.version)


@app.command()
def versions(redis: RedisUrl = None, namespace: Namespace = "recsys") -> None:
    """List published versions (the active one is marked with *)."""
    from recsys.store.connection import connect
    from recsys.store.versions import list_versions

    infos = list_versions(connect(redis), namespace)
    if not infos:
        typer.echo("no versions published")
    for info in infos:
        mark = "*" if info.active else " "
        typer.echo(f"{mark} {info.version}  published {info.published_at}")


@app.command()
def rollback(
    version: Annotated[str, typer.Argument(help="A kept version to make active.")],
    redis: RedisUrl = None,
    namespace: Namespace = "recsys",
) -> None:
    """Make a previously published (and kept) version active again."""
    from recsys.store.connection import connect
    from recsys.store.versions import rollback as do_rollback

    do_rollback(connect(redis), namespace, version)
    typer.echo(f"active version: {version}")


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Workers = 1,
    redis: RedisUrl = None,
    namespace: Namespace = "recsys",
    log_level: Level = "info",
    access_log: AccessLog = True,
) -> None:
    """Run the HTTP API (replaces this process with ``python -m serving``)."""
    from recsys.store.connection import resolve_redis_url

    env = dict(os.environ, RECSYS_REDIS_URL=resolve_redis_url(redis), RECSYS_NAMESPACE=namespace)
    args = [sys.executable, "-m", "serving", "--host", host, "--port", str(port)]
    args += ["--workers", str(workers), "--log-level", log_level]
    args += [] if access_log else ["--no-access-log"]
    sys.stdout.flush()
    os.execve(sys.executable, args, env)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: runs the app; errors are one line on stderr (see the module doc)."""
    try:
        run_app(app, argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


# ---------------------------------------------------------------------------------------------
# Customers: segments, churn, CLV and the CX report (recsys.customers; training/segments.py,
# training/report.py). A self-contained block: registered before the entry point runs.
# ---------------------------------------------------------------------------------------------


@app.command()
def segments(
    events: Annotated[Path, typer.Option("--events", help="Events or orders file (CSV/Parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for segments.parquet/.json.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Summary date (default: day after the data).")
    ] = None,
    horizon_days: Annotated[
        int | None, typer.Option("--horizon-days", min=1, help="CLV/expected-orders horizon.")
    ] = None,
    items: Annotated[Path | None, typer.Option("--items", help="Items file (categories).")] = None,
    previous: Annotated[
        Path | None, typer.Option("--previous", help="An earlier segments directory.")
    ] = None,
    preset: Preset = None,
    config: ConfigFile = None,
    quiet: Quiet = False,
) -> None:
    """RFM segments, clusters, P(alive), churn risk and CLV for every customer."""
    from training.segments import run_segments

    cfg = load_config(config)
    if preset:
        cfg = cfg.with_overrides(ingest={"preset": preset})
    if horizon_days:
        cfg = cfg.with_overrides(customers={"horizon_days": horizon_days})
    rep = Reporter(quiet)
    job = run_segments(
        events,
        out_dir=out,
        config=cfg,
        as_of=as_of,
        items_path=items,
        previous_dir=previous,
        reporter=rep,
    )
    p = job.result.params
    bg, churn = p["bgnbd"], p["churn"]
    rep.info(
        f"  {p['n_customers']:,} customers as of {p['as_of']}; BG/NBD "
        + (
            f"r={bg['r']:.3g} alpha={bg['alpha']:.3g} a={bg['a']:.3g} b={bg['b']:.3g}"
            if bg.get("r") is not None
            else f"fallback ({bg.get('error')})"
        )
        + f"; churn model: {churn['chosen']}"
    )
    typer.echo(str(out))


@app.command()
def report(
    bundle: Annotated[
        Path, typer.Option("--bundle", help="Directory with segments.parquet/.json.")
    ],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    surveys: Annotated[
        Path | None, typer.Option("--surveys", help="customer_id, timestamp, metric, score.")
    ] = None,
    tickets: Annotated[
        Path | None,
        typer.Option(
            "--tickets",
            help="ticket_id, customer_id, opened_at, first_response_at, resolved_at, contacts.",
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """A self-contained HTML report: cohorts, CLV, RFM, clusters, churn, NPS/CSAT/CES, tickets."""
    from training.report import run_report

    rep = Reporter(quiet)
    with rep.step(f"Writing {out}"):
        result = run_report(bundle, out, surveys=surveys, tickets=tickets)
    rep.info(f"  {result.figures} figures, {len(result.sections)} sections")
    typer.echo(str(out))


@app.command("generate-cx")
def generate_cx_files(
    shop: Annotated[Path, typer.Option("--shop", help="A generated shop directory.")],
    surveys: int = 6000,
    tickets: int = 2000,
    seed: int = 0,
) -> None:
    """Write planted surveys.csv and tickets.csv for the customers of a generated shop."""
    from recsys.customers.synthetic import generate_cx
    from recsys.data.io import read_table

    customers = read_table(shop / "customers.csv", columns=["customer_id"])["customer_id"]
    events = read_table(shop / "events.parquet", columns=["timestamp"])["timestamp"]
    data = generate_cx(
        customers.to_numpy(),
        events.min(),
        events.max(),
        surveys=surveys,
        tickets=tickets,
        seed=seed,
    )
    paths = data.write(shop)
    typer.echo(", ".join(str(p) for p in paths.values()))


# --------------------------------------------------------------------------------------------
# recsys uplift fit|assign (a self-contained sub-app; the jobs live in training/uplift.py)
# --------------------------------------------------------------------------------------------

uplift_app = typer.Typer(
    help="Uplift: learn who responds to which treatment from a randomised campaign history.",
    no_args_is_help=True,
)
app.add_typer(uplift_app, name="uplift")


@uplift_app.command("fit")
def uplift_fit(
    history: Annotated[Path, typer.Option("--history", help="Campaign history (CSV/Parquet).")],
    treatment_col: Annotated[str, typer.Option("--treatment-col", help="Arm column.")],
    control: Annotated[str, typer.Option("--control", help="Value of the untreated arm.")],
    outcome_col: Annotated[str, typer.Option("--outcome", help="Outcome column (number).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the model and report.")],
    id_col: Annotated[str | None, typer.Option("--id-col", help="Customer id column.")] = None,
    features: Annotated[
        str | None, typer.Option("--features", help="Comma-separated feature columns.")
    ] = None,
    learner: Annotated[str, typer.Option("--learner", help="dr, t or s.")] = "dr",
    quiet: Quiet = False,
) -> None:
    """Fit an uplift model, judge it on held-out rows, save it (JSON + npz)."""
    from training.uplift import fit_uplift

    rep = Reporter(quiet)
    with rep.step(f"Fitting uplift ({learner}-learner) on {history}"):
        report = fit_uplift(
            history,
            treatment_col=treatment_col,
            control=control,
            outcome_col=outcome_col,
            out=out,
            id_col=id_col,
            features=_csv_list(features),
            learner=learner,
        )
    rows, held = report["rows"], report["holdout"]
    rep.info(
        f"  {rows['read']:,} rows, {rows['accepted']:,} accepted, {rows['rejected']:,} rejected"
    )
    rep.info(
        f"  holdout ({held['rows']:,} rows) at a {held['budget']:.0%} budget, mean outcome: "
        f"uplift policy {held['uplift_policy']['value']:.4f}, response model "
        f"{held['response_policy']['value']:.4f}, random with {held['best_single_arm']} "
        f"{held['random_best_arm_policy']:.4f}, no treatment {held['no_treatment']:.4f}"
    )
    rep.info(f"  model written to {out}")


@uplift_app.command("assign")
def uplift_assign(
    model: Annotated[Path, typer.Option("--model", help="Directory of `recsys uplift fit`.")],
    customers: Annotated[Path, typer.Option("--customers", help="Customers with the features.")],
    out: Annotated[Path, typer.Option("--out", help="Output .csv or .parquet.")],
    id_col: Annotated[str | None, typer.Option("--id-col", help="Customer id column.")] = None,
    budget: Annotated[
        float, typer.Option("--budget", help="Largest share of customers treated.", min=0, max=1)
    ] = 1.0,
    quiet: Quiet = False,
) -> None:
    """Best arm per customer (or the control value) with its expected uplift."""
    from training.uplift import assign_uplift

    result = assign_uplift(model, customers, out=out, id_col=id_col, budget=budget)
    Reporter(quiet).info(
        f"  {len(result):,} customers, {int((result['expected_uplift'] > 0).sum()):,} treated; "
        f"written to {out}"
    )


# --------------------------------------------------------------------------------------------
# recsys events export, recsys report online (issue #11; jobs in training/events.py and
# training/online_report.py). `report` becomes a group: `recsys report --bundle ...` is
# unchanged (the group's own options), `recsys report online` is the attribution report.
# --------------------------------------------------------------------------------------------

events_app = new_app("events", "Events: drain the event stream into Parquet.", no_args_is_help=True)
app.add_typer(events_app, name="events")


@events_app.command("export")
def events_export(
    out: Annotated[Path, typer.Option("--out", help="Folder of date=YYYY-MM-DD partitions.")],
    redis: RedisUrl = None,
    namespace: Namespace = "recsys",
    consumer: Annotated[
        str, typer.Option("--consumer", help="Consumer name in the `export` group.")
    ] = "exporter",
    batch: Annotated[int, typer.Option("--batch", min=1, help="Entries per file batch.")] = 10_000,
    quiet: Quiet = False,
) -> None:
    """Write the accepted events to Parquet, acknowledging them once on disk (exactly once)."""
    from recsys.store import connect
    from training.events import export_events

    rep = Reporter(quiet)
    with rep.step(f"Exporting events of {namespace!r} to {out}"):
        res = export_events(connect(redis), namespace, out, consumer=consumer, batch=batch)
    rep.info(
        f"  {res.read:,} entries read, {res.written:,} events written in {len(res.files)} "
        f"file(s), {res.duplicates:,} duplicates dropped, {res.corrupt:,} corrupt set aside"
    )
    typer.echo(str(out))


app.registered_commands[:] = [c for c in app.registered_commands if c.callback is not report]
report_app = new_app(
    "report",
    "Reports: the CX report (--bundle), `online` (attribution).",
    invoke_without_command=True,
)
app.add_typer(report_app, name="report")


@report_app.callback()
def report_group(
    ctx: typer.Context,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Directory with segments.parquet/.json.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    surveys: Annotated[
        Path | None, typer.Option("--surveys", help="customer_id, timestamp, metric, score.")
    ] = None,
    tickets: Annotated[
        Path | None,
        typer.Option(
            "--tickets",
            help="ticket_id, customer_id, opened_at, first_response_at, resolved_at, contacts.",
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """A self-contained HTML report: cohorts, CLV, RFM, clusters, churn, NPS/CSAT/CES, tickets."""
    if ctx.invoked_subcommand is not None:
        return
    if bundle is None:
        raise typer.BadParameter("missing option", param_hint="'--bundle'")
    report(bundle=bundle, out=out, surveys=surveys, tickets=tickets, quiet=quiet)


@report_app.command("online")
def report_online(
    events: Annotated[
        Path, typer.Option("--events", help="Exported events (folder of `recsys events export`).")
    ] = Path("events"),
    since: Annotated[
        str | None, typer.Option("--since", help="Only events from this date (ISO, UTC).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the table (.csv, .parquet or .json).")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Attributed outcomes per channel x rung x model version x arm, with 95% intervals."""
    import pandas as pd

    from recsys.errors import ConfigError
    from training.online_report import load_exported, online_report, summary, write_report

    try:
        start = None if since is None else pd.Timestamp(since)
    except ValueError:
        raise ConfigError(f"--since {since!r} is not a date (expected e.g. 2024-01-31)") from None
    frame = load_exported(events, start)
    table = online_report(frame)
    counts = summary(frame)
    Reporter(quiet).info(
        f"  {counts['events']:,} events, {counts['impressions']:,} impressions, "
        f"{counts['attributed']:,} attributed outcomes ({counts['unattributed']:,} not)"
    )
    if out is not None:
        write_report(table, out)
    typer.echo(
        table.to_string(index=False, float_format="{:.4g}".format)
        if len(table)
        else "no impressions"
    )


if __name__ == "__main__":
    sys.exit(main())
