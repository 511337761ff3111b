"""URL resolution and the shared embedded server (started once, attached to by other processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from redis.backoff import NoBackoff
from redis.retry import Retry

from recsys.errors import ConfigError, StoreError
from recsys.store.connection import (
    ENV_HOME,
    ENV_URL,
    connect,
    redact_url,
    resolve_redis_url,
    start_embedded_server,
    stop_embedded_server,
)


def test_explicit_url_wins_then_environment(monkeypatch):
    monkeypatch.setenv(ENV_URL, "redis://env-host:6379/1")
    assert resolve_redis_url("redis://explicit:1/0") == "redis://explicit:1/0"
    assert resolve_redis_url() == "redis://env-host:6379/1"


def test_embedded_server_is_shared_across_processes(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.setenv(ENV_HOME, str(home))
    try:
        url = resolve_redis_url()
        assert url == f"unix://{home / 'redis.socket'}?db=0"
        client = connect()
        pid = client.info("server")["process_id"]
        client.set("shared", "from-parent")
        assert resolve_redis_url() == url  # attaches, no second server

        # A separate process (as `recsys serve` after `recsys publish`) attaches to the same one.
        code = (
            "from recsys.store.connection import connect\n"
            "c = connect()\n"
            "print(c.get('shared').decode(), c.info('server')['process_id'])\n"
        )
        env = {**os.environ, ENV_HOME: str(home)}
        env.pop(ENV_URL, None)
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["from-parent", str(pid)]
        # ... and the server outlives that process.
        assert client.get("shared") == b"from-parent"
        client.close()
    finally:
        stopped = stop_embedded_server(home, save=False)
    assert stopped
    assert not (home / "redis.socket").exists()
    assert stop_embedded_server(home) is False


def test_embedded_server_restarts_with_its_data(tmp_path):
    server = start_embedded_server(tmp_path / "h")
    client = connect(server.url)
    # customer HASHes (~200-400 byte values) stay in the compact encoding
    assert client.config_get("hash-max-*-value") in (
        {"hash-max-ziplist-value": "1024"},
        {"hash-max-ziplist-value": "1024", "hash-max-listpack-value": "1024"},
    )
    client.set("kept", "yes")
    client.close()
    server.stop(save=True)  # snapshot on stop
    again = start_embedded_server(tmp_path / "h")
    try:
        client = connect(again.url)
        assert client.get("kept") == b"yes"
        client.close()
    finally:
        again.stop(save=False)


def test_unreachable_server_is_a_store_error_without_password(tmp_path):
    url = f"unix://user:s3cret@{tmp_path / 'none.sock'}"
    with pytest.raises(StoreError, match="cannot connect to Redis") as err:
        connect(f"unix://{tmp_path / 'none.sock'}", retry=Retry(NoBackoff(), 0))
    assert "none.sock" in str(err.value)
    assert redact_url("redis://user:s3cret@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"
    assert "s3cret" not in redact_url(url)


def test_socket_path_too_long_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="longer than"):
        start_embedded_server(tmp_path / ("x" * 120))
