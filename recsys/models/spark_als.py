"""Implicit-feedback ALS fitted by Spark MLlib, exported into the project's factor model.

Optional: ``pip install 'recsys-engine[spark]'`` (pyspark >= 3.5) and a Java 17 runtime. The
model is :class:`pyspark.ml.recommendation.ALS` with ``implicitPrefs=True`` (Hu, Koren and
Volinsky 2008, "Collaborative Filtering for Implicit Feedback Datasets"; Spark's block
partitioning after Das et al. 2017) fitted on the same weighted customers x items matrix the
implicit-backed ``als`` sees. Its ``userFactors`` and ``itemFactors`` come back as numpy
arrays ordered by the project's own indices, so everything after fitting (top-N, filters, the
buy-again blend, artifacts, publish, serving, saving and loading) is
:class:`~recsys.models.factors.FactorRecommender`'s, unchanged. Loading a saved model does not
need pyspark.

Spark's ids are the matrix's row and column indices (the project's :class:`IdMap`), which
must fit Spark's ``int32`` id columns. A checkpoint directory is always set (a temporary one
unless given), so long lineages are cut every ``checkpoint_interval`` iterations instead of
overflowing the stack. Spark is for data that outgrows one machine or already lives in Spark:
on one box implicit is much faster (see docs/scaling.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.errors import ConfigError, DataError, ModelFitError
from recsys.models import _implicit as imp
from recsys.models.factors import FactorRecommender

#: Largest id Spark's ALS accepts (its user and item columns are cast to ``int``).
INT32_MAX = int(np.iinfo(np.int32).max)

#: Column names of the ratings DataFrame handed to Spark.
USER, ITEM, RATING = "user", "item", "rating"


def check_spark_shape(n_customers: int, n_items: int) -> None:
    """Refuse a matrix whose row or column indices do not fit Spark's ``int32`` ids.

    Raises :class:`DataError` naming the side and the limit (indices ``0 .. n - 1`` must be
    at most ``2**31 - 1``).
    """
    for what, n in (("customers", n_customers), ("items", n_items)):
        if n - 1 > INT32_MAX:
            raise DataError(
                f"spark-als: {n:,} {what} do not fit Spark ALS's int32 ids (indices 0 to "
                f"{INT32_MAX:,}); split the shop or use the implicit-backed 'als'"
            )


def rating_triples(matrix: sp.spmatrix) -> pd.DataFrame:
    """The non-zeros of a customers x items matrix as Spark's ratings frame.

    Returns a DataFrame ``user`` (``int32`` row index), ``item`` (``int32`` column index),
    ``rating`` (``float32`` matrix weight), one row per stored non-zero, rows in CSR order.
    Raises :class:`DataError` when an index does not fit ``int32`` (:func:`check_spark_shape`).
    """
    check_spark_shape(*matrix.shape)
    csr = matrix if sp.isspmatrix_csr(matrix) else sp.csr_matrix(matrix)
    rows = np.repeat(np.arange(csr.shape[0], dtype=np.int32), np.diff(csr.indptr))
    return pd.DataFrame(
        {
            USER: rows,
            ITEM: csr.indices.astype(np.int32, copy=False),
            RATING: csr.data.astype(np.float32, copy=False),
        }
    )


def factors_by_index(ids: np.ndarray, vectors: np.ndarray, n: int, rank: int) -> np.ndarray:
    """Spark's ``(id, features)`` rows as an ``(n, rank)`` ``float32`` array indexed by id.

    Spark returns factors in no particular order and leaves out every id without a rating
    (a catalog item nobody touched, a customer whose history netted to zero); those rows
    stay all-zero, as implicit leaves them, so they score 0 and have no cosine direction.
    Raises :class:`ModelFitError` on an id outside ``0 .. n - 1``, a repeated id, or vectors
    whose shape is not ``(len(ids), rank)``.
    """
    ids = np.asarray(ids, dtype=np.int64)
    vectors = np.asarray(vectors, dtype=np.float32)
    out = np.zeros((n, rank), dtype=np.float32)
    if not len(ids):
        return out
    if vectors.shape != (len(ids), rank):
        raise ModelFitError(
            f"spark-als: factors of shape {vectors.shape}, expected ({len(ids)}, {rank})"
        )
    if ids.min() < 0 or ids.max() >= n:
        raise ModelFitError(
            f"spark-als: factor ids outside 0..{n - 1} (min {ids.min()}, max {ids.max()})"
        )
    if len(np.unique(ids)) != len(ids):
        raise ModelFitError("spark-als: Spark returned the same id twice")
    out[ids] = vectors
    return out


def _require_spark() -> None:
    """``ConfigError`` (one line, what to install) when pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError(
            "spark-als needs pyspark: pip install 'recsys-engine[spark]' (and Java 17)"
        ) from None
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and os.path.isdir(java_home)):
        raise ConfigError("spark-als needs a Java 17 runtime: no java on PATH, JAVA_HOME unset")


