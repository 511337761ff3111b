"""Dates typed on the command line, read by one rule (issue 8's day/month rule).

``--cutoff`` is read in the order of the events file it cuts; ``--as-of`` and ``--since``,
which have no file to follow, must decide themselves (``13/02/2024`` or ISO; ``01/02/2024``
is refused as ambiguous, never silently month-first).

A cutoff is read like the file's timestamps: in the file's day/month order
(``01/02/2024`` is 1 February in a day-first file), refused as ambiguous when neither the file
nor the value decides, and in the ingest time zone, then handed on as naive UTC ISO text
(:func:`recsys.data.timestamps.parse_date`).
"""

from __future__ import annotations

import pandas as pd

from recsys.config import Config, IngestConfig
from recsys.data.events import LoadResult
from recsys.data.timestamps import parse_date
from recsys.errors import ConfigError, DataError


def read_cutoff(config: Config, loaded: LoadResult, ingest: IngestConfig) -> Config:
    """``config`` with its ``evaluation.cutoff`` read by the file's rule (unchanged when it
    has none). ``ConfigError`` (one line) for a cutoff that does not read."""
    cutoff = config.evaluation.cutoff
    if cutoff is None:
        return config
    try:
        value = parse_date(
            str(cutoff), loaded.date_order, what="--cutoff", timezone=ingest.timezone
        )
    except DataError as exc:
        raise ConfigError(str(exc)) from None
    evaluation = config.evaluation.model_copy(update={"cutoff": value.isoformat()})
    return config.model_copy(update={"evaluation": evaluation})


def read_date(value: str | None, option: str) -> pd.Timestamp | None:
    """A date option (``--as-of``, ``--since``) as naive UTC, None for None; ``ConfigError``
    (one line naming ``option``) when it is not a date or reads both ways."""
    if value is None:
        return None
    try:
        return parse_date(value, what=option)
    except DataError as exc:
        if "ambiguous" in str(exc):  # no file setting applies here: say how to write it
            raise ConfigError(
                f"{option} {value!r} reads as day-first or month-first (ambiguous): write it "
                "as YYYY-MM-DD, e.g. 2024-02-01"
            ) from None
        raise ConfigError(str(exc)) from None
