"""``python -m serving`` as a real process (uvicorn, one worker) for the tests that need one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from benchmarks.servers import free_port


@contextmanager
def serving_process(
    redis_url: str, namespace: str, env: dict[str, str] | None = None, startup_s: float = 30
) -> Iterator[str]:
    """Start ``python -m serving`` on a free port with ``env`` added to the environment;
    yield its base URL once ``/readyz`` answers 200, and terminate it on exit. Fails the test
    with the server's output if it exits first, or if it is not ready in ``startup_s``."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "serving", "--port", str(port), "--redis-url", redis_url,
         "--namespace", namespace, "--log-level", "warning", "--no-access-log"],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
