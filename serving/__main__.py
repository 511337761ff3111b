"""``python -m serving --host 127.0.0.1 --port 8000 --workers 1``: run the API with uvicorn.

Settings come from ``RECSYS_*`` environment variables; ``--redis-url`` and ``--namespace``
set them for this process and its workers. ``recsys serve`` execs this module. The options
are the shared declarations of :mod:`recsys.cli_options`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError

from recsys.cli_options import (
    AccessLog,
    Host,
    Level,
    LogLevel,
    Namespace,
    Port,
    RedisUrl,
    Workers,
    listen_problem,
    new_app,
    run_app,
)
from serving.settings import Settings

app = new_app("python -m serving", (__doc__ or "").splitlines()[0])


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    redis_url: str | None
    namespace: str | None
    log_level: LogLevel
    access_log: bool


@app.command()
def _options(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Workers = 1,
    redis_url: RedisUrl = None,
    namespace: Namespace = "",
    log_level: Level = "info",
    access_log: AccessLog = True,
) -> ServeOptions:
    """Run the HTTP API with uvicorn."""
    return ServeOptions(host, port, workers, redis_url, namespace or None, log_level, access_log)


def parse_args(argv: Sequence[str] | None = None) -> ServeOptions:
    """The options given on the command line; one ``error:`` line and exit 2 when invalid."""
    options = run_app(app, argv)
    if not isinstance(options, ServeOptions):  # --help was printed
        raise SystemExit(0)
    return options


def _problem(error: Mapping[str, Any]) -> str:
    """One settings error: the variable (``RECSYS_API_KEYS``), where inside its value
    (``[k][0]``) and the message."""
    loc = [str(part) for part in error["loc"]]
    name = f"RECSYS_{loc[0].upper()}" if loc else "RECSYS_* settings"
    inside = "".join(f"[{part}]" for part in loc[1:])
    return f"{name}{inside}: {error['msg']}"


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.redis_url:
        os.environ["RECSYS_REDIS_URL"] = args.redis_url
    if args.namespace:
        os.environ["RECSYS_NAMESPACE"] = args.namespace
    try:
        Settings()  # fail here, in one line, rather than in every worker's traceback
    except SettingsError as exc:  # a value that is not even JSON (RECSYS_API_KEYS='{bad')
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"RECSYS_{field.group(1).upper()}" if field else "a RECSYS_* setting"
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        print(f"error: invalid settings: {name} is not valid JSON{cause}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        print(f"error: invalid settings: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
    problem = listen_problem(args.host, args.port)
    if problem is not None:  # one line, not uvicorn's log lines and exit 3
        print(f"error: cannot serve on {args.host}:{args.port} ({problem})", file=sys.stderr)
        raise SystemExit(2)
    uvicorn.run(
        "serving.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
    )


if __name__ == "__main__":
    main()
