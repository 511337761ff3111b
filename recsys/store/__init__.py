"""The versioned artifact store in Redis: publish bundles, switch versions, read on requests.

Format: ``docs/storage-format.md``. Jobs use the synchronous functions
(``recsys.store.publish.publish``, :func:`list_versions`, :func:`rollback`, ...); the service
uses :class:`StoreReader`. (``publish`` is not re-exported here: it would shadow the
``recsys.store.publish`` module.)
"""

from recsys.store.bundle import Bundle, write_bundle_tables
from recsys.store.codec import Catalog, RankedList, decode_list, encode_list, encode_lists
from recsys.store.connection import (
    connect,
    connect_async,
    resolve_redis_url,
    start_embedded_server,
    stop_embedded_server,
)
from recsys.store.keys import DEFAULT_NAMESPACE, GLOBAL_SEGMENT
from recsys.store.publish import PublishResult
from recsys.store.reader import CustomerRecord, StoreReader
from recsys.store.versions import (
    VersionInfo,
    active_version,
    delete_version,
    list_versions,
    protect_version,
    protected_versions,
    prune_versions,
    rollback,
    unprotect_version,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "GLOBAL_SEGMENT",
    "Bundle",
    "Catalog",
    "CustomerRecord",
    "PublishResult",
    "RankedList",
    "StoreReader",
    "VersionInfo",
    "active_version",
    "connect",
    "connect_async",
    "decode_list",
    "delete_version",
    "encode_list",
    "encode_lists",
    "list_versions",
    "protect_version",
    "protected_versions",
    "prune_versions",
    "resolve_redis_url",
    "rollback",
    "start_embedded_server",
    "stop_embedded_server",
    "unprotect_version",
    "write_bundle_tables",
]
