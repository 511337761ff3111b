"""The ``recsys`` command line.

Each command is a thin shell over a job function importable from Python. Options shared
with the demo and ``python -m serving`` are declared once in :mod:`recsys.cli_options`; the
evaluation options once here, for ``evaluate`` and ``train`` alike. Errors caused by input,
options or configuration print one line on stderr and exit with the error's code (2 for
bad data/config/options, 3 for a failed fit, 4 for the store); no traceback.
"""

from __future__ import annotations

import os

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

#: Variables that set a BLAS thread pool's size; when one is set, the user's choice stands.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def main(argv: list[str] | None = None) -> int:
    """Console entry point: runs the app; errors are one line on stderr (see the module doc).

    Unless the environment sets a BLAS thread count, the BLAS runs one thread (as ``make``
    runs every job, and as the benchmarks measured): implicit parallelises its fits itself,
    and a threaded BLAS underneath slows them down (implicit's own advice).
    """
    if not any(os.environ.get(v) for v in BLAS_THREAD_VARIABLES):
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    return exit_code_of(app, argv)
