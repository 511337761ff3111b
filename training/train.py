"""The ``recsys train`` job: validate -> evaluate candidates -> pick -> retrain -> bundle.

The bundle ``OUT/<version>/`` is written to a temporary directory first and renamed into
place when complete, so a reader never sees half a bundle. Its layout is what
``recsys.store.bundle`` reads and ``recsys publish`` ships to Redis.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.config import Config
from recsys.data.catalogs import items_from_events, load_customers, load_items
from recsys.data.dataset import InteractionDataset, build_dataset
from recsys.data.events import load_events
from recsys.data.presets import resolve_ingest_config
from recsys.errors import DataError
from recsys.evaluation import EvaluationResult, evaluate, temporal_split
from recsys.evaluation.selection import relative_scores, select_model
from recsys.models import make_model
from recsys.models.base import Recommender
from recsys.models.blend import BlendRecommender
from recsys.store.bundle import write_bundle_tables
from training.progress import Reporter

#: Candidates compared by default; "blend" is repeat ranker + ALS (see recsys.models.blend).
DEFAULT_CANDIDATES = ("popular", "itemknn", "als", "ease", "repeat", "blend")
GLOBAL_SEGMENT = "_all"
LIBRARIES = ("recsys-engine", "implicit", "numpy", "scipy", "pandas", "scikit-learn", "pyarrow")


@dataclass(frozen=True)
class TrainResult:
    version: str
    bundle_dir: Path
    manifest: dict[str, Any]
    evaluation: EvaluationResult | None


def fingerprint(paths: list[Path], config: Config) -> str:
    """sha256 over the input files' bytes and the effective config."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    h.update(config.model_dump_json().encode())
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _catalog(dataset: InteractionDataset, items_frame: pd.DataFrame | None) -> pd.DataFrame:
    """The catalog in the dataset's item order, with the attributes serving filters need."""
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


def _similar_source(model: Recommender, dataset: InteractionDataset) -> Recommender:
    if model.supports_similar:
        return model
    if isinstance(model, BlendRecommender) and (inner := model.similarity_model()) is not None:
        return inner
    return make_model("itemknn").fit(dataset)


def _buy_again(model: Recommender, dataset: InteractionDataset, n: int) -> pd.DataFrame:
    """Each customer's previously purchased items, ranked by the model with repeats allowed.

    Serving treats these as "already bought" (filtered from web lists unless a re-buy is
    asked for), so only items with net purchases > 0 belong here. The model ranks a wider
    list (3n) and the purchased items among it are kept.
    """
    bought = dataset.purchase_counts().tocoo()
    pairs = pd.DataFrame(
        {
            C.CUSTOMER_ID: dataset.customers.to_external(bought.row),
            C.ITEM_ID: dataset.items.to_external(bought.col),
        }
    )
    who = pairs[C.CUSTOMER_ID].unique()
    ranked = model.recommend(who, k=3 * n, exclude_seen=False)
    again = ranked.merge(pairs, on=[C.CUSTOMER_ID, C.ITEM_ID], how="inner")
    again = again.sort_values([C.CUSTOMER_ID, C.RANK], kind="stable")
    again[C.RANK] = (again.groupby(C.CUSTOMER_ID).cumcount() + 1).astype(np.int32)
    return again[again[C.RANK] <= n].reset_index(drop=True)


def _popular_lists(dataset: InteractionDataset, n: int) -> pd.DataFrame:
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


def run_training(
    events_path: str | Path,
    *,
    config: Config,
    out_dir: str | Path,
    items_path: str | Path | None = None,
    customers_path: str | Path | None = None,
    candidates: tuple[str, ...] | list[str] | None = None,
    top_n: int = 50,
    similar_n: int = 20,
    popular_n: int = 100,
    skip_evaluation: bool = False,
    reporter: Reporter | None = None,
) -> TrainResult:
    """Train, evaluate, choose and write an artifact bundle; returns where it went."""
    rep = reporter or Reporter(quiet=True)
    started = datetime.now(UTC)
    events_path = Path(events_path)
    inputs = [Path(p) for p in (events_path, items_path, customers_path) if p]
    fp = fingerprint(inputs, config)
    version = f"{started:%Y%m%dT%H%M%S}Z-{fp[:8]}"
    out = Path(out_dir)
    tmp = out / f".tmp-{version}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        manifest, evaluation = _train_into(
            tmp,
            events_path,
            inputs,
            fp,
            version,
            started,
            config=config,
            items_path=items_path,
            customers_path=customers_path,
            candidates=candidates,
            top_n=top_n,
            similar_n=similar_n,
            popular_n=popular_n,
            skip_evaluation=skip_evaluation,
            rep=rep,
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if out.exists() and not any(out.iterdir()):
            out.rmdir()
        raise
    final = out / version
    os.replace(tmp, final)
    (out / "LATEST").write_text(version + "\n")
    return TrainResult(version, final, manifest, evaluation)


