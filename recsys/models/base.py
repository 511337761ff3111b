"""One interface for every recommender, with the shared machinery written once.

A model implements ``_fit`` (learn from an :class:`InteractionDataset`), ``_score`` (dense
scores for a batch of internal customer indices) and, where meaningful, ``_similar``; plus
``_get_state``/``_set_state`` for persistence. The base class does everything else: id mapping,
unknown-id policy, seen-item filtering, candidate restriction, batching, top-k, timing, and
saving to ``.npz`` without pickle.

Hyperparameters follow scikit-learn's discipline: keyword arguments stored as-is in
``__init__`` with no logic; learned attributes end in ``_``; ``fit`` returns ``self``.
"""

from __future__ import annotations

import inspect
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys import __version__
from recsys import columns as C
from recsys.data.dataset import InteractionDataset
from recsys.data.ids import IdMap, MissingPolicy
from recsys.errors import ConfigError, NotFittedError
from recsys.models.eligibility import DEFAULT_EXCLUDE_TYPES, bought_matrix

FORMAT_VERSION = 1


class TooLargeError(ConfigError):
    """The data is beyond what this model can fit (catalog over its limit, memory).

    Jobs that compare candidates skip such a model with a note instead of stopping.
    """


def check_k(k: int) -> int:
    """Validate a list length: an int >= 1."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ConfigError(f"k == {k!r}, must be an integer >= 1")
    if k < 1:
        raise ConfigError(f"k == {k}, must be >= 1")
    return int(k)


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-``k`` of a dense score matrix, best first.

    Returns ``(indices, values)`` of shape ``(rows, min(k, cols))``; entries equal to
    ``-inf`` mark "no candidate" and are dropped by the callers.
    """
    n = scores.shape[1]
    k = min(k, n)
    if k == 0:
        empty = np.empty((scores.shape[0], 0))
        return empty.astype(np.int64), empty.astype(scores.dtype)
    if k < n:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n), scores.shape).copy()
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


def _batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _to_frame(
    keys: np.ndarray, idx: np.ndarray, vals: np.ndarray, items: IdMap, key_col: str, item_col: str
) -> pd.DataFrame:
    valid = np.isfinite(vals)
    counts = valid.sum(axis=1)
    ranks = np.broadcast_to(np.arange(1, idx.shape[1] + 1), idx.shape)
    return pd.DataFrame(
        {
            key_col: np.repeat(keys, counts),
            C.RANK: ranks[valid].astype(np.int32),
            item_col: items.to_external(idx[valid]),
            C.SCORE: vals[valid].astype(np.float32),
        }
    )


