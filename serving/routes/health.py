"""Operations endpoints (open, outside ``/v1``): liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import ServiceDep
from serving.errors import error_response
from serving.present import JSONBytes, json_response
from serving.routes import get_and_head
from serving.schemas import ErrorOut, HealthOut, ReadyOut

_PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def router() -> APIRouter:
    """The operations routes (no API key needed)."""
    api = APIRouter(tags=["operations"])

    @get_and_head(api, "/healthz", response_model=HealthOut)
    async def healthz() -> Response:
        """The process is alive (no Redis involved)."""
        return JSONBytes(b'{"status":"ok"}')

    @get_and_head(
        api,
        "/readyz",
        response_model=ReadyOut,
        responses={
            503: {
                "description": "Redis unreachable or no model version published",
                "model": ErrorOut,
            }
        },
    )
    async def readyz(request: Request, service: ServiceDep) -> Response:
        """Ready when Redis answers and a model version is published and readable."""
        state = await service.readiness()
        if not state.ready or state.version is None:
            return error_response(503, state.code, state.message)
        return json_response(
            request, state.version, {"status": "ready", "model_version": state.version}
        )

    @get_and_head(
        api,
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics(request: Request) -> Response:
        """Prometheus text format: requests, latency, answer sources, Redis errors."""
        return Response(request.app.state.metrics.render(), media_type=_PROMETHEUS_TYPE)

    return api
