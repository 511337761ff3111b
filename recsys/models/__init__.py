"""Recommenders behind one interface (:class:`~recsys.models.base.Recommender`).

Importing this package registers every built-in model in :data:`MODELS`: ``popular``,
``trending``, ``repeat``, ``recent``, ``itemknn``, ``bm25``, ``ease``, ``als``, ``bpr`` and
``blend``.
"""

from recsys.models import als, blend, bpr, ease, itemknn, popularity, recent, repeat
from recsys.models.base import Recommender
from recsys.models.registry import MODELS, load_model, make_model, register

__all__ = [
    "MODELS",
    "Recommender",
    "als",
    "blend",
    "bpr",
    "ease",
    "itemknn",
    "load_model",
    "make_model",
    "popularity",
    "recent",
    "register",
    "repeat",
]
