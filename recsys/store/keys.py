"""Redis key names: pure functions, one place, exact bytes pinned by golden tests.

What each key holds (type, fields, value formats, TTL) is declared in
:mod:`recsys.store.families`; this module only spells the names.

Layout (see ``docs/storage-format.md``)::

    {ns}:active                    STRING  id of the active version (the pointer)
    {ns}:versions                  ZSET    complete versions -> publish time (unix seconds)
    {ns}:pending                   SET     versions whose publish started and has not finished
    {ns}:lock                      STRING  publish lock (token, with a TTL)
    {ns}:protected                 SET     versions pruning must keep (e.g. named by experiments)
    {ns}:v:{version}:manifest      STRING  the bundle's manifest.json
    {ns}:v:{version}:info          STRING  JSON publish statistics
    {ns}:v:{version}:catalog       STRING  JSON columnar catalog (item order = list indices)
    {ns}:v:{version}:popular       HASH    segment -> ranked list
    {ns}:v:{version}:c:{customer}  HASH    field -> value (``rec``, ``again``, ``seg``, ``all``)
    {ns}:v:{version}:i:{item}      HASH    field -> ranked list (``sim``)
    {ns}:v:{version}:sp:{page}     STRING  a page of a segment's member list (JSON ids)
    {ns}:v:{version}:offers        STRING  JSON offer catalog (with budget left, fallbacks)
    {ns}:v:{version}:oa:{page}     STRING  a page of an offer's audience (JSON rows)
    {ns}:v:{version}:ia:{page}     STRING  a page of an item's audience (JSON rows)
    {ns}:experiments               ZSET    every experiment started -> start time
    {ns}:experiment:{name}         STRING  JSON record of one experiment
    {ns}:experiments:running       STRING  JSON records of the running experiments
    {ns}:rt:c:{customer}           HASH    live state of a customer (recent items, bought; TTL)
    {ns}:rt:s:{session}            HASH    live state of a session (the same fields; TTL)
    {ns}:offers:redeemed           HASH    live redemption counters per offer
    {ns}:offers:suppressed:{customer} STRING  a redeemer's contact-policy suppression (TTL)

No key carries a hash tag and no code path sends a multi-key command, so every key may live in
any Redis Cluster slot. Namespaces and versions are restricted to a safe alphabet (no braces,
no glob characters, no whitespace); customer and item ids are used as UTF-8 bytes, verbatim.
"""

from __future__ import annotations

import re
from typing import Final

from recsys.errors import ConfigError

DEFAULT_NAMESPACE: Final = "recsys"

# Per-customer HASH fields.
FIELD_RECOMMENDATIONS: Final = b"rec"
FIELD_BUY_AGAIN: Final = b"again"
#: The ``include_purchased=true`` answer (the model's all-purchases ranking), as evaluated.
FIELD_ALL_PURCHASES: Final = b"all"
FIELD_SEGMENT: Final = b"seg"
#: The customer's profile (RFM, cluster, churn, CLV) as a JSON object.
FIELD_PROFILE: Final = b"profile"
#: The customer's allocated offers per channel (JSON, issue #10).
FIELD_OFFERS: Final = b"offers"
# Per-item HASH fields.
FIELD_SIMILAR: Final = b"sim"
# Segment name of the global popular list (a field of the ``popular`` HASH).
GLOBAL_SEGMENT: Final = "_all"

_NAMESPACE_RE: Final = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_VERSION_RE: Final = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_GLOB_SPECIAL: Final = re.compile(rb"([*?\[\]\\])")


def check_namespace(namespace: str) -> str:
    """Return ``namespace`` if it is usable as a key prefix, else raise ConfigError."""
    if not isinstance(namespace, str) or not _NAMESPACE_RE.fullmatch(namespace):
        raise ConfigError(
            f"invalid Redis namespace {namespace!r}: expected 1-64 characters from "
            "letters, digits and _ . - :"
        )
    return namespace


def check_version(version: str) -> str:
    """Return ``version`` if it is a valid version id, else raise ConfigError."""
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        raise ConfigError(
            f"invalid version id {version!r}: expected 1-64 characters from letters, digits "
            "and _ . -"
        )
    return version


def _ns(namespace: str) -> bytes:
    return check_namespace(namespace).encode()


def active_key(namespace: str) -> bytes:
    """The pointer naming the active version."""
    return _ns(namespace) + b":active"


def versions_key(namespace: str) -> bytes:
    """ZSET of complete versions scored by publish time."""
    return _ns(namespace) + b":versions"


def pending_key(namespace: str) -> bytes:
    """SET of versions being written (or abandoned mid-write)."""
    return _ns(namespace) + b":pending"


def lock_key(namespace: str) -> bytes:
    """The publish lock: one publisher per namespace at a time."""
    return _ns(namespace) + b":lock"


def protected_key(namespace: str) -> bytes:
    """SET of versions that pruning must keep (e.g. versions a running experiment names)."""
    return _ns(namespace) + b":protected"


def version_prefix(namespace: str, version: str) -> bytes:
    """Prefix shared by every key of one version."""
    return _ns(namespace) + b":v:" + check_version(version).encode() + b":"


def manifest_key(namespace: str, version: str) -> bytes:
    return version_prefix(namespace, version) + b"manifest"


def info_key(namespace: str, version: str) -> bytes:
    return version_prefix(namespace, version) + b"info"


