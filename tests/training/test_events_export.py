"""`recsys events export` against real Redis: partitions written, acknowledged, exactly once
across crashes; exported folders train; attributed clicks reach `recsys report online`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pandas as pd
import pytest
import redis

import training.events as export_job
from recsys.config import IngestConfig, MatrixConfig
from recsys.data.dataset import build_dataset
from recsys.data.events import load_events
from recsys.errors import ConfigError
from recsys.events import Event
from recsys.store import keys as K
from recsys.store.events import append_events_sync, encode_entry, ensure_group, read_group
from training.cli import main
from training.events import export_events
from training.online_report import load_exported, online_report, online_section
from training.report_page import Report

RECEIVED = datetime(2024, 5, 2, 9, tzinfo=UTC)


def _append(client: redis.Redis, namespace: str, events: list[dict]) -> list[int]:
    records = [(e["event_id"], Event.model_validate(e).record(RECEIVED)) for e in events]
    result = append_events_sync(client, namespace, records, maxlen=100_000, ttl=3600)
    return result.accepted


def _views(n: int, day: str = "2024-05-01", prefix: str = "v") -> list[dict]:
    return [
        {
            "event_id": f"{prefix}{i}",
            "event_type": "view",
            "customer_id": f"c{i % 7}",
            "item_id": f"i{i % 11}",
            "timestamp": f"{day}T10:00:00Z",
        }
        for i in range(n)
    ]


def _exported(out: Path) -> pd.DataFrame:
    return load_exported(out)


def test_export_writes_date_partitions_and_acknowledges(
    redis_client: redis.Redis, namespace: str, tmp_path: Path
):
    _append(redis_client, namespace, _views(30) + _views(20, "2024-05-03", prefix="w"))
    res = export_events(redis_client, namespace, tmp_path / "out", batch=16)
    assert (res.read, res.written, res.duplicates, res.corrupt) == (50, 50, 0, 0)
    days = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert days == ["date=2024-05-01", "date=2024-05-03"]
    frame = _exported(tmp_path / "out")
    assert sorted(frame["event_id"]) == sorted(
        [f"v{i}" for i in range(30)] + [f"w{i}" for i in range(20)]
    )
    # Acknowledged and deleted: nothing pending, nothing left, progress recorded.
    stream = K.events_key(namespace)
    assert redis_client.xlen(stream) == 0
    assert redis_client.xpending(stream, K.EVENTS_GROUP)["pending"] == 0
    assert redis_client.hget(K.events_export_key(namespace), "exported") == b"50"
    again = export_events(redis_client, namespace, tmp_path / "out")
    assert (again.read, again.written) == (0, 0)


def test_export_into_a_file_is_refused_before_reading_the_stream(
    redis_client: redis.Redis, namespace: str, tmp_path: Path
):
    _append(redis_client, namespace, _views(3))
    a_file = tmp_path / "events.parquet"
    a_file.write_bytes(b"")
    with pytest.raises(ConfigError, match="is a file: events are exported into a folder"):
        export_events(redis_client, namespace, a_file)
    assert redis_client.xlen(K.events_key(namespace)) == 3  # nothing consumed


def test_a_crash_between_write_and_ack_never_duplicates(
    redis_client: redis.Redis, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    _append(redis_client, namespace, _views(25))

    def crash(*args, **kwargs):
        raise SystemExit("killed after the files were written, before XACK")

    with monkeypatch.context() as patched:
        patched.setattr(export_job, "ack", crash)
        with pytest.raises(SystemExit):
            export_events(redis_client, namespace, tmp_path / "out", batch=10)
    assert len(_exported(tmp_path / "out")) == 10  # the first batch reached the disk
    _append(redis_client, namespace, _views(5, prefix="late"))
    res = export_events(redis_client, namespace, tmp_path / "out", batch=7)
    assert res.duplicates == 10 and res.written == 20
    frame = _exported(tmp_path / "out")
    assert frame["event_id"].is_unique and len(frame) == 30
    assert redis_client.xlen(K.events_key(namespace)) == 0


def test_entries_read_by_a_dead_consumer_and_repeated_entries_export_once(
    redis_client: redis.Redis, namespace: str, tmp_path: Path
):
    _append(redis_client, namespace, _views(6))
    # A retry after a crash between XADD and SET NX appends an event twice.
    record = Event.model_validate(_views(1)[0]).record(RECEIVED)
    redis_client.xadd(K.events_key(namespace), encode_entry(record))
    redis_client.xadd(K.events_key(namespace), {K.EVENT_ENTRY_FIELD: b"{broken"})
    ensure_group(redis_client, namespace)
    assert len(read_group(redis_client, namespace, "dead", count=3)) == 3  # then it died
    res = export_events(redis_client, namespace, tmp_path / "out", min_idle_ms=0)
    assert (res.read, res.written, res.duplicates, res.corrupt) == (8, 6, 1, 1)
    assert sorted(_exported(tmp_path / "out")["event_id"]) == [f"v{i}" for i in range(6)]
    (rejects,) = (tmp_path / "out" / "_rejects").iterdir()
    assert "{broken" in rejects.read_text()


def test_an_exported_folder_trains(redis_client: redis.Redis, namespace: str, tmp_path: Path):
    rid = "0123456789abcdef0123456789abcdef"
    events = _views(40) + [
        {
            "event_id": "imp",
            "event_type": "impression",
            "customer_id": "c1",
            "item_ids": ["i1", "i2", "i3"],
            "recommendation_id": rid,
            "timestamp": "2024-05-02T10:00:00Z",
        },
        {
            "event_id": "buy",
            "event_type": "purchase",
            "customer_id": "c1",
            "item_id": "i2",
            "value": 12.5,
            "recommendation_id": rid,
            "timestamp": "2024-05-02T10:05:00Z",
        },
        {
            "event_id": "off",
            "event_type": "offer_redeemed",
            "customer_id": "c2",
            "offer_id": "o1",
            "item_id": "i4",
            "timestamp": "2024-05-02T11:00:00Z",
        },
    ]
    _append(redis_client, namespace, events)
    export_events(redis_client, namespace, tmp_path / "out")
    loaded = load_events(tmp_path / "out", IngestConfig(min_events=1))
    assert loaded.report.n_rows == 40 + 3 + 1 + 1 and loaded.report.n_rejected == 0
    counts = loaded.events["event_type"].value_counts().to_dict()
    assert counts == {"view": 40, "impression": 3, "purchase": 1, "offer_redeemed": 1}
    dataset = build_dataset(loaded.events, MatrixConfig())
    weights = dataset.events.groupby("event_type", observed=True)["weight"].sum()
    assert weights["impression"] == 0 and weights["offer_redeemed"] == 0 and weights["purchase"] > 0


def test_an_attributed_click_shows_up_in_the_online_report(
    redis_client: redis.Redis, namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture
):
    shown = []
    for n in range(10):
        rid = f"{n:032x}"
        arm = "A" if n < 6 else "B"
        shown.append(
            {
                "event_id": f"imp{n}",
                "event_type": "impression",
                "customer_id": f"c{n}",
                "item_ids": ["i1", "i2"],
                "recommendation_id": rid,
                "channel": "web",
                "rung": "personal",
                "model_version": "v1",
                "arm": arm,
                "timestamp": "2024-05-01T10:00:00Z",
            }
        )
    outcomes = [
        {
            "event_id": "clk0",
            "event_type": "click",
            "customer_id": "c0",
            "item_id": "i1",
            "recommendation_id": f"{0:032x}",
            "timestamp": "2024-05-01T10:01:00Z",
        },
        {
            "event_id": "clk0b",
            "event_type": "click",
            "customer_id": "c0",
            "item_id": "i2",
            "recommendation_id": f"{0:032x}",
            "timestamp": "2024-05-01T10:02:00Z",
        },
        {
            "event_id": "cart0",
            "event_type": "add_to_cart",
            "customer_id": "c0",
            "item_id": "i1",
            "recommendation_id": f"{0:032x}",
            "timestamp": "2024-05-01T10:03:00Z",
        },
        {
            "event_id": "buy0",
            "event_type": "purchase",
            "customer_id": "c0",
            "item_ids": ["i1"],
            "value": 30.0,
            "recommendation_id": f"{0:032x}",
            "timestamp": "2024-05-01T10:04:00Z",
        },
        {
            "event_id": "clk7",
            "event_type": "click",
            "customer_id": "c7",
            "item_id": "i2",
            "recommendation_id": f"{7:032x}",
            "timestamp": "2024-05-01T10:01:00Z",
        },
        # Echoes an id never reported shown: not attributed.
        {
            "event_id": "clkx",
            "event_type": "click",
            "customer_id": "c9",
            "item_id": "i2",
            "recommendation_id": "f" * 32,
            "timestamp": "2024-05-01T10:01:00Z",
        },
    ]
    _append(redis_client, namespace, shown + outcomes)
    out = tmp_path / "events"
    export_events(redis_client, namespace, out)
    report = tmp_path / "online.csv"
    code = main(["report", "online", "--events", str(out), "--out", str(report)])
    assert code == 0
    printed = capsys.readouterr()
    assert "10 impressions, 5 attributed outcomes (1 not)" in printed.err + printed.out
    table = pd.read_csv(report).set_index("arm")
    assert table.loc["A", "impressions"] == 6 and table.loc["B", "impressions"] == 4
    assert table.loc["A", "clicks"] == 1 and table.loc["A", "ctr"] == pytest.approx(1 / 6)
    assert table.loc["A", "add_to_carts"] == 1 and table.loc["A", "purchases"] == 1
    assert table.loc["A", "revenue_per_impression"] == pytest.approx(5.0)
    assert table.loc["B", "ctr"] == pytest.approx(0.25) and table.loc["B", "revenue"] == 0
    assert 0 < table.loc["A", "ctr_low"] < 1 / 6 < table.loc["A", "ctr_high"] < 1
    assert table.loc["A", "revenue_per_impression_low"] == 0
    assert 5.0 < table.loc["A", "revenue_per_impression_high"] <= 30.0
    # A suffix it cannot write is refused, not silently written as JSON.
    capsys.readouterr()
    xlsx = tmp_path / "online.xlsx"
    assert main(["report", "online", "--events", str(out), "--out", str(xlsx)]) == 2
    assert ".csv, .parquet or .json" in capsys.readouterr().err and not xlsx.exists()
    # The CX report's online section shows the same table (recsys report --events).
    page = Report()
    online_section(page, out)
    (section,) = page.sections
    assert section.startswith('<section id="online">')
    assert "10 answers reported shown (impressions), 5 outcomes attributed" in section
    assert "(1 not)" in section and section.count("<tr>") == len(table)  # body rows
    # --since drops what came before it.
    assert main(["report", "online", "--events", str(out), "--since", "2024-06-01"]) == 0
    assert "no impressions" in capsys.readouterr().out
    assert main(["report", "online", "--events", str(out), "--since", "soon"]) == 2
    assert "--since 'soon' is not a date" in capsys.readouterr().err


def test_the_export_command(
    redis_client: redis.Redis,
    namespace: str,
    redis_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
):
    _append(redis_client, namespace, _views(3))
    code = main(
        [
            "events",
            "export",
            "--out",
            str(tmp_path / "x"),
            "--redis",
            redis_url,
            "--namespace",
            namespace,
        ]
    )
    assert code == 0
    assert "3 events written" in capsys.readouterr().err
    assert len(online_report(_exported(tmp_path / "x"))) == 0


def test_recsys_train_takes_an_exported_folder(
    shop_dir: Path, redis_client: redis.Redis, namespace: str, tmp_path: Path
):
    raw = pd.read_parquet(shop_dir / "events.parquet")
    rows = raw.head(6000)
    events = [
        {
            "event_id": f"s{i}",
            "event_type": kind,
            "customer_id": str(customer),
            "item_id": str(item),
            "timestamp": pd.Timestamp(ts).tz_localize("UTC").isoformat(),
        }
        for i, (customer, item, kind, ts) in enumerate(
            zip(
                rows["customer_id"],
                rows["item_id"],
                rows["event_type"],
                rows["timestamp"],
                strict=True,
            )
        )
    ]
    events.append(
        {
            "event_id": "imp",
            "event_type": "impression",
            "customer_id": events[0]["customer_id"],
            "item_ids": [events[1]["item_id"]],
            "recommendation_id": "a" * 32,
            "timestamp": events[-1]["timestamp"],
        }
    )
    assert len(_append(redis_client, namespace, events)) == len(events)
    export_events(redis_client, namespace, tmp_path / "exported")
    assert len(list((tmp_path / "exported").glob("date=*"))) > 1
    code = main(
        [
            "train",
            "--events",
            str(tmp_path / "exported"),
            "--out",
            str(tmp_path / "bundles"),
            "--models",
            "popular",
            "--no-eval",
            "-q",
        ]
    )
    assert code == 0
    (bundle,) = (p for p in (tmp_path / "bundles").iterdir() if p.is_dir())
    manifest = orjson.loads((bundle / "manifest.json").read_bytes())
    assert manifest["rows"]["input"] == len(events)
    assert manifest["rows"]["accepted"] == len(events)
