"""Events: the schema of what customers did with the answers, its validation, attribution ids
and the mapping to the ingest format (see :mod:`recsys.events.schema`,
:mod:`recsys.events.ingest`)."""

from recsys.events.config import EventsConfig
from recsys.events.recommendation_id import new_recommendation_id, parse_recommendation_id
from recsys.events.schema import (
    EVENT_TYPES,
    ITEM_EVENTS,
    MAX_BATCH,
    OFFER_EVENTS,
    Checked,
    Event,
    Rejected,
    validate_batch,
    validate_event,
)

__all__ = [
    "EVENT_TYPES",
    "ITEM_EVENTS",
    "MAX_BATCH",
    "OFFER_EVENTS",
    "Checked",
    "Event",
    "EventsConfig",
    "Rejected",
    "new_recommendation_id",
    "parse_recommendation_id",
    "validate_batch",
    "validate_event",
]
