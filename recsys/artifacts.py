"""Turning a fitted model into the tables of a bundle.

:func:`build_artifacts` computes every table serving reads (see :mod:`recsys.store.bundle`):
the catalog, each customer's personal list, the "buy it again" list, similar items and the
popular list. It holds no job logic (no files, no evaluation): the training job composes it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recsys import columns as C
from recsys.data.dataset import InteractionDataset
from recsys.errors import DataError
from recsys.evaluation.protocols import (
    ALL_PURCHASES,
    NEW_ITEMS,
    GroundTruth,
    score_recommendations,
    served_list,
)
from recsys.models import make_model
from recsys.models.base import Recommender
from recsys.models.blend import BlendRecommender
from recsys.models.eligibility import servable_items
from recsys.store.keys import GLOBAL_SEGMENT


class ArtifactOptions(BaseModel):
    """List lengths of the bundle's tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Personal list length per customer (buy again holds every bought item).
    top_n: int = Field(default=50, ge=1, le=500)
    #: Similar items per item.
    similar_n: int = Field(default=20, ge=1, le=500)
    #: Length of each segment's popular list, a fallback that fills an answer once bought and
    #: excluded items are gone (with 100, a customer with 300 bought items got a short list).
    popular_n: int = Field(default=500, ge=1, le=5000)
    #: Length of the global popular list, the last fallback (at most the catalog): long
    #: enough that a wholesale buyer holding 1,735 items still gets a full answer.
    global_popular_n: int = Field(default=5000, ge=1, le=50_000)


#: The bundle tables with one list per customer, computed by scoring every customer (the
#: costly step; :mod:`recsys.scoring` splits it into shards).
CUSTOMER_TABLES: tuple[str, ...] = ("recommendations", "recommendations_all", "buy_again")

#: The bundle table holding the answer the API serves under each protocol.
PROTOCOL_TABLES: dict[str, str] = {
    NEW_ITEMS: "recommendations",  # the default answer: bought items removed
    ALL_PURCHASES: "recommendations_all",  # include_purchased=true: bought items allowed
}


@dataclass(frozen=True)
class Artifacts:
    """The tables of a bundle, named as :data:`recsys.store.bundle.TABLES` names them."""

    items: pd.DataFrame
    recommendations: pd.DataFrame
    recommendations_all: pd.DataFrame
    buy_again: pd.DataFrame
    similar_items: pd.DataFrame
    popular: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "items": self.items,
            "recommendations": self.recommendations,
            "recommendations_all": self.recommendations_all,
            "buy_again": self.buy_again,
            "similar_items": self.similar_items,
            "popular": self.popular,
        }

    def served(self, protocol: str) -> pd.DataFrame:
        """The table the API answers from under ``protocol``."""
        return getattr(self, PROTOCOL_TABLES[protocol])  # type: ignore[no-any-return]

    def score(self, truths: Mapping[str, GroundTruth], k: int) -> dict[str, dict[str, float]]:
        """Protocol -> metrics at ``k`` of the served lists (the evaluation's own scoring)."""
        return {p: score_recommendations(self.served(p), t, k) for p, t in truths.items()}


def catalog(dataset: InteractionDataset, items_frame: pd.DataFrame | None) -> pd.DataFrame:
    """The catalog in the dataset's item order, with the attributes serving filters need.

    Columns ``item_id`` and ``in_stock`` (missing -> True), plus ``name``, ``category`` and
    ``price`` when ``items_frame`` (indexed by item id) has them.
    """
    cat = pd.DataFrame({C.ITEM_ID: dataset.items.external_ids.astype(str)})
    if items_frame is not None:
        attrs = items_frame.reindex(cat[C.ITEM_ID])
        for col in (C.NAME, C.CATEGORY, C.PRICE, C.IN_STOCK):
            if col in attrs.columns:
                cat[col] = attrs[col].to_numpy()
    if C.IN_STOCK not in cat.columns:
        cat[C.IN_STOCK] = True
    cat[C.IN_STOCK] = cat[C.IN_STOCK].fillna(True).astype(bool)
    return cat


def similar_source(model: Recommender, dataset: InteractionDataset) -> Recommender:
    """The model that answers "similar items": the model itself, a blend's similarity
    component, or else an item-kNN fitted on ``dataset``."""
    if model.supports_similar:
        return model
    if isinstance(model, BlendRecommender) and (inner := model.similarity_model()) is not None:
        return inner
    return make_model("itemknn").fit(dataset)


def buy_again(model: Recommender, dataset: InteractionDataset, n: int) -> pd.DataFrame:
    """Every item each customer bought (net purchases > 0), ranked: first those the model,
    with repeats allowed, ranks in its top ``3n``, in its order; then the rest by item id
    (scored as the customer's lowest ranked score).

    Serving treats this list as "already bought" (filtered from every list of the default
    answer, fallbacks and live answers included), so it holds *all* of them: a customer with
    hundreds of purchases must not be offered the 51st again. Columns ``customer_id, rank,
    item_id, score``.
    """
    return bought_lists(model, dataset.purchase_counts(), n)


