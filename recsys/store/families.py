"""Key families declared as data: every key the store writes, what it holds, how to read it.

One :class:`KeyFamily` per kind of key: its name, Redis type, key function (from
:mod:`recsys.store.keys`), fields with their value kind (decoder) and encoder (bundle table ->
bytes), optional TTL, and whether it belongs to a version. Publishing
(:mod:`recsys.store.prepare`, :mod:`recsys.store.publish`), deletion and pruning
(:mod:`recsys.store.versions`), readers (``KeyFamily.decode_hash`` / ``Field.decode``) and the
format doc (``docs/storage-format.md``, rendered by :mod:`recsys.store.format_doc`) follow from
these declarations, as Feast's online store owns every key so the server never builds one.

A new artifact kind is one declaration plus its encoder (:mod:`recsys.store.encoders`): a
:class:`Field` in ``CUSTOMER``, or a ``KeyFamily`` in ``FAMILIES`` (see the format doc).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from recsys import columns as C
from recsys.store import keys as K
from recsys.store.encoders import (
    CatalogJson,
    JsonRows,
    ManifestJson,
    Pages,
    RankedTable,
    TextColumn,
)
from recsys.store.keyfamily import Field, KeyFamily, Kind, RedisType, by_name
from recsys.store.offer_encoders import CustomerOffers, OfferCatalogJson, RowPages

_VERSION = Field("{version}", Kind.VERSION_ID, "a version id")

POINTER: Final = KeyFamily(
    "pointer",
    RedisType.STRING,
    K.active_key,
    "{ns}:active",
    "The active version. Absent: nothing published. Switched with one SET.",
    value=Field("value", Kind.VERSION_ID, "id of the active version"),
)
VERSIONS: Final = KeyFamily(
    "versions",
    RedisType.ZSET,
    K.versions_key,
    "{ns}:versions",
    "Complete versions (a version is complete iff it is a member).",
    value=_VERSION,
    score=Field("score", Kind.UNIX_TIME, "publish time"),
)
PENDING: Final = KeyFamily(
    "pending",
    RedisType.SET,
    K.pending_key,
    "{ns}:pending",
    "Versions whose publish started and has not finished (cleanup bookkeeping).",
    value=_VERSION,
)
LOCK: Final = KeyFamily(
    "lock",
    RedisType.STRING,
    K.lock_key,
    "{ns}:lock",
    "Publish lock: one publisher per namespace (redis-py `Lock`), refreshed while publishing.",
    value=Field("value", Kind.TOKEN, "the holder's token"),
    ttl=120.0,
)
PROTECTED: Final = KeyFamily(
    "protected",
    RedisType.SET,
    K.protected_key,
    "{ns}:protected",
    "Versions pruning must keep, e.g. versions a running experiment names.",
    value=_VERSION,
)
MANIFEST: Final = KeyFamily(
    "manifest",
    RedisType.STRING,
    K.manifest_key,
    "{ns}:v:{v}:manifest",
    "The bundle's manifest, unchanged.",
    per_version=True,
    value=Field("value", Kind.JSON, "the manifest (JSON object)", ManifestJson()),
)
INFO: Final = KeyFamily(
    "info",
    RedisType.STRING,
    K.info_key,
    "{ns}:v:{v}:info",
    "What publish measured: `n_customers`, `n_items`, `n_similar`, `n_keys`, "
    "`bytes_written`, `segments`, `customer_fields`, `published_at`, `list_format`, "
    "`catalog_format`.",
    per_version=True,
    value=Field("value", Kind.JSON, "publish statistics (JSON object)"),
)
CATALOG: Final = KeyFamily(
    "catalog",
    RedisType.STRING,
    K.catalog_key,
    "{ns}:v:{v}:catalog",
    "The items; their order defines the item indices of every list of the version.",
    per_version=True,
    value=Field("value", Kind.CATALOG, "the catalog", CatalogJson()),
)
POPULAR: Final = KeyFamily(
    "popular",
    RedisType.HASH,
    K.popular_key,
    "{ns}:v:{v}:popular",
    f"One popular list per segment; `{K.GLOBAL_SEGMENT}` (the global list) is always present.",
    per_version=True,
    data_field=Field(
        "{segment}",
        Kind.RANKED_LIST,
        "the segment's most popular items",
        RankedTable("popular", owner=C.SEGMENT, must_have=K.GLOBAL_SEGMENT),
    ),
)
CUSTOMER: Final = KeyFamily(
    "customer",
    RedisType.HASH,
    K.customer_key,
    "{ns}:v:{v}:c:{customer}",
    "One per customer with a row in any of its tables (others fall back to `popular`).",
    per_version=True,
    prefix=K.customer_prefix,
    fields=by_name(
        Field(
            K.FIELD_RECOMMENDATIONS.decode(),
            Kind.RANKED_LIST,
            "personal recommendations, already-purchased items excluded",
            RankedTable("recommendations", owner=C.CUSTOMER_ID),
        ),
        Field(
            K.FIELD_BUY_AGAIN.decode(),
            Kind.RANKED_LIST,
            "the customer's previously purchased items, ranked (buy it again)",
            RankedTable("buy_again", owner=C.CUSTOMER_ID, required=False),
        ),
        Field(
            K.FIELD_SEGMENT.decode(),
            Kind.TEXT,
            "the customer's segment",
            TextColumn("segments", C.SEGMENT),
        ),
        Field(
            K.FIELD_PROFILE.decode(),
            Kind.JSON,
            "the customer's profile: orders, RFM scores and segment, cluster, P(alive), churn "
            "risk and band, expected orders, CLV (every column of segments.parquet)",
            JsonRows("segments", exclude=(C.SEGMENT,)),
        ),
        Field(
            K.FIELD_ALL_PURCHASES.decode(),
            Kind.RANKED_LIST,
            "recommendations with already-purchased items allowed (include_purchased)",
            RankedTable("recommendations_all", owner=C.CUSTOMER_ID, required=False),
        ),
        Field(
            K.FIELD_OFFERS.decode(),
            Kind.JSON,
            "the customer's allocated offers: `offers` (offer id -> [expected value, uplift, "
            "reason]), `channels` (channel -> offer ids, best first) and `held` (channel -> "
            "why the contact policy holds it); fallback offers are not stored",
            CustomerOffers(),
        ),
    ),
)
ITEM: Final = KeyFamily(
    "item",
    RedisType.HASH,
    K.item_key,
    "{ns}:v:{v}:i:{item}",
    "One per item that has lists.",
    per_version=True,
    prefix=K.item_prefix,
    fields=by_name(
        Field(
            K.FIELD_SIMILAR.decode(),
            Kind.RANKED_LIST,
            "similar items",
            RankedTable(
                "similar_items",
                owner=C.ITEM_ID,
                item=C.SIMILAR_ITEM_ID,
                owners_in_catalog=True,
            ),
        )
    ),
)

SEGMENT_PAGE: Final = KeyFamily(
    "segment_page",
    RedisType.STRING,
    K.segment_page_key,
    "{ns}:v:{v}:sp:{page}",
    "A page of a segment's member list, page id `{segment}|{sort}|{n}` (n from 0): up to "
    "1,000 customer ids in one sort order (marketing lists).",
    per_version=True,
    prefix=K.segment_page_prefix,
    value=Field(
        "{page}",
        Kind.JSON,
        "JSON array of customer ids, best first",
        Pages("segment_members", group=C.SEGMENT, member=C.CUSTOMER_ID),
    ),
)
OFFER_CATALOG: Final = KeyFamily(
    "offer_catalog",
    RedisType.STRING,
    K.offer_catalog_key,
    "{ns}:v:{v}:offers",
    "The offer catalog of the version's allocation: every validated offer with `active`, "
    "`audience` and `budget_left`, and the fallback offer per channel.",
    per_version=True,
    value=Field(
        "value",
        Kind.JSON,
        'the catalog (JSON object `{"offers": [...], "fallback": {channel: offer_id}}`)',
        OfferCatalogJson(),
    ),
)
OFFER_AUDIENCE_PAGE: Final = KeyFamily(
    "offer_audience_page",
    RedisType.STRING,
    K.offer_audience_key,
    "{ns}:v:{v}:oa:{page}",
    "A page of an offer's audience, page id `{offer_id}|value|{n}` (n from 0): up to 1,000 "
    "allocated customers, highest expected value first (marketing lists).",
    per_version=True,
    prefix=K.offer_audience_prefix,
    value=Field(
        "{page}",
        Kind.JSON,
        "JSON array of rows `[customer_id, expected_value, uplift, reason]`, best first",
        RowPages(
            "offer_audiences",
            group="offer_id",
            columns=(C.CUSTOMER_ID, "expected_value", "uplift", "reason"),
        ),
    ),
)
ITEM_AUDIENCE_PAGE: Final = KeyFamily(
    "item_audience_page",
    RedisType.STRING,
    K.item_audience_key,
    "{ns}:v:{v}:ia:{page}",
    "A page of an item's audience, page id `{item_id}|top|{n}` (n from 0): up to 1,000 "
    "customers whose recommendations hold the item highest.",
    per_version=True,
    prefix=K.item_audience_prefix,
    value=Field(
        "{page}",
        Kind.JSON,
        "JSON array of rows `[customer_id, position, score]`, best first",
        RowPages("item_audiences", group=C.ITEM_ID, columns=(C.CUSTOMER_ID, "position", C.SCORE)),
    ),
)
# Events (issue #11): non-versioned, written by POST /v1/events and `recsys events export`.
EVENTS: Final = KeyFamily(
    "events",
    RedisType.STREAM,
    K.events_key,
    "{ns}:events",
    "Accepted events, appended (XADD, MAXLEN ~ `RECSYS_EVENTS_STREAM_MAXLEN`) before the API "
    f"answers 202; consumer group `{K.EVENTS_GROUP}` reads them, and an entry is acknowledged "
    "and deleted (XACK, XDEL) once its Parquet partition is on disk.",
    value=Field(
        K.EVENT_ENTRY_FIELD.decode(),
        Kind.JSON,
        "the event (the fields of `recsys.events.Event`, `timestamp` filled in, "
        "`received_at` added)",
    ),
)
EVENT_SEEN: Final = KeyFamily(
    "event_seen",
    RedisType.STRING,
    K.event_seen_key,
    "{ns}:events:seen:{event_id}",
    "Idempotency key of an accepted event id (SET NX EX; TTL `RECSYS_EVENTS_DEDUP_TTL`): a "
    "retried event is answered as a duplicate while it lives.",
    value=Field("value", Kind.TEXT, "`1`"),
    ttl=7 * 86400.0,
)
EVENTS_EXPORT: Final = KeyFamily(
    "events_export",
    RedisType.HASH,
    K.events_export_key,
    "{ns}:events:export",
    "Progress of the export (consumer group `export`), updated after each acknowledged batch.",
    fields=by_name(
        Field("exported", Kind.TEXT, "events written to Parquet so far (a decimal count)"),
        Field("last_id", Kind.TEXT, "stream id of the last acknowledged entry"),
        Field("at", Kind.UNIX_TIME, "time of the last acknowledged batch"),
    ),
)
# Experiments (issue #11): non-versioned, written by `recsys experiments start/stop`.
EXPERIMENTS: Final = KeyFamily(
    "experiments",
    RedisType.ZSET,
    K.experiments_key,
    "{ns}:experiments",
    "Every experiment started in the namespace, running or stopped (for `recsys experiments "
    "list`).",
    value=Field("{experiment}", Kind.TEXT, "an experiment name (a slug)"),
    score=Field("score", Kind.UNIX_TIME, "start time"),
)
EXPERIMENT: Final = KeyFamily(
    "experiment",
    RedisType.STRING,
    K.experiment_key,
    "{ns}:experiment:{experiment}",
    "One experiment's record, kept after it stops (its report needs the configured weights).",
    value=Field(
        "value",
        Kind.JSON,
        'JSON object `{"name", "unit": customer or session, "arms": [{"arm", "version", '
        '"weight"}], "status": running or stopped, "started_at", "stopped_at", '
        '"kept_protected": [versions protected before it started]}`',
    ),
)
RUNNING_EXPERIMENTS: Final = KeyFamily(
    "running_experiments",
    RedisType.STRING,
    K.running_experiments_key,
    "{ns}:experiments:running",
    "The running experiments' records in one value (name -> record), so the service reads "
    "them in the same round trip as the pointer, once per version-cache interval. Start and "
    "stop rewrite it (with the records and `{ns}:protected`) under the publish lock.",
    value=Field("value", Kind.JSON, "JSON object: experiment name -> its record (as above)"),
)
# Live state (issue #11): not per version (live state outlives publishes and rollbacks),
# written by POST /v1/events on accept (recsys.store.realtime), read on the request path.
_LIVE_DOC = (
    "not per version: live state that outlives publishes, written by POST /v1/events when "
    "events are accepted (one Lua script per key and batch, `recsys.store.realtime`) and "
    "read in the same round trip as the {what}; every write renews the TTL "
    "(`RECSYS_REALTIME_TTL`)."
)
_LIVE_FIELDS = by_name(
    Field(
        "recent",
        Kind.JSON,
        "JSON array `[[item_id, unix_time, event_type], ...]`: the latest view, click and "
        "add_to_cart per item, newest first, at most `RECSYS_REALTIME_RECENT`",
    ),
    Field(
        "bought",
        Kind.JSON,
        "JSON array `[[item_id, unix_time], ...]`: items purchased, newest first, at most 100",
    ),
)
REALTIME_CUSTOMER: Final = KeyFamily(
    "realtime_customer",
    RedisType.HASH,
    K.realtime_customer_key,
    "{ns}:rt:c:{customer}",
    "A customer's live state, " + _LIVE_DOC.format(what="customer's HASH"),
    fields=_LIVE_FIELDS,
    ttl=3 * 86400.0,
)
REALTIME_SESSION: Final = KeyFamily(
    "realtime_session",
    RedisType.HASH,
    K.realtime_session_key,
    "{ns}:rt:s:{session}",
    "A session's live state (events with a `session_id`), "
    + _LIVE_DOC.format(what="session's similar lists"),
    fields=_LIVE_FIELDS,
    ttl=3 * 86400.0,
)
OFFER_REDEMPTIONS: Final = KeyFamily(
    "offer_redemptions",
    RedisType.HASH,
    K.offer_redemptions_key,
    "{ns}:offers:redeemed",
    "Live redemption counters of every offer (not per version: a campaign's budget spans "
    "versions), incremented by accepted `offer_redeemed` events; an offer's remaining "
    "budget is its catalog `budget` minus what they used (`recsys.realtime.offers`). No TTL: "
    "delete it by hand when offer ids are reused for a new campaign.",
    data_field=Field(
        "{counter}:{offer_id}",
        Kind.TEXT,
        "counter `n`: redemptions; `u`: redemptions without a `value`; `v`: the sum of their "
        "`value`s (money), decimal text",
    ),
)
OFFER_SUPPRESSED: Final = KeyFamily(
    "offer_suppressed",
    RedisType.STRING,
    K.offer_suppressed_key,
    "{ns}:offers:suppressed:{customer}",
    "Set by an accepted `offer_redeemed` event (not per version): while it lives, and within "
    "the answering version's contact policy `suppress_days`, the customer is offered nothing "
    "(`source: held`, `held: suppressed`). TTL: the active version's `suppress_days`.",
    value=Field("value", Kind.UNIX_TIME, "time of the redemption"),
    ttl=14 * 86400.0,
)
#: Every family, in publish order for the per-version ones (entities first, so the small
#: single keys are written last, just before the version is registered).
FAMILIES: Final[tuple[KeyFamily, ...]] = (
    POINTER,
    VERSIONS,
    PENDING,
    LOCK,
    PROTECTED,
    CUSTOMER,
    ITEM,
    SEGMENT_PAGE,
    OFFER_AUDIENCE_PAGE,
    ITEM_AUDIENCE_PAGE,
    POPULAR,
    CATALOG,
    OFFER_CATALOG,
    MANIFEST,
    INFO,
    EVENTS,
    EVENT_SEEN,
    EVENTS_EXPORT,
    EXPERIMENTS,
    EXPERIMENT,
    RUNNING_EXPERIMENTS,
    REALTIME_CUSTOMER,
    REALTIME_SESSION,
    OFFER_REDEMPTIONS,
    OFFER_SUPPRESSED,
)
BY_NAME: Final[Mapping[str, KeyFamily]] = MappingProxyType({f.name: f for f in FAMILIES})


def family(name: str) -> KeyFamily:
    """The declared family called ``name``; ValueError naming the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown key family {name!r}; expected one of {list(BY_NAME)}") from None
