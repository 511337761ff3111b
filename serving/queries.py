"""Request models built from the settings, so the OpenAPI document states the real bounds,
and the dependency that reads a query-parameter model.

``k``'s maximum and default and the most ids a request may name are run-time settings; the
query-parameter models (FastAPI's ``Annotated[Model, Query()]``) and the session body model
are therefore made per app by :func:`request_models`, and ``/docs`` shows exactly what the
service accepts. Every bad value is a 422 naming the parameter (``query.k: ...``).

:class:`QueryModel` is a dependency that validates a query-parameter model from the request's
query string with pydantic, and the ``parameters`` the route declares for OpenAPI (the same
ones FastAPI derives for ``Annotated[Model, Query()]``). FastAPI's own query-model path
analyses every field's annotation again on each request: measured in process
(callgrind, benchmarks/bench_request_path.py), a recommendation request cost 1.17M
instructions with it and 0.92M with this dependency, the same model and the same errors.

``exclude`` is a repeated parameter (``?exclude=a&exclude=b``), each value one id taken as it
is: ids may contain commas, so a comma never splits a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    create_model,
)
from starlette.requests import Request

from serving.schemas import CATEGORY_PATTERN, Channel, ExternalId
from serving.settings import Settings

Category = Annotated[
    str,
    StringConstraints(pattern=CATEGORY_PATTERN, min_length=1, max_length=128),
    Field(description="Only items of this catalog category (422 for a category not in it)."),
]


def _json_integer(value: object) -> object:
    """JSON Schema's integer: a number with no fractional part (``3`` or ``3.0``), never a
    string or a boolean (refused by the strict ``int`` after this)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


#: A count in a JSON body: what JSON Schema calls an integer, and nothing else.
JsonInteger = Annotated[StrictInt, BeforeValidator(_json_integer)]

_QUERY = ConfigDict(extra="ignore", frozen=True)  # unknown parameters (utm_*...) are ignored
_BODY = ConfigDict(extra="forbid", frozen=True)


class RecommendationQuery(BaseModel):
    """The query of ``GET /v1/customers/{customer_id}/recommendations`` (typing only: the
    route's model is made by :func:`request_models` with the settings' bounds)."""

    model_config = _QUERY
    k: int
    exclude: list[str]
    category: str | None
    channel: Channel
    include_purchased: bool


class SimilarQuery(BaseModel):
    """The query of ``GET /v1/items/{item_id}/similar`` (typing only, as above)."""

    model_config = _QUERY
    k: int
    exclude: list[str]
    category: str | None


class SessionIn(BaseModel):
    """The body of ``POST /v1/recommendations/session`` (typing only, as above)."""

    model_config = _BODY
    item_ids: list[str]
    k: int
    session_id: str | None
    exclude: list[str]


@dataclass(frozen=True)
class RequestModels:
    """The request models of one app, with the bounds of its settings."""

    recommendations: type[RecommendationQuery]
    similar: type[SimilarQuery]
    session: type[SessionIn]


def request_models(settings: Settings) -> RequestModels:
    """Query and body models whose bounds are ``settings``' ``max_k``, ``default_k`` and
    ``max_ids``."""
    k = Annotated[
        int,
        Field(
            ge=1,
            le=settings.max_k,
            description=f"Number of items, 1..{settings.max_k} (default {settings.default_k}).",
        ),
    ]
    exclude = Annotated[
        list[ExternalId],
        Field(
            max_length=settings.max_ids,
            description=(
                f"Item ids that must not appear: repeat the parameter, one id each (at most "
                f"{settings.max_ids})."
            ),
        ),
    ]
    recommendations = create_model(
        "RecommendationQuery",
        __base__=RecommendationQuery,
        k=(k, settings.default_k),
        exclude=(exclude, []),
        category=(Category | None, None),
        channel=(
            Channel,
            Field("web", description="Where the list is shown: web, email or app."),
        ),
        include_purchased=(
            bool,
            Field(
                False,
                description="Serve the all-purchases ranking (buy again + for you) as evaluated.",
            ),
        ),
    )
    similar = create_model(
        "SimilarQuery",
        __base__=SimilarQuery,
        k=(k, settings.default_k),
        exclude=(exclude, []),
        category=(Category | None, None),
    )
    session = create_model(
        "SessionIn",
        __base__=SessionIn,
        __doc__="An anonymous visitor's items (viewed, in cart); unknown ids are ignored.",
        item_ids=(
            list[ExternalId],
            Field(
                default_factory=list,
                max_length=settings.max_ids,
                description=f"Items the visitor looked at or has in the cart (at most "
                f"{settings.max_ids}).",
            ),
        ),
        k=(
            JsonInteger,  # "3", true and 2.5 are refused
            Field(
                settings.default_k,
                ge=1,
                le=settings.max_k,
                description=f"Number of items, 1..{settings.max_k}.",
            ),
        ),
        session_id=(
            ExternalId | None,
            Field(None, description="The visitor's session id, as its events carry it."),
        ),
        exclude=(
            list[ExternalId],
            Field(
                default_factory=list,
                max_length=settings.max_ids,
                description=f"Item ids that must not appear (at most {settings.max_ids}).",
            ),
        ),
    )
    return RequestModels(recommendations, similar, session)


M = TypeVar("M", bound=BaseModel)


class QueryModel(Generic[M]):
    """A dependency giving the request's query parameters as a validated ``model``.

    List fields take every occurrence; a single-valued parameter given twice (``?k=1&k=2``)
    is refused; parameters the model does not name are ignored. A bad value raises
    FastAPI's RequestValidationError (a 422 naming ``query.<name>``), as
    ``Annotated[model, Query()]`` would.
    """

    def __init__(self, model: type[M]) -> None:
        self.model = model
        schema = model.model_json_schema()
        self._properties: dict[str, dict[str, Any]] = schema.get("properties", {})
        self._required = set(schema.get("required", []))
        self._lists = frozenset(
            name for name, prop in self._properties.items() if prop.get("type") == "array"
        )
        self._single = tuple(name for name in self._properties if name not in self._lists)

    async def __call__(self, request: Request) -> M:
        query = request.query_params
        data: dict[str, Any] = {}
        repeated: list[dict[str, Any]] = []
        if query:
            for name in self._single:
                values = query.getlist(name)
                if len(values) > 1:  # ?k=1&k=2: which one was meant is not ours to guess
                    repeated.append(
                        {
                            "type": "value_error",
                            "loc": ("query", name),
                            "msg": f"given {len(values)} times; one value expected",
                            "input": values,
                        }
                    )
                elif values:
                    data[name] = values[0]
            for name in self._lists:
                values = query.getlist(name)
                if values:
                    data[name] = values
        if repeated:
            raise RequestValidationError(repeated)
        try:
            return self.model.model_validate(data)
        except ValidationError as exc:
            errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from None

    def openapi(self) -> dict[str, Any]:
        """``openapi_extra`` declaring the model's fields as query parameters."""
        parameters = []
        for name, prop in self._properties.items():
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in self._required,
                "schema": prop,
            }
            if "description" in prop:
                parameter["description"] = prop["description"]
            parameters.append(parameter)
        return {"parameters": parameters}
