"""``recsys events export``: drain the event stream into Parquet partitions, losing nothing.

The export reads the stream with the consumer group ``export``
(:mod:`recsys.store.events`), writes each batch as one Parquet file per event date
(``DIR/date=YYYY-MM-DD/part-<first stream id>-<n>.parquet``, Hive-style partitions that
``recsys train --events DIR`` reads), and acknowledges the entries only once the files are
on disk: written to a hidden temporary file, fsynced, renamed into place (atomic on POSIX)
and the directory fsynced.

A crash before the acknowledgement leaves the entries pending: the next export reads them
again (its own pending entries first, and entries other consumers left idle, via XAUTOCLAIM),
and drops every event whose ``event_id`` is already in that date's partition, so an event is
in the export exactly once. Entries that are not valid JSON are written, as read, to
``DIR/_rejects/corrupt-<time>.jsonl`` and acknowledged (counted, never silently dropped).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pandas as pd
import pyarrow.parquet as pq
import redis

from recsys import columns as C
from recsys.errors import ConfigError, DataError
from recsys.events.ingest import EVENT_ID, ingest_frame, ingest_rows, to_table
from recsys.store.events import Entry, ack, claim_stale, ensure_group, read_group

DEFAULT_CONSUMER = "exporter"


@dataclass
class ExportResult:
    """What one export did: entries read, events written, duplicates dropped, corrupt
    entries set aside, files written."""

    read: int = 0
    written: int = 0
    duplicates: int = 0
    corrupt: int = 0
    files: list[Path] = field(default_factory=list)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _durable_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through a hidden temporary file: fsync, atomic rename, fsync the dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


class _Partitions:
    """The export folder: which event ids each date partition already holds."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._ids: dict[str, set[str]] = {}

    def ids(self, day: str) -> set[str]:
        if day not in self._ids:
            files = sorted(
                f for f in (self.out / f"date={day}").glob("part-*.parquet") if f.is_file()
            )
            found: set[str] = set()
            for f in files:
                try:
                    found.update(pq.read_table(f, columns=[EVENT_ID]).column(0).to_pylist())
                except Exception as exc:  # noqa: BLE001 - pyarrow raises several types
                    raise DataError(f"cannot read exported partition {f}: {exc}") from None
            self._ids[day] = found
        return self._ids[day]

    def write(self, day: str, frame: pd.DataFrame, first_id: str) -> Path:
        path = self.out / f"date={day}" / f"part-{first_id}-{len(frame)}.parquet"
        if path.exists():  # same first entry re-read after a crash, other content
            path = path.with_name(f"part-{first_id}-{len(frame)}-{uuid.uuid4().hex[:8]}.parquet")
        table = to_table(frame)
        _durable_write(path, lambda tmp: pq.write_table(table, tmp))
        self.ids(day).update(frame[EVENT_ID])
        return path


def _set_aside(out: Path, corrupt: list[Entry]) -> None:
    lines = b"".join(
        orjson.dumps({"stream_id": e.stream_id, "raw": e.raw.decode("utf-8", "replace")}) + b"\n"
        for e in corrupt
    )
    path = out / "_rejects" / f"corrupt-{time.time_ns()}.jsonl"

    def write(tmp: Path) -> None:
        tmp.write_bytes(lines)

    _durable_write(path, write)


def _write_batch(entries: list[Entry], parts: _Partitions, result: ExportResult) -> None:
    corrupt = [e for e in entries if e.record is None or "event_id" not in e.record]
    if corrupt:
        _set_aside(parts.out, corrupt)
        result.corrupt += len(corrupt)
    rows = [
        row
        for e in entries
        if e.record is not None and "event_id" in e.record
        for row in ingest_rows(e.record, e.stream_id)
    ]
    if not rows:
        return
    frame = ingest_frame(rows)
    days = frame[C.TIMESTAMP].dt.strftime("%Y-%m-%d")
    for day, part in frame.groupby(days, sort=True):
        known = parts.ids(str(day))
        events = part[EVENT_ID]
        # The first copy of each event in this batch; copies already exported are dropped.
        first_copy = ~part.duplicated([EVENT_ID, "line"]) & (
            part["stream_id"] == part.groupby(EVENT_ID)["stream_id"].transform("first")
        )
        keep = first_copy & ~events.isin(known)
        result.duplicates += int(part.loc[~keep, EVENT_ID].nunique())
        fresh = part[keep].reset_index(drop=True)
        if len(fresh):
            result.files.append(parts.write(str(day), fresh, str(fresh["stream_id"].iloc[0])))
            result.written += int(fresh[EVENT_ID].nunique())


def export_events(
    client: redis.Redis,
    namespace: str,
    out: str | Path,
    *,
    consumer: str = DEFAULT_CONSUMER,
    batch: int = 10_000,
    min_idle_ms: int = 60_000,
    max_batches: int | None = None,
) -> ExportResult:
    """Drain the stream of ``namespace`` into Parquet partitions under ``out``.

    Reads this consumer's pending entries first (left by a crash), then entries other
    consumers left unacknowledged for ``min_idle_ms``, then new ones, ``batch`` at a time,
    until the stream has nothing new (or ``max_batches`` batches). Returns the counts.
    Raises DataError when an existing partition cannot be read, StoreError/RedisError when
    Redis fails (nothing unwritten is acknowledged).
    """
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--out {out} is a file: events are exported into a folder")
    root.mkdir(parents=True, exist_ok=True)
    ensure_group(client, namespace)
    claim_stale(client, namespace, consumer, min_idle_ms=min_idle_ms, count=batch)
    parts = _Partitions(root)
    result = ExportResult()
    done = 0
    for pending in (True, False):
        while max_batches is None or done < max_batches:
            entries = read_group(client, namespace, consumer, count=batch, pending=pending)
            if not entries:
                break
            result.read += len(entries)
            before = result.written
            _write_batch(entries, parts, result)
            ack(
                client,
                namespace,
                [e.stream_id for e in entries],
                exported=result.written - before,
            )
            done += 1
    return result
