"""Honest offline evaluation on a temporal holdout.

- :mod:`~recsys.evaluation.split`: one global cutoff, train before, test after.
- :mod:`~recsys.evaluation.protocols`: what is relevant under ``new_items`` and
  ``all_purchases``, fitting and scoring models, scoring precomputed lists.
- :mod:`~recsys.evaluation.metrics`: precision, recall, NDCG, MAP, hit rate, MRR at k and
  catalog coverage, vectorised over users.
- :mod:`~recsys.evaluation.report`: the result table and its Markdown / CSV renderings.

Typical use::

    split = temporal_split(events, test_days=30)
    result = evaluate({"popular": make_model("popular"), "als": make_model("als")}, split)
    print(result.to_markdown())
    result.best("ndcg")  # averaged over both protocols
"""

from recsys.evaluation.metrics import (
    METRICS,
    catalog_coverage,
    per_user_metrics,
    ranking_metrics,
)
from recsys.evaluation.protocols import (
    ALL_PURCHASES,
    NEW_ITEMS,
    PROTOCOLS,
    GroundTruth,
    build_ground_truths,
    evaluate,
    recommendation_matrix,
    score_recommendations,
)
from recsys.evaluation.report import TABLE_COLUMNS, EvaluationResult
from recsys.evaluation.split import TemporalSplit, temporal_split

__all__ = [
    "ALL_PURCHASES",
    "METRICS",
    "NEW_ITEMS",
    "PROTOCOLS",
    "TABLE_COLUMNS",
    "EvaluationResult",
    "GroundTruth",
    "TemporalSplit",
    "build_ground_truths",
    "catalog_coverage",
    "evaluate",
    "per_user_metrics",
    "ranking_metrics",
    "recommendation_matrix",
    "score_recommendations",
    "temporal_split",
]
