"""Sharded scoring: every customer's lists computed in N independent pieces, joined exactly.

Scoring every customer (top-N over the whole catalog, twice, plus the buy-again ranking) is
the costliest step of training at scale and grows with customers x items. It is split here
into shards that any process, machine or job runner computes independently, and joined back
into exactly the tables the unsharded run writes (:data:`recsys.artifacts.CUSTOMER_TABLES`).

**Which customers a shard holds.** Shard ``i/N`` (1-based) holds the customers whose
*internal index* (their row in the fitted model, fixed in ``model.npz``) lies in the
contiguous range ``[(i-1)*n // N, i*n // N)``. A contiguous range rather than a hash of the
id because the unsharded tables list customers in internal-index order (``recommendations``)
or sorted by id (``buy_again``): concatenating contiguous shards in shard order reproduces the
first with no sort at all, and the assignment depends only on the model file, so it is stable
for a bundle whatever runs the shards. (A hash would balance no better: the ranges already
hold equal numbers of customers.)

**Why the shards are exact, not just equal in theory.** ``Recommender.recommend`` scores
customers in batches of ``batch_size`` (one BLAS product and one top-k per batch). A shard
asks the model for the whole batches that cover its customers, exactly as the unsharded run
forms them, and keeps its own customers' rows: the same floating-point operations on the same
operands, so the joined tables equal the unsharded ones row for row, on any BLAS. The cost is
at most two extra batches per shard.

**Inputs.** A shard reads a bundle directory (or a training run's staging directory): the
fitted model (``manifest.json``'s ``model_file``), the list length (``top_n``) and the
servable items (``items.parquet``'s ``in_stock``; or an explicit candidate list). Its output
is a directory ``<out>/shard-<i>-of-<N>/`` with one Parquet file per table and a
``shard.json`` written last; :func:`join_shards` refuses a missing or incomplete shard.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from recsys import columns as C
from recsys.artifacts import CUSTOMER_TABLES, bought_lists
from recsys.errors import ConfigError, DataError
from recsys.evaluation.protocols import ALL_PURCHASES, NEW_ITEMS, served_list
from recsys.models.base import Recommender
from recsys.models.registry import load_model
from recsys.store.bundle import DICTIONARY_PAGE_LIMIT, MANIFEST_FILE, TABLES

SHARD_FILE = "shard.json"
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` of ``count`` (1-based: ``1/2`` and ``2/2`` make a whole)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ConfigError(
                f"shard {self.index}/{self.count} does not exist: expected i/N with 1 <= i <= N"
            )

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        """``"i/N"`` -> ShardSpec; ConfigError (one line, exit 2) for anything else."""
        match = _SPEC.fullmatch(text)
        if match is None:
            raise ConfigError(f"invalid shard {text!r}: expected i/N with 1 <= i <= N, e.g. 1/4")
        return cls(int(match[1]), int(match[2]))

    def rows(self, n_customers: int) -> range:
        """The internal customer indices this shard holds (contiguous; may be empty)."""
        return range(
            (self.index - 1) * n_customers // self.count, self.index * n_customers // self.count
        )

    @property
    def name(self) -> str:
        return f"shard-{self.index:04d}-of-{self.count:04d}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def covering_batches(model: Recommender, candidates: np.ndarray, rows: range) -> np.ndarray:
    """The internal indices, from ``candidates``, of the whole ``recommend`` batches that
    cover the candidates in ``rows``, as the unsharded call over ``candidates`` forms them.

    ``candidates``: increasing internal indices the unsharded run passes to ``recommend``.
    ``recommend`` drops customers without history and batches the rest ``batch_size`` at a
    time; the same filter is applied here so the batch boundaries coincide.
    """
    eligible = candidates[model.history_lengths()[candidates] > 0]
    start, stop = np.searchsorted(eligible, [rows.start, rows.stop])
    if start == stop:
        return eligible[:0]
    size = model.batch_size
    return eligible[start // size * size : min(-(-stop // size) * size, len(eligible))]


def _own_rows(
    frame: pd.DataFrame, model: Recommender, asked: np.ndarray, rows: range
) -> pd.DataFrame:
    """``frame``'s rows of the customers in ``rows`` (``asked`` minus the covering extras)."""
    extra = asked[(asked < rows.start) | (asked >= rows.stop)]
    if not len(extra):
        return frame.reset_index(drop=True)
    drop = frame[C.CUSTOMER_ID].isin(model.customers_.to_external(extra))
    return frame[~drop.to_numpy()].reset_index(drop=True)


