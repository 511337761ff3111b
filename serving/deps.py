"""Typed dependencies shared by the routers (``Annotated`` aliases, as FastAPI recommends)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serving.service import Service
from serving.settings import Settings


# ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread, which costs
# several times the rest of a request (measured: benchmarks/bench_request_path.py).
async def get_service(request: Request) -> Service:
    """The app's :class:`Service` (made by the lifespan)."""
    service: Service = request.app.state.service
    return service


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[Service, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
