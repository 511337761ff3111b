"""Key families as data: layouts, generic decoding, and a new artifact kind as one declaration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.errors import DataError, StoreError
from recsys.store import keys as K
from recsys.store.bundle import TABLES
from recsys.store.codec import Catalog, RankedList
from recsys.store.encoders import EncodeContext, Encoded
from recsys.store.families import BY_NAME, CUSTOMER, FAMILIES, ITEM, POPULAR, family
from recsys.store.format_doc import render
from recsys.store.keyfamily import Field, KeyFamily, Kind, RedisType
from recsys.store.publish import publish
from recsys.store.versions import list_versions
from tests.recsys.store.test_bundle import small_bundle, small_tables


def test_every_family_has_one_layout_and_keys_under_its_scope():
    assert list(BY_NAME) == [
        "pointer",
        "versions",
        "pending",
        "lock",
        "protected",
        "customer",
        "item",
        "segment_page",
        "offer_audience_page",
        "item_audience_page",
        "popular",
        "catalog",
        "offer_catalog",
        "manifest",
        "info",
        "events",
        "event_seen",
        "events_export",
        "experiments",
        "experiment",
        "running_experiments",
        "realtime_customer",
        "realtime_session",
        "offer_redemptions",
        "offer_suppressed",
    ]
    assert len({f.layout for f in FAMILIES}) == len(FAMILIES)
    for fam in FAMILIES:
        if fam.entity:
            assert fam.prefix is not None
            assert fam.key("ns", "v1", "x") == fam.prefix("ns", "v1") + b"x"
            key = fam.key("ns", "v1", "x")
        elif fam.per_version:
            key = fam.key("ns", "v1")
        else:  # a namespace key, or one per id (an event id)
            key = fam.key("ns") if fam.layout.count("{") == 1 else fam.key("ns", "x")
            assert not key.startswith(K.version_prefix("ns", "v1"))
        # Per-version keys live under the version prefix: deletion and pruning find them.
        assert key.startswith(K.version_prefix("ns", "v1")) == fam.per_version, fam.name
        layout = fam.layout.replace("{ns}", "ns").replace("{v}", "v1")
        for entity in ("{customer}", "{item}", "{page}", "{event_id}", "{experiment}", "{session}"):
            layout = layout.replace(entity, "x")
        assert key.decode() == layout


def test_declarations_a_reader_needs():
    assert CUSTOMER.type is RedisType.HASH and CUSTOMER.fields["rec"].kind == "ranked_list"
    assert [f.name for f in CUSTOMER.fields.values()] == [
        "rec",
        "again",
        "seg",
        "profile",
        "all",
        "offers",
    ]
    assert [CUSTOMER.fields[n].optional for n in ("rec", "again", "seg", "all")] == [
        False,
        True,
        True,
        True,
    ]
    assert CUSTOMER.fields["seg"].kind == "text" and ITEM.fields["sim"].kind == "ranked_list"
    assert CUSTOMER.names_of_kind(Kind.RANKED_LIST) == {b"rec", b"again", b"all"}
    assert POPULAR.field_named("vip") is POPULAR.data_field  # any segment name
    assert BY_NAME["lock"].ttl == 120.0 and family("catalog").value.kind == Kind.CATALOG
    with pytest.raises(ValueError, match="unknown key family 'nope'"):
        family("nope")


def test_decoders_reject_malformed_values():
    assert BY_NAME["pointer"].decode_value(b"v-2") == "v-2"
    with pytest.raises(StoreError, match="corrupt version id"):
        BY_NAME["pointer"].decode_value(b"bad id")
    with pytest.raises(StoreError, match="corrupt JSON"):
        BY_NAME["manifest"].decode_value(b"{nope")
    with pytest.raises(StoreError, match="corrupt ranked list"):
        CUSTOMER.decode_hash({b"rec": b"\x01"})
    with pytest.raises(TypeError, match="HASH of fields"):
        CUSTOMER.decode_value(b"x")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"type": RedisType.HASH, "value": Field("v", Kind.TEXT, "x")}, "HASH declares fields"),
        ({"type": RedisType.STRING}, "STRING declares a value"),
        ({"type": RedisType.ZSET, "value": Field("v", Kind.TEXT, "x")}, "declares a score"),
        (
            {
                "type": RedisType.STRING,
                "value": Field("v", Kind.TEXT, "x"),
                "prefix": K.customer_prefix,
            },
            "must be per version",
        ),
    ],
)
def test_inconsistent_declarations_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KeyFamily("bad", key=K.active_key, layout="{ns}:bad", doc="x", **kwargs)


def _recommendations_all() -> pd.DataFrame:
    """c1 and c2 get lists that include items they bought (ranked first)."""
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: ["c1", "c1", "c2", "c2", "c2"],
            C.RANK: [1, 2, 1, 2, 3],
            C.ITEM_ID: ["A", "C", "B", "A", "café"],
            C.SCORE: [0.9, 0.5, 3.0, 2.0, 1.0],
        }
    )


def test_all_field_publishes_and_decodes_generically(tmp_path, redis_client, namespace):
    every = _recommendations_all()
    publish(
        small_bundle(tmp_path, "v1", recommendations_all=every),
        redis_client,
        namespace=namespace,
    )
    catalog = Catalog.from_json(redis_client.get(K.catalog_key(namespace, "v1")))
    raw = redis_client.hgetall(K.customer_key(namespace, "v1", "c2"))
    record = CUSTOMER.decode_hash({**raw, b"future": b"anything"})
    assert set(record) == {"rec", "again", "seg", "all", "future"}
    assert record["seg"] == "bargain" and record["future"] == "anything"
    assert isinstance(record["all"], RankedList)
    assert catalog.pairs(record["all"]) == [("B", 3.0), ("A", 2.0), ("café", 1.0)]
    assert catalog.pairs(record["again"]) == [("A", 7.0), ("B", 3.5)]
    # A customer in no other table but recommendations_all still gets a key.
    assert redis_client.hkeys(K.customer_key(namespace, "v1", "c1")) == [
        b"rec",
        b"seg",
        b"all",
    ]
    stats = list_versions(redis_client, namespace)[0].stats
    assert stats["customer_fields"] == ["rec", "again", "seg", "all"]


def test_all_field_with_unknown_item_is_refused_before_any_write(tmp_path, redis_client, namespace):
    bad = _recommendations_all().assign(item_id=lambda f: f.item_id.replace("C", "ghost"))
    with pytest.raises(DataError, match=r"recommendations_all.parquet refers to 1 item id"):
        publish(
            small_bundle(tmp_path, "v1", recommendations_all=bad), redis_client, namespace=namespace
        )
    assert list(redis_client.scan_iter(match=K.namespace_pattern(namespace))) == []


# -- a new artifact kind: one declaration plus its encoder ----------------------------------


@dataclass(frozen=True)
class SegmentMembers:
    """Encoder: ``segments.parquet`` -> per segment, the SET of its customers."""

    table: str = "segments"
    required: bool = False

    def encode(self, ctx: EncodeContext) -> Encoded | None:
        if not ctx.bundle.has(self.table):
            return None
        frame = ctx.bundle.read(self.table)
        groups = frame.groupby(C.SEGMENT, sort=True)[C.CUSTOMER_ID]
        owners = np.array(list(groups.groups), dtype=object)
        return owners, [[str(c).encode() for c in members] for _, members in groups]


def _audience_prefix(namespace: str, version: str) -> bytes:
    return K.version_prefix(namespace, version) + b"aud:"


AUDIENCE = KeyFamily(
    "audience",
    RedisType.SET,
    lambda ns, v, segment: _audience_prefix(ns, v) + segment.encode(),
    "{ns}:v:{v}:aud:{segment}",
    "Customers of one segment.",
    per_version=True,
    prefix=_audience_prefix,
    value=Field("{customer}", Kind.TEXT, "a customer id", SegmentMembers()),
    ttl=3600.0,
)


def test_a_new_family_is_published_documented_and_pruned(tmp_path, redis_client, namespace):
    families = (*FAMILIES, AUDIENCE)
    seen = []
    for i, version in enumerate(["v1", "v2"]):
        publish(
            small_bundle(tmp_path, version, shift=i),
            redis_client,
            namespace=namespace,
            keep=1,
            families=families,
            progress=lambda stage, done, total: seen.append(stage),
        )
    assert "audiences" in seen
    key = AUDIENCE.key(namespace, "v2", "vip")
    assert redis_client.type(key) == b"set" and redis_client.smembers(key) == {b"c1"}
    assert 0 < redis_client.pttl(key) <= 3_600_000  # the TTL, in the same pipeline
    assert {AUDIENCE.decode_value(m) for m in redis_client.smembers(key)} == {"c1"}
    # keep=1: v1 was pruned, its audience keys with it.
    assert not redis_client.exists(AUDIENCE.key(namespace, "v1", "vip"))
    assert list(redis_client.scan_iter(match=K.version_pattern(namespace, "v1"))) == []
    doc = render(families)
    assert "| `{ns}:v:{v}:aud:{segment}` | `audience` | SET | version | 3600 s |" in doc
    assert "`segments.parquet` (optional)" in doc


def test_small_tables_cover_every_published_customer_field_but_all():
    """Guard: the shared fixture exercises every required and optional customer table."""
    tables = set(small_tables())
    wanted = {f.encoder.table for f in CUSTOMER.fields.values() if f.encoder}
    # offers: exercised by tests/recsys/offers/test_artifacts.py and the serving tiny shop
    assert wanted - tables == {"recommendations_all", "offers"} and wanted <= set(TABLES)
