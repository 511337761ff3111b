"""The ``recsys evaluate`` job: load events, split by time, compare models on both protocols."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recsys.config import Config
from recsys.data.presets import resolve_ingest_config
from recsys.data.validate import RejectReport, load_events, load_items
from recsys.evaluation import EvaluationResult, evaluate, temporal_split
from recsys.models import make_model
from recsys.models.base import Recommender
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


def build_models(names: list[str] | tuple[str, ...], config: Config) -> dict[str, Recommender]:
    """Instantiate models by name with their hyperparameters from ``config.models``."""
    return {name: make_model(name, **config.models.get(name, {})) for name in names}


def run_evaluation(
    events_path: str | Path,
    *,
    config: Config,
    models: list[str] | tuple[str, ...] = DEFAULT_MODELS,
    items_path: str | Path | None = None,
    out_dir: str | Path = "reports",
    reporter: Reporter | None = None,
) -> EvaluationJob:
    """Run an evaluation end to end and write ``evaluation.csv``, ``evaluation.md`` and
    ``rejects.csv`` into ``out_dir``."""
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
    items_frame = load_items(items_path, ingest) if items_path else None
    ev_cfg = config.evaluation
    split = temporal_split(loaded.events, test_days=ev_cfg.test_days, cutoff=ev_cfg.cutoff)
    rep.info(
        f"  temporal split at {split.cutoff:%Y-%m-%d}: "
        f"{len(split.train):,} train / {len(split.test):,} test events"
    )
    instances = build_models(models, config)
    with rep.step(f"Evaluating {len(instances)} models at k={ev_cfg.k}"):
        result = evaluate(
            instances,
            split,
            k=ev_cfg.k,
            matrix_config=config.matrix,
            items_frame=items_frame,
            progress=rep,
        )
    csv_path = result.to_csv(out / "evaluation.csv")
    md_path = result.to_markdown_file(out / "evaluation.md")
    return EvaluationJob(
        result, loaded.report, {"csv": csv_path, "markdown": md_path, "rejects": rejects_path}
    )
