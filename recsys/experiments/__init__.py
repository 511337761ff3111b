"""A/B experiments between published versions (issue #11).

- :mod:`recsys.experiments.definition`: an :class:`Experiment` (name, unit, weighted arms),
  validated, as stored.
- :mod:`recsys.experiments.assignment`: the deterministic unit -> arm hash.
- :mod:`recsys.experiments.registry`: start, stop and list experiments in Redis.

The service (``serving/experiments.py``) picks the arm's version per request; answers carry
``experiment`` and ``arm``, and their ``recommendation_id`` names both
(:mod:`recsys.events.recommendation_id`), so events are attributed to the arm.
"""

from recsys.experiments.assignment import assign, bucket
from recsys.experiments.definition import (
    BUCKETS,
    Arm,
    Experiment,
    check_name,
    make_experiment,
    parse_arms,
)

__all__ = [
    "BUCKETS",
    "Arm",
    "Experiment",
    "assign",
    "bucket",
    "check_name",
    "make_experiment",
    "parse_arms",
]
