"""Command-line pieces shared by every entry point, declared once.

``recsys`` (training/cli.py), ``make demo`` (training/demo.py) and ``python -m serving`` are
typer apps. The options they share are the :data:`typing.Annotated` aliases below, and
:func:`run_app` runs any of them with the house error rules: a usage or input error is one
line on stderr (``error: ...``), exit 2 (3 for a failed fit, 4 for the store: the
:class:`~recsys.errors.RecsysError` code); never a traceback. Flags given by environment
variable read the words of :mod:`recsys.booleans` (click's vocabulary is the same).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from recsys.errors import RecsysError

LogLevel = Literal["critical", "error", "warning", "info", "debug"]

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
Host = Annotated[str, typer.Option("--host", help="Interface to bind.")]
Port = Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")]
Workers = Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")]
RedisUrl = Annotated[
    str | None,
    typer.Option(
        "--redis",
        "--redis-url",
        help="Redis URL (default: $RECSYS_REDIS_URL, else an embedded Redis).",
    ),
]
Namespace = Annotated[
    str, typer.Option("--namespace", envvar="RECSYS_NAMESPACE", help="Redis key prefix.")
]
Level = Annotated[LogLevel, typer.Option("--log-level", help="Server log level.")]
AccessLog = Annotated[
    bool,
    typer.Option("--access-log/--no-access-log", help="Log every request (off is faster)."),
]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML or JSON config file.", dir_okay=False)
]
Preset = Annotated[
    str | None, typer.Option("--preset", help="Column mapping preset, e.g. online-retail.")
]


def listen_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (e.g. "Address already in use"), or None.

    Binds a socket the way uvicorn will (``SO_REUSEADDR``) and closes it at once, so a
    server can refuse a taken port or a bad host in one line before it starts.
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def new_app(name: str, help: str, **kwargs: Any) -> typer.Typer:
    """A typer app with the house settings (no completion, no pretty tracebacks)."""
    return typer.Typer(
        name=name,
        help=help,
        add_completion=False,
        pretty_exceptions_enable=False,
        **kwargs,
    )


def run_app(app: typer.Typer, argv: Sequence[str] | None = None) -> Any:
    """Run ``app`` on ``argv`` (default ``sys.argv[1:]``); return the command's result.

    Raises :class:`SystemExit` with the exit code after printing one ``error: ...`` line for
    a usage error (2), a :class:`RecsysError` (its code), or an interrupt (130). ``--help``
    exits 0 after printing the help.
    """
    try:
        return app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except RecsysError as exc:
        _fail(str(exc), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("aborted", 130)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except OSError as exc:  # the file system refused a path the user gave
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}", 2)
    except Exception as exc:
        # click's usage errors (typer vendors click) carry a message and an exit code.
        message, code = getattr(exc, "format_message", None), getattr(exc, "exit_code", None)
        if not callable(message) or not isinstance(code, int):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]  # the help text is the answer
            raise SystemExit(code) from None
        _fail(f"{message()} (see --help)", code)
    return None


def _fail(message: str, code: int) -> None:
    one_line = " ".join(message.split())
    print(f"error: {one_line}", file=sys.stderr)
    raise SystemExit(code)


def exit_code_of(app: typer.Typer, argv: Sequence[str] | None = None) -> int:
    """Run ``app`` as a console entry point: the exit code instead of :class:`SystemExit`
    (0 when the command returns)."""
    try:
        run_app(app, argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
