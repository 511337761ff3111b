"""``/docs`` (Swagger UI) and ``/redoc``, with their assets served from an installed package.

The UI's JavaScript and CSS come from the ``fastapi-offline`` package's static files instead
of a CDN, so the docs work on a host with no internet access (FastAPI docs, "Custom Docs UI
Static Assets (Self-Hosting)").
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse

from serving.errors import ApiError

ASSETS = Path(fastapi_offline.__file__).parent / "static"
_ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
ASSET_PREFIX = "/docs/assets"


def router(title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    """The documentation pages (open, not in the OpenAPI document)."""
    api = APIRouter(include_in_schema=False)

    @api.api_route("/docs", methods=["GET", "HEAD"])
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSET_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSET_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{ASSET_PREFIX}/favicon.png",
        )

    @api.api_route("/redoc", methods=["GET", "HEAD"])
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSET_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSET_PREFIX}/favicon.png",
            with_google_fonts=False,
        )

    @api.api_route(ASSET_PREFIX + "/{name}", methods=["GET", "HEAD"])
    async def asset(name: str) -> FileResponse:
        media_type = _ASSET_TYPES.get(name)
        if media_type is None:
            raise ApiError(404, "not_found", f"no documentation asset {name!r}")
        return FileResponse(ASSETS / name, media_type=media_type)

    return api
