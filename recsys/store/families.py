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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

import orjson

from recsys import columns as C
from recsys.errors import ConfigError, StoreError
from recsys.store import keys as K
from recsys.store.codec import Catalog, decode_list
from recsys.store.encoders import CatalogJson, Encoder, ManifestJson, RankedTable, TextColumn


class RedisType(StrEnum):
    """The Redis data type of a key (what ``TYPE key`` answers)."""

    STRING = "string"
    HASH = "hash"
    ZSET = "zset"
    SET = "set"


class Kind(StrEnum):
    """How a stored value (a STRING, a HASH field, a SET/ZSET member) is decoded."""

    RANKED_LIST = "ranked_list"
    TEXT = "text"
    JSON = "json"
    CATALOG = "catalog"
    VERSION_ID = "version_id"
    TOKEN = "token"
    UNIX_TIME = "unix_time"


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"corrupt JSON value: {exc}") from None


def _version_id(raw: bytes) -> str:
    try:
        return K.check_version(raw.decode())
    except (UnicodeDecodeError, ConfigError):
        raise StoreError(f"corrupt version id {raw[:80]!r}") from None


def _unix_time(raw: bytes) -> float:
    try:
        return float(raw)
    except ValueError:
        raise StoreError(f"corrupt time {raw[:80]!r}: expected unix seconds") from None


#: Value kind -> (decoder, what the format doc says about it).
KINDS: Final[Mapping[Kind, tuple[Callable[[bytes], Any], str]]] = MappingProxyType(
    {
        Kind.RANKED_LIST: (
            decode_list,
            "binary ranked list (catalog indices + scores, below); "
            "`recsys.store.codec.decode_list`",
        ),
        Kind.TEXT: (_text, "UTF-8 text"),
        Kind.JSON: (_json, "a JSON document"),
        Kind.CATALOG: (Catalog.from_json, "the catalog JSON (below); `Catalog.from_json`"),
        Kind.VERSION_ID: (_version_id, "a version id (ASCII, `[A-Za-z0-9_.-]{1,64}`)"),
        Kind.TOKEN: (_text, "an opaque random token"),
        Kind.UNIX_TIME: (_unix_time, "unix seconds (a float)"),
    }
)


@dataclass(frozen=True)
class Field:
    """One field of a HASH, or the value/member of a STRING/SET/ZSET.

    ``name`` is the HASH field name; ``{...}`` marks a field named by data (a segment name).
    ``encoder`` produces the values from the bundle at publish time; None for values the
    store's own code writes (the pointer, the registry, publish statistics).
    """

    name: str
    kind: Kind
    doc: str
    encoder: Encoder | None = None

    @property
    def raw_name(self) -> bytes:
        return self.name.encode()

    @property
    def optional(self) -> bool:
        """Absent for some keys (its bundle table is optional)."""
        return self.encoder is not None and not self.encoder.required

    def decode(self, raw: bytes) -> Any:
        """The stored bytes as a value of :attr:`kind`; StoreError when malformed."""
        return KINDS[self.kind][0](raw)


def by_name(*fields: Field) -> Mapping[str, Field]:
    """Fields keyed by their name, in the order given (the HASH write order)."""
    return MappingProxyType({f.name: f for f in fields})


