"""The ``recsys`` typer app and the options and helpers its commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from recsys.cli_options import (
    new_app,
)
from recsys.config import Config, load_config
from recsys.errors import ConfigError
from recsys.evaluation.selection import METRICS

app = new_app(
    "recsys",
    "Personalization engine: generate, evaluate, train, publish and serve.",
    no_args_is_help=True,
)

Events = Annotated[
    Path,
    typer.Option("--events", help="Events file (CSV or Parquet), or a folder of Parquet files."),
]
Items = Annotated[Path | None, typer.Option("--items", help="Items file.")]
Models = Annotated[str | None, typer.Option("--models", help="Model names (comma-separated).")]
K = Annotated[
    int | None, typer.Option("--k", min=1, max=1000, help="List length judged (default 10).")
]
TestDays = Annotated[
    int | None,
    typer.Option(
        "--test-days",
        min=1,
        help="Hold out the last N days (default: a fifth of the span, at most 30).",
    ),
]
Cutoff = Annotated[
    str | None, typer.Option("--cutoff", help="Hold out from this date (overrides --test-days).")
]
Metric = Annotated[
    str | None,
    typer.Option(
        "--metric", help=f"What 'best' means: one of {', '.join(METRICS)} (default ndcg)."
    ),
]


def _csv_list(value: str | None, option: str = "--models") -> list[str] | None:
    """A comma-separated option as a list; None when not given. ConfigError for a value
    that names nothing (``--models ""`` or ``,``): it would silently mean the default."""
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise ConfigError(f"{option} {value!r} names nothing: give names separated by commas")
    return names


def _job_config(
    config: Path | None,
    preset: str | None,
    *,
    k: int | None = None,
    test_days: int | None = None,
    cutoff: str | None = None,
    metric: str | None = None,
) -> Config:
    """The config file's settings with the command-line options laid over them."""
    if metric is not None and metric not in METRICS:
        raise ConfigError(f"--metric {metric!r}: choose one of {', '.join(METRICS)}")
    given = {"k": k, "test_days": test_days, "cutoff": cutoff, "metric": metric}
    overrides: dict[str, Any] = {
        "evaluation": {key: v for key, v in given.items() if v is not None}
    }
    if preset:
        overrides["ingest"] = {"preset": preset}
    return load_config(config).with_overrides(**overrides)
