"""The ``recsys evaluate`` job: load events, split by time, compare models on both protocols.

It runs the comparison ``recsys train`` runs
(:func:`recsys.evaluation.candidates.compare_candidates`), so the table shows what training
would ship. With ``bundle_out`` the chosen model, fitted on
the training window only, is written as a servable bundle whose manifest holds the holdout
figures of *its own* lists, per protocol: publish it, ask the API for every judged customer,
and the answers score exactly those figures.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from recsys.artifacts import ArtifactOptions, build_artifacts, staged_bundle
from recsys.config import Config
from recsys.data.catalogs import load_items
from recsys.data.dataset import build_dataset
from recsys.data.events import load_events
from recsys.data.presets import resolve_ingest_config
from recsys.data.rejects import RejectReport
from recsys.evaluation import METRICS, EvaluationResult
from recsys.evaluation.candidates import Comparison, compare_candidates
from recsys.manifest import Manifest, ProtocolFigures
from recsys.models import make_model
from recsys.store.bundle import write_bundle_tables
from training.dates import read_cutoff
from training.progress import Reporter

#: Models compared when none are named: every baseline, every personalised family, and the
#: default blend that `recsys train` usually ships.
DEFAULT_MODELS = (
    "popular",
    "trending",
    "recent",
    "itemknn",
    "bm25",
    "als",
    "bpr",
    "ease",
    "repeat",
    "blend",
)


@dataclass(frozen=True)
class EvaluationJob:
    result: EvaluationResult
    report: RejectReport
    outputs: dict[str, Path]
    comparison: Comparison
    bundle_dir: Path | None = None


def run_evaluation(
    events_path: str | Path,
    *,
    config: Config,
    models: list[str] | tuple[str, ...] = DEFAULT_MODELS,
    items_path: str | Path | None = None,
    out_dir: str | Path = "reports",
    bundle_out: str | Path | None = None,
    artifacts: ArtifactOptions | None = None,
    reporter: Reporter | None = None,
) -> EvaluationJob:
    """Run an evaluation end to end and write ``evaluation.csv``, ``evaluation.md`` and
    ``rejects.csv`` into ``out_dir`` (and a holdout bundle into ``bundle_out``)."""
    rep = reporter or Reporter(quiet=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ingest = resolve_ingest_config(config.ingest)
    rejects_path = out / "rejects.csv"
    with rep.step(f"Loading events from {events_path}"):
        loaded = load_events(
            events_path,
            ingest,
            event_types=list(config.matrix.event_weights),
            rejects_path=rejects_path,
        )
    for line in loaded.report.summary_lines():
        rep.info(f"  {line}")
    config = read_cutoff(config, loaded, ingest)  # in the file's day/month order
    items_frame = load_items(items_path, ingest) if items_path else None
    with rep.step(f"Evaluating {len(models)} models at k={config.evaluation.k}"):
        comparison = compare_candidates(
            loaded.events, models, config=config, items_frame=items_frame, progress=rep
        )
    for line in comparison.summary_lines():
        rep.info(f"  {line}")
    result = comparison.result
    csv_path = result.to_csv(out / "evaluation.csv")
    md_path = result.to_markdown_file(out / "evaluation.md")
    bundle_dir = None
    if bundle_out is not None:
        with rep.step(f"Writing the holdout bundle of {comparison.chosen} to {bundle_out}"):
            bundle_dir = write_holdout_bundle(
                comparison, Path(bundle_out), config, items_frame, artifacts or ArtifactOptions()
            )
    return EvaluationJob(
        result,
        loaded.report,
        {"csv": csv_path, "markdown": md_path, "rejects": rejects_path},
        comparison,
        bundle_dir,
    )


def write_holdout_bundle(
    comparison: Comparison,
    out_root: Path,
    config: Config,
    items_frame: pd.DataFrame | None,
    options: ArtifactOptions,
) -> Path:
    """The chosen model fitted on the training window, as a bundle scored on the holdout."""
    started = datetime.now(UTC)
    name = comparison.chosen
    digest = hashlib.sha256(
        f"{comparison.split.cutoff}|{name}|{comparison.params[name]}".encode()
    ).hexdigest()
    version = f"{started:%Y%m%dT%H%M%S}Z-holdout-{digest[:8]}"
    dataset = build_dataset(comparison.split.train, config.matrix, items_frame=items_frame)
    model = make_model(name, **comparison.params[name]).fit(dataset)
    artifacts = build_artifacts(model, dataset, items_frame, options)
    scores = artifacts.score(comparison.result.truths, comparison.result.k)
    holdout = {
        p: ProtocolFigures(
            applies=a.applies,
            reason=a.reason,
            n_customers=int(scores[p]["n_customers"]),
            metrics={m: float(scores[p][m]) for m in METRICS},
        )
        for p, a in comparison.applicability.items()
    }
    with staged_bundle(out_root, version) as tmp:
        model_path = model.save(tmp / "model.npz")
        manifest = Manifest(
            version=version,
            created_at=started.isoformat(),
            config=config.model_dump(mode="json"),
            candidates=list(comparison.result.models),
            chosen_model=name,
            model_params=model.get_params(),
            model_file=model_path.name,
            selection_metric=config.evaluation.metric,
            metrics=comparison.result.table.to_dict(orient="records"),
            holdout=holdout,
            holdout_of="bundle",
            holdout_split=comparison.split_note,
            top_n=options.top_n,
            notes=comparison.notes,
        )
        write_bundle_tables(tmp, manifest.to_json_dict(), **artifacts.tables())
        comparison.result.to_markdown_file(tmp / "evaluation.md")
    return out_root / version
