"""The raw HSET writer for Redis Cluster: each primary's share of the keys on its own socket.

redis-py's cluster pipeline routes every queued command in Python (slot, node, key
extraction): 56-72 us per key in ``benchmarks/bench_cluster.py``, against 9-16 us for the same
pipeline on one server and 4-6 us for :class:`~recsys.store.raw_writer.RawHashWriter`; this
writer took 8-13 us per key on a local 3-node cluster.
This writer computes each key's slot (CRC16, ``redis.crc.key_slot``), looks up the primary
owning it in the client's slot map (read once), and streams that primary's HSETs with a
:class:`RawHashWriter` on a connection opened with the node's settings. Every command is still
one single-key HSET sent to the node owning the key; if a slot moves during a publish the node
answers MOVED, the writer raises StoreError and the publish discards the partial version (run
it again once resharding is done).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.cluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from recsys.store.prepare import Values
from recsys.store.raw_writer import RawHashWriter, Unsupported


class ClusterHashWriter:
    """Packed HSETs per primary of a ``redis.cluster.RedisCluster``.

    Raises :class:`~recsys.store.raw_writer.Unsupported` when a primary cannot be reached with
    a plain socket (the caller falls back to pipelines).
    """

    name = "raw-cluster"

    def __init__(self, client: redis.cluster.RedisCluster) -> None:
        nodes = client.nodes_manager
        primaries: dict[str, int] = {}
        self._slot_owner: list[int] = []
        try:
            for slot in range(REDIS_CLUSTER_HASH_SLOTS):
                name = nodes.get_node_from_slot(slot).name
                self._slot_owner.append(primaries.setdefault(name, len(primaries)))
        except redis.RedisError as exc:  # SlotNotCoveredError: the cluster is not whole
            raise Unsupported(str(exc)) from None
        self._writers: list[RawHashWriter] = []
        try:
            for name in primaries:
                node = client.get_node(node_name=name)
                if node is None or node.redis_connection is None:
                    raise Unsupported(f"no connection to cluster node {name}")
                self._writers.append(RawHashWriter(node.redis_connection))
        except Unsupported:
            self.abort()
            raise

    def write(
        self, prefix: bytes, ids: Sequence[bytes], columns: list[tuple[bytes, Values]]
    ) -> None:
        """Send ``HSET prefix+id ...`` for each id to the primary owning the key's slot."""
        owner = self._slot_owner
        shares: list[list[int]] = [[] for _ in self._writers]
        for i, entity in enumerate(ids):
            shares[owner[key_slot(prefix + entity)]].append(i)
        for writer, rows in zip(self._writers, shares, strict=True):
            if rows:
                writer.write(
                    prefix,
                    [ids[i] for i in rows],
                    [(name, [values[i] for i in rows]) for name, values in columns],
                )

    def finish(self) -> None:
        """Wait for every node's replies; StoreError if any node refused a command."""
        for writer in self._writers:
            writer.finish()

    def abort(self) -> None:
        for writer in self._writers:
            writer.abort()
