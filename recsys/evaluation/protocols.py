"""What counts as a right answer, and running models against it.

Two protocols, always judged on the same temporal split (:mod:`recsys.evaluation.split`):

``new_items`` (the default answer)
    Relevant: items the customer bought in the test window and had not already bought in
    training (:func:`~recsys.models.base.bought_matrix`: purchases net of returns). An item
    they only viewed or carted is a new purchase, and the default answer may show it. Models
    are asked with ``exclude_seen=True``, which removes bought items only: the list the API
    serves by default.
``all_purchases`` (repeats count; the ``include_purchased=true`` answer)
    Relevant: every distinct item the customer bought in the test window, re-buys included.
    Models are asked with ``exclude_seen=False``. In real retail many purchases are re-buys,
    and a "buy it again" list is a strong baseline here.

Under both, only ``purchase`` events of the test window count (other event types, and
returns, are ignored), and only pairs a model could possibly get right are kept: the customer
must be known in training (a cold customer gets the popularity fallback in production, not a
model's list) and the item must be in the training catalog (an item first sold in the test
window cannot be recommended by any model fitted before it). A customer with no usable
training history (every interaction netted out, e.g. bought then returned) counts as cold:
no model gives them a personal list. Both drops are counted in the
facts, per purchase event: a purchase by a cold customer counts as ``cold customer`` even when
its item is also new. Customers whose relevant set is empty under a protocol (e.g. who only
re-bought) are not evaluated under it and are counted as ``without relevant``.

:func:`evaluate` fits every model once on the training side and scores both protocols;
:func:`score_recommendations` scores precomputed lists (a blend, a published artifact) in
exactly the same way::

    result = evaluate({"popular": make_model("popular")}, split)
    scores = {p: score_recommendations(recs_by_protocol[p], result.truths[p], result.k)
              for p in result.protocols}
    result = result.with_scores("blend", scores)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys import columns as C
from recsys.config import MatrixConfig
from recsys.data.dataset import InteractionDataset, build_dataset
from recsys.data.ids import IdMap, MissingPolicy
from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import METRICS, ranking_metrics
from recsys.evaluation.report import TABLE_COLUMNS, EvaluationResult
from recsys.evaluation.split import TemporalSplit
from recsys.models.base import Recommender, TooLargeError, check_k
from recsys.models.blend import BlendRecommender, fit_key
from recsys.models.eligibility import bought_matrix, servable_items

NEW_ITEMS = "new_items"
ALL_PURCHASES = "all_purchases"
PROTOCOLS: tuple[str, ...] = (NEW_ITEMS, ALL_PURCHASES)
#: How models are asked under each protocol.
EXCLUDE_SEEN: dict[str, bool] = {NEW_ITEMS: True, ALL_PURCHASES: False}


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The relevant items of every evaluated customer under one protocol.

    Attributes
    ----------
    protocol:
        ``"new_items"`` or ``"all_purchases"``.
    customer_ids:
        External ids of the evaluated customers (each has at least one relevant item), in
        training-index order; row ``u`` of ``relevance`` is ``customer_ids[u]``.
    relevance:
        Binary ``float32`` CSR, evaluated customers x training catalog (columns follow
        ``items``).
    items:
        The training catalog: what any model fitted on the training side can recommend.
    n_without_relevant:
        Known customers with kept test purchases but nothing relevant under this protocol.
    """

    protocol: str
    customer_ids: np.ndarray
    relevance: sp.csr_matrix
    items: IdMap
    n_without_relevant: int

    @property
    def exclude_seen(self) -> bool:
        return EXCLUDE_SEEN[self.protocol]

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_relevant(self) -> int:
        """Relevant (customer, item) pairs in total."""
        return int(self.relevance.nnz)

    def relevant_items(self, customer_id: object) -> list[str]:
        """External ids of one customer's relevant items (empty when not evaluated)."""
        row = pd.Index(self.customer_ids).get_indexer([str(customer_id)])[0]
        if row < 0:
            return []
        cols = self.relevance.indices[self.relevance.indptr[row] : self.relevance.indptr[row + 1]]
        return self.items.to_external(np.sort(cols)).tolist()


