"""Model registry: names -> classes, construction from config, loading from disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from recsys.errors import ConfigError, DataError
from recsys.models.base import FORMAT_VERSION, Recommender

MODELS: dict[str, type[Recommender]] = {}

M = TypeVar("M", bound=type[Recommender])


def register(cls: M) -> M:
    """Class decorator: make a model available by its ``name`` (and to the contract tests)."""
    if cls.name in MODELS and MODELS[cls.name] is not cls:
        raise ValueError(f"model name {cls.name!r} registered twice")
    MODELS[cls.name] = cls
    return cls


def make_model(name: str, **params: Any) -> Recommender:
    """Instantiate a registered model by name with hyperparameters."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; available: {sorted(MODELS)}") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"model {name!r}: {exc}") from None


def load_model(path: str | Path) -> Recommender:
    """Load a model saved with :meth:`Recommender.save` (never unpickles)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot load model {path}: {exc}") from None
    meta = json.loads(str(arrays.pop("meta")))
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{path}: model format {meta.get('format_version')} not supported")
    name = meta["model"]
    if name not in MODELS:
        raise DataError(f"{path}: unknown model {name!r}")
    return MODELS[name]._restore(meta, arrays)
