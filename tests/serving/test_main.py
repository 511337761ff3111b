"""``python -m serving``: argument checks, and a real uvicorn process answering over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from serving.__main__ import parse_args
from tests.serving.conftest import Publisher
from tests.serving.process import serving_process


def test_parse_args_defaults_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse_args([])
    assert (args.host, args.port, args.workers) == ("127.0.0.1", 8000, 1)
    args = parse_args(["--host", "0.0.0.0", "--port", "9000", "--workers", "2"])
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 9000, 2)
    for bad, message in [
        (["--workers", "0"], "'--workers': Input should be greater than or equal to 1"),
        (["--port", "70000"], "'--port': Input should be less than or equal to 65535"),
        (["--port", "x"], "'--port': Input should be a valid integer"),
    ]:
        with pytest.raises(SystemExit) as exc:
            parse_args(bad)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert message in err and err.startswith("error: ") and err.count("\n") == 1


def test_module_serves_the_api(publish_shop: Publisher, redis_url: str, namespace: str) -> None:
    publish_shop("v1")
    with serving_process(redis_url, namespace, {"RECSYS_API_KEYS": '{"k": ["site"]}'}) as base:
        ready = httpx.get(f"{base}/readyz", timeout=2)
        assert ready.json() == {"status": "ready", "model_version": "v1"}
        url = f"{base}/v1/customers/c1/recommendations?k=3"
        assert httpx.get(url).status_code == 401
        r = httpx.get(url, headers={"X-API-Key": "k"})
        assert r.headers["x-model-version"] == "v1"
        assert [i["item_id"] for i in r.json()["items"]] == ["i04", "i05", "i07"]


def test_invalid_settings_stop_before_serving() -> None:
    env = {**os.environ, "RECSYS_NAMESPACE": "bad ns", "RECSYS_MAX_K": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "serving", "--port", "1"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    err = done.stderr.decode()
    assert "RECSYS_NAMESPACE" in err and "invalid Redis namespace 'bad ns'" in err
    assert "RECSYS_MAX_K" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("RECSYS_API_KEYS", "{bad", "RECSYS_API_KEYS is not valid JSON"),
        ("RECSYS_REDIS_URL", "foo://x", "invalid Redis URL foo://x: the scheme must be one of"),
        ("RECSYS_REDIS_URL", "redis://127.0.0.1:abc", "Port could not be cast"),
        ("RECSYS_REDIS_URL", "redis+cluster://", "empty host"),
        ("RECSYS_REDIS_URL", "redis://127.0.0.1:6379/abc", "database 'abc' is not a number"),
        ("RECSYS_REDIS_URL", "unix://", "no socket path"),
        ("RECSYS_API_KEYS", '{"k": ["nope"]}', "RECSYS_API_KEYS[k][0]: Input should be 'site'"),
    ],
)
def test_settings_that_do_not_parse_are_one_line_too(name: str, value: str, expected: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "serving", "--port", "1"],
        env={**os.environ, name: value},
        capture_output=True,
        timeout=60,
    )
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_mistyped_redis_url_is_a_setting_for_the_cli_too(capsys, monkeypatch) -> None:
    from training.cli import main

    monkeypatch.setenv("RECSYS_REDIS_URL", "foo://x")
    assert main(["versions"]) == 2  # a configuration error, not a store outage (4)
    err = capsys.readouterr().err
    assert "invalid Redis URL foo://x" in err and len(err.strip().splitlines()) == 1


def test_empty_environment_values_mean_defaults(monkeypatch):
    from serving.settings import Settings

    monkeypatch.setenv("RECSYS_API_KEYS", "")
    monkeypatch.setenv("RECSYS_NAMESPACE", "")
    settings = Settings()
    assert settings.api_keys == {}
    assert settings.namespace == "recsys"


def test_a_taken_port_is_one_line_and_exit_2() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "serving", "--port", str(port)],
            capture_output=True,
            timeout=60,
        )
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert f"cannot serve on 127.0.0.1:{port}" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
