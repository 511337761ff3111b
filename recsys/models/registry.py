"""Model registry: names -> classes, construction from config, loading from disk."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from recsys.errors import ConfigError, DataError
from recsys.models.base import FORMAT_VERSION, Recommender

MODELS: dict[str, type[Recommender]] = {}

#: Models behind an optional extra, by name -> ``"module:Class"``. Resolved on first use by
#: :func:`model_class` and never added to :data:`MODELS`, so importing ``recsys.models`` and
#: walking ``MODELS`` (the contract tests, the default candidates) never needs the extra.
OPTIONAL_MODELS: dict[str, str] = {"spark-als": "recsys.models.spark_als:SparkALSRecommender"}

M = TypeVar("M", bound=type[Recommender])


def register(cls: M) -> M:
    """Class decorator: make a model available by its ``name`` (and to the contract tests)."""
    if cls.name in MODELS and MODELS[cls.name] is not cls:
        raise ValueError(f"model name {cls.name!r} registered twice")
    MODELS[cls.name] = cls
    return cls


def is_model(name: str) -> bool:
    """Whether ``name`` is a registered or an optional model."""
    return name in MODELS or name in OPTIONAL_MODELS


def model_names() -> list[str]:
    """Every registered and optional model name, sorted."""
    return sorted([*MODELS, *OPTIONAL_MODELS])


def model_class(name: str) -> type[Recommender]:
    """The class of a registered or optional model; ``ConfigError`` for an unknown name."""
    if name in MODELS:
        return MODELS[name]
    if name in OPTIONAL_MODELS:
        module, attr = OPTIONAL_MODELS[name].split(":")
        cls: type[Recommender] = getattr(importlib.import_module(module), attr)
        return cls
    raise ConfigError(f"unknown model {name!r}; available: {model_names()}")


def make_model(name: str, **params: Any) -> Recommender:
    """Instantiate a registered or optional model by name with hyperparameters."""
    cls = model_class(name)
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
    if not is_model(name):
        raise DataError(f"{path}: unknown model {name!r}")
    return model_class(name)._restore(meta, arrays)
