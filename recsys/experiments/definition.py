"""What an A/B experiment between published versions is: a name, a unit, weighted arms.

``recsys experiments start spring --versions v1:50,v2:50`` makes an :class:`Experiment`
with arms ``A`` (v1, 50%) and ``B`` (v2, 50%): the first arm is the control. An arm may be
named (``control=v1:50,new=v2:50``). Weights are positive integers; when they do not sum to
100 they are read as proportions (``1,1`` is 50/50) and normalised onto the 10,000 buckets of
:mod:`recsys.experiments.assignment`. The record round-trips through JSON (the store keeps it,
see ``experiment`` in ``docs/storage-format.md``).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from recsys.errors import ConfigError
from recsys.store.keys import check_version

Unit = Literal["customer", "session"]
UNITS: Final[tuple[str, ...]] = ("customer", "session")
#: Assignment buckets: weights are resolved to 0.01 percentage points.
BUCKETS: Final = 10_000
MAX_ARMS: Final = 26
_NAME_RE: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_ARM_RE: Final = re.compile(r"[A-Za-z0-9_\-]{1,32}")


def check_name(name: str) -> str:
    """``name`` if it is a slug (1-64 of ``a-z 0-9 -``, no leading/trailing dash), else
    ConfigError."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ConfigError(
            f"invalid experiment name {name!r}: expected a slug of 1-64 lowercase letters, "
            "digits and dashes (e.g. spring-ranker)"
        )
    return name


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm: its label (``A``, ``B``... or a given name), the version it serves and its
    share of units (``weight`` as given; ``buckets`` of :data:`BUCKETS` after normalising)."""

    arm: str
    version: str
    weight: int
    buckets: int

    def to_json(self) -> dict[str, Any]:
        return {"arm": self.arm, "version": self.version, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class Experiment:
    """A named split of units between versions. ``arms[0]`` is the control.

    ``bounds[i]`` is the exclusive upper bucket of arm ``i`` (cumulative buckets, the last is
    :data:`BUCKETS`). ``started_at``/``stopped_at`` are unix seconds; ``kept_protected`` the
    versions that were protected by someone else when it started (stopping leaves them so).
    """

    name: str
    unit: Unit
    arms: tuple[Arm, ...]
    status: Literal["running", "stopped"] = "running"
    started_at: float | None = None
    stopped_at: float | None = None
    kept_protected: tuple[str, ...] = ()
    bounds: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        total, bounds = 0, []
        for arm in self.arms:
            total += arm.buckets
            bounds.append(total)
        object.__setattr__(self, "bounds", tuple(bounds))

    @property
    def versions(self) -> tuple[str, ...]:
        """The versions the arms serve (each once, in arm order)."""
        return tuple(dict.fromkeys(a.version for a in self.arms))

    @property
    def shares(self) -> dict[str, float]:
        """Arm -> configured share of units (0..1)."""
        return {a.arm: a.buckets / BUCKETS for a in self.arms}

    def arm(self, label: str) -> Arm | None:
        return next((a for a in self.arms if a.arm == label), None)

    def with_status(self, status: Literal["running", "stopped"], **times: Any) -> Experiment:
        return replace(self, status=status, **times)

    def to_json(self) -> dict[str, Any]:
        """The record as stored (JSON-ready)."""
        return {
            "name": self.name,
            "unit": self.unit,
            "arms": [a.to_json() for a in self.arms],
            "status": self.status,
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "kept_protected": list(self.kept_protected),
        }

    @classmethod
    def from_json(cls, data: Any) -> Experiment:
        """The record :meth:`to_json` wrote; ConfigError when it is not one."""
        try:
            arms = [(a["arm"], a["version"], int(a["weight"])) for a in data["arms"]]
            return make_experiment(
                data["name"],
                arms,
                unit=data.get("unit", "customer"),
                status=data.get("status", "running"),
                started_at=data.get("started_at"),
                stopped_at=data.get("stopped_at"),
                kept_protected=tuple(data.get("kept_protected") or ()),
            )
        except KeyError as exc:
            raise ConfigError(f"not an experiment record: no field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"not an experiment record: {exc}") from None


def _buckets(weights: list[int]) -> list[int]:
    """Weights as bucket counts summing to :data:`BUCKETS` (largest remainder; every arm
    keeps at least one bucket)."""
    total = sum(weights)
    exact = [w * BUCKETS / total for w in weights]
    counts = [max(1, int(x)) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    i = 0
    while sum(counts) != BUCKETS:
        j = order[i % len(order)]
        step = 1 if sum(counts) < BUCKETS else -1
        if counts[j] + step >= 1:
            counts[j] += step
        i += 1
    return counts


def make_experiment(
    name: str,
    arms: list[tuple[str, str, int]],
    *,
    unit: str = "customer",
    **record: Any,
) -> Experiment:
    """An experiment from ``(arm, version, weight)`` triples, validated.

    ConfigError for a bad name or unit, fewer than 2 or more than 26 arms, a repeated arm
    label, a bad version id, or a weight that is not a positive integer.
    """
    check_name(name)
    if unit not in UNITS:
        raise ConfigError(f"--unit {unit!r}: choose one of {', '.join(UNITS)}")
    if not 2 <= len(arms) <= MAX_ARMS:
        raise ConfigError(f"an experiment needs 2 to {MAX_ARMS} arms, got {len(arms)}")
    labels = [label for label, _, _ in arms]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"arm names must differ, got {labels}")
    for label, version, weight in arms:
        if not _ARM_RE.fullmatch(label):
            raise ConfigError(f"invalid arm name {label!r}: 1-32 of letters, digits, _ and -")
        check_version(version)
        if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
            raise ConfigError(f"arm {label}: weight {weight!r} must be a positive integer")
    buckets = _buckets([w for _, _, w in arms])
    built = tuple(
        Arm(label, version, weight, n)
        for (label, version, weight), n in zip(arms, buckets, strict=True)
    )
    return Experiment(name, unit, built, **record)  # type: ignore[arg-type]


def parse_arms(spec: str) -> list[tuple[str, str, int]]:
    """``"v1:50,v2:50"`` (arms ``A``, ``B``...) or ``"control=v1:50,new=v2:50"`` as
    ``(arm, version, weight)`` triples; ConfigError naming the bad part."""
    out = []
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    for n, part in enumerate(parts):
        label, _, rest = part.rpartition("=")
        version, sep, weight = rest.rpartition(":")
        if not sep or not version or not weight.strip().isdigit():
            raise ConfigError(
                f"--versions: {part!r} is not VERSION:WEIGHT (e.g. v1:50,v2:50; weights are "
                "positive integers)"
            )
        default = string.ascii_uppercase[n] if n < MAX_ARMS else str(n)
        out.append((label.strip() or default, version.strip(), int(weight)))
    return out
