"""Experiments in real Redis: start/stop protect and release versions, and `recsys prune`
never deletes a version a running experiment serves."""

from __future__ import annotations

import pytest
import redis

from recsys.errors import StoreError
from recsys.experiments import make_experiment, parse_arms
from recsys.experiments.registry import (
    get_experiment,
    list_experiments,
    running_experiments,
    start_experiment,
    stop_experiment,
)
from recsys.store.versions import protect_version, protected_versions, registered_versions
from tests.serving.conftest import Publisher
from training.cli import main


def _start(client: redis.Redis, ns: str, name: str, spec: str, unit: str = "customer"):
    return start_experiment(client, ns, make_experiment(name, parse_arms(spec), unit=unit))


def test_start_protects_and_stop_releases_the_versions(
    publish_shop: Publisher, redis_client: redis.Redis, namespace: str
) -> None:
    publish_shop("v1"), publish_shop("v2")
    record = _start(redis_client, namespace, "ab", "v1:50,v2:50")
    assert record.status == "running" and record.started_at is not None
    assert protected_versions(redis_client, namespace) == {"v1", "v2"}
    assert set(running_experiments(redis_client, namespace)) == {"ab"}
    stopped, released = stop_experiment(redis_client, namespace, "ab")
    assert stopped.status == "stopped" and stopped.stopped_at is not None
    assert sorted(released) == ["v1", "v2"] and protected_versions(redis_client, namespace) == set()
    assert running_experiments(redis_client, namespace) == {}
    assert get_experiment(redis_client, namespace, "ab") == stopped  # kept for its report
    assert [e.name for e in list_experiments(redis_client, namespace)] == ["ab"]
    with pytest.raises(StoreError, match="already stopped"):
        stop_experiment(redis_client, namespace, "ab")
    with pytest.raises(StoreError, match="exists already"):
        _start(redis_client, namespace, "ab", "v1:50,v2:50")


def test_stop_keeps_versions_protected_by_others(
    publish_shop: Publisher, redis_client: redis.Redis, namespace: str
) -> None:
    publish_shop("v1"), publish_shop("v2")
    protect_version(redis_client, namespace, "v1")  # someone else keeps v1
    _start(redis_client, namespace, "by-customer", "v1:50,v2:50")
    _start(redis_client, namespace, "by-session", "v2:50,v1:50", unit="session")
    _, released = stop_experiment(redis_client, namespace, "by-customer")
    assert released == [] and protected_versions(redis_client, namespace) == {"v1", "v2"}
    _, released = stop_experiment(redis_client, namespace, "by-session")
    assert released == ["v2"] and protected_versions(redis_client, namespace) == {"v1"}


def test_start_refuses_missing_versions_and_a_second_split_of_the_same_unit(
    publish_shop: Publisher, redis_client: redis.Redis, namespace: str
) -> None:
    publish_shop("v1")
    with pytest.raises(StoreError, match=r"\['v9'\] are not published"):
        _start(redis_client, namespace, "ghost", "v1:50,v9:50")
    assert protected_versions(redis_client, namespace) == set()  # nothing left behind
    assert running_experiments(redis_client, namespace) == {}
    publish_shop("v2")
    _start(redis_client, namespace, "first", "v1:50,v2:50")
    with pytest.raises(StoreError, match="'first' already splits the customers"):
        _start(redis_client, namespace, "second", "v2:50,v1:50")


def test_recsys_prune_keeps_the_versions_of_a_running_experiment(
    publish_shop: Publisher,
    redis_client: redis.Redis,
    namespace: str,
    redis_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for version in ("v1", "v2", "v3", "v4"):
        publish_shop(version)  # each publish keeps the newest 2
    where = ["--redis", redis_url, "--namespace", namespace]
    assert [v for v, _ in registered_versions(redis_client, namespace)] == ["v4", "v3"]
    assert main(["experiments", "start", "old-vs-new", "--versions", "v3:50,v4:50", *where]) == 0
    assert "started old-vs-new by customer: A=v3 (50%), B=v4 (50%)" in capsys.readouterr().out
    publish_shop("v5"), publish_shop("v6")  # publish prunes, but not the experiment's versions
    assert {v for v, _ in registered_versions(redis_client, namespace)} == {"v6", "v5", "v4", "v3"}
    assert main(["prune", "--keep", "1", *where]) == 0
    assert "deleted versions: v5" in capsys.readouterr().out
    assert {v for v, _ in registered_versions(redis_client, namespace)} == {"v6", "v4", "v3"}
    assert main(["experiments", "list", *where]) == 0
    assert "old-vs-new  running  by customer  A=v3:50%, B=v4:50%" in capsys.readouterr().out
    assert main(["experiments", "stop", "old-vs-new", *where]) == 0
    assert "no longer protected: v3, v4" in capsys.readouterr().out
    assert main(["prune", "--keep", "1", *where]) == 0
    assert "deleted versions: v3, v4" in capsys.readouterr().out
    assert [v for v, _ in registered_versions(redis_client, namespace)] == ["v6"]


def test_cli_errors_are_one_line(
    redis_url: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--redis", redis_url, "--namespace", namespace]
    assert main(["experiments", "start", "Bad Name", "--versions", "v1:50,v2:50", *where]) == 2
    assert main(["experiments", "stop", "nothing", *where]) == 2
    assert main(["experiments", "report", "nothing", *where]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "invalid experiment name" in err[0] and "does not exist" in err[1]


def test_a_corrupt_experiment_record_is_a_store_error_naming_the_field(
    redis_client: redis.Redis, redis_url: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from recsys.store.families import EXPERIMENT, EXPERIMENTS

    redis_client.set(EXPERIMENT.key(namespace, "bk"), b'{"name": "bk"}')
    redis_client.zadd(EXPERIMENTS.key(namespace), {"bk": 1.0})
    code = main(["experiments", "list", "--redis", redis_url, "--namespace", namespace])
    err = capsys.readouterr().err
    assert code == 4, err  # corrupt data in the store, not the caller's input
    assert "corrupt record of experiment 'bk'" in err and "no field 'arms'" in err
    assert err.count("\n") == 1