def score_shard(
    model: Recommender,
    spec: ShardSpec,
    top_n: int,
    items: Iterable[object] | None = None,
) -> dict[str, pd.DataFrame]:
    """The :data:`~recsys.artifacts.CUSTOMER_TABLES` rows of the customers of shard ``spec``.

    ``model``: fitted; ``top_n``: list length; ``items``: the servable item ids (None: all),
    as :func:`recsys.models.eligibility.servable_items` gives them. Returns table name ->
    DataFrame ``customer_id, rank, item_id, score``; concatenated over all shards in shard
    order (``buy_again`` then sorted by customer id and rank) they equal what
    :func:`recsys.artifacts.build_artifacts` computes for every customer.
    """
    rows = spec.rows(len(model.customers_))
    everyone = np.arange(len(model.customers_))
    asked = covering_batches(model, everyone, rows)
    ids = model.customers_.to_external(asked)
    out = {
        "recommendations": served_list(model, ids, top_n, NEW_ITEMS, items=items),
        "recommendations_all": served_list(model, ids, top_n, ALL_PURCHASES, items=items),
    }
    out = {name: _own_rows(frame, model, asked, rows) for name, frame in out.items()}
    # Buy-again ranks the buyers (net purchases > 0: the model's ``exclude_`` under the
    # default exclusion of purchases, as dataset.purchase_counts() > 0) in their own batches.
    buyers = np.flatnonzero(np.diff(model.exclude_.indptr) > 0)
    ranked = covering_batches(model, buyers, rows)
    out["buy_again"] = bought_lists(
        model, model.exclude_, top_n, rows=rows, ranked=model.customers_.to_external(ranked)
    )
    return out


# --------------------------------------------------------------------------- bundle files


@dataclass(frozen=True)
class ScoringInputs:
    """What a shard reads from a bundle (or staging) directory."""

    version: str
    model: Recommender
    top_n: int
    items: np.ndarray | None

    @classmethod
    def open(cls, path: str | Path, candidates: str | Path | None = None) -> ScoringInputs:
        """Read ``manifest.json``, the model file and the servable items from ``path``.

        ``candidates``: a Parquet file with an ``item_id`` column, the servable items, used
        instead of ``items.parquet``'s ``in_stock`` (the training job passes the exact list
        it computed). DataError naming the file when anything is missing or unreadable.
        """
        root = Path(path)
        manifest = _read_json(root / MANIFEST_FILE)
        for key in ("version", "top_n", "model_file"):
            if key not in manifest:
                raise DataError(f"{root / MANIFEST_FILE} has no {key!r}: not a trained bundle")
        model = load_model(root / str(manifest["model_file"]))
        items = (
            _read_column(Path(candidates), C.ITEM_ID)
            if candidates is not None
            else _servable_from_catalog(root / TABLES["items"])
        )
        return cls(str(manifest["version"]), model, int(manifest["top_n"]), items)

    @staticmethod
    def version_of(path: str | Path) -> str:
        """The version named by the manifest of the bundle at ``path``."""
        manifest = _read_json(Path(path) / MANIFEST_FILE)
        if "version" not in manifest:
            raise DataError(f"{Path(path) / MANIFEST_FILE} has no 'version'")
        return str(manifest["version"])


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} must hold a JSON object")
    return data


def _read_column(path: Path, column: str) -> np.ndarray:
    try:
        return pq.read_table(path, columns=[column]).column(column).to_numpy(zero_copy_only=False)
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise DataError(f"cannot read {path}: {exc}") from None