class Recommender(ABC):
    """Base class of all recommenders (see the module docstring for the contract)."""

    #: Registry key, e.g. ``"als"``.
    name: ClassVar[str]
    #: Whether ``similar_items`` is meaningful for this model.
    supports_similar: ClassVar[bool] = False
    #: Rows scored at once in ``recommend``; bounds memory at ``batch_size * n_items`` floats.
    batch_size: ClassVar[int] = 1024

    # ----------------------------------------------------------------- parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ConfigError(f"{self.name}: unknown parameter {key!r}; valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_params(self) -> None:
        """Validate hyperparameters at fit time (override; raise ``ConfigError``)."""
        return None

    # ----------------------------------------------------------------- fitting
    def fit(
        self, dataset: InteractionDataset, *, exclude_types: Iterable[str] = DEFAULT_EXCLUDE_TYPES
    ) -> Self:
        """Learn from ``dataset``; returns ``self``. Refitting starts from scratch.

        ``exclude_types``: event types whose items ``recommend(exclude_seen=True)`` leaves
        out (see :func:`bought_matrix`); by default purchases.
        """
        if not isinstance(dataset, InteractionDataset):
            raise TypeError(f"fit expects an InteractionDataset, got {type(dataset).__name__}")
        self._check_params()
        start = time.perf_counter()
        self._fit(dataset)
        self.fit_time_ = time.perf_counter() - start
        self.customers_ = dataset.customers
        self.items_ = dataset.items
        self.seen_ = dataset.matrix
        self.exclude_ = bought_matrix(dataset, exclude_types)
        return self

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "items_")

    def history_lengths(self) -> np.ndarray:
        """Items with a positive net weight per customer (row lengths of ``seen_``), ``int``."""
        self._check_fitted()
        return np.diff(self.seen_.indptr)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet; call fit(dataset) first"
            )

    @abstractmethod
    def _fit(self, dataset: InteractionDataset) -> None:
        """Learn the model's state from ``dataset``."""

    @abstractmethod
    def _score(self, customer_idx: np.ndarray) -> np.ndarray:
        """Dense ``float32`` scores, shape ``(len(customer_idx), n_items)``; higher is better.

        Return a fresh array (the caller masks it in place); ``-inf`` means "not a candidate".
        """

    def _recommend_batch(
        self, customer_idx: np.ndarray, k: int, exclude_seen: bool, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Optional fast path: top-``k`` ``(indices, values)`` for a batch, or ``None``.

        Models with a faster way than dense scores + masking + :func:`topk` (e.g. implicit's
        multi-threaded top-k over factors) override this. It must honour ``exclude_seen``
        (the customer's items in ``exclude_``) and ``allowed`` (boolean mask of candidate items,
        ``None`` for all), and mark missing candidates with ``-inf`` values like ``topk``.
        Returning ``None`` falls back to the generic path.
        """
        return None

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        """Dense item-item similarity rows, shape ``(len(item_idx), n_items)`` (a fresh array)."""
        raise NotImplementedError(f"{type(self).__name__} does not support similar_items")

    # ----------------------------------------------------------------- inference
    def recommend(
        self,
        customer_ids: Iterable[object],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: Iterable[object] | None = None,
        missing: MissingPolicy = "skip",
    ) -> pd.DataFrame:
        """Top-``k`` items for each customer, best first.

        Parameters
        ----------
        customer_ids:
            External customer ids. Unknown ids follow ``missing``: ``"skip"`` (default) leaves
            them out of the result, ``"error"`` raises ``UnknownIdError``. Known customers
            with no usable history (an empty row of ``seen_``: everything they did netted
            out to zero or less) get no rows, under every model.
        k:
            List length (>= 1). A customer gets fewer rows when fewer candidates remain.
        exclude_seen:
            Drop items the customer already bought (``exclude_``: events of the fit's
            ``exclude_types``, net of returns). Viewed or carted items stay candidates.
        items:
            Restrict the candidates to these external item ids (unknown ones are ignored).

        Returns
        -------
        DataFrame with columns ``customer_id, rank, item_id, score`` (rank starts at 1).
        """
        self._check_fitted()
        k = check_k(k)
        if missing == "ignore":
            raise ConfigError("missing='ignore' is not valid for recommend; use 'skip' or 'error'")
        cidx = self.customers_.to_internal(customer_ids, missing=missing)
        # No usable history (every interaction netted out, e.g. bought then returned): the
        # model has nothing personal to say, so the customer gets no list and is served like
        # an unknown one. One rule here, for every model.
        cidx = cidx[self.history_lengths()[cidx] > 0]
        allowed = None
        if items is not None:
            allowed = np.zeros(len(self.items_), dtype=bool)
            allowed[self.items_.to_internal(items, missing="skip")] = True
        frames = []
        for part in _batches(len(cidx), self.batch_size):
            rows = cidx[part]
            fast = self._recommend_batch(rows, k, exclude_seen, allowed)
            if fast is not None:
                idx, vals = fast
            else:
                idx, vals = self._generic_topk(rows, k, exclude_seen, allowed)
            frames.append(
                _to_frame(
                    self.customers_.to_external(rows),
                    idx,
                    vals,
                    self.items_,
                    C.CUSTOMER_ID,
                    C.ITEM_ID,
                )
            )
        if not frames:
            return pd.DataFrame(
                {
                    c: pd.Series(dtype=t)
                    for c, t in zip(
                        C.RECOMMENDATION_COLUMNS,
                        (object, np.int32, object, np.float32),
                        strict=True,
                    )
                }
            )
        return pd.concat(frames, ignore_index=True)

    def _generic_topk(
        self, rows: np.ndarray, k: int, exclude_seen: bool, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dense scores, seen/candidate masking, then :func:`topk`."""
        scores = np.asarray(self._score(rows), dtype=np.float32)
        if exclude_seen:
            seen = self.exclude_[rows]
            scores[np.repeat(np.arange(len(rows)), np.diff(seen.indptr)), seen.indices] = -np.inf
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        return topk(scores, k)

    def similar_items(
        self, item_ids: Iterable[object], k: int = 10, *, missing: MissingPolicy = "skip"
    ) -> pd.DataFrame:
        """The ``k`` most similar items to each item (never the item itself).

        Returns a DataFrame ``item_id, rank, similar_item_id, score``.
        """
        self._check_fitted()
        if not self.supports_similar:
            raise NotImplementedError(f"{type(self).__name__} does not support similar_items")
        k = check_k(k)
        iidx = self.items_.to_internal(item_ids, missing=missing)
        frames = []
        for part in _batches(len(iidx), self.batch_size):
            rows = iidx[part]
            scores = np.asarray(self._similar(rows), dtype=np.float32)
            scores[np.arange(len(rows)), rows] = -np.inf
            idx, vals = topk(scores, k)
            frames.append(
                _to_frame(
                    self.items_.to_external(rows),
                    idx,
                    vals,
                    self.items_,
                    C.ITEM_ID,
                    C.SIMILAR_ITEM_ID,
                )
            )
        if not frames:
            return pd.DataFrame(
                {
                    c: pd.Series(dtype=t)
                    for c, t in zip(
                        C.SIMILAR_COLUMNS, (object, np.int32, object, np.float32), strict=True
                    )
                }
            )
        return pd.concat(frames, ignore_index=True)

    # ----------------------------------------------------------------- persistence
    @abstractmethod
    def _get_state(self) -> dict[str, np.ndarray]:
        """Learned arrays to persist (numeric or unicode; never objects)."""

    @abstractmethod
    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore learned arrays written by ``_get_state``."""

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (``.npz``; loadable without pickle)."""
        self._check_fitted()
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        meta = {
            "format_version": FORMAT_VERSION,
            "model": self.name,
            "params": self.get_params(),
            "fit_time": self.fit_time_,
            "recsys_version": __version__,
        }
        seen = self.seen_
        # Values typed Any: numpy's stub reads ``**arrays`` as its keyword options otherwise.
        arrays: dict[str, Any] = {
            "meta": np.array(json.dumps(meta)),
            "customers": self.customers_.to_array(),
            "items": self.items_.to_array(),
            "seen_data": seen.data,
            "seen_indices": seen.indices,
            "seen_indptr": seen.indptr,
            "exclude_indices": self.exclude_.indices,
            "exclude_indptr": self.exclude_.indptr,
        }
        arrays.update({f"state__{k}": v for k, v in self._get_state().items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **arrays)
        return path

    @classmethod
    def _restore(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        model = cls(**meta["params"])
        model.customers_ = IdMap(arrays["customers"])
        model.items_ = IdMap(arrays["items"])
        model.seen_ = sp.csr_matrix(
            (arrays["seen_data"], arrays["seen_indices"], arrays["seen_indptr"]),
            shape=(len(model.customers_), len(model.items_)),
        )
        if "exclude_indptr" in arrays:
            indices = arrays["exclude_indices"]
            model.exclude_ = sp.csr_matrix(
                (np.ones(len(indices), np.float32), indices, arrays["exclude_indptr"]),
                shape=model.seen_.shape,
            )
        else:  # files written before purchases alone were excluded
            model.exclude_ = model.seen_
        model.fit_time_ = float(meta.get("fit_time", 0.0))
        model._set_state(
            {k.removeprefix("state__"): v for k, v in arrays.items() if k.startswith("state__")}
        )
        return model
