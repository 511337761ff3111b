"""Request models built from the settings, so the OpenAPI document states the real bounds.

``k``'s maximum and default and the most ids a request may name are run-time settings; the
query-parameter models (FastAPI's ``Annotated[Model, Query()]``) and the session body model
are therefore made per app by :func:`request_models`, and ``/docs`` shows exactly what the
service accepts. Every bad value is a 422 naming the parameter (``query.k: ...``).

``exclude`` is a repeated parameter (``?exclude=a&exclude=b``), each value one id taken as it
is: ids may contain commas, so a comma never splits a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    create_model,
)

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
    )
    return RequestModels(recommendations, similar, session)
