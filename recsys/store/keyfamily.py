"""Key-family machinery: Redis types, value kinds and their decoders, fields, families.

The declarations themselves live in :mod:`recsys.store.families`; this module holds what a
declaration is made of and how a stored value is decoded (see that module's docs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

import orjson

from recsys.errors import ConfigError, StoreError
from recsys.store import keys as K
from recsys.store.codec import Catalog, decode_list
from recsys.store.encoders import Encoder


class RedisType(StrEnum):
    """The Redis data type of a key (what ``TYPE key`` answers)."""

    STRING = "string"
    HASH = "hash"
    ZSET = "zset"
    SET = "set"
    STREAM = "stream"


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
