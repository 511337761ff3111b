"""One router per resource, each built from the settings by ``router(settings, models)``;
:func:`serving.app.create_app` mounts them.

API routers carry the ``/v1`` prefix themselves, so a route's own path is the full template
(``/v1/items/{item_id}/similar``) that metrics label requests with. Every ``GET`` route also
answers ``HEAD`` (same status and headers, no body; not listed separately in OpenAPI).
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path

from recsys.data.ids import ID_DESCRIPTION, ID_PATTERN, MAX_ID_LENGTH
from serving.auth import auth_responses, require
from serving.schemas import ErrorOut
from serving.settings import Scope, Settings

API_PREFIX = "/v1"

#: OpenAPI ``responses`` shared by the data routes.
PARAMETER_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "A parameter is invalid (each one is named)", "model": ErrorOut},
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "No model version is published, or Redis is down and none was loaded",
        "model": ErrorOut,
    },
}
#: OpenAPI ``responses`` every API route may give (:mod:`serving.request_guard`, FastAPI).
BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "The URL is not UTF-8 once percent-decoded or holds a line break, or "
        "the body cannot be parsed",
        "model": ErrorOut,
    },
}
#: OpenAPI ``responses`` of routes that take a body (:mod:`serving.body_limit`).
BODY_TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"description": "The body is over RECSYS_MAX_BODY_BYTES", "model": ErrorOut},
}


def api_router(
    tag: str,
    scope: Scope,
    settings: Settings,
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> APIRouter:
    """A ``/v1`` router for one resource whose every route needs a key with ``scope``.

    ``responses`` (default: 422 and 503) are documented on every route, with 401/403 when
    keys are configured.
    """
    shared = {**PARAMETER_ERRORS, **UNAVAILABLE} if responses is None else responses
    return APIRouter(
        prefix=API_PREFIX,
        tags=[tag],
        dependencies=require(scope, settings),
        responses={**auth_responses(settings), **BAD_REQUEST, **shared},
    )


def path_id(description: str) -> Any:
    """A path parameter holding an external id (percent-encode ``/`` and other reserved
    characters; the route uses Starlette's ``path`` convertor so ``%2F`` works)."""
    return Path(
        pattern=ID_PATTERN,
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description=f"{description}: {ID_DESCRIPTION}",
    )


CustomerId = Annotated[str, path_id("The shop's customer id")]
ItemId = Annotated[str, path_id("The shop's item id")]


def get_and_head(router: APIRouter, path: str, **kwargs: Any) -> Callable[[Any], Any]:
    """``router.get(path, ...)`` that also registers the endpoint for ``HEAD``."""

    def register(endpoint: Any) -> Any:
        router.add_api_route(path, endpoint, methods=["GET"], **kwargs)
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False, **kwargs)
        return endpoint

    return register