def bought_lists(
    model: Recommender,
    bought: sp.csr_matrix,
    n: int,
    *,
    rows: range | None = None,
    ranked: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`buy_again` from a customers x items matrix of net purchases (> 0: bought).

    ``rows`` keeps only the customers whose internal index is in the range (a scoring shard,
    :mod:`recsys.scoring`); ``ranked`` are the external ids the model ranks in one call
    (default: the kept buyers), a superset of the kept buyers.
    """
    coo = bought.tocoo()
    keep = coo.data > 0
    if rows is not None:
        keep &= (coo.row >= rows.start) & (coo.row < rows.stop)
    pairs = pd.DataFrame(
        {
            C.CUSTOMER_ID: model.customers_.to_external(coo.row[keep]),
            C.ITEM_ID: model.items_.to_external(coo.col[keep]),
        }
    )
    who = pairs[C.CUSTOMER_ID].unique() if ranked is None else ranked
    # Ranked a slice of customers at a time (3n rows each: 150M rows for 1M buyers at once).
    # Slices of whole batches of the customers recommend keeps (those with history), so the
    # model forms the same batches as in one call and the lists are the same to the bit.
    idx = model.customers_.to_internal(who)
    who = model.customers_.to_external(idx[model.history_lengths()[idx] > 0])
    step = model.batch_size * 16
    parts = []
    for start in range(0, max(len(who), 1), step):
        ranked_frame = model.recommend(who[start : start + step], k=3 * n, exclude_seen=False)
        parts.append(ranked_frame.merge(pairs, on=[C.CUSTOMER_ID, C.ITEM_ID]))
    listed = pd.concat(parts, ignore_index=True)
    rest = pairs.merge(listed[[C.CUSTOMER_ID, C.ITEM_ID]], how="left", indicator=True)
    rest = rest[rest["_merge"] == "left_only"]
    if len(rest):
        rest = rest.sort_values([C.CUSTOMER_ID, C.ITEM_ID])
        lowest = listed.groupby(C.CUSTOMER_ID)[C.SCORE].min()
        rest[C.SCORE] = rest[C.CUSTOMER_ID].map(lowest).fillna(0.0).astype(listed[C.SCORE].dtype)
        # after every item the model ranked (ranks <= 3n), by item id (shards know no counts)
        rest[C.RANK] = (3 * n + 1 + rest.groupby(C.CUSTOMER_ID).cumcount()).astype(np.int32)
        listed = pd.concat([listed, rest[listed.columns]], ignore_index=True)
    out = listed.sort_values([C.CUSTOMER_ID, C.RANK], ignore_index=True)
    out[C.RANK] = (out.groupby(C.CUSTOMER_ID).cumcount() + 1).astype(np.int32)
    return out


def popular_list(dataset: InteractionDataset, n: int) -> pd.DataFrame:
    """The global popular list (recency-weighted, ``trending``), segment ``_all``."""
    pop = make_model("trending").fit(dataset)
    first = dataset.customers.external_ids[:1]
    recs = pop.recommend(first, k=n, exclude_seen=False)
    return pd.DataFrame(
        {
            C.SEGMENT: GLOBAL_SEGMENT,
            C.RANK: recs[C.RANK].to_numpy(),
            C.ITEM_ID: recs[C.ITEM_ID].to_numpy(),
            C.SCORE: recs[C.SCORE].to_numpy(),
        }
    )


def build_artifacts(
    model: Recommender,
    dataset: InteractionDataset,
    items_frame: pd.DataFrame | None = None,
    options: ArtifactOptions | None = None,
    *,
    scored: Mapping[str, pd.DataFrame] | None = None,
) -> Artifacts:
    """Every table of a bundle from ``model`` fitted on ``dataset``.

    ``recommendations`` is the default answer (bought items removed) and
    ``recommendations_all`` the ``include_purchased=true`` answer, each computed by
    :func:`~recsys.evaluation.protocols.served_list` exactly as evaluation scores them
    (out-of-stock items left out, as serving leaves them out).
    Customers the model has nothing personal for get no rows (served like unknown ones).
    ``scored`` holds the :data:`CUSTOMER_TABLES` computed elsewhere (joined scoring shards,
    :mod:`recsys.scoring`); they are used as given instead of scoring every customer here.
    """
    opts = options or ArtifactOptions()
    everyone = dataset.customers.external_ids
    allowed = servable_items(items_frame)
    similar = similar_source(model, dataset).similar_items(
        dataset.items.external_ids, k=opts.similar_n
    )
    per_customer = dict(scored) if scored is not None else {}
    if not per_customer:
        per_customer = {
            "recommendations": served_list(model, everyone, opts.top_n, NEW_ITEMS, items=allowed),
            "recommendations_all": served_list(
                model, everyone, opts.top_n, ALL_PURCHASES, items=allowed
            ),
            "buy_again": buy_again(model, dataset, opts.top_n),
        }
    return Artifacts(
        items=catalog(dataset, items_frame),
        **per_customer,
        similar_items=similar,
        popular=popular_list(dataset, opts.global_popular_n),
    )


LATEST_FILE = "LATEST"


@contextmanager
def staged_bundle(out_root: str | Path, version: str) -> Iterator[Path]:
    """A temporary directory that becomes ``out_root/version`` when the block succeeds.

    The bundle is written into ``out_root/.tmp-<version>-<pid>`` and renamed into place at the end
    (``LATEST`` then names it), so a reader never sees half a bundle; on an error the
    temporary directory is removed, and ``out_root`` too if that leaves it empty.
    """
    out = Path(out_root)
    # One temporary directory per process: two runs never write into (or delete) each other's.
    tmp = out / f".tmp-{version}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if (out / version).exists():
            raise DataError(
                f"bundle {out / version} already exists: another run wrote the same version "
                "(same data, same second); run again"
            )
        os.replace(tmp, out / version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if out.exists() and not any(out.iterdir()):
            out.rmdir()
        raise
    (out / LATEST_FILE).write_text(version + "\n")
