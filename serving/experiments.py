"""Which version answers a request when an experiment runs: the unit's arm, else the active one.

The running experiments come with the active-version pointer (one pipelined round trip, see
:meth:`recsys.store.reader.StoreReader.active_and_experiments`) and are cached with it for
``version_cache_seconds``, so in steady state a request costs no extra read: picking the arm
is one BLAKE2b hash of the unit id (:func:`recsys.experiments.assign`). A customer request is
split by the experiment whose unit is ``customer``, a session request (with a ``session_id``)
by the one whose unit is ``session``; requests without that id, and similar-items requests,
are answered by the active version. A stored value that cannot be read as experiments is
logged and ignored (the active version answers): an experiment never breaks serving.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from recsys.errors import StoreError
from recsys.experiments import Arm, Experiment, assign
from recsys.experiments.registry import decode_running

logger = logging.getLogger("serving")


@dataclass(frozen=True, slots=True)
class Assignment:
    """The experiment and arm a request belongs to, and the version that arm serves."""

    experiment: str
    arm: str
    version: str


class RunningExperiments:
    """The running experiments as last read, indexed by unit kind (one per kind at most)."""

    __slots__ = ("_by_unit", "_missing", "_raw")

    def __init__(self) -> None:
        self._raw: bytes | None = None
        self._by_unit: dict[str, Experiment] = {}
        self._missing: frozenset[str] = frozenset()

    @property
    def versions(self) -> set[str]:
        """Every version a running experiment serves."""
        return {v for e in self._by_unit.values() for v in e.versions}

    def keep(self, present: set[str], checked: set[str]) -> None:
        """Record which of the ``checked`` arm versions still exist: the units of an arm whose
        version vanished (deleted behind the protection's back) get the active version, with
        one log line when that starts."""
        missing = frozenset(checked - present)
        if missing - self._missing:
            logger.error(
                "experiment arm version(s) %s no longer exist: their units get the active "
                "version (stop the experiment)",
                ", ".join(sorted(missing - self._missing)),
            )
        self._missing = missing

    def update(self, raw: bytes | None) -> bool:
        """Take the stored value (None: none running); True when it changed. A corrupt value
        is logged and read as no experiment."""
        if raw == self._raw:
            return False
        self._raw = raw
        try:
            running = decode_running(raw)
        except StoreError as exc:
            logger.error("ignoring the running experiments: %s", exc)
            running = {}
        self._by_unit = {e.unit: e for e in sorted(running.values(), key=lambda e: e.name)}
        if running:
            names = ", ".join(f"{e.name} ({e.unit})" for e in running.values())
            logger.info("running experiments: %s", names)
        return True

    def pick(self, customer: str | None = None, session: str | None = None) -> Assignment | None:
        """The assignment of a request by ``customer`` or in ``session``, None when no
        running experiment splits its unit."""
        if not self._by_unit:
            return None
        for unit, unit_id in (("customer", customer), ("session", session)):
            experiment = self._by_unit.get(unit) if unit_id is not None else None
            if experiment is not None and unit_id is not None:
                arm: Arm = assign(experiment, unit_id)
                if arm.version in self._missing:
                    return None
                return Assignment(experiment.name, arm.arm, arm.version)
        return None