@dataclass(frozen=True)
class KeyFamily:
    """A family of keys with one layout, type and value format (see the module docs).

    Parameters
    ----------
    name
        Short name (``customer``); also the progress stage while publishing (``customers``).
    type
        The Redis type of every key of the family.
    key
        The key function of :mod:`recsys.store.keys`: ``key(ns)``, ``key(ns, version)`` or,
        for an entity family, ``key(ns, version, entity_id)``.
    layout
        The key spelled for people (``{ns}:v:{v}:c:{customer}``).
    prefix
        Entity families only: ``prefix(ns, version)``; a key is the prefix + the UTF-8 id.
    fields
        HASH fields with fixed names, in write order.
    data_field
        HASH whose field names are data (``popular``: one field per segment).
    value
        STRING value, or SET/ZSET member.
    score
        ZSET score.
    ttl
        Seconds a key lives after it is written (None: until its version is deleted).
    per_version
        The key belongs to one version: written by publish, deleted with the version.
    """

    name: str
    type: RedisType
    key: Callable[..., bytes]
    layout: str
    doc: str
    per_version: bool = False
    prefix: Callable[[str, str], bytes] | None = None
    fields: Mapping[str, Field] = field(default_factory=lambda: MappingProxyType({}))
    data_field: Field | None = None
    value: Field | None = None
    score: Field | None = None
    ttl: float | None = None

    def __post_init__(self) -> None:
        problem = None
        if self.type is RedisType.HASH:
            if self.value is not None or not (self.fields or self.data_field):
                problem = "a HASH declares fields (or a data_field) and no value"
        elif self.fields or self.data_field or self.value is None:
            problem = f"a {self.type.upper()} declares a value and no fields"
        if (self.type is RedisType.ZSET) != (self.score is not None):
            problem = "a ZSET, and only a ZSET, declares a score"
        if self.prefix is not None and not self.per_version:
            problem = "an entity family (with a prefix) must be per version"
        if any(name != f.name for name, f in self.fields.items()):
            problem = "fields must be keyed by their own name (use by_name)"
        if problem:
            raise ValueError(f"key family {self.name!r}: {problem}")

    @property
    def entity(self) -> bool:
        """One key per id (customer, item) rather than one key per version or namespace."""
        return self.prefix is not None

    @property
    def published(self) -> bool:
        """Written from the bundle by publish (some field has an encoder)."""
        return any(f.encoder is not None for f in self.all_fields())

    def all_fields(self) -> list[Field]:
        """Every declared field, value and score, in declaration order."""
        extra = [f for f in (self.data_field, self.value, self.score) if f is not None]
        return [*self.fields.values(), *extra]

    def names_of_kind(self, kind: Kind) -> frozenset[bytes]:
        """Raw names of the fixed HASH fields of one kind (e.g. the ranked-list fields)."""
        return frozenset(f.raw_name for f in self.fields.values() if f.kind is kind)

    def field_named(self, name: str | bytes) -> Field | None:
        """The declaration of a HASH field (a data-named field matches any name)."""
        text = name.decode(errors="replace") if isinstance(name, bytes) else name
        return self.fields.get(text, self.data_field)

    def decode_hash(self, raw: Mapping[bytes, bytes]) -> dict[str, Any]:
        """A HGETALL answer decoded field by field (field name -> value).

        A field this code does not know (written by a newer publisher) is returned as text, so
        adding a field never breaks an older reader. StoreError on a malformed known field.
        """
        out: dict[str, Any] = {}
        for name, value in raw.items():
            text = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
            declared = self.field_named(text)
            out[text] = declared.decode(value) if declared is not None else _text(value)
        return out

    def decode_value(self, raw: bytes) -> Any:
        """A STRING value (or SET/ZSET member) decoded."""
        if self.value is None:
            raise TypeError(f"key family {self.name!r} is a {self.type.upper()} of fields")
        return self.value.decode(raw)


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
            K.FIELD_ALL_PURCHASES.decode(),
            Kind.RANKED_LIST,
            "recommendations with already-purchased items allowed (include_purchased)",
            RankedTable("recommendations_all", owner=C.CUSTOMER_ID, required=False),
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
    POPULAR,
    CATALOG,
    MANIFEST,
    INFO,
)
BY_NAME: Final[Mapping[str, KeyFamily]] = MappingProxyType({f.name: f for f in FAMILIES})


def family(name: str) -> KeyFamily:
    """The declared family called ``name``; ValueError naming the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown key family {name!r}; expected one of {list(BY_NAME)}") from None
