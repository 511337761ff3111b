"""``recsys experiments start|stop|list|report``: A/B tests between published versions.

Library code in :mod:`recsys.experiments` (definition, assignment, the Redis registry); the
report in :mod:`training.experiment_report`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from recsys.cli_options import Namespace, Quiet, RedisUrl, new_app
from recsys.errors import ConfigError
from training.cli.app import app
from training.progress import Reporter

if TYPE_CHECKING:
    from training.experiment_report import ExperimentReport

experiments_app = new_app(
    "experiments",
    "A/B experiments between published versions: start, stop, list, report.",
    no_args_is_help=True,
)
app.add_typer(experiments_app, name="experiments")

Name = Annotated[str, typer.Argument(help="Experiment name (a slug, e.g. spring-ranker).")]


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


@experiments_app.command("start")
def start(
    name: Name,
    versions: Annotated[
        str,
        typer.Option(
            "--versions",
            help="Arms as VERSION:WEIGHT,... (arms A, B, ...; the first is the control), or "
            "ARM=VERSION:WEIGHT,...; weights are positive integers (normalised when they do "
            "not sum to 100).",
        ),
    ],
    unit: Annotated[
        str, typer.Option("--unit", help="What is split: customer or session.")
    ] = "customer",
    redis: RedisUrl = None,
    namespace: Namespace = "recsys",
) -> None:
    """Start splitting units between versions (their versions are kept from pruning)."""
    from recsys.experiments import make_experiment, parse_arms
    from recsys.experiments.registry import start_experiment
    from recsys.store.connection import connect

    experiment = make_experiment(name, parse_arms(versions), unit=unit)
    record = start_experiment(connect(redis), namespace, experiment)
    arms = ", ".join(f"{a.arm}={a.version} ({a.buckets / 100:g}%)" for a in record.arms)
    typer.echo(f"started {record.name} by {record.unit}: {arms}")


@experiments_app.command("stop")
def stop(name: Name, redis: RedisUrl = None, namespace: Namespace = "recsys") -> None:
    """Stop an experiment: every unit gets the active version again."""
    from recsys.experiments.registry import stop_experiment
    from recsys.store.connection import connect

    record, released = stop_experiment(connect(redis), namespace, name)
    typer.echo(
        f"stopped {record.name}; versions no longer protected: {', '.join(released) or 'none'}"
    )


@experiments_app.command("list")
def list_(redis: RedisUrl = None, namespace: Namespace = "recsys") -> None:
    """Every experiment started in the namespace, newest first."""
    from recsys.experiments.registry import list_experiments
    from recsys.store.connection import connect

    found = list_experiments(connect(redis), namespace)
    if not found:
        typer.echo("no experiments")
    for e in found:
        arms = ", ".join(f"{a.arm}={a.version}:{a.buckets / 100:g}%" for a in e.arms)
        typer.echo(
            f"{e.name}  {e.status}  by {e.unit}  {arms}  started {_when(e.started_at)}"
            f"  stopped {_when(e.stopped_at)}"
        )


@experiments_app.command("report")
def report(
    name: Name,
    events: Annotated[
        Path, typer.Option("--events", help="Exported events (folder of `recsys events export`).")
    ] = Path("events"),
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only events from this date (ISO, UTC)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the report (.json, .md or .html).")
    ] = None,
    redis: RedisUrl = None,
    namespace: Namespace = "recsys",
    quiet: Quiet = False,
) -> None:
    """Each arm's units, impressions, CTR, add-to-cart, conversion and revenue per unit with
    95% intervals; tests against the control; the sample-ratio-mismatch check."""

    from recsys.experiments.registry import get_experiment
    from recsys.store.connection import connect
    from training.dates import read_date
    from training.experiment_report import experiment_report, write_experiment_report
    from training.online_report import load_exported

    experiment = get_experiment(connect(redis), namespace, name)
    if experiment is None:
        raise ConfigError(f"no experiment {name!r} in namespace {namespace!r}")
    start_at = read_date(since, "--since")
    result = experiment_report(load_exported(events, start_at), experiment)
    if result.arms["units"].sum() == 0:
        Reporter(quiet).info(
            f"  no impression of {name} in {events}: impressions must echo the answers' "
            "recommendation_id"
        )
    if out is not None:
        write_experiment_report(result, out)
        Reporter(quiet).info(f"  wrote {out}")
    _print(result)


def _print(result: ExperimentReport) -> None:
    """The report as rich tables on stdout."""
    from rich.console import Console
    from rich.table import Table

    from training.experiment_report import sample_ratio_line

    def pct(row: Any, name: str) -> str:
        value, low, high = row[name], row[f"{name}_low"], row[f"{name}_high"]
        return f"{value:.2%} [{low:.2%}, {high:.2%}]" if value == value else "-"

    console = Console(width=160)
    arms = Table(title=f"Experiment {result.experiment.name} (by {result.experiment.unit})")
    for column in ("arm", "version", "share", "units", "impressions", "CTR", "click rate",
                   "add-to-cart", "conversion", "revenue / unit"):  # fmt: skip
        arms.add_column(column)
    for _, row in result.arms.iterrows():
        money = row["revenue_per_unit"]
        arms.add_row(
            row["arm"], row["version"], f"{row['share']:.0%}", f"{row['units']:,}",
            f"{row['impressions']:,}", pct(row, "ctr"), pct(row, "click_rate"),
            pct(row, "add_to_cart_rate"), pct(row, "conversion"),
            f"{money:.2f} [{row['revenue_per_unit_low']:.2f}, "
            f"{row['revenue_per_unit_high']:.2f}]" if money == money else "-",
        )  # fmt: skip
    console.print(arms)
    tests = Table(title="Against the control (95% intervals)")
    for column in ("arm", "metric", "difference", "interval", "test", "p", "significant"):
        tests.add_column(column)

    def num(value: float, spec: str) -> str:
        return format(value, spec) if value == value else "-"

    for _, row in result.tests.iterrows():
        tests.add_row(
            f"{row['arm']} vs {row['control']}", row["metric"], num(row["difference"], "+.4g"),
            f"[{num(row['difference_low'], '+.4g')}, {num(row['difference_high'], '+.4g')}]",
            row["test"], num(row["p_value"], ".3g"), "yes" if row["significant"] else "no",
        )  # fmt: skip
    console.print(tests)
    srm = result.srm
    verdict = "MISMATCH (p < 0.001): do not trust the differences" if srm["mismatch"] else "ok"
    console.print(f"{sample_ratio_line(srm, verdict)}; shares {srm['expected_shares']}")
