"""Temporal holdout: train on the past, test on what happened after one global cutoff.

A random split leaks the future into training (a customer's December basket teaches the model
what they bought in November). Every model here is judged the way it will be used: fitted on
everything before a date and asked about what customers bought afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.errors import ConfigError, DataError


@dataclass(frozen=True, eq=False)
class TemporalSplit:
    """Events before ``cutoff`` (``train``) and at or after it (``test``).

    Both frames are new DataFrames (the caller's frame is never modified) with the caller's
    columns and a fresh ``RangeIndex``, in the original row order.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp

    @property
    def n_train(self) -> int:
        return len(self.train)

    @property
    def n_test(self) -> int:
        return len(self.test)

    def summary(self) -> dict[str, object]:
        """JSON-ready facts: cutoff (ISO), event counts and the time span of each side."""
        train_ts = self.train[C.TIMESTAMP]
        test_ts = self.test[C.TIMESTAMP]
        return {
            "cutoff": self.cutoff.isoformat(),
            "n_train_events": self.n_train,
            "n_test_events": self.n_test,
            "train_start": pd.Timestamp(train_ts.min()).isoformat(),
            "test_end": pd.Timestamp(test_ts.max()).isoformat(),
        }


def _parse_mixed(ts: pd.Series) -> pd.Series:
    try:
        return pd.to_datetime(ts, format="mixed")
    except (ValueError, TypeError) as exc:
        raise DataError(f"column {C.TIMESTAMP!r} is not parseable as dates: {exc}") from None


def _timestamps(events: pd.DataFrame) -> pd.Series:
    if not isinstance(events, pd.DataFrame):
        raise DataError(f"events must be a pandas DataFrame, got {type(events).__name__}")
    if C.TIMESTAMP not in events.columns:
        raise DataError(f"events lack column {C.TIMESTAMP!r}; found {list(events.columns)}")
    if events.empty:
        raise DataError("no events to split")
    ts = events[C.TIMESTAMP]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        try:
            ts = pd.to_datetime(ts, format="ISO8601")
        except (ValueError, TypeError):
            ts = _parse_mixed(ts)
    n_missing = int(ts.isna().sum())
    if n_missing:
        raise DataError(
            f"{n_missing} event(s) have no {C.TIMESTAMP!r}; clean events must all be dated"
        )
    return ts


def _parse_cutoff(cutoff: str | pd.Timestamp, ts: pd.Series) -> pd.Timestamp:
    try:
        value = pd.Timestamp(cutoff)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cutoff == {cutoff!r} is not a date/time: {exc}") from None
    if pd.isna(value):
        raise ConfigError(f"cutoff == {cutoff!r} is not a date/time")
    data_tz = getattr(ts.dt, "tz", None)
    # Compare like with like: a naive cutoff is read in the data's zone; an aware cutoff
    # against naive (UTC, as ingest stores them) timestamps is converted to naive UTC.
    if data_tz is not None and value.tzinfo is None:
        value = value.tz_localize(data_tz)
    elif data_tz is None and value.tzinfo is not None:
        value = value.tz_convert("UTC").tz_localize(None)
    return value


#: Longest default holdout, in days, and the share of the data's span it takes below that.
MAX_DEFAULT_TEST_DAYS = 30
DEFAULT_TEST_SHARE = 0.2


def default_test_days(events: pd.DataFrame) -> tuple[int, int]:
    """A holdout length that fits the data: ``(test_days, span_days)``.

    A fifth of the span in calendar days (rounded up), at least 1 and at most
    :data:`MAX_DEFAULT_TEST_DAYS`: 30 days on a year of retail, 2 on a 9-day marketplace log,
    so a short log still leaves four fifths of itself to train on.
    """
    ts = _timestamps(events)
    span = int((ts.max().normalize() - ts.min().normalize()) / pd.Timedelta(days=1)) + 1
    return max(1, min(MAX_DEFAULT_TEST_DAYS, math.ceil(span * DEFAULT_TEST_SHARE))), span


def temporal_split(
    events: pd.DataFrame,
    *,
    test_days: int | None = 30,
    cutoff: str | pd.Timestamp | None = None,
) -> TemporalSplit:
    """Split clean events at one global cutoff.

    Parameters
    ----------
    events:
        Clean canonical events (at least ``timestamp``; see :mod:`recsys.columns`).
    test_days:
        Test on the last ``test_days`` calendar days of the data: the cutoff is midnight
        ``test_days - 1`` days before the day of the last event (the last day counts whole),
        so ``test_days=30`` on data ending 2010-12-09 20:00 gives cutoff 2010-11-10 00:00.
    cutoff:
        An explicit cutoff (ISO date/time string or Timestamp); overrides ``test_days``.
        A naive cutoff is read in the data's time zone.

    Returns
    -------
    TemporalSplit with ``train`` (timestamp < cutoff) and ``test`` (timestamp >= cutoff).

    Raises
    ------
    ConfigError
        Neither ``test_days`` nor ``cutoff`` given, ``test_days < 1``, an unparseable cutoff,
        or a cutoff that leaves the train or the test side empty.
    DataError
        No events, no ``timestamp`` column, or undated events.
    """
    ts = _timestamps(events)
    first, last = ts.min(), ts.max()
    if cutoff is not None:
        cut = _parse_cutoff(cutoff, ts)
    elif test_days is not None:
        if isinstance(test_days, bool) or not isinstance(test_days, int | np.integer):
            raise ConfigError(f"test_days == {test_days!r}, must be an integer >= 1")
        if test_days < 1:
            raise ConfigError(f"test_days == {test_days}, must be >= 1")
        cut = last.normalize() + pd.Timedelta(days=1) - pd.Timedelta(days=int(test_days))
    else:
        raise ConfigError("temporal_split needs test_days or cutoff; both are None")

    in_test = (ts >= cut).to_numpy()
    n_test = int(in_test.sum())
    if n_test == len(events):
        raise ConfigError(
            f"cutoff {cut} is at or before the first event ({first}): the train side would be "
            f"empty; choose a later cutoff or fewer test days"
        )
    if n_test == 0:
        raise ConfigError(
            f"cutoff {cut} is after the last event ({last}): the test side would be empty; "
            f"choose an earlier cutoff or more test days"
        )
    train = events.loc[~in_test].reset_index(drop=True)
    test = events.loc[in_test].reset_index(drop=True)
    if not pd.api.types.is_datetime64_any_dtype(events[C.TIMESTAMP]):
        # Parsed once above; hand back real datetimes so downstream code need not re-parse.
        train[C.TIMESTAMP] = ts[~in_test].reset_index(drop=True)
        test[C.TIMESTAMP] = ts[in_test].reset_index(drop=True)
    return TemporalSplit(train=train, test=test, cutoff=cut)


def holdout_split(
    events: pd.DataFrame, *, test_days: int | None = None, cutoff: str | None = None
) -> tuple[TemporalSplit, str]:
    """:func:`temporal_split` with the job defaults, and one line saying what was held out.

    ``cutoff`` wins; else ``test_days``; else :func:`default_test_days` (the line says so).
    """
    if cutoff is not None:
        split = temporal_split(events, test_days=None, cutoff=cutoff)
        return split, f"holdout: from {split.cutoff:%Y-%m-%d %H:%M} (--cutoff)"
    if test_days is not None:
        split = temporal_split(events, test_days=test_days)
        return split, f"holdout: the last {test_days} day(s), from {split.cutoff:%Y-%m-%d}"
    days, span = default_test_days(events)
    split = temporal_split(events, test_days=days)
    return split, (
        f"holdout: the last {days} day(s), from {split.cutoff:%Y-%m-%d} (default: a fifth of "
        f"the data's {span}-day span, at most {MAX_DEFAULT_TEST_DAYS}; --test-days to change)"
    )