def _servable_from_catalog(path: Path) -> np.ndarray | None:
    """In-stock item ids of the bundle's catalog; None when every item is in stock."""
    ids = _read_column(path, C.ITEM_ID)
    if C.IN_STOCK not in pq.read_schema(path).names:
        return None
    stock = _read_column(path, C.IN_STOCK).astype(bool)
    return None if stock.all() else ids[stock].astype(str)


def shard_dir(out: str | Path, spec: ShardSpec) -> Path:
    return Path(out) / spec.name


def write_shard(
    out: str | Path,
    spec: ShardSpec,
    version: str,
    n_customers: int,
    tables: dict[str, pd.DataFrame],
) -> Path:
    """Write one shard's tables under ``out/shard-i-of-N/`` (temporary directory renamed
    into place, ``shard.json`` last: a shard directory present is a complete shard)."""
    final = shard_dir(out, spec)
    tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, frame in tables.items():
        frame.to_parquet(
            tmp / TABLES[name], index=False, dictionary_pagesize_limit=DICTIONARY_PAGE_LIMIT
        )
    rows = spec.rows(n_customers)
    meta = {
        "version": version,
        "index": spec.index,
        "count": spec.count,
        "customers": [rows.start, rows.stop],
        "rows": {name: len(frame) for name, frame in tables.items()},
    }
    (tmp / SHARD_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def score_bundle_shard(
    bundle: str | Path,
    spec: ShardSpec,
    out: str | Path,
    *,
    candidates: str | Path | None = None,
    threads: int | None = 1,
) -> Path:
    """Score shard ``spec`` of the bundle at ``bundle`` and write it under ``out``.

    The function a job runner calls once per shard (see docs/scaling.md). ``threads``: the
    threads of the model's top-k and of BLAS in this process (None: leave as configured);
    one per process when the shards run side by side on one machine.
    """
    inputs = ScoringInputs.open(bundle, candidates)
    model = inputs.model
    if threads is not None and "num_threads" in model.get_params():
        model.set_params(num_threads=threads)
    if threads is None:
        tables = score_shard(model, spec, inputs.top_n, inputs.items)
    else:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(threads):
            tables = score_shard(model, spec, inputs.top_n, inputs.items)
    return write_shard(out, spec, inputs.version, len(model.customers_), tables)


def join_shards(out: str | Path, count: int, version: str | None = None) -> dict[str, pd.DataFrame]:
    """Concatenate shards ``1..count`` under ``out`` into the unsharded per-customer tables.

    DataError when a shard is missing or incomplete, was scored for another version or
    another shard count, or the shards' customer ranges do not tile the customers.
    """
    if count < 1:
        raise ConfigError(f"shard count {count} must be >= 1")
    specs = [ShardSpec(i, count) for i in range(1, count + 1)]
    missing = [str(s) for s in specs if not (shard_dir(out, s) / SHARD_FILE).is_file()]
    if missing:
        raise DataError(
            f"cannot join: shard(s) {', '.join(missing)} missing under {out}; "
            "run `recsys score BUNDLE --shard i/N` for each"
        )
    metas = [_read_json(shard_dir(out, s) / SHARD_FILE) for s in specs]
    if version is not None:
        other = [str(s) for s, m in zip(specs, metas, strict=True) if m.get("version") != version]
        if other:
            raise DataError(
                f"cannot join: shard(s) {', '.join(other)} were scored for another version"
            )
    edges = [m["customers"] for m in metas]
    if edges[0][0] != 0 or any(a[1] != b[0] for a, b in zip(edges, edges[1:], strict=False)):
        raise DataError(f"cannot join: the shards under {out} do not tile the customers: {edges}")
    tables = {}
    for name in CUSTOMER_TABLES:
        parts = [pd.read_parquet(shard_dir(out, s) / TABLES[name]) for s in specs]
        for s, m, part in zip(specs, metas, parts, strict=True):
            if len(part) != m["rows"][name]:
                raise DataError(f"cannot join: shard {s} {TABLES[name]} is incomplete")
        frame = pd.concat(parts, ignore_index=True)
        if name == "buy_again":  # sorted by customer id, as bought_lists sorts it
            frame = frame.sort_values([C.CUSTOMER_ID, C.RANK], kind="stable", ignore_index=True)
        tables[name] = frame
    return tables
