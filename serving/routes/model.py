"""``/v1/model``: the active version and its manifest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import ServiceDep
from serving.present import json_response
from serving.routes import UNAVAILABLE, api_router, get_and_head
from serving.schemas import ModelOut
from serving.settings import Settings


def router(settings: Settings) -> APIRouter:
    """The model route (scope ``site``)."""
    api = api_router("model", "site", settings, UNAVAILABLE)

    @get_and_head(api, "/model", response_model=ModelOut)
    async def model(request: Request, service: ServiceDep) -> Response:
        """The model version answering requests now, with the manifest it was published with."""
        version, manifest = await service.model()
        return json_response(request, version, {"model_version": version, "manifest": manifest})

    return api
