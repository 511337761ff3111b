"""Redis Cluster URLs, clients, the publish lock and publish/versions/rollback/prune on a real
3-node cluster (``tests/cluster_fixture.py``), with every command checked for its keys."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio.cluster
import redis.cluster

from recsys.errors import ConfigError, StoreError
from recsys.store import keys as K
from recsys.store.cluster_writer import ClusterHashWriter
from recsys.store.connection import (
    connect,
    connect_async,
    is_cluster_url,
    parse_cluster_url,
    redact_url,
)
from recsys.store.lock import PublishLock
from recsys.store.publish import publish
from recsys.store.versions import (
    active_version,
    delete_version,
    list_versions,
    prune_versions,
    rollback,
)
from tests.cluster_fixture import Cluster, CommandLog, routing_errors

# -- URLs -------------------------------------------------------------------------------


def test_cluster_url_names_every_startup_node():
    conf = parse_cluster_url("redis+cluster://h1:7000,h2:7001,[::1]:7002,h4")
    assert conf.nodes == (("h1", 7000), ("h2", 7001), ("::1", 7002), ("h4", 6379))
    assert (conf.username, conf.password, conf.ssl) == (None, None, False)
    assert conf.client_kwargs() == {}


def test_cluster_url_credentials_and_tls():
    conf = parse_cluster_url("rediss+cluster://app:s%40cret@h1:7000,h2:7001/0")
    assert conf.nodes == (("h1", 7000), ("h2", 7001))
    assert conf.client_kwargs() == {"username": "app", "password": "s@cret", "ssl": True}
    assert parse_cluster_url("redis+cluster://:pw@h1:1").client_kwargs() == {"password": "pw"}
    assert redact_url("redis+cluster://app:pw@h1:7000,h2:7001") == (
        "redis+cluster://app:***@h1:7000,h2:7001"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://h1:7000/1", "only database 0"),
        ("redis+cluster://h1:7000?timeout=1", "query options"),
        ("redis+cluster://h1:70x0", "bad port"),
        ("redis+cluster://h1:99999", "out of range"),
        ("redis+cluster://h1:1,,h2:2", "empty host"),
        ("redis://h1:7000", "not a Redis Cluster URL"),
    ],
)
def test_malformed_cluster_urls_are_refused(url, message):
    with pytest.raises(ConfigError, match=message):
        parse_cluster_url(url)


def test_only_cluster_schemes_select_the_cluster_client():
    assert is_cluster_url("redis+cluster://h:1") and is_cluster_url("REDISS+CLUSTER://h:1")
    assert not is_cluster_url("redis://h:1") and not is_cluster_url("unix:///tmp/r.sock")


def test_clients_for_a_cluster_url(cluster_url):
    client = connect(cluster_url)
    try:
        assert isinstance(client, redis.cluster.RedisCluster)
        assert len(client.get_primaries()) == 3
    finally:
        client.close()
    assert isinstance(connect_async(cluster_url), redis.asyncio.cluster.RedisCluster)


def test_an_unreachable_cluster_is_a_store_error():
    with pytest.raises(StoreError, match=r"cannot connect to Redis at redis\+cluster://"):
        connect("redis+cluster://127.0.0.1:1", socket_connect_timeout=0.5)


# -- the lock ---------------------------------------------------------------------------


def test_publish_lock_on_a_cluster(cluster_client, cluster_namespace, cluster_commands):
    key = K.lock_key(cluster_namespace)
    with PublishLock(cluster_client, cluster_namespace) as lock:
        token = cluster_client.get(key)
        assert token and 0 < cluster_client.pttl(key) <= 120_000
        with pytest.raises(StoreError, match="another publish holds the lock"):
            PublishLock(cluster_client, cluster_namespace).__enter__()
        cluster_client.pexpire(key, 1000)
        lock._last = 0.0  # force the refresh (it is rate limited)
        lock.refresh()  # redis-py's reacquire script, routed to the key's node
        assert cluster_client.pttl(key) > 100_000
        assert cluster_client.get(key) == token  # the refused publisher left it alone
    assert cluster_client.exists(key) == 0  # released by the compare-and-delete script
    assert cluster_commands.named("EVALSHA", "EVAL"), "the lock's scripts ran"


# -- publish, versions, rollback, prune ---------------------------------------------------


def keys_per_node(cluster: Cluster, namespace: str, version: str) -> list[int]:
    """How many keys of ``version`` each node holds (SCAN on each node directly)."""
    pattern = K.version_pattern(namespace, version)
    return [
        sum(1 for _ in cluster.node(port).scan_iter(match=pattern, count=1000))
        for port in cluster.ports
    ]


def test_publish_rollback_prune_on_a_cluster(
    cluster_bundles, redis_cluster, cluster_client, cluster_namespace, cluster_commands
):
    first, second = cluster_bundles
    ns = cluster_namespace
    errors_before = routing_errors(redis_cluster)

    one = publish(first, cluster_client, namespace=ns, keep=2)
    assert one.writer == "raw-cluster+pipeline"  # raw HSETs per primary; SETs etc. pipelined
    counts = keys_per_node(redis_cluster, ns, one.version)
    assert sum(counts) == one.n_keys > 900
    for n in counts:  # no hash tag: the version spreads over the slots of every node
        assert 0.25 <= n / one.n_keys <= 0.42, counts

    two = publish(second, cluster_client, namespace=ns, keep=2, writer="pipeline")
    assert two.writer == "pipeline"  # redis-py's cluster pipeline: every command recorded
    assert active_version(cluster_client, ns) == two.version
    listed = list_versions(cluster_client, ns)
    assert [(v.version, v.active) for v in listed] == [(two.version, True), (one.version, False)]
    assert listed[0].stats["n_keys"] == two.n_keys

    rollback(cluster_client, ns, one.version)
    assert active_version(cluster_client, ns) == one.version
    with pytest.raises(StoreError, match="not a complete version"):
        rollback(cluster_client, ns, "never-published")
    with pytest.raises(StoreError, match="it is the active version"):
        delete_version(cluster_client, ns, one.version)

    assert prune_versions(cluster_client, ns, keep=1) == []  # newest and active both kept
    rollback(cluster_client, ns, two.version)
    assert prune_versions(cluster_client, ns, keep=1) == [one.version]
    assert keys_per_node(redis_cluster, ns, one.version) == [0, 0, 0]  # gone from every node
    assert sum(keys_per_node(redis_cluster, ns, two.version)) == two.n_keys
    assert [v.version for v in list_versions(cluster_client, ns)] == [two.version]

    # Every command named keys of one slot, and only UNLINK (split per slot by redis-py when
    # deleting) named more than one.
    node = redis_cluster.node(redis_cluster.ports[0])
    unlinks = CommandLog(cluster_commands.ports, cluster_commands.named("UNLINK"))
    others = CommandLog(
        cluster_commands.ports,
        [c for c in cluster_commands.commands if str(c[0]).upper() != "UNLINK"],
    )
    assert len(others.named("HSET")) >= two.n_customers + two.n_items  # recorded
    assert others.violations(node, one_key=True) == []
    assert unlinks.commands and unlinks.violations(node, one_key=False) == []
    assert not cluster_commands.named("KEYS", "MGET", "MSET", "DEL", "RENAME", "FLUSHALL")
    assert routing_errors(redis_cluster) == errors_before  # no MOVED/ASK/CROSSSLOT


def test_the_key_check_catches_multi_key_and_cross_slot_commands(redis_cluster):
    node = redis_cluster.node(redis_cluster.ports[0])
    log = CommandLog(frozenset(), [("MGET", b"a", b"b"), ("HGETALL", b"a"), ("PING",)])
    assert log.violations(node, one_key=True) == ["'MGET' with 2 keys in 2 slots"]
    same_slot = CommandLog(frozenset(), [("UNLINK", b"{t}a", b"{t}b")])
    assert same_slot.violations(node, one_key=False) == []
    assert len(same_slot.violations(node, one_key=True)) == 1


def test_the_cluster_writer_sends_each_key_to_its_primary(
    redis_cluster, cluster_client, cluster_namespace
):
    prefix = K.customer_prefix(cluster_namespace, "v1")
    ids = [f"c{i}".encode() for i in range(300)]
    values = [b"x" * (i % 7) for i in range(300)]
    writer = ClusterHashWriter(cluster_client)  # type: ignore[arg-type]
    writer.write(prefix, ids, [(b"rec", values)])
    writer.finish()
    for entity, value in zip(ids, values, strict=True):
        assert cluster_client.hget(prefix + entity, "rec") == value
    counts = keys_per_node(redis_cluster, cluster_namespace, "v1")
    assert sum(counts) == 300 and min(counts) >= 70, counts  # each primary got its share

    # A slot map gone stale (resharding mid-publish): the node answers MOVED, the write fails.
    stale = ClusterHashWriter(cluster_client)  # type: ignore[arg-type]
    stale._slot_owner = [(owner + 1) % 3 for owner in stale._slot_owner]
    stale.write(prefix, ids[:10], [(b"rec", values[:10])])
    with pytest.raises(StoreError, match="MOVED"):
        stale.finish()
    stale.abort()
