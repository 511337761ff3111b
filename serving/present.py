"""Answers as JSON responses: ids, scores and catalog facts from the answering version.

Handlers return these bytes directly (``orjson``); the pydantic models in
:mod:`serving.schemas` document the same shapes in OpenAPI, and the tests validate every
answer against them. Building the dicts here skips a validation and serialisation pass per
request.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from serving.metrics import SCOPE_VERSION_KEY
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


def item_dicts(answer: Answer) -> list[dict[str, Any]]:
    """The answer's items with name, category and price (when known) from its catalog."""
    view = answer.snapshot.view
    index, names, categories, prices = view.index, view.name, view.category, view.price
    out = []
    for item_id, score in answer.items:
        item: dict[str, Any] = {"item_id": item_id, "score": _short(score)}
        i = index.get(item_id)
        if i is not None:
            if (name := names[i]) is not None:
                item["name"] = name
            if (category := categories[i]) is not None:
                item["category"] = category
            if (price := prices[i]) is not None:
                item["price"] = price
        out.append(item)
    return out


def answer_response(request: Request, answer: Answer, **head: str) -> JSONBytes:
    """``{**head, model_version, source, items}`` for a recommendation-like answer."""
    body = {
        **head,
        "model_version": answer.version,
        "source": answer.source,
        "items": item_dicts(answer),
    }
    return json_response(request, answer.version, body)
