"""recsys: the library behind the personalization engine.

Data in (``recsys.data``), models (``recsys.models``), evaluation (``recsys.evaluation``)
and the Redis store (``recsys.store``). The offline jobs (``training``) and the HTTP
service (``serving``) are built on it; it imports neither of them.
"""

__version__ = "0.1.0"
