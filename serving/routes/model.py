"""``/v1/model``: the active version and its manifest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import SiteService
from serving.present import json_response
from serving.routes import API_PREFIX
from serving.schemas import ModelOut

router = APIRouter(prefix=API_PREFIX, tags=["model"])


@router.get("/model", response_model=ModelOut)
async def model(request: Request, service: SiteService) -> Response:
    """The model version answering requests now, with the manifest it was published with."""
    version, manifest = await service.model()
    return json_response(request, version, {"model_version": version, "manifest": manifest})
