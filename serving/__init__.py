"""The HTTP API: a thin FastAPI service over the artifacts published to Redis.

Imports ``recsys`` only (never ``training``). Entry points: :func:`serving.app.create_app`
and ``python -m serving``.
"""

from serving.app import create_app
from serving.settings import Settings, get_settings

__all__ = ["Settings", "create_app", "get_settings"]