@contextmanager
def spark_session(master: str, conf: dict[str, str] | None = None) -> Iterator[Any]:
    """A SparkSession for one fit, stopped on exit when this call started it.

    An already active session in this process (the caller's, e.g. a notebook on a cluster)
    is used as is and left running; ``master`` and ``conf`` then do not apply. The Spark UI
    and console progress bars are off and Arrow carries the pandas <-> Spark transfers.
    Raises :class:`ConfigError` when pyspark or Java is missing.
    """
    _require_spark()
    with warnings.catch_warnings():
        # pyspark warns on import and on every pandas transfer when pandas is newer than the
        # versions it tested; the transfers here (int/float columns, float arrays) are plain.
        warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
        warnings.filterwarnings("ignore", "The copy keyword", module="pyspark")
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            yield active
            return
        builder = (
            SparkSession.builder.master(master)
            .appName("recsys-spark-als")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.shuffle.partitions", "4")
        )
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            session.stop()


def _to_numpy(frame: Any, n: int, rank: int) -> np.ndarray:
    """A Spark factors DataFrame (``id``, ``features``) as :func:`factors_by_index` output."""
    pdf = frame.toPandas()
    vectors = (
        np.stack([np.asarray(v, dtype=np.float32) for v in pdf["features"]])
        if len(pdf)
        else np.empty((0, rank), np.float32)
    )
    return factors_by_index(pdf["id"].to_numpy(), vectors, n, rank)


