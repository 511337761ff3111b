"""``recsys publish``, ``versions``, ``rollback`` and ``serve``: the store and the API."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from recsys.cli_options import (
    AccessLog,
    Host,
    Level,
    Namespace,
    Port,
    Quiet,
    RedisUrl,
    Workers,
)
from training.cli.app import (
    app,
)
from training.progress import Reporter


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


@app.command()
def prune(
    keep: Annotated[int, typer.Option("--keep", min=1, help="Newest versions kept.")] = 2,
    redis: RedisUrl = None,
    namespace: Namespace = "recsys",
) -> None:
    """Delete versions beyond the newest ``--keep``; never the active one nor a protected one
    (e.g. a version a running experiment serves). Holds the publish lock."""
    from recsys.store.connection import connect
    from recsys.store.lock import PublishLock
    from recsys.store.versions import prune_versions

    client = connect(redis)
    with PublishLock(client, namespace) as lock:
        deleted = prune_versions(client, namespace, keep, heartbeat=lock.refresh)
    typer.echo(f"deleted versions: {', '.join(deleted) or 'none'}")
