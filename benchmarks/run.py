"""``make bench``: every benchmark, each reported as a ratio to a reference from the same run.

Results are printed and saved as JSON in ``benchmarks/results/``. Traffic goes to loopback
only; each benchmark is bounded in requests and time.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

BENCHES = ("training", "publish", "serving")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=list(BENCHES), choices=BENCHES)
    args = parser.parse_args(argv)
    for name in args.names:
        print(f"\n=== {name} ===", flush=True)
        module = __import__(f"benchmarks.bench_{name}", fromlist=["main"])
        module.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