class SparkALS:
    """Spark's implicit ALS behind implicit's estimator interface (``fit``, then factors).

    ``fit(user_items)`` starts (or joins) a SparkSession, fits, sets ``user_factors`` and
    ``item_factors`` (numpy, ``float32``, rows by matrix index) and stops the session it
    started. ``checkpoint_dir_`` is the directory Spark checkpointed into; a temporary one is
    deleted after the fit. In a caller's active session the fit sets that session's
    checkpoint directory.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def fit(self, user_items: sp.csr_matrix, show_progress: bool = False) -> SparkALS:
        p = self.params
        n_users, n_items = user_items.shape
        ratings = rating_triples(user_items)
        own_dir = p["checkpoint_dir"] is None
        checkpoint_dir = tempfile.mkdtemp(prefix="recsys-spark-ckpt-") if own_dir else None
        self.checkpoint_dir_ = str(checkpoint_dir or p["checkpoint_dir"])
        try:
            with spark_session(p["master"], p["spark_conf"]) as spark:
                from pyspark.ml.recommendation import ALS

                spark.sparkContext.setCheckpointDir(self.checkpoint_dir_)
                blocks = p["blocks"] or spark.sparkContext.defaultParallelism
                frame = spark.createDataFrame(ratings).repartition(blocks)
                als = ALS(
                    rank=p["factors"],
                    maxIter=p["iterations"],
                    regParam=float(p["regularization"]),
                    alpha=float(p["alpha"]),
                    implicitPrefs=True,
                    nonnegative=False,
                    numUserBlocks=blocks,
                    numItemBlocks=blocks,
                    checkpointInterval=p["checkpoint_interval"],
                    seed=p["seed"],
                    userCol=USER,
                    itemCol=ITEM,
                    ratingCol=RATING,
                )
                fitted = als.fit(frame)
                self.user_factors = _to_numpy(fitted.userFactors, n_users, p["factors"])
                self.item_factors = _to_numpy(fitted.itemFactors, n_items, p["factors"])
        finally:
            if own_dir:
                shutil.rmtree(self.checkpoint_dir_, ignore_errors=True)
        return self


class SparkALSRecommender(FactorRecommender):
    """Weighted ALS fitted by Spark MLlib on ``master``; scored like ``als``.

    Registered as the optional model ``spark-als`` (:data:`~recsys.models.registry.
    OPTIONAL_MODELS`): ``recsys train --models spark-als``. Not a default candidate.

    Parameters
    ----------
    factors:
        Latent dimensions (Spark's ``rank``).
    regularization:
        Spark's ``regParam``. Spark scales it by each customer's (item's) number of rated
        pairs (ALS-WR, Zhou et al. 2008) where implicit does not, so the same number is a far
        stronger penalty here. On the generated test shop (800 customers x 200 items, last
        30 days held out, rank 32, 15 sweeps) 0.2 matched ``als``'s 1.0 in recall@10
        (ratio 1.00 on new items and on all purchases; 0.05 gave 0.92 and 0.98).
    alpha:
        Confidence scaling of the matrix weights. Spark's confidence is ``1 + alpha * w``
        (Hu et al.'s form) where implicit's is ``alpha * w``; the matrix ``w`` (event
        weights, decay, quantities, netting) is the same one ``als`` sees.
    iterations:
        ALS sweeps (Spark's ``maxIter``).
    random_state:
        Spark's ``seed`` (``None``: a random one). Spark's ALS is deterministic given the
        seed and the block layout (``blocks``).
    master:
        Spark master URL; ``local[2]`` runs in this process's JVM on 2 cores.
    checkpoint_dir:
        Where Spark checkpoints the factors (a path or an ``hdfs://`` URL on a cluster);
        ``None`` uses a temporary directory deleted after the fit. Always set: without one
        Spark silently skips checkpointing and long fits overflow the stack.
    checkpoint_interval:
        Checkpoint every this many iterations.
    blocks:
        User and item blocks (and partitions of the ratings); ``None`` is the session's
        default parallelism (2 on ``local[2]``).
    spark_conf:
        Extra ``SparkSession.builder.config`` entries, e.g. ``{"spark.driver.memory": "8g"}``.

    Raises :class:`~recsys.errors.ConfigError` at fit time when pyspark or Java is missing
    and :class:`~recsys.errors.DataError` when the customers or items do not fit ``int32``.
    """

    name = "spark-als"
    fit_hint = "lower alpha or raise regularization"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.2,
        alpha: float = 0.2,
        iterations: int = 15,
        random_state: int | None = 0,
        master: str = "local[2]",
        checkpoint_dir: str | None = None,
        checkpoint_interval: int = 5,
        blocks: int | None = None,
        spark_conf: dict[str, str] | None = None,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.master = master
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_interval = checkpoint_interval
        self.blocks = blocks
        self.spark_conf = spark_conf

    def _check_params(self) -> None:
        imp.check_positive_int(
            self.name,
            factors=self.factors,
            iterations=self.iterations,
            checkpoint_interval=self.checkpoint_interval,
        )
        if self.blocks is not None:
            imp.check_positive_int(self.name, blocks=self.blocks)
        imp.check_non_negative(self.name, regularization=self.regularization)
        imp.check_positive(self.name, alpha=self.alpha)
        imp.check_seed(self.name, self.random_state)
        if not isinstance(self.master, str) or not self.master:
            raise ConfigError(f"{self.name}: master == {self.master!r}, must be a Spark URL")
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, str):
            raise ConfigError(f"{self.name}: checkpoint_dir must be a path string or None")
        if self.checkpoint_dir is None and not self.master.startswith("local"):
            raise ConfigError(
                f"{self.name}: master {self.master!r} is a cluster: give checkpoint_dir on a "
                "file system every executor reaches (hdfs://, s3a://, a shared mount)"
            )
        if self.spark_conf is not None and not isinstance(self.spark_conf, dict):
            raise ConfigError(f"{self.name}: spark_conf must be a mapping of strings")

    def _implicit_model(self) -> SparkALS:
        seed = self.random_state
        if seed is None:
            seed = int(np.random.default_rng().integers(0, INT32_MAX))
        self.estimator_ = SparkALS(
            {
                "factors": self.factors,
                "regularization": self.regularization,
                "alpha": self.alpha,
                "iterations": self.iterations,
                "seed": seed,
                "master": self.master,
                "checkpoint_dir": self.checkpoint_dir,
                "checkpoint_interval": self.checkpoint_interval,
                "blocks": self.blocks,
                "spark_conf": {str(k): str(v) for k, v in (self.spark_conf or {}).items()},
            }
        )
        return self.estimator_
