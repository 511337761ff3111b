"""Typed dependencies and parameter checks shared by the routers.

Each API route has ONE dependency, the scoped service (API-key check included): FastAPI
resolves every dependency on every request, so parameters are plain query/path parameters
checked by the small functions below rather than dependencies of their own.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from serving.auth import API_KEY_HEADER, authorize
from serving.errors import ApiError
from serving.schemas import CATEGORY_PATTERN, ID_PATTERN
from serving.service import Service
from serving.settings import Scope, Settings

_ID_RE = re.compile(ID_PATTERN)


def scoped_service(scope: Scope) -> Callable[..., Awaitable[Service]]:
    """A dependency giving the app's :class:`Service` to requests whose key has ``scope``."""

    async def dependency(
        request: Request,
        api_key: Annotated[
            str | None, Header(alias=API_KEY_HEADER, include_in_schema=False)
        ] = None,
    ) -> Service:
        service: Service = request.app.state.service
        authorize(service.settings, api_key, scope)
        return service

    dependency.__name__ = f"{scope}_service"
    return dependency


async def open_service(request: Request) -> Service:
    """The app's :class:`Service`, no key needed (operations endpoints)."""
    return request.app.state.service


def check_k(k: int | None, settings: Settings) -> int:
    """``k`` or the default; 422 unless ``1 <= k <= max_k``."""
    if k is None:
        return settings.default_k
    if not 1 <= k <= settings.max_k:
        message = f"k == {k}, must be between 1 and {settings.max_k}"
        raise ApiError(422, "invalid_parameter", message)
    return k


def check_ids(values: list[str], what: str, settings: Settings) -> list[str]:
    """Validate external ids (each must match ``ID_PATTERN``; at most ``max_ids``)."""
    if len(values) > settings.max_ids:
        message = f"{what}: {len(values)} ids, at most {settings.max_ids} allowed"
        raise ApiError(422, "invalid_parameter", message)
    for value in values:
        if not _ID_RE.match(value):
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise ApiError(
                422,
                "invalid_parameter",
                f"{what}: {shown!r} is not a valid id (1-128 characters of letters, digits "
                "and . _ : -)",
            )
    return values


def parse_exclude(exclude: list[str], settings: Settings) -> frozenset[str]:
    """The ``exclude`` ids, from ``exclude=a,b`` and/or ``exclude=a&exclude=b``."""
    if not exclude:
        return frozenset()
    ids = [part.strip() for value in exclude for part in value.split(",") if part.strip()]
    return frozenset(check_ids(ids, "exclude", settings))


SiteService = Annotated[Service, Depends(scoped_service("site"))]
OpenService = Annotated[Service, Depends(open_service)]

CustomerIdPath = Annotated[
    str, Path(pattern=ID_PATTERN, description="1-128 characters of letters, digits, . _ : -")
]
ItemIdPath = Annotated[
    str, Path(pattern=ID_PATTERN, description="1-128 characters of letters, digits, . _ : -")
]
KQuery = Annotated[int | None, Query(description="Number of items, 1..max_k (default: 10).")]
ExcludeQuery = Annotated[
    list[str],
    Query(description="Item ids that must not appear: comma-separated and/or repeated."),
]
CategoryQuery = Annotated[
    str | None,
    Query(pattern=CATEGORY_PATTERN, description="Only items of this catalog category."),
]
