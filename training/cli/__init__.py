"""The ``recsys`` command line.

Each command is a thin shell over a job function importable from Python. Options shared
with the demo and ``python -m serving`` are declared once in :mod:`recsys.cli_options`; the
evaluation options once here, for ``evaluate`` and ``train`` alike. Errors caused by input,
options or configuration print one line on stderr and exit with the error's code (2 for
bad data/config/options, 3 for a failed fit, 4 for the store); no traceback.
"""

from __future__ import annotations

from recsys.cli_options import exit_code_of
from training.cli import (  # noqa: F401 (commands)
    customers,
    events,
    experiments,
    offers,
    recommend,
    store,
)
from training.cli.app import app

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Console entry point: runs the app; errors are one line on stderr (see the module doc)."""
    return exit_code_of(app, argv)
