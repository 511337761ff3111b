"""Request parameters of the hot GET routes: one strict parser, and its OpenAPI description.

FastAPI's per-request parameter solving cost about as much as the rest of a recommendation
request, so the recommendation and similar-items routes take the raw ``Request`` and parse
their path id and query string here. One :class:`RequestSpec` per route (a path id and a
table of :class:`QueryParam`) drives both the parsing and the ``parameters`` that ``/docs``
shows (:meth:`RequestSpec.openapi`).

Semantics (those of the FastAPI declarations they replace, made stricter where noted):

- unknown query parameters are ignored; a repeated single-valued parameter keeps its last
  value; ``exclude`` may be comma-separated and/or repeated;
- ``k`` is an integer written with ASCII digits and an optional sign (no ``1.0``, ``1_000``
  or surrounding spaces), ``1 <= k <= max_k``, default ``default_k``;
- booleans accept ``true/false``, ``1/0``, ``yes/no``, ``on/off``, ``t/f``, ``y/n`` in any
  case (pydantic's set);
- every bad value is reported in ONE 422 ``invalid_parameter`` error whose message names each
  parameter (``path.customer_id: ...; query.k: ...``).

Values are percent-decoded as Starlette does (UTF-8 with replacement characters; ``+`` is a
space), so a malformed escape turns into an invalid id rather than a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_args
from urllib.parse import parse_qsl

from starlette.requests import Request

from recsys import booleans
from serving.errors import ApiError, join_messages
from serving.schemas import CATEGORY_PATTERN, ID_PATTERN, Channel
from serving.settings import Settings

_ID_RE = re.compile(ID_PATTERN)
_CATEGORY_RE = re.compile(CATEGORY_PATTERN)
_INT_RE = re.compile(r"[+-]?[0-9]+")
_CHANNELS: tuple[str, ...] = get_args(Channel)
ID_DESCRIPTION = "1-128 characters of letters, digits, . _ : -"
_SHOWN = 40  # longest bad value quoted back in a message

Q = TypeVar("Q")


class ParamError(ValueError):
    """One bad parameter value; the message says what was wrong and what was expected."""


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[: _SHOWN - 3] + "...")


def _bad_id(value: str) -> str:
    return f"{_shown(value)} is not a valid id ({ID_DESCRIPTION})"


def is_valid_id(value: str) -> bool:
    """Whether ``value`` is an external id: 1-128 of letters, digits and ``. _ : -``."""
    return _ID_RE.fullmatch(value) is not None


def _k_problem(k: int, settings: Settings) -> str | None:
    if 1 <= k <= settings.max_k:
        return None
    return f"k == {k}, must be between 1 and {settings.max_k}"


def _ids_problem(values: Sequence[str], settings: Settings) -> str | None:
    if len(values) > settings.max_ids:
        return f"{len(values)} ids, at most {settings.max_ids} allowed"
    for value in values:
        if not is_valid_id(value):
            return _bad_id(value)
    return None


def check_k(k: int | None, settings: Settings) -> int:
    """``k`` or the default; 422 unless ``1 <= k <= max_k``."""
    if k is None:
        return settings.default_k
    if problem := _k_problem(k, settings):
        raise ApiError(422, "invalid_parameter", problem)
    return k


def check_ids(values: Sequence[str], what: str, settings: Settings) -> list[str]:
    """Validate external ids (each must match ``ID_PATTERN``; at most ``max_ids``)."""
    if problem := _ids_problem(values, settings):
        raise ApiError(422, "invalid_parameter", f"{what}: {problem}")
    return list(values)


# -- value parsers: one raw string (and the settings) -> a value, or ParamError ------------
def parse_k(raw: str, settings: Settings) -> int:
    """An integer ``1 <= k <= max_k`` in ASCII digits with an optional sign."""
    try:
        if _INT_RE.fullmatch(raw) is None:
            raise ValueError(raw)
        k = int(raw)  # ValueError past Python's 4300-digit limit
    except ValueError:
        raise ParamError(f"{_shown(raw)} is not an integer") from None
    if problem := _k_problem(k, settings):
        raise ParamError(problem)
    return k


def parse_exclude(raw: str, settings: Settings) -> frozenset[str]:
    """Comma-separated ids (blank parts ignored), at most ``max_ids`` of them."""
    ids = [part for part in map(str.strip, raw.split(",")) if part]
    if problem := _ids_problem(ids, settings):
        raise ParamError(problem)
    return frozenset(ids)


def parse_category(raw: str, settings: Settings) -> str:
    """1-128 characters, no control characters."""
    if _CATEGORY_RE.fullmatch(raw) is None:
        raise ParamError(f"{_shown(raw)} must be 1-128 characters without control characters")
    return raw


def parse_channel(raw: str, settings: Settings) -> str:
    """One of the channels (``web``, ``email``)."""
    if raw not in _CHANNELS:
        raise ParamError(f"{_shown(raw)} must be one of {', '.join(_CHANNELS)}")
    return raw


def parse_bool(raw: str, settings: Settings) -> bool:
    """``true/false``, ``1/0``, ``yes/no``, ``on/off``, ``t/f``, ``y/n`` (any case)."""
    try:
        return booleans.parse_bool(raw)
    except ValueError:
        raise ParamError(f"{_shown(raw)} is not a boolean ({booleans.VOCABULARY})") from None


@dataclass(frozen=True, slots=True)
class QueryParam:
    """One query parameter: how to parse it, its default, and its OpenAPI schema.

    ``repeated`` parameters gather every occurrence (joined with commas, the list syntax
    they also accept); the others keep their last occurrence.
    """

    name: str
    description: str
    schema: dict[str, Any]
    parse: Callable[[str, Settings], Any]
    default: Callable[[Settings], Any]
    repeated: bool = False

    def openapi(self) -> dict[str, Any]:
        """This parameter as an OpenAPI parameter object."""
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "schema": {**self.schema, "description": self.description},
            "description": self.description,
        }


K = QueryParam(
    "k",
    "Number of items, 1..max_k (default: 10).",
    {"type": "integer", "minimum": 1},
    parse_k,
    lambda settings: settings.default_k,
)
EXCLUDE = QueryParam(
    "exclude",
    "Item ids that must not appear: comma-separated and/or repeated.",
    {"type": "array", "items": {"type": "string"}, "default": []},
    parse_exclude,
    lambda settings: frozenset(),
    repeated=True,
)
CATEGORY = QueryParam(
    "category",
    "Only items of this catalog category.",
    {"type": "string", "pattern": CATEGORY_PATTERN},
    parse_category,
    lambda settings: None,
)
CHANNEL = QueryParam(
    "channel",
    "Where the list is shown.",
    {"type": "string", "enum": list(_CHANNELS), "default": "web"},
    parse_channel,
    lambda settings: "web",
)
INCLUDE_PURCHASED = QueryParam(
    "include_purchased",
    "Merge the customer's buy-again list into the personal rung.",
    {"type": "boolean", "default": False},
    parse_bool,
    lambda settings: False,
)


@dataclass(frozen=True, slots=True)
class RecommendationQuery:
    """The parsed query of ``GET /v1/customers/{customer_id}/recommendations``."""

    k: int
    exclude: frozenset[str]
    category: str | None
    channel: Channel
    include_purchased: bool


@dataclass(frozen=True, slots=True)
class SimilarQuery:
    """The parsed query of ``GET /v1/items/{item_id}/similar``."""

    k: int


class RequestSpec(Generic[Q]):
    """A hot route's parameters: one path id, a table of query parameters, a result type.

    :meth:`parse` is what the route calls on every request; :meth:`openapi` is what the
    route declares (``openapi_extra``) so /docs shows the same parameters.
    """

    def __init__(
        self, path_id: str, params: Sequence[QueryParam], result: Callable[..., Q]
    ) -> None:
        self.path_id = path_id
        self.params = tuple(params)
        self.result = result
        self._by_name = {p.name: p for p in self.params}

    def parse_query(
        self, query_string: bytes | str, settings: Settings
    ) -> tuple[dict[str, Any], list[str]]:
        """(value of every parameter, error messages ``query.<name>: ...``).

        An absent parameter gets its default; a bad one gets an error message and no value.
        """
        raw: dict[str, str] = {}
        if query_string:
            if isinstance(query_string, bytes):
                query_string = query_string.decode("latin-1")
            by_name = self._by_name
            for name, value in parse_qsl(query_string, keep_blank_values=True):
                param = by_name.get(name)
                if param is None:
                    continue
                if param.repeated and name in raw:
                    raw[name] = f"{raw[name]},{value}"
                else:
                    raw[name] = value
        values: dict[str, Any] = {}
        errors: list[str] = []
        for param in self.params:
            given = raw.get(param.name)
            if given is None:
                values[param.name] = param.default(settings)
                continue
            try:
                values[param.name] = param.parse(given, settings)
            except ParamError as exc:
                errors.append(f"query.{param.name}: {exc}")
        return values, errors

    def parse(self, request: Request, settings: Settings) -> tuple[str, Q]:
        """The path id and parsed query of ``request``.

        Raises ApiError 422 (``invalid_parameter``) naming every bad parameter.
        """
        path_id: str = request.path_params[self.path_id]
        values, errors = self.parse_query(request.scope["query_string"], settings)
        if not is_valid_id(path_id):
            errors.insert(0, f"path.{self.path_id}: {_bad_id(path_id)}")
        if errors:
            raise ApiError(422, "invalid_parameter", join_messages(errors))
        return path_id, self.result(**values)

    def openapi(self) -> dict[str, Any]:
        """``openapi_extra`` documenting the path id and the query parameters."""
        path = {
            "name": self.path_id,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": ID_PATTERN, "description": ID_DESCRIPTION},
            "description": ID_DESCRIPTION,
        }
        return {"parameters": [path, *(p.openapi() for p in self.params)]}


RECOMMENDATIONS = RequestSpec(
    "customer_id", (K, EXCLUDE, CATEGORY, CHANNEL, INCLUDE_PURCHASED), RecommendationQuery
)
SIMILAR = RequestSpec("item_id", (K,), SimilarQuery)
