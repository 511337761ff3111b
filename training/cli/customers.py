"""``recsys segments``, ``generate-cx`` and ``report`` (the CX report, ``report online``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recsys.cli_options import (
    ConfigFile,
    Preset,
    Quiet,
    new_app,
)
from recsys.config import load_config
from training.cli.app import (
    app,
)
from training.progress import Reporter

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
    online: Annotated[
        Path | None,
        typer.Option(
            "--events",
            help="Exported events (`recsys events export`): adds the online attribution section.",
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """A self-contained HTML report: cohorts, CLV, RFM, clusters, churn, NPS/CSAT/CES, tickets,
    and with --events what the answers did online."""
    if ctx.invoked_subcommand is not None:
        return
    if bundle is None:
        raise typer.BadParameter("missing option", param_hint="'--bundle'")
    from training.report import run_report

    rep = Reporter(quiet)
    with rep.step(f"Writing {out}"):
        result = run_report(bundle, out, surveys=surveys, tickets=tickets, online_events=online)
    rep.info(f"  {result.figures} figures, {len(result.sections)} sections")
    typer.echo(str(out))


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

    from training.dates import read_date
    from training.online_report import load_exported, online_report, summary, write_report

    start = read_date(since, "--since")
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
