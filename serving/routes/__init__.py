"""One router per resource; :func:`serving.app.create_app` mounts them.

API routers carry the ``/v1`` prefix themselves, so a route's own path is the full template
(``/v1/items/{item_id}/similar``) that metrics label requests with.
"""

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from serving.schemas import ErrorOut

API_PREFIX = "/v1"

#: OpenAPI ``responses`` of a route whose parameters the handler parses itself.
PARAMETER_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "A parameter is invalid (each one is named)", "model": ErrorOut}
}


class DirectRoute(APIRoute):
    """An APIRoute that calls an ``async def endpoint(request) -> Response`` directly.

    For the hot GET routes, which authorize and parse their parameters themselves
    (:mod:`serving.params`): FastAPI's handler would otherwise solve and validate parameters
    on every request. Middleware, exception handlers and the OpenAPI description
    (``response_model``, ``openapi_extra``) work as for any route. An endpoint that declares
    anything else (parameters, a body, dependencies, route dependencies) gets FastAPI's
    normal handler.

    Caveat: dependencies given to ``include_router(...)`` or ``FastAPI(...)`` are NOT run
    for a direct route: authorization therefore lives in the endpoint
    (:func:`serving.deps.authorized`); add anything app-wide as middleware, not as a
    dependency.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        direct = (
            inspect.iscoroutinefunction(endpoint)
            and len(inspect.signature(endpoint).parameters) == 1
            and self.dependant.request_param_name is not None
            and not self.dependant.dependencies
        )
        return endpoint if direct else super().get_route_handler()
