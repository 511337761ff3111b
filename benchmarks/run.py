"""``make bench``: every benchmark, each reported as a ratio to a reference from the same run.

Results are printed and saved as JSON in ``benchmarks/results/``. Traffic goes to loopback
only; each benchmark is bounded in requests and time.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

BENCHES = (
    "training",
    "publish",
    "request_path",
    "serving",
    "customers",
    "uplift",
    "allocation",
    "cluster",
    "events",
    "events_durability",
    "quality",
    "redeemers",
    "shards",
    "scale",  # minutes: 1M customers x 50k items at 1M, 3M and 10M events
)
#: Benchmarks whose module is not ``bench_<name>``.
MODULES = {"events_durability": "check_events_durability"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    # Checked by hand: Python 3.11's argparse tests an empty or default list against
    # ``choices`` as one value and rejects it.
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {BENCHES}; default: all")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(BENCHES)}")
    for name in args.names or BENCHES:
        print(f"\n=== {name} ===", flush=True)
        module = __import__(f"benchmarks.{MODULES.get(name, 'bench_' + name)}", fromlist=["main"])
        module.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