def _train_into(
    tmp: Path,
    events_path: Path,
    inputs: list[Path],
    fp: str,
    version: str,
    started: datetime,
    *,
    config: Config,
    items_path: str | Path | None,
    customers_path: str | Path | None,
    candidates: tuple[str, ...] | list[str] | None,
    top_n: int,
    similar_n: int,
    popular_n: int,
    skip_evaluation: bool,
    rep: Reporter,
) -> tuple[dict[str, Any], EvaluationResult | None]:
    ingest = resolve_ingest_config(config.ingest)
    with rep.step(f"Loading events from {events_path}"):
        loaded = load_events(
            events_path,
            ingest,
            event_types=list(config.matrix.event_weights),
            rejects_path=tmp / "rejects.csv",
        )
    for line in loaded.report.summary_lines():
        rep.info(f"  {line}")
    events = loaded.events
    items_frame = load_items(items_path, ingest) if items_path else items_from_events(events)
    customers = load_customers(customers_path, ingest) if customers_path else None

    names = tuple(candidates or config.models.keys() or DEFAULT_CANDIDATES)
    params = {name: config.models.get(name, {}) for name in names}
    evaluation = None
    chosen = names[0]
    metric = config.evaluation.metric
    if not skip_evaluation and len(names) > 1:
        ev_cfg = config.evaluation
        split = temporal_split(events, test_days=ev_cfg.test_days, cutoff=ev_cfg.cutoff)
        with rep.step(
            f"Evaluating {len(names)} candidates on the holdout from {split.cutoff:%Y-%m-%d}"
        ):
            evaluation = evaluate(
                {n: make_model(n, **params[n]) for n in names},
                split,
                k=ev_cfg.k,
                matrix_config=config.matrix,
                # A catalog derived from the events must not reveal items first sold in the
                # test window: without an items file, evaluate on the training window's own.
                items_frame=items_frame if items_path else None,
                progress=rep,
            )
        chosen = select_model(evaluation.table, metric)
        rep.info(f"  chosen: [bold]{chosen}[/bold] (best worst-protocol {metric})")

    with rep.step(f"Retraining {chosen} on all {len(events):,} events"):
        dataset = build_dataset(events, config.matrix, items_frame=items_frame)
        model = make_model(chosen, **params[chosen]).fit(dataset)
    if not np.isfinite(model.fit_time_):
        raise DataError("model fit did not complete")

    with rep.step(f"Scoring top-{top_n} for {dataset.n_customers:,} customers"):
        everyone = dataset.customers.external_ids
        recs = model.recommend(everyone, k=top_n, exclude_seen=True)
        again = _buy_again(model, dataset, top_n)
        similar = _similar_source(model, dataset).similar_items(
            dataset.items.external_ids, k=similar_n
        )
        popular = _popular_lists(dataset, popular_n)
    model_path = model.save(tmp / "model.npz")

    manifest: dict[str, Any] = {
        "version": version,
        "created_at": started.isoformat(),
        "data_fingerprint": fp,
        "inputs": {p.name: str(p) for p in inputs},
        "config": config.model_dump(mode="json"),
        "rows": {
            "input": loaded.report.n_rows,
            "accepted": loaded.report.n_accepted,
            "customers": dataset.n_customers,
            "items": dataset.n_items,
            "interactions": dataset.n_interactions,
            "customer_profiles": 0 if customers is None else len(customers),
        },
        "rejects": loaded.report.to_dict(),
        "candidates": list(names),
        "chosen_model": chosen,
        "model_params": model.get_params(),
        "model_file": model_path.name,
        "selection_metric": metric,
        "metrics": [] if evaluation is None else evaluation.table.to_dict(orient="records"),
        "relative_scores": {}
        if evaluation is None
        else relative_scores(evaluation.table, metric).round(4).to_dict(orient="index"),
        "top_n": top_n,
        "library_versions": library_versions(),
    }
    write_bundle_tables(
        tmp,
        manifest,
        items=_catalog(dataset, items_frame),
        recommendations=recs,
        buy_again=again,
        similar_items=similar,
        popular=popular,
    )
    if evaluation is not None:
        evaluation.to_csv(tmp / "evaluation.csv")
        evaluation.to_markdown_file(tmp / "evaluation.md")
    return manifest, evaluation
