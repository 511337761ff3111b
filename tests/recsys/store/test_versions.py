"""Version registry: listing, rollback, deletion, pruning (real Redis)."""

from __future__ import annotations

import pytest

from recsys.errors import ConfigError, StoreError
from recsys.store import keys as K
from recsys.store.publish import publish
from recsys.store.versions import (
    active_version,
    delete_version,
    list_versions,
    protect_version,
    protected_versions,
    prune_versions,
    rollback,
    unlink_matching,
    unprotect_version,
)
from tests.recsys.store.test_bundle import small_bundle


def _publish(tmp_path, client, namespace, *versions, keep=5):
    for i, v in enumerate(versions):
        publish(small_bundle(tmp_path, v, shift=i), client, namespace=namespace, keep=keep)


def _n_keys(client, namespace, version):
    return len(list(client.scan_iter(match=K.version_pattern(namespace, version))))


def test_nothing_published(redis_client, namespace):
    assert active_version(redis_client, namespace) is None
    assert list_versions(redis_client, namespace) == []


def test_list_versions_newest_first_with_manifest_summary(tmp_path, redis_client, namespace):
    _publish(tmp_path, redis_client, namespace, "v1", "v2")
    infos = list_versions(redis_client, namespace)
    assert [(i.version, i.active) for i in infos] == [("v2", True), ("v1", False)]
    assert infos[0].published_at >= infos[1].published_at
    assert infos[0].manifest == {
        "version": "v2",
        "created_at": "2025-01-02T03:04:05Z",
        "top_n": 4,
        "model": "als",
    }
    assert infos[0].stats["n_customers"] == 5 and infos[0].stats["customer_fields"] == [
        "rec",
        "again",
        "seg",
    ]


def test_rollback_switches_the_pointer_and_back(tmp_path, redis_client, namespace):
    _publish(tmp_path, redis_client, namespace, "v1", "v2")
    rollback(redis_client, namespace, "v1")
    assert active_version(redis_client, namespace) == "v1"
    assert [i.version for i in list_versions(redis_client, namespace) if i.active] == ["v1"]
    rollback(redis_client, namespace, "v2")
    assert active_version(redis_client, namespace) == "v2"


def test_rollback_to_a_missing_or_incomplete_version_is_refused(tmp_path, redis_client, namespace):
    _publish(tmp_path, redis_client, namespace, "v1")
    with pytest.raises(StoreError, match=r"'v9'.*available: \['v1'\]"):
        rollback(redis_client, namespace, "v9")
    # keys without a registry entry (a half-written version) are not complete
    redis_client.set(K.catalog_key(namespace, "v5"), b"{}")
    with pytest.raises(StoreError, match="not a complete version"):
        rollback(redis_client, namespace, "v5")
    assert active_version(redis_client, namespace) == "v1"


def test_delete_version(tmp_path, redis_client, namespace):
    _publish(tmp_path, redis_client, namespace, "v1", "v2")
    with pytest.raises(StoreError, match="active version"):
        delete_version(redis_client, namespace, "v2")
    n = _n_keys(redis_client, namespace, "v1")
    assert delete_version(redis_client, namespace, "v1") == n > 0
    assert _n_keys(redis_client, namespace, "v1") == 0
    assert [i.version for i in list_versions(redis_client, namespace)] == ["v2"]
    with pytest.raises(StoreError, match="not a complete version"):
        rollback(redis_client, namespace, "v1")


def test_delete_refuses_a_version_being_written(redis_client, namespace):
    redis_client.sadd(K.pending_key(namespace), "v3")
    redis_client.set(K.lock_key(namespace), "publisher-token")
    with pytest.raises(StoreError, match="running publish is writing it"):
        delete_version(redis_client, namespace, "v3")


def test_prune_keeps_newest_and_the_active_one(tmp_path, redis_client, namespace):
    _publish(tmp_path, redis_client, namespace, "v1", "v2", "v3", "v4")
    rollback(redis_client, namespace, "v1")  # the active version is never pruned
    assert prune_versions(redis_client, namespace, keep=2) == ["v2"]
    assert [i.version for i in list_versions(redis_client, namespace)] == ["v4", "v3", "v1"]
    assert _n_keys(redis_client, namespace, "v2") == 0
    with pytest.raises(StoreError, match="keep=0"):
        prune_versions(redis_client, namespace, keep=0)


def test_unlink_matching_deletes_in_chunks_and_only_matches(redis_client, namespace):
    for i in range(25):
        redis_client.set(f"{namespace}:a:{i}", i)
    redis_client.set(f"{namespace}:b:0", 0)
    beats = []
    pattern = K.glob_escape(f"{namespace}:a:".encode()) + b"*"
    assert (
        unlink_matching(redis_client, pattern, chunk_size=10, heartbeat=lambda: beats.append(1))
        == 25
    )
    assert len(beats) >= 2
    assert redis_client.exists(f"{namespace}:b:0")


def test_prune_and_delete_skip_protected_versions(tmp_path, redis_client, namespace):
    _publish(tmp_path, redis_client, namespace, "v1", "v2", "v3", "v4")
    assert protect_version(redis_client, namespace, "v1") is True
    assert protect_version(redis_client, namespace, "v1") is False  # already
    assert protect_version(redis_client, namespace, "v9") is True  # may precede its publish
    assert redis_client.type(K.protected_key(namespace)) == b"set"
    assert protected_versions(redis_client, namespace) == {"v1", "v9"}
    assert prune_versions(redis_client, namespace, keep=2) == ["v2"]
    assert [i.version for i in list_versions(redis_client, namespace)] == ["v4", "v3", "v1"]
    assert _n_keys(redis_client, namespace, "v1") > 0
    with pytest.raises(StoreError, match="'v1': it is protected"):
        delete_version(redis_client, namespace, "v1")
    # A publish prunes with the same rule.
    publish(small_bundle(tmp_path, "v5", shift=5), redis_client, namespace=namespace, keep=1)
    assert [i.version for i in list_versions(redis_client, namespace)] == ["v5", "v1"]
    assert unprotect_version(redis_client, namespace, "v1") is True
    assert unprotect_version(redis_client, namespace, "v1") is False
    assert prune_versions(redis_client, namespace, keep=1) == ["v1"]
    assert _n_keys(redis_client, namespace, "v1") == 0
    with pytest.raises(ConfigError, match="invalid version id"):
        protect_version(redis_client, namespace, "bad id")
