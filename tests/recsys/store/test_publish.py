"""Publishing against real Redis: everything written reads back exactly, atomically."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from recsys.errors import DataError, StoreError
from recsys.store import keys as K
from recsys.store.codec import F16_RTOL
from recsys.store.connection import connect_async
from recsys.store.publish import publish
from recsys.store.raw_writer import pack_hset
from recsys.store.reader import StoreReader
from recsys.store.versions import active_version, list_versions
from tests.recsys.store.test_bundle import small_bundle, small_tables


def expected_lists(
    frame: pd.DataFrame, owner: str, item: str
) -> dict[str, list[tuple[str, float]]]:
    frame = frame.sort_values([owner, "rank"])
    return {
        str(o): list(zip(g[item].astype(str), g["score"].astype(float), strict=True))
        for o, g in frame.groupby(owner, sort=False)
    }


def assert_same_list(got, want):
    assert [i for i, _ in got] == [i for i, _ in want]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=F16_RTOL)


def version_keys(client, namespace, version) -> list[bytes]:
    return list(client.scan_iter(match=K.version_pattern(namespace, version), count=1000))


async def read_everything(url: str, namespace: str, version: str, tables) -> None:
    """Compare every customer, item and popular list of ``version`` with the tables."""
    client = connect_async(url)
    try:
        reader = StoreReader(client, namespace)
        recs = expected_lists(tables["recommendations"], "customer_id", "item_id")
        again = expected_lists(tables["buy_again"], "customer_id", "item_id")
        for cust in set(recs) | set(again):
            got = await reader.customer(version, cust)
            assert got is not None, cust
            assert set(got) == {f for f, d in (("rec", recs), ("again", again)) if cust in d}
            for field, want in (("rec", recs), ("again", again)):
                if cust in want:
                    assert_same_list(got[field], want[cust])
        segments = dict(
            zip(tables["segments"].customer_id, tables["segments"].segment, strict=True)
        )
        for cust, seg in segments.items():
            record = await reader.customer(version, cust)
            assert record is not None and record.text == {"seg": seg}
        assert await reader.customer(version, "nobody") is None

        sim = expected_lists(tables["similar_items"], "item_id", "similar_item_id")
        for item, want in sim.items():
            assert_same_list(await reader.similar(version, item), want)
        assert await reader.similar(version, "G") is None  # in the catalog, no list
        batch = await reader.similar_many(version, [*sim, "G", "no-such-item"])
        assert batch[-2:] == [None, None]
        for got, want in zip(batch, sim.values(), strict=False):
            assert_same_list(got, want)

        pop = expected_lists(tables["popular"], "segment", "item_id")
        assert await reader.popular_segments(version) == sorted(pop)
        for seg, want in pop.items():
            assert_same_list(await reader.popular(version, seg), want)
        assert await reader.popular(version, "no-such-segment") is None

        catalog = await reader.catalog(version)
        assert catalog.ids.tolist() == tables["items"].item_id.tolist()
        assert catalog.in_stock.tolist() == tables["items"].in_stock.tolist()
        assert (await reader.manifest(version))["model"] == "als"
    finally:
        await client.aclose()


@pytest.mark.parametrize("writer", ["raw", "pipeline"])
def test_publish_then_read_back_everything(tmp_path, redis_client, redis_url, namespace, writer):
    path = small_bundle(tmp_path, "v1")
    seen = []
    result = publish(
        path,
        redis_client,
        namespace=namespace,
        chunk_size=2,
        writer=writer,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    assert result.version == "v1" and result.writer == writer
    assert (result.n_customers, result.n_items) == (4, 8)  # c1 c2 c:{3} + one only in buy_again
    assert result.n_keys == 4 + 6 + 4  # customers + items with lists + 4 per-version keys
    assert result.deleted_versions == []
    assert seen[-1] == ("items", 6, 6) and ("customers", 4, 4) in seen
    assert active_version(redis_client, namespace) == "v1"
    assert len(version_keys(redis_client, namespace, "v1")) == result.n_keys
    asyncio.run(read_everything(redis_url, namespace, "v1", small_tables()))


def test_keys_and_values_are_exactly_as_documented(tmp_path, redis_client, namespace):
    publish(small_bundle(tmp_path, "v1"), redis_client, namespace=namespace)
    key = K.customer_key(namespace, "v1", "c2")
    assert redis_client.type(key) == b"hash"
    assert sorted(redis_client.hkeys(key)) == [b"again", b"rec", b"seg"]
    # buy-again of c2: items A, B (catalog indices 0, 1), scores 7.0 and 3.5 as float16.
    assert (
        redis_client.hget(key, "again")
        == bytes([1, 3, 2, 0, 0, 0, 1, 0]) + np.array([7.0, 3.5], dtype="<f2").tobytes()
    )
    assert redis_client.hget(key, "seg") == b"bargain"
    assert redis_client.get(K.active_key(namespace)) == b"v1"
    assert redis_client.zrange(K.versions_key(namespace), 0, -1) == [b"v1"]
    assert redis_client.exists(K.customer_key(namespace, "v1", "c:{3}"))


def test_pack_hset_is_valid_resp():
    packed = pack_hset(b"p:", [b"a", b"bc"], [(b"rec", [b"xy", None]), (b"seg", [None, b"z"])])
    assert packed == (
        b"*4\r\n$4\r\nHSET\r\n$3\r\np:a\r\n$3\r\nrec\r\n$2\r\nxy\r\n"
        b"*4\r\n$4\r\nHSET\r\n$4\r\np:bc\r\n$3\r\nseg\r\n$1\r\nz\r\n"
    )


def test_corrupt_table_publishes_nothing_and_keeps_previous_active(
    tmp_path, redis_client, namespace
):
    publish(small_bundle(tmp_path, "v1"), redis_client, namespace=namespace)
    path = small_bundle(tmp_path, "v2", shift=1)
    (path / "similar_items.parquet").write_bytes(b"\x00garbage")
    with pytest.raises(DataError, match="cannot read"):
        publish(path, redis_client, namespace=namespace)
    assert active_version(redis_client, namespace) == "v1"
    assert [v.version for v in list_versions(redis_client, namespace)] == ["v1"]
    assert version_keys(redis_client, namespace, "v2") == []


def publish_v2_key_by_key(tmp_path, client, namespace, progress):
    """Publish version v2 one key per chunk, calling ``progress`` after each."""
    path = small_bundle(tmp_path, "v2", shift=1)
    publish(path, client, namespace=namespace, chunk_size=1, progress=progress)


def test_failure_mid_write_leaves_previous_version_active(tmp_path, redis_client, namespace):
    publish(small_bundle(tmp_path, "v1"), redis_client, namespace=namespace)

    def explode(stage, done, total):
        if stage == "customers" and done >= 2:
            # some v2 keys exist now
            assert version_keys(redis_client, namespace, "v2")
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        publish_v2_key_by_key(tmp_path, redis_client, namespace, explode)
    assert active_version(redis_client, namespace) == "v1"
    assert [v.version for v in list_versions(redis_client, namespace)] == ["v1"]
    assert version_keys(redis_client, namespace, "v2") == []  # partial writes deleted
    assert redis_client.smembers(K.pending_key(namespace)) == set()
    assert not redis_client.exists(K.lock_key(namespace))
    # and the next publish of v2 works
    assert (
        publish(small_bundle(tmp_path, "v2", shift=1), redis_client, namespace=namespace).version
        == "v2"
    )


def test_abandoned_partial_version_is_cleaned_by_next_publish(tmp_path, redis_client, namespace):
    # A crashed publisher left v0 pending with some keys (and no registry entry).
    redis_client.sadd(K.pending_key(namespace), "v0")
    redis_client.hset(K.customer_key(namespace, "v0", "c1"), "rec", b"\x01\x03\x00\x00")
    publish(small_bundle(tmp_path, "v1"), redis_client, namespace=namespace)
    assert version_keys(redis_client, namespace, "v0") == []
    assert redis_client.smembers(K.pending_key(namespace)) == set()


def test_keep_two_deletes_the_oldest_version(tmp_path, redis_client, namespace):
    for i, v in enumerate(["v1", "v2"]):
        publish(small_bundle(tmp_path, v, shift=i), redis_client, namespace=namespace)
    n_v1 = len(version_keys(redis_client, namespace, "v1"))
    assert n_v1 > 0
    result = publish(
        small_bundle(tmp_path, "v3", shift=2), redis_client, namespace=namespace, keep=2
    )
    assert result.deleted_versions == ["v1"]
    assert version_keys(redis_client, namespace, "v1") == []
    assert len(version_keys(redis_client, namespace, "v2")) > 0
    assert [v.version for v in list_versions(redis_client, namespace)] == ["v3", "v2"]
    result = publish(
        small_bundle(tmp_path, "v4", shift=3), redis_client, namespace=namespace, keep=1
    )
    assert result.deleted_versions == ["v2", "v3"]


def test_refuses_to_republish_the_active_version(tmp_path, redis_client, namespace):
    path = small_bundle(tmp_path, "v1")
    publish(path, redis_client, namespace=namespace)
    with pytest.raises(StoreError, match="already active"):
        publish(path, redis_client, namespace=namespace)
    assert not redis_client.exists(K.lock_key(namespace))  # the lock was released


def test_republishing_an_inactive_version_overwrites_it_cleanly(
    tmp_path, redis_url, redis_client, namespace
):
    publish(small_bundle(tmp_path / "a", "v1"), redis_client, namespace=namespace)
    publish(small_bundle(tmp_path / "a", "v2", shift=1), redis_client, namespace=namespace)
    # v1 again, now without customer c1: its old key must not survive.
    tables = small_tables(shift=3)
    recs = tables["recommendations"].query("customer_id != 'c1'")
    again = tables["buy_again"].query("customer_id != 'c1'")
    segments = tables["segments"].query("customer_id != 'c1'")
    path = small_bundle(
        tmp_path / "b", "v1", shift=3, recommendations=recs, buy_again=again, segments=segments
    )
    publish(path, redis_client, namespace=namespace)
    assert not redis_client.exists(K.customer_key(namespace, "v1", "c1"))
    tables.update(recommendations=recs, buy_again=again, segments=segments)
    asyncio.run(read_everything(redis_url, namespace, "v1", tables))


def test_a_second_publisher_is_refused_while_the_lock_is_held(tmp_path, redis_client, namespace):
    redis_client.set(K.lock_key(namespace), "someone-else", px=60_000)
    with pytest.raises(StoreError, match="another publish holds the lock"):
        publish(small_bundle(tmp_path, "v1"), redis_client, namespace=namespace)
    assert redis_client.get(K.lock_key(namespace)) == b"someone-else"  # not ours to delete


@pytest.mark.parametrize(
    "table, change, message",
    [
        (
            "recommendations",
            lambda f: f.assign(item_id=f.item_id.where(f.index != 0, "ghost")),
            "not in the catalog",
        ),
        ("recommendations", lambda f: f.assign(rank=1), "has rank 1 more than once"),
        (
            "recommendations",
            lambda f: f.assign(score=f.score.where(f.index != 1, np.inf)),
            "non-finite",
        ),
        (
            "recommendations",
            lambda f: f.assign(customer_id=f.customer_id.where(f.index != 1, None)),
            "missing values",
        ),
        ("recommendations", lambda f: f.assign(rank=f["rank"].astype(float)), "must be integer"),
        ("popular", lambda f: f[f.segment != "_all"], "no global list"),
        (
            "similar_items",
            lambda f: f.assign(item_id="ghost", rank=range(1, len(f) + 1)),
            "not in items.parquet",
        ),
        ("segments", lambda f: pd.concat([f, f]), "more than once"),
    ],
)
def test_bad_tables_are_data_errors_before_any_write(
    tmp_path, redis_client, namespace, table, change, message
):
    frame = change(small_tables()[table])
    with pytest.raises(DataError, match=message):
        publish(small_bundle(tmp_path, "v1", **{table: frame}), redis_client, namespace=namespace)
    assert list(redis_client.scan_iter(match=K.namespace_pattern(namespace))) == []


def test_unsorted_input_is_grouped_and_ranked(tmp_path, redis_url, redis_client, namespace):
    tables = small_tables()
    shuffled = tables["recommendations"].sample(frac=1.0, random_state=3).reset_index(drop=True)
    publish(
        small_bundle(tmp_path, "v1", recommendations=shuffled), redis_client, namespace=namespace
    )
    asyncio.run(read_everything(redis_url, namespace, "v1", tables))


def test_integer_ids_and_float32_scores(tmp_path, redis_client, namespace):
    tables = small_tables()
    items = tables["items"].assign(item_id=range(100, 108))
    to_int = dict(zip(tables["items"].item_id, items.item_id, strict=True))
    recs = pd.DataFrame(
        {"customer_id": [7, 7], "rank": [1, 2], "item_id": [101, 100], "score": [0.3, 0.1]}
    )
    sim = tables["similar_items"].assign(
        item_id=lambda f: f.item_id.map(to_int),
        similar_item_id=lambda f: f.similar_item_id.map(to_int),
    )
    pop = tables["popular"].assign(item_id=lambda f: f.item_id.map(to_int))
    path = small_bundle(
        tmp_path,
        "v1",
        items=items,
        recommendations=recs,
        similar_items=sim,
        popular=pop,
        buy_again=recs.iloc[:0],
        segments=tables["segments"].iloc[:0],
    )
    publish(path, redis_client, namespace=namespace, score_dtype="float32")
    raw = redis_client.hget(K.customer_key(namespace, "v1", "7"), "rec")
    assert raw == bytes([1, 1, 2, 0, 1, 0, 0, 0]) + np.array([0.3, 0.1], dtype="<f4").tobytes()


@pytest.mark.parametrize(
    "options",
    [
        {"row_group_size": 2},  # several row groups, each with its own dictionary
        {"use_dictionary": False},  # plain strings
        {"row_group_size": 3, "use_dictionary": ["item_id"]},
    ],
)
def test_any_parquet_layout_publishes_the_same(
    tmp_path, redis_url, redis_client, namespace, options
):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = small_tables()
    path = small_bundle(tmp_path, "v1")
    for table in ("recommendations", "similar_items"):
        file = path / f"{table}.parquet"
        pq.write_table(pa.Table.from_pandas(tables[table], preserve_index=False), file, **options)
    publish(path, redis_client, namespace=namespace)
    asyncio.run(read_everything(redis_url, namespace, "v1", tables))


def test_the_lock_is_held_with_a_ttl_while_publishing(tmp_path, redis_client, namespace):
    held = []

    def look(stage, done, total):
        held.append(
            (redis_client.get(K.lock_key(namespace)), redis_client.pttl(K.lock_key(namespace)))
        )

    publish(small_bundle(tmp_path, "v1"), redis_client, namespace=namespace, progress=look)
    assert held and all(token and 0 < ttl <= 120_000 for token, ttl in held)
    assert len({token for token, _ in held}) == 1
    assert not redis_client.exists(K.lock_key(namespace))  # released


def test_a_lost_lock_stops_the_publish_and_keeps_the_previous_version(
    tmp_path, redis_client, namespace, monkeypatch
):
    from recsys.store import lock

    publish(small_bundle(tmp_path, "v1"), redis_client, namespace=namespace)
    monkeypatch.setattr(lock, "REFRESH_EVERY", 0.0)

    def steal(stage, done, total):  # the lock expired and another publisher took it
        redis_client.set(K.lock_key(namespace), "another-publisher", px=60_000)

    with pytest.raises(StoreError, match="lost the publish lock"):
        publish_v2_key_by_key(tmp_path, redis_client, namespace, steal)
    assert active_version(redis_client, namespace) == "v1"
    assert redis_client.get(K.lock_key(namespace)) == b"another-publisher"  # not deleted
