"""The ``recsys train`` job: validate -> evaluate candidates -> pick -> retrain -> bundle.

The job only composes library pieces: loading (:mod:`recsys.data`), evaluation and selection
(:mod:`recsys.evaluation`), the tables (:mod:`recsys.artifacts`) and the manifest
(:mod:`recsys.manifest`). The bundle ``OUT/<version>/`` is written to a temporary directory
first and renamed into place when complete, so a reader never sees half a bundle.
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
from pydantic import BaseModel, ConfigDict, Field

from recsys import columns as C
from recsys.artifacts import CUSTOMER_TABLES, ArtifactOptions, build_artifacts, staged_bundle
from recsys.config import Config
from recsys.customers.artifacts import segment_manifest, segment_popular, segment_tables
from recsys.customers.segments import build_segments
from recsys.data.catalogs import items_from_events, load_customers, load_items
from recsys.data.dataset import build_dataset
from recsys.data.events import load_events
from recsys.data.io import parquet_files
from recsys.data.presets import resolve_ingest_config
from recsys.errors import ConfigError, DataError, ModelFitError
from recsys.evaluation import METRICS, EvaluationResult
from recsys.evaluation.candidates import Comparison, candidate_names, compare_candidates
from recsys.evaluation.selection import relative_scores
from recsys.manifest import Manifest, ProtocolFigures, RowCounts
from recsys.models import make_model
from recsys.models.base import Recommender
from recsys.models.eligibility import servable_items
from recsys.models.registry import is_model, model_names
from recsys.store.bundle import write_bundle_tables
from training.dates import read_cutoff
from training.offers import REJECTS_FILE as OFFER_REJECTS_FILE
from training.offers import offer_bundle_tables
from training.progress import Reporter
from training.score import run_local_shards

#: Candidates compared by default; "blend" is repeat ranker + ALS (see recsys.models.blend).
DEFAULT_CANDIDATES = ("popular", "recent", "itemknn", "als", "ease", "repeat", "blend")
REJECTS_FILE = "rejects.csv"
LIBRARIES = ("recsys-engine", "implicit", "numpy", "scipy", "pandas", "scikit-learn", "pyarrow")


class TrainOptions(BaseModel):
    """What one training run reads, compares and writes (the job's inputs, typed).

    ``candidates`` empty means the config's models, else :data:`DEFAULT_CANDIDATES`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: Path
    out_dir: Path
    items: Path | None = None
    customers: Path | None = None
    candidates: tuple[str, ...] = ()
    skip_evaluation: bool = False
    #: Compute customer segments (RFM, clusters, churn, CLV), their member lists and
    #: per-segment popular lists into the bundle.
    segments: bool = True
    #: An offer catalog: allocate its offers (eligibility, caps, budgets) into the bundle.
    offers: Path | None = None
    artifacts: ArtifactOptions = Field(default_factory=ArtifactOptions)
    #: Score every customer's lists in this many parallel processes (recsys.scoring), then
    #: join them: the bundle is the same as with 1.
    shards: int = Field(default=1, ge=1)
    #: Leave the per-customer tables out: ``recsys score --shard i/N`` computes them on any
    #: machines and ``recsys score --join N`` completes the bundle (publishable only then).
    defer_scoring: bool = False

    @property
    def inputs(self) -> list[Path]:
        return [p for p in (self.events, self.items, self.customers, self.offers) if p is not None]


@dataclass(frozen=True)
class TrainResult:
    version: str
    bundle_dir: Path
    manifest: Manifest
    evaluation: EvaluationResult | None


def fingerprint(paths: list[Path], config: Config) -> str:
    """sha256 over the input files' bytes and the effective config."""
    h = hashlib.sha256()
    # A folder (exported event partitions) counts as its Parquet files, in path order.
    files = [f for p in paths for f in (parquet_files(p) if p.is_dir() else [p])]
    for path in files:
        if path not in paths:  # a partition: its place counts too
            h.update(f"{path.parent.name}/{path.name}".encode())
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


def _check_inputs(options: TrainOptions) -> None:
    """Refuse missing inputs, a file as the output root, and unknown model names up front."""
    for path in options.inputs:
        if path.is_dir() and path == options.events:
            parquet_files(path)  # events may be a folder of Parquet partitions
            continue
        if path.is_dir():
            raise DataError(f"cannot read {path}: it is a directory, expected a file")
        if not path.is_file():
            raise DataError(f"cannot read {path}: no such file")
    if options.out_dir.exists() and not options.out_dir.is_dir():
        raise DataError(f"--out {options.out_dir} is a file; expected a directory")
    if options.defer_scoring and options.offers is not None:
        raise ConfigError("--defer-scoring cannot allocate --offers: offers need the lists")
    unknown = [name for name in options.candidates if not is_model(name)]
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; available: {model_names()}")


@dataclass(frozen=True)
class _Run:
    """Identity of one run: when it started, what it read, its version."""

    started: datetime
    fingerprint: str
    version: str


def run_training(
    options: TrainOptions, *, config: Config, reporter: Reporter | None = None
) -> TrainResult:
    """Train, evaluate, choose and write an artifact bundle; returns where it went."""
    rep = reporter or Reporter(quiet=True)
    started = datetime.now(UTC)
    _check_inputs(options)
    fp = fingerprint(options.inputs, config)
    run = _Run(started, fp, f"{started:%Y%m%dT%H%M%S}Z-{fp[:8]}")
    with staged_bundle(options.out_dir, run.version) as tmp:
        manifest, evaluation = _train_into(tmp, options, config, run, rep)
        rejects = options.out_dir / REJECTS_FILE
        if rejects.is_file():
            os.replace(rejects, tmp / REJECTS_FILE)
    return TrainResult(run.version, options.out_dir / run.version, manifest, evaluation)


def _skip_notes(evaluation: EvaluationResult) -> list[str]:
    skipped = evaluation.facts.get("skipped_models", {})
    return [f"candidate {name} skipped: {reason}" for name, reason in skipped.items()]


def holdout_figures(comparison: Comparison, model: str) -> dict[str, ProtocolFigures]:
    """Protocol -> whether it applies and ``model``'s metrics on the holdout."""
    rows = comparison.result.table[comparison.result.table["model"] == model]
    out = {}
    for protocol, a in comparison.applicability.items():
        row = rows[rows["protocol"] == protocol]
        metrics = {m: float(row[m].iloc[0]) for m in METRICS} if len(row) else {}
        n = int(row["n_customers"].iloc[0]) if len(row) else 0
        out[protocol] = ProtocolFigures(
            applies=a.applies, reason=a.reason, n_customers=n, metrics=metrics
        )
    return out


def _score_in_shards(
    tmp: Path,
    options: TrainOptions,
    items_frame: pd.DataFrame | None,
    model: Recommender,
    version: str,
) -> dict[str, pd.DataFrame]:
    """The per-customer tables scored in ``options.shards`` processes from the staged model,
    on the servable items this job computed (a scratch directory beside the bundle)."""
    scratch = options.out_dir / f".shards-{version}"
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        allowed = servable_items(items_frame)
        ids = model.items_.external_ids if allowed is None else allowed
        candidates = scratch / "candidates.parquet"
        pd.DataFrame({C.ITEM_ID: pd.Series(ids, dtype=object)}).to_parquet(candidates)
        return run_local_shards(
            tmp, options.shards, scratch, version=version, candidates=candidates
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _segments(
    events: pd.DataFrame,
    items_frame: pd.DataFrame | None,
    config: Config,
    options: TrainOptions,
    notes: list[str],
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Segment tables (profiles, member lists, per-segment popular lists) and the manifest
    entry; nothing (and a note) when the data has no order history to summarise."""
    try:
        result = build_segments(events, config.customers, items=items_frame)
    except (DataError, ModelFitError) as exc:
        notes.append(f"customer segments skipped: {exc}")
        return {}, {}
    for model, name in (("bgnbd", "BG/NBD"), ("gamma_gamma", "Gamma-Gamma")):
        fit = result.params.get(model) or {}
        if fit.get("fallback"):
            notes.append(
                f"customer value: {name} not used ({fit.get('error') or 'not converged'}); "
                f"{fit['fallback']} instead"
            )
    tables = segment_tables(result.frame)
    tables["popular"] = segment_popular(
        events, result.frame, options.artifacts.popular_n, half_life_days=30.0
    )
    return tables, segment_manifest(result.frame, result.params)


def _train_into(
    tmp: Path, options: TrainOptions, config: Config, run: _Run, rep: Reporter
) -> tuple[Manifest, EvaluationResult | None]:
    names = candidate_names(options.candidates, DEFAULT_CANDIDATES, config)
    # Before loading anything: an option that would be ignored stops the run at once.
    if (options.skip_evaluation or len(names) < 2) and config.evaluation.cutoff is not None:
        raise ConfigError(
            f"--cutoff {config.evaluation.cutoff} is not used: nothing is evaluated (one model "
            "or --no-eval); drop it, or give several --models"
        )
    ingest = resolve_ingest_config(config.ingest)
    with rep.step(f"Loading events from {options.events}"):
        loaded = load_events(
            options.events,
            ingest,
            event_types=list(config.matrix.event_weights),
            # Beside the bundle, not in it: an error message may name this file, and a failed
            # run deletes its temporary bundle. A finished run moves it into the bundle.
            rejects_path=options.out_dir / REJECTS_FILE,
        )
    for line in loaded.report.summary_lines():
        rep.info(f"  {line}")
    config = read_cutoff(config, loaded, ingest)  # in the file's day/month order
    events = loaded.events
    items_frame = load_items(options.items, ingest) if options.items else items_from_events(events)
    customers = load_customers(options.customers, ingest) if options.customers else None

    params = {name: config.models.get(name, {}) for name in names}
    comparison = None
    # --no-eval with the default candidates trains the default model (the blend, with its
    # documented weights, untuned), not the first candidate in the list (popularity).
    default = options.skip_evaluation and not options.candidates
    chosen = "blend" if default else names[0]
    metric = config.evaluation.metric
    notes: list[str] = []
    evaluated = not options.skip_evaluation and len(names) > 1
    if evaluated:
        with rep.step(f"Evaluating {len(names)} candidates"):
            comparison = compare_candidates(
                events,
                names,
                config=config,
                # A catalog derived from the events must not reveal items first sold in the
                # test window: without an items file, evaluate on the training window's own.
                items_frame=items_frame if options.items else None,
                progress=rep,
            )
        chosen, params = comparison.chosen, comparison.params
        for line in comparison.summary_lines():
            rep.info(f"  {line}")
        notes += comparison.notes + _skip_notes(comparison.result)
    evaluation = None if comparison is None else comparison.result

    with rep.step(f"Retraining {chosen} on all {len(events):,} events"):
        dataset = build_dataset(events, config.matrix, items_frame=items_frame)
        model = make_model(chosen, **params[chosen]).fit(dataset)
    if not np.isfinite(model.fit_time_):
        raise DataError("model fit did not complete")
    notes += [f"{chosen} left out a component: {why}" for why in getattr(model, "skipped_", [])]

    top_n = options.artifacts.top_n
    model_path = model.save(tmp / "model.npz")

    manifest = Manifest(
        version=run.version,
        created_at=run.started.isoformat(),
        data_fingerprint=run.fingerprint,
        inputs={p.name: str(p) for p in options.inputs},
        config=config.model_dump(mode="json"),
        rows=RowCounts(
            input=loaded.report.n_rows,
            accepted=loaded.report.n_accepted,
            customers=dataset.n_customers,
            items=dataset.n_items,
            interactions=dataset.n_interactions,
            customer_profiles=0 if customers is None else len(customers),
        ),
        rejects=loaded.report.to_dict(),
        candidates=list(names),
        chosen_model=chosen,
        model_params=model.get_params(),
        model_file=model_path.name,
        selection_metric=metric,
        metrics=[] if evaluation is None else evaluation.table.to_dict(orient="records"),
        relative_scores={}
        if evaluation is None
        else relative_scores(evaluation.table, metric).round(4).to_dict(orient="index"),
        holdout={} if comparison is None else holdout_figures(comparison, chosen),
        holdout_of="" if comparison is None else "chosen model before the cutoff",
        holdout_split="" if comparison is None else comparison.split_note,
        top_n=top_n,
        notes=notes,
        library_versions=library_versions(),
    )
    with rep.step(f"Scoring top-{top_n} for {dataset.n_customers:,} customers"):
        scored = None
        if options.defer_scoring:
            scored = {name: pd.DataFrame() for name in CUSTOMER_TABLES}
        elif options.shards > 1:  # the shards read the model and the manifest from tmp
            write_bundle_tables(tmp, manifest.to_json_dict())
            scored = _score_in_shards(tmp, options, items_frame, model, run.version)
        artifacts = build_artifacts(model, dataset, items_frame, options.artifacts, scored=scored)
    tables = artifacts.tables()
    if options.defer_scoring:
        tables = {k: v for k, v in tables.items() if k not in CUSTOMER_TABLES}
    if options.segments:
        with rep.step("Customer segments: RFM, clusters, churn, CLV"):
            segment_extra, segments_entry = _segments(events, items_frame, config, options, notes)
        if segment_extra:
            tables["popular"] = pd.concat(
                [tables["popular"], segment_extra.pop("popular")], ignore_index=True
            )
            tables.update(segment_extra)
            manifest = manifest.model_copy(update={"segments": segments_entry, "notes": notes})
    if options.offers is not None:
        with rep.step(f"Allocating the offers of {options.offers}"):
            allocated = offer_bundle_tables(
                tables,
                config,
                options.offers,
                customers=customers,
                rejects_dir=options.out_dir,
                # Offers active at the end of the data (its "now"), not at the wall clock.
                as_of=pd.Timestamp(events[C.TIMESTAMP].max()),
            )
        rejected = int(allocated.manifest.get("rejected_offers", 0))
        if rejected:
            where = options.out_dir / OFFER_REJECTS_FILE
            rep.info(f"  {rejected} offer catalog row(s) rejected; reasons in {where}")
        for warning in allocated.manifest.get("warnings", []):
            rep.warn(f"  {warning}")
        tables.update(allocated.tables)  # its segments table adds the best-offer columns
        manifest = manifest.model_copy(update={"offers": allocated.manifest})
    write_bundle_tables(tmp, manifest.to_json_dict(), **tables)
    if evaluation is not None:
        evaluation.to_csv(tmp / "evaluation.csv")
        evaluation.to_markdown_file(tmp / "evaluation.md")
    return manifest, evaluation
