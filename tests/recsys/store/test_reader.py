"""The async reader: one command per lookup, version-consistent under a concurrent publish."""

from __future__ import annotations

import asyncio
import threading

import pytest

from recsys.errors import ConfigError, StoreError
from recsys.store import keys as K
from recsys.store.connection import connect_async
from recsys.store.publish import publish
from recsys.store.reader import StoreReader
from tests.recsys.store.test_bundle import small_bundle, small_tables
from tests.recsys.store.test_publish import expected_lists


def run(coro):
    return asyncio.run(coro)


def test_empty_namespace(redis_url, namespace):
    async def main():
        client = connect_async(redis_url)
        reader = StoreReader(client, namespace)
        assert await reader.active_version() is None
        assert await reader.manifest("v1") is None
        for read in (reader.version_data("v1"), reader.customer("v1", "c1")):
            with pytest.raises(StoreError, match="has no catalog"):
                await read
        await client.aclose()

    run(main())


def test_version_data_is_loaded_once_and_the_cache_is_bounded(
    tmp_path, redis_url, redis_client, namespace
):
    for i, v in enumerate(["v1", "v2", "v3"]):
        publish(small_bundle(tmp_path, v, shift=i), redis_client, namespace=namespace, keep=3)

    async def main():
        client = connect_async(redis_url)
        reader = StoreReader(client, namespace, cache_size=2)
        first = await reader.version_data("v1")
        assert await reader.version_data("v1") is first  # cached
        assert first.manifest["version"] == "v1"
        assert first.view.ids == small_tables(0)["items"].item_id.tolist()
        # concurrent first loads of one version share one load
        a, b = await asyncio.gather(reader.version_data("v2"), reader.version_data("v2"))
        assert a is b
        await reader.version_data("v3")
        assert list(reader._versions) == ["v2", "v3"]  # v1 evicted (bounded)
        assert await reader.version_data("v1") is not first  # reloaded
        await client.aclose()

    run(main())


def test_a_record_decodes_lists_on_access(tmp_path, redis_url, redis_client, namespace):
    publish(small_bundle(tmp_path, "v1"), redis_client, namespace=namespace)
    tables = small_tables(0)
    again = expected_lists(tables["buy_again"], "customer_id", "item_id")

    async def main():
        client = connect_async(redis_url)
        reader = StoreReader(client, namespace)
        for cust, want in again.items():
            record = await reader.customer("v1", cust)
            assert record is not None
            assert record.item_ids("again") == {i for i, _ in want}
            assert record.item_ids("no-such-field") == frozenset()
        await client.aclose()

    run(main())


def test_decode_responses_client_is_refused(redis_url):
    import redis.asyncio

    with pytest.raises(ConfigError, match="decode_responses=False"):
        StoreReader(redis.asyncio.Redis.from_url(redis_url, decode_responses=True))


def test_reader_never_mixes_versions_during_a_publish(tmp_path, redis_url, redis_client, namespace):
    """A thread publishes v2 (slowly, in 1-key chunks) while reads of the active version run."""
    publish(small_bundle(tmp_path, "v1"), redis_client, namespace=namespace)
    expected = {
        "v1": expected_lists(small_tables(0)["recommendations"], "customer_id", "item_id"),
        "v2": expected_lists(small_tables(1)["recommendations"], "customer_id", "item_id"),
    }
    assert expected["v1"]["c1"] != expected["v2"]["c1"]
    v2_path = small_bundle(tmp_path, "v2", shift=1)
    started, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_progress(stage, n, total):
        started.set()
        threading.Event().wait(0.01)

    def publisher():
        try:
            publish(
                v2_path, redis_client, namespace=namespace, chunk_size=1, progress=slow_progress
            )
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            done.set()

    async def main():
        client = connect_async(redis_url)
        reader = StoreReader(client, namespace)
        seen = {"v1": 0, "v2": 0}
        thread = threading.Thread(target=publisher)
        thread.start()
        started.wait(5)
        while not done.is_set() or seen["v2"] < 5:
            version = await reader.active_version()
            for cust in ("c1", "c2", "c:{3}"):
                got = await reader.customer(version, cust)
                want = expected[version][cust]
                assert [i for i, _ in got["rec"]] == [i for i, _ in want], (version, cust)
            seen[version] += 1
        thread.join()
        await client.aclose()
        return seen

    seen = run(main())
    assert not errors, errors
    assert seen["v1"] > 0 and seen["v2"] > 0  # the switch happened while reading
    assert redis_client.get(K.active_key(namespace)) == b"v2"
