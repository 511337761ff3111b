"""Writers: which one a family gets, and what each writes (real Redis)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from recsys.errors import StoreError
from recsys.store import keys as K
from recsys.store.families import CUSTOMER, PENDING, Field, KeyFamily, Kind, RedisType
from recsys.store.raw_writer import RawHashWriter
from recsys.store.writer import PipelineWriter, make_writer

OFFER = KeyFamily(
    "offer",
    RedisType.STRING,
    lambda ns, v, customer: K.version_prefix(ns, v) + b"o:" + customer.encode(),
    "{ns}:v:{v}:o:{customer}",
    "Today's offer of one customer.",
    per_version=True,
    prefix=lambda ns, v: K.version_prefix(ns, v) + b"o:",
    value=Field("value", Kind.TEXT, "offer code"),
    ttl=60.0,
)


def test_writer_choice(redis_client):
    raw = make_writer(redis_client, CUSTOMER)
    assert isinstance(raw, RawHashWriter)
    raw.abort()
    assert isinstance(make_writer(redis_client, CUSTOMER, "pipeline"), PipelineWriter)
    assert isinstance(make_writer(redis_client, OFFER), PipelineWriter)  # has a TTL
    with pytest.raises(StoreError, match="only writes HASHes without a TTL, not 'offer'"):
        make_writer(redis_client, OFFER, "raw")
    zset = replace(PENDING, name="ranked", type=RedisType.ZSET, score=PENDING.value)
    with pytest.raises(StoreError, match="publishing a zset is not supported"):
        PipelineWriter(redis_client, zset).write(b"k", [b""], [(b"", [b"x"])])


@pytest.mark.parametrize("mode", ["raw", "pipeline"])
def test_both_writers_write_the_same_hashes(redis_client, namespace, mode):
    prefix = CUSTOMER.prefix(namespace, "v1")
    columns = [(b"rec", [b"\x01\x03\x00\x00", None, b"r3"]), (b"seg", [None, b"vip", b"x"])]
    writer = make_writer(redis_client, CUSTOMER, mode)
    writer.write(prefix, [b"a", b"b", b"c"], columns)
    writer.finish()
    assert redis_client.hgetall(prefix + b"a") == {b"rec": b"\x01\x03\x00\x00"}
    assert redis_client.hgetall(prefix + b"b") == {b"seg": b"vip"}
    assert redis_client.hgetall(prefix + b"c") == {b"rec": b"r3", b"seg": b"x"}


def test_pipeline_writer_strings_with_their_ttl(redis_client, namespace):
    prefix = OFFER.prefix(namespace, "v1")
    writer = make_writer(redis_client, OFFER)
    writer.write(prefix, [b"c1", b"c2"], [(b"", [b"TENOFF", None])])
    writer.finish()
    assert redis_client.get(OFFER.key(namespace, "v1", "c1")) == b"TENOFF"
    assert 0 < redis_client.pttl(OFFER.key(namespace, "v1", "c1")) <= 60_000
    assert not redis_client.exists(OFFER.key(namespace, "v1", "c2"))


def test_raw_writer_reports_a_redis_error(redis_client, namespace):
    key = CUSTOMER.key(namespace, "v1", "taken")
    redis_client.set(key, b"a string, not a hash")
    writer = make_writer(redis_client, CUSTOMER, "raw")
    writer.write(CUSTOMER.prefix(namespace, "v1"), [b"taken"], [(b"rec", [b"x"])])
    with pytest.raises(StoreError, match="WRONGTYPE"):
        writer.finish()
    writer.abort()
