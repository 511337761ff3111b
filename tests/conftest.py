"""Shared fixtures. Each concern keeps its fixtures in its own module under tests/fixtures/."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

pytest_plugins = [
    "tests.cluster_fixture",
    "tests.fixtures.redis",
    "tests.fixtures.shop",
]