def check_protocols(protocols: str | Iterable[str]) -> tuple[str, ...]:
    """Validate protocol names; ``"both"`` means all of :data:`PROTOCOLS`."""
    if isinstance(protocols, str):
        protocols = PROTOCOLS if protocols == "both" else (protocols,)
    out = tuple(protocols)
    unknown = [p for p in out if p not in PROTOCOLS]
    if unknown:
        raise ConfigError(f"unknown protocol(s) {unknown}; valid: {list(PROTOCOLS)} or 'both'")
    if not out:
        raise ConfigError(f"no protocol given; valid: {list(PROTOCOLS)}")
    if len(set(out)) != len(out):
        raise ConfigError(f"protocols {list(out)} repeat a name")
    return out


def _purchase_mask(test: pd.DataFrame) -> np.ndarray:
    if C.EVENT_TYPE not in test.columns:
        return np.ones(len(test), dtype=bool)
    et = test[C.EVENT_TYPE]
    return (et.isna() | (et.astype(str) == C.PURCHASE)).to_numpy(dtype=bool)


def build_ground_truths(
    dataset: InteractionDataset,
    test: pd.DataFrame,
    protocols: str | Iterable[str] = PROTOCOLS,
) -> tuple[dict[str, GroundTruth], dict[str, int]]:
    """Relevant items per protocol from the test events, against the training ``dataset``.

    Returns
    -------
    truths:
        Protocol name -> :class:`GroundTruth`.
    facts:
        Counts of the test window: ``n_test_events``, ``n_test_purchases`` (purchase events),
        ``n_dropped_cold_customer_purchases`` / ``n_cold_customers`` (purchases by, and
        number of, customers unseen in training), ``n_dropped_new_item_purchases`` (purchases
        by known customers of items not in the training catalog), ``n_new_items`` (distinct
        test-purchased items not in the catalog), ``n_kept_purchases`` and
        ``n_test_customers`` (known customers with at least one kept purchase).
    """
    protocols = check_protocols(protocols)
    missing = [c for c in (C.CUSTOMER_ID, C.ITEM_ID) if c not in test.columns]
    if missing:
        raise DataError(f"test events lack column(s) {missing}; found {list(test.columns)}")

    buy = _purchase_mask(test)
    cust = test[C.CUSTOMER_ID].to_numpy()[buy].astype(str)
    item = test[C.ITEM_ID].to_numpy()[buy].astype(str)
    cidx = dataset.customers.to_internal(cust, missing="ignore")
    iidx = dataset.items.to_internal(item, missing="ignore")
    # A customer whose training history nets out to nothing (bought, then returned) gets no
    # personal list and is served like an unknown one: cold, as far as models go.
    has_history = np.diff(dataset.matrix.indptr) > 0
    cold = (cidx < 0) | ~has_history[np.maximum(cidx, 0)]
    new_item = ~cold & (iidx < 0)
    kept = ~cold & ~new_item

    n_items = dataset.n_items
    pairs = np.unique(cidx[kept] * n_items + iidx[kept])  # distinct (customer, item), sorted
    test_customers = np.unique(pairs // n_items)
    facts: dict[str, int] = {
        "n_test_events": len(test),
        "n_test_purchases": int(buy.sum()),
        "n_dropped_cold_customer_purchases": int(cold.sum()),
        "n_cold_customers": len(pd.unique(cust[cold])),
        "n_dropped_new_item_purchases": int(new_item.sum()),
        "n_new_items": len(pd.unique(item[iidx < 0])),
        "n_kept_purchases": int(kept.sum()),
        "n_test_customers": len(test_customers),
    }

    seen = bought_matrix(dataset)
    seen_keys = (
        np.repeat(np.arange(seen.shape[0], dtype=np.int64), np.diff(seen.indptr)) * n_items
        + seen.indices
    )
    # Repeat purchases: distinct kept (customer, item) pairs bought before the cutoff too.
    facts["n_kept_pairs"] = len(pairs)
    facts["n_repeat_pairs"] = int(np.isin(pairs, seen_keys).sum())
    truths = {}
    for protocol in protocols:
        keys = pairs[~np.isin(pairs, seen_keys)] if protocol == NEW_ITEMS else pairs
        rows_idx, row_of_pair = np.unique(keys // n_items, return_inverse=True)
        relevance = sp.csr_matrix(
            (np.ones(len(keys), dtype=np.float32), (row_of_pair, keys % n_items)),
            shape=(len(rows_idx), n_items),
        )
        relevance.sort_indices()
        truths[protocol] = GroundTruth(
            protocol=protocol,
            customer_ids=dataset.customers.to_external(rows_idx),
            relevance=relevance,
            items=dataset.items,
            n_without_relevant=len(test_customers) - len(rows_idx),
        )
    return truths, facts


def recommendation_matrix(recs: pd.DataFrame, truth: GroundTruth, k: int) -> np.ndarray:
    """Lay precomputed lists out as ``truth.n_customers x k`` catalog indices (``-1`` = none).

    Rows follow ``truth.customer_ids``; within a customer, rows of ``recs`` are ordered by
    ``rank`` and the first ``k`` count (rank values need not be contiguous). Customers of the
    truth missing from ``recs`` get an empty list (all misses: skipping a customer is not
    rewarded); customers not in the truth are ignored. An item outside the training catalog
    keeps its position but can never be a hit.
    """
    k = check_k(k)
    if not isinstance(recs, pd.DataFrame):
        raise DataError(f"recommendations must be a DataFrame, got {type(recs).__name__}")
    missing = [c for c in (C.CUSTOMER_ID, C.RANK, C.ITEM_ID) if c not in recs.columns]
    if missing:
        raise DataError(
            f"recommendations lack column(s) {missing}; expected {C.CUSTOMER_ID}, {C.RANK}, "
            f"{C.ITEM_ID}; found {list(recs.columns)}"
        )
    try:
        ranks = recs[C.RANK].to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        raise DataError(f"recommendation column {C.RANK!r} must be numeric") from None
    if np.isnan(ranks).any():
        raise DataError(f"{int(np.isnan(ranks).sum())} recommendation row(s) have no {C.RANK!r}")

    out = np.full((truth.n_customers, k), -1, dtype=np.int64)
    rows = pd.Index(truth.customer_ids).get_indexer(recs[C.CUSTOMER_ID].to_numpy().astype(str))
    mine = rows >= 0
    rows, ranks = rows[mine], ranks[mine]
    items = truth.items.to_internal(recs[C.ITEM_ID].to_numpy()[mine], missing="ignore")
    order = np.lexsort((ranks, rows))
    rows, items = rows[order], items[order]
    position = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    top = position < k
    out[rows[top], position[top]] = items[top]
    return out


def score_recommendations(recs: pd.DataFrame, truth: GroundTruth, k: int) -> dict[str, float]:
    """Metrics at ``k`` of precomputed lists (``customer_id, rank, item_id``) against a truth.

    Returns the :data:`~recsys.evaluation.metrics.METRICS` (means over ``truth``'s customers;
    coverage against the training catalog, over those customers' lists) and ``n_customers``.
    Lists are taken as given: under ``new_items`` it is the caller's job to have excluded
    seen items, as :func:`evaluate` does by asking models with ``exclude_seen=True``.
    """
    matrix = recommendation_matrix(recs, truth, k)
    if truth.n_customers == 0:
        return {**{m: float("nan") for m in METRICS}, "n_customers": 0}
    scores = ranking_metrics(matrix, truth.relevance, k, n_items=len(truth.items))
    scores["n_customers"] = scores.pop("n_users")
    return scores


def served_list(
    model: Recommender,
    customer_ids: Iterable[object],
    k: int,
    protocol: str,
    *,
    items: Iterable[object] | None = None,
    missing: MissingPolicy = "skip",
) -> pd.DataFrame:
    """The list the API answers under ``protocol``, as ``model.recommend`` ranks it.

    ``new_items`` is the default answer (bought items removed), ``all_purchases`` the
    ``include_purchased=true`` answer (the model's ranking, bought items allowed); ``items``
    (:func:`servable_items`) leaves out what serving filters (out of stock). Training writes
    these lists into the bundle and evaluation scores them: one function for both.
    """
    return model.recommend(
        customer_ids,
        k,
        exclude_seen=EXCLUDE_SEEN[check_protocols(protocol)[0]],
        items=items,
        missing=missing,
    )


def evaluate(
    models: Mapping[str, Recommender],
    split: TemporalSplit,
    *,
    k: int = 10,
    matrix_config: MatrixConfig | None = None,
    items_frame: pd.DataFrame | None = None,
    protocols: str | Iterable[str] = PROTOCOLS,
    progress: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Fit each model on ``split.train`` and score its top-``k`` lists on ``split.test``.

    The training dataset is built once and shared. Each model is fitted as a fresh clone
    (``type(model)(**model.get_params())``, like scikit-learn's ``clone``), so the caller's
    instances are neither fitted nor changed and any :class:`Recommender`, registered or not,
    can be evaluated. ``fit_time_s`` is the wall time of ``fit`` (a blend takes the components
    fitted here as candidates, same name and parameters, as they are: its time excludes them).
    Each model is asked once per protocol, in one batch, for the evaluated customers of that
    protocol.

    Parameters
    ----------
    models:
        Display name -> model (unfitted or fitted; only its hyperparameters are used).
    split:
        The temporal split (:func:`~recsys.evaluation.split.temporal_split`).
    k:
        List length judged.
    matrix_config:
        How training events become the matrix (default :class:`MatrixConfig`).
    items_frame:
        Item attributes; its items join the training catalog even without training events,
        so their test purchases are kept, and items out of stock are left out of every list
        (as serving leaves them out).
    protocols:
        Protocol names, or ``"both"``.
    progress:
        Called with a short message before each long step.

    A model that cannot fit the data (:class:`~recsys.models.base.TooLargeError`, e.g. EASE
    over its catalog limit, or ``MemoryError``) is skipped: it has no rows in the table and
    ``facts["skipped_models"]`` maps its name to the reason.

    Raises
    ------
    ConfigError
        Bad ``k``, protocol names or model mapping.
    DataError
        Unusable training events, or no customer to evaluate under any protocol.
    """
    k = check_k(k)
    protocols = check_protocols(protocols)
    if not isinstance(split, TemporalSplit):
        raise ConfigError(f"split must be a TemporalSplit, got {type(split).__name__}")
    if not isinstance(models, Mapping) or not models:
        raise ConfigError("models must be a non-empty mapping of name -> Recommender")
    wrong = {n: type(m).__name__ for n, m in models.items() if not isinstance(m, Recommender)}
    if wrong:
        raise ConfigError(f"not Recommender instances: {wrong}")
    say = progress or (lambda _message: None)

    say(f"building the training matrix from {split.n_train:,} events")
    dataset = build_dataset(split.train, matrix_config, items_frame=items_frame)
    truths, test_facts = build_ground_truths(dataset, split.test, protocols)
    if all(t.n_customers == 0 for t in truths.values()):
        raise DataError(
            f"nothing to evaluate: none of the {test_facts['n_test_purchases']} test purchases "
            f"after {split.cutoff} is by a customer known in training of an item in the training "
            f"catalog (cold customers: {test_facts['n_dropped_cold_customer_purchases']}, new "
            f"items: {test_facts['n_dropped_new_item_purchases']}); choose another cutoff"
        )

    allowed = servable_items(items_frame)
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    fitted: dict[str, Recommender] = {}  # a blend reuses candidates fitted here
    for name, model in models.items():
        clone = type(model)(**model.get_params())
        say(f"{name}: fitting on {dataset.n_customers:,} customers x {dataset.n_items:,} items")
        if isinstance(clone, BlendRecommender):
            clone.reuse(fitted)
        start = time.perf_counter()
        try:
            clone.fit(dataset)
        except (TooLargeError, MemoryError) as exc:
            skipped[name] = str(exc) or type(exc).__name__
            say(f"{name}: skipped ({skipped[name]})")
            continue
        fit_time = time.perf_counter() - start
        fitted[fit_key(clone.name, clone.get_params())] = clone
        for protocol in protocols:
            truth = truths[protocol]
            say(f"{name}: scoring {protocol} ({truth.n_customers:,} customers)")
            recs = served_list(
                clone, truth.customer_ids, k, protocol, items=allowed, missing="error"
            )
            scores = score_recommendations(recs, truth, k)
            rows.append({"model": name, "protocol": protocol, **scores, "fit_time_s": fit_time})

    if not rows:
        raise DataError("no candidate could be fitted: " + "; ".join(skipped.values()))
    facts: dict[str, Any] = {
        **split.summary(),
        "skipped_models": skipped,
        "n_train_customers": dataset.n_customers,
        "n_train_items": dataset.n_items,
        "n_train_interactions": dataset.n_interactions,
        **test_facts,
        "n_customers": {p: t.n_customers for p, t in truths.items()},
        "n_customers_without_relevant": {p: t.n_without_relevant for p, t in truths.items()},
        "n_relevant": {p: t.n_relevant for p, t in truths.items()},
        "repeat_share": test_facts["n_repeat_pairs"] / max(test_facts["n_kept_pairs"], 1),
    }
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return EvaluationResult(table=table, k=k, facts=facts, truths=truths)
