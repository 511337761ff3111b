"""Answers as JSON responses: ids, scores and catalog facts from the answering version.

Handlers return these bytes directly (``orjson``); the pydantic models in
:mod:`serving.schemas` document the same shapes in OpenAPI, and the tests validate every
answer against them. Building the bytes here skips a validation and serialisation pass per
request; items are joined from JSON fragments made once per version (:class:`ItemEncoder`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from recsys.answers.ranking import Ranked
from recsys.events.recommendation_id import new_recommendation_id
from recsys.store.catalog_view import CatalogView
from serving.metrics import SCOPE_VERSION_KEY

if TYPE_CHECKING:
    from serving.service import Answer


class JSONBytes(Response):
    """A response whose body is already-encoded JSON."""

    media_type = "application/json"


def json_response(request: Request, version: str, body: dict[str, Any]) -> JSONBytes:
    """``body`` as JSON, and ``version`` named for the ``X-Model-Version`` header."""
    request.scope[SCOPE_VERSION_KEY] = version
    return JSONBytes(orjson.dumps(body))


def _short(score: float) -> float:
    """A float32 score as its shortest decimal (0.9, not 0.8999999761581421)."""
    return float(f"{score:.7g}")


_SCORE_JSON: dict[float, bytes] = {}
_SCORE_CACHE_SIZE = 1 << 16  # float16 scores take at most 65536 values


def score_json(score: float) -> bytes:
    """``_short(score)`` as JSON, memoised (scores repeat: most lists are float16)."""
    out = _SCORE_JSON.get(score)
    if out is None:
        if len(_SCORE_JSON) >= _SCORE_CACHE_SIZE:
            _SCORE_JSON.clear()
        out = _SCORE_JSON[score] = orjson.dumps(_short(score))
    return out


_SOURCE_JSON = {
    source: b',"source":' + orjson.dumps(source)
    for source in ("personal", "segment", "similar", "popular", "realtime")
}


class ItemEncoder:
    """One version's items as ready-made JSON fragments, so an answer is a byte join.

    Item ``{"item_id": ..., "score": ..., "source": ..., "name": ..., "category": ...,
    "price": ...}`` (the catalog facts only when known) is
    ``head[i] + score + source + tail[i]``; built once per version.
    """

    def __init__(self, view: CatalogView) -> None:
        self.index = view.index
        self.head = [b'{"item_id":' + orjson.dumps(i) + b',"score":' for i in view.ids]
        self.tail = []
        for name, category, price in zip(view.name, view.category, view.price, strict=True):
            facts = {"name": name, "category": category, "price": price}
            known = {key: value for key, value in facts.items() if value is not None}
            self.tail.append(b"," + orjson.dumps(known)[1:] if known else b"}")

    def items(self, items: Iterable[Ranked]) -> bytes:
        """The JSON array of ``items`` (ids unknown to the catalog get no facts)."""
        index, head, tail, sources = self.index, self.head, self.tail, _SOURCE_JSON
        parts = []
        for item_id, score, source in items:
            i = index.get(item_id)
            if i is None:
                unknown = b'{"item_id":' + orjson.dumps(item_id) + b',"score":'
                parts.append(unknown + score_json(score) + sources[source] + b"}")
            else:
                parts.append(head[i] + score_json(score) + sources[source] + tail[i])
        return b"[" + b",".join(parts) + b"]"


def answer_response(
    request: Request, answer: Answer, *, channel: str | None = None, **head: str
) -> JSONBytes:
    """``{**head, model_version, experiment, arm, source, recommendation_id, items}`` for a
    recommendation-like answer shown on ``channel``. ``experiment`` and ``arm`` are null
    unless a running experiment's arm answered. ``recommendation_id`` is new for every answer
    and names its version, rung, channel, experiment and arm
    (:func:`recsys.events.recommendation_id.new_recommendation_id`): events that echo it are
    attributed to them (positions follow from the items' order)."""
    request.scope[SCOPE_VERSION_KEY] = answer.version
    rid = new_recommendation_id(
        answer.version, answer.source, channel, answer.experiment, answer.arm
    )
    start = orjson.dumps(
        {
            **head,
            "model_version": answer.version,
            "experiment": answer.experiment,
            "arm": answer.arm,
            "source": answer.source,
            "recommendation_id": rid,
        }
    )
    items = answer.snapshot.encoder.items(answer.items)
    return JSONBytes(b"".join((start[:-1], b',"items":', items, b"}")))


#: Rows read per round trip while a list streams as CSV.
CSV_PAGE = 1000


def csv_line(values: list[Any]) -> bytes:
    """One CSV record (RFC 4180 quoting, ``\n`` line end) as UTF-8 bytes."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue().encode()
