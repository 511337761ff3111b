"""Shared fixtures. Each concern keeps its fixtures in its own module under tests/fixtures/."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The service's 0.25 s Redis read timeout turns a sick server into a fallback answer; on a
# loaded 2-core test machine a healthy read can stall that long, and a test expecting the
# personal answer would get the fallback. Tests of a down or slow Redis set their own.
os.environ.setdefault("RECSYS_REDIS_SOCKET_TIMEOUT", "2")

pytest_plugins = [
    "tests.cluster_fixture",
    "tests.fixtures.redis",
    "tests.fixtures.shop",
]