def catalog_key(namespace: str, version: str) -> bytes:
    return version_prefix(namespace, version) + b"catalog"


def popular_key(namespace: str, version: str) -> bytes:
    return version_prefix(namespace, version) + b"popular"


def customer_prefix(namespace: str, version: str) -> bytes:
    """Prefix of the per-customer keys; the key is this prefix + UTF-8 customer id."""
    return version_prefix(namespace, version) + b"c:"


def item_prefix(namespace: str, version: str) -> bytes:
    """Prefix of the per-item keys; the key is this prefix + UTF-8 item id."""
    return version_prefix(namespace, version) + b"i:"


def segment_page_prefix(namespace: str, version: str) -> bytes:
    """Prefix of the segment member-list pages; the key is this prefix + the page id."""
    return version_prefix(namespace, version) + b"sp:"


def segment_page_key(namespace: str, version: str, page_id: str) -> bytes:
    """One page of a segment's member list (page id ``{segment}|{sort}|{page}``)."""
    return segment_page_prefix(namespace, version) + page_id.encode()


def customer_key(namespace: str, version: str, customer_id: str) -> bytes:
    return customer_prefix(namespace, version) + str(customer_id).encode()


def item_key(namespace: str, version: str, item_id: str) -> bytes:
    return item_prefix(namespace, version) + str(item_id).encode()


def glob_escape(raw: bytes) -> bytes:
    """Escape the glob characters of a SCAN MATCH pattern (``* ? [ ] \\``)."""
    return _GLOB_SPECIAL.sub(rb"\\\1", raw)


def version_pattern(namespace: str, version: str) -> bytes:
    """SCAN MATCH pattern for every key of one version (maintenance only, never on requests)."""
    return glob_escape(version_prefix(namespace, version)) + b"*"


def namespace_pattern(namespace: str) -> bytes:
    """SCAN MATCH pattern for every key of a namespace (maintenance and test cleanup)."""
    return glob_escape(_ns(namespace)) + b":*"


# -- offers (issue #10) ------------------------------------------------------------------------


def offer_catalog_key(namespace: str, version: str) -> bytes:
    """The version's offer catalog (JSON)."""
    return version_prefix(namespace, version) + b"offers"


def offer_audience_prefix(namespace: str, version: str) -> bytes:
    """Prefix of the offer audience pages; the key is this prefix + the page id."""
    return version_prefix(namespace, version) + b"oa:"


def offer_audience_key(namespace: str, version: str, page_id: str) -> bytes:
    """One page of an offer's audience (page id ``{offer_id}|value|{page}``)."""
    return offer_audience_prefix(namespace, version) + page_id.encode()


def item_audience_prefix(namespace: str, version: str) -> bytes:
    """Prefix of the item audience pages; the key is this prefix + the page id."""
    return version_prefix(namespace, version) + b"ia:"


def item_audience_key(namespace: str, version: str, page_id: str) -> bytes:
    """One page of an item's audience (page id ``{item_id}|top|{page}``)."""
    return item_audience_prefix(namespace, version) + page_id.encode()


# Events (issue #11): the event stream, its consumer group, idempotency keys, export progress.
#: The consumer group ``recsys events export`` reads the stream with.
EVENTS_GROUP: Final = "export"
#: The field of a stream entry holding the event (JSON).
EVENT_ENTRY_FIELD: Final = b"e"


def events_key(namespace: str) -> bytes:
    """STREAM of accepted events, oldest first (consumed by the ``export`` group)."""
    return _ns(namespace) + b":events"


def event_seen_key(namespace: str, event_id: str) -> bytes:
    """Idempotency key of one event id (``SET NX EX``): present while the id is remembered."""
    return _ns(namespace) + b":events:seen:" + str(event_id).encode()


def events_export_key(namespace: str) -> bytes:
    """HASH of the export's progress (events written, last stream id, time)."""
    return _ns(namespace) + b":events:export"


# Experiments (issue #11): A/B tests between published versions; not per version.


def experiments_key(namespace: str) -> bytes:
    """ZSET of every experiment ever started (running or stopped) -> start time."""
    return _ns(namespace) + b":experiments"


def running_experiments_key(namespace: str) -> bytes:
    """STRING: JSON object of the running experiments' definitions (read with the pointer)."""
    return _ns(namespace) + b":experiments:running"


def experiment_key(namespace: str, name: str) -> bytes:
    """STRING: JSON record of one experiment (definition, status, start and stop times)."""
    return _ns(namespace) + b":experiment:" + str(name).encode()


# Live state (issue #11): not per version, it outlives publishes (see recsys.store.realtime).
def realtime_customer_key(namespace: str, customer_id: str) -> bytes:
    """HASH of one customer's live state (recent items, items bought) since their events."""
    return _ns(namespace) + b":rt:c:" + str(customer_id).encode()


def realtime_session_key(namespace: str, session_id: str) -> bytes:
    """HASH of one session's live state (the same fields as a customer's)."""
    return _ns(namespace) + b":rt:s:" + str(session_id).encode()


def offer_redemptions_key(namespace: str) -> bytes:
    """HASH of live redemption counters per offer (``n:``, ``u:``, ``v:`` + offer id)."""
    return _ns(namespace) + b":offers:redeemed"


def offer_suppressed_key(namespace: str, customer_id: str) -> bytes:
    """STRING present while a customer who redeemed an offer is suppressed (contact policy)."""
    return _ns(namespace) + b":offers:suppressed:" + str(customer_id).encode()
