"""Typed dependencies shared by the routers, and the API-key check they (and hot routes) use.

Each FastAPI-resolved route has ONE dependency, the scoped service, which reads the API key
from ``request.headers`` itself (a ``Header`` parameter would cost every request a parameter
resolution). The hot GET routes call :func:`authorized` directly and parse their own
parameters (:mod:`serving.params`): FastAPI resolves nothing for them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from serving.auth import API_KEY_HEADER, authorize
from serving.service import Service
from serving.settings import Scope


def authorized(request: Request, scope: Scope) -> Service:
    """The app's :class:`Service`, if the request's ``X-API-Key`` carries ``scope``.

    Raises ApiError 401 (missing or unknown key) or 403 (key without the scope); with no
    keys configured the header is not even read.
    """
    service: Service = request.app.state.service
    if service.settings.api_keys:
        authorize(service.settings, request.headers.get(API_KEY_HEADER), scope)
    return service


def scoped_service(scope: Scope) -> Callable[[Request], Awaitable[Service]]:
    """A dependency giving the app's :class:`Service` to requests whose key has ``scope``."""

    async def dependency(request: Request) -> Service:
        return authorized(request, scope)

    dependency.__name__ = f"{scope}_service"
    return dependency


async def open_service(request: Request) -> Service:
    """The app's :class:`Service`, no key needed (operations endpoints)."""
    return request.app.state.service


SiteService = Annotated[Service, Depends(scoped_service("site"))]
OpenService = Annotated[Service, Depends(open_service)]
