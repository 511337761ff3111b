"""Operations endpoints (open, outside ``/v1``): liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import OpenService
from serving.errors import error_response
from serving.present import JSONBytes, json_response
from serving.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["operations"])

_PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> Response:
    """The process is alive (no Redis involved)."""
    return JSONBytes(b'{"status":"ok"}')


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"description": "Redis unreachable or no model version published"}},
)
async def readyz(request: Request, service: OpenService) -> Response:
    """Ready when Redis answers and a model version is published and readable."""
    state = await service.readiness()
    if not state.ready or state.version is None:
        return error_response(503, state.code, state.message)
    return json_response(
        request, state.version, {"status": "ready", "model_version": state.version}
    )


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format: requests, latency, answer sources, Redis errors."""
    return Response(request.app.state.metrics.render(), media_type=_PROMETHEUS_TYPE)
