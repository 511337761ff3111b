"""Deterministic assignment of units (customers or sessions) to experiment arms.

A unit's bucket is the BLAKE2b hash (RFC 7693; 8-byte digest, Python's :mod:`hashlib`) of the
UTF-8 bytes ``"{experiment}\\x00{unit_id}"``, as an unsigned big-endian integer, modulo
:data:`~recsys.experiments.definition.BUCKETS` (10,000). The arm is the first whose cumulative
bucket bound exceeds it. Every process, every restart and the offline report agree, without
state; a unit keeps its arm for the experiment's life, and the same unit lands independently
in two experiments with different names (the name salts the hash), as in Kohavi, Tang & Xu,
*Trustworthy Online Controlled Experiments* (2020), ch. 14. Python's ``hash()`` is never used:
it is salted per process.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right

from recsys.experiments.definition import BUCKETS, Arm, Experiment


def bucket(experiment: str, unit_id: str) -> int:
    """The unit's bucket in ``experiment``: an int in ``[0, 10000)``."""
    data = experiment.encode() + b"\x00" + unit_id.encode()
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def assign(experiment: Experiment, unit_id: str) -> Arm:
    """The arm ``unit_id`` belongs to in ``experiment`` (same answer everywhere, always)."""
    return experiment.arms[bisect_right(experiment.bounds, bucket(experiment.name, unit_id))]
