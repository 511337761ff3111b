"""``recommendation_id``: a unique answer id that also says what the answer was made of.

The id is ``{32 hex}~{model_version}~{rung}~{channel}~{experiment}~{arm}``: a random UUID
(RFC 9562 version 4, unique without coordination between processes) followed by the answer's
attribution, empty where it has none, e.g.
``3f1c...e9~20240501T1000~personal~web~spring-ranker~B``. The service writes it
(:func:`new_recommendation_id`), clients echo it verbatim in events, and the reports read the
attribution back from the id itself (:func:`parse_recommendation_id`): no answer log, no
extra write on the request path, and no trust in what a client says an answer was. The
position of an item follows from the impression that listed the answer's items (its
``item_ids`` order) or the event's own ``position``.

A bare ``{32 hex}`` id (written before attribution was added, or by other tools) is still
valid; it carries no attribution. Every part uses ``[A-Za-z0-9_.:-]``: ``~`` never occurs in
them, and the whole id is URL-safe.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Final

_PART: Final = r"[A-Za-z0-9_.:\-]{0,64}"
#: What ``POST /v1/events`` accepts as ``recommendation_id``.
PATTERN: Final = rf"^[0-9a-f]{{32}}(?:~{_PART}){{5}}$|^[0-9a-f]{{32}}$"
_PARSE: Final = re.compile(r"[0-9a-f]{32}" + rf"~({_PART})" * 5)
SEPARATOR: Final = "~"


@dataclass(frozen=True, slots=True)
class Attribution:
    """What an answer was made of (None where it says nothing)."""

    model_version: str | None
    rung: str | None
    channel: str | None
    experiment: str | None
    arm: str | None


def new_recommendation_id(
    model_version: str = "",
    rung: str = "",
    channel: str | None = None,
    experiment: str | None = None,
    arm: str | None = None,
) -> str:
    """A fresh id for an answer from ``model_version`` whose rung (answer ``source``) is
    ``rung``, shown on ``channel``, in ``experiment`` arm ``arm``; all parts optional (the
    bare UUID hex when none is given)."""
    rid = uuid.uuid4().hex
    if not (model_version or rung or channel or experiment or arm):
        return rid
    return SEPARATOR.join((rid, model_version, rung, channel or "", experiment or "", arm or ""))


def parse_recommendation_id(rid: object) -> Attribution | None:
    """The attribution an id carries; None for a bare or malformed id (or a non-string)."""
    if not isinstance(rid, str):
        return None
    match = _PARSE.fullmatch(rid)
    if match is None:
        return None
    return Attribution(*(part or None for part in match.groups()))
