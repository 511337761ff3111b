"""``recsys events export``: drain the event stream into Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recsys.cli_options import (
    Namespace,
    Quiet,
    RedisUrl,
    new_app,
)
from training.cli.app import (
    app,
)
from training.progress import Reporter

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
