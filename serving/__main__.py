"""``python -m serving --host 127.0.0.1 --port 8000 --workers 1``: run the API with uvicorn.

Settings come from ``RECSYS_*`` environment variables; ``--redis-url`` and ``--namespace``
set them for this process and its workers. ``recsys serve`` execs this module.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import uvicorn
from pydantic import ValidationError

from serving.settings import Settings


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--redis-url", help="Redis URL (default $RECSYS_REDIS_URL or embedded)")
    parser.add_argument("--namespace", help="Redis key namespace (default $RECSYS_NAMESPACE)")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log level (default %(default)s)",
    )
    parser.add_argument(
        "--no-access-log", action="store_true", help="do not log every request (faster)"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: must be >= 1")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port}: must be between 0 and 65535")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.redis_url:
        os.environ["RECSYS_REDIS_URL"] = args.redis_url
    if args.namespace:
        os.environ["RECSYS_NAMESPACE"] = args.namespace
    try:
        Settings()  # fail here, in one line, rather than in every worker's traceback
    except ValidationError as exc:
        problems = "; ".join(
            f"RECSYS_{'_'.join(map(str, e['loc'])).upper() or 'SETTINGS'}: {e['msg']}"
            for e in exc.errors()
        )
        print(f"error: invalid settings: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
    uvicorn.run(
        "serving.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )


if __name__ == "__main__":
    main()
