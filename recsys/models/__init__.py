"""Recommenders behind one interface (:class:`~recsys.models.base.Recommender`).

Importing this package registers every built-in model in :data:`MODELS`.
"""

from recsys.models.base import Recommender
from recsys.models.registry import MODELS, load_model, make_model, register

__all__ = ["MODELS", "Recommender", "load_model", "make_model", "register"]
