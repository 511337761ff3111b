"""``recsys segments``: artifacts, order-level exports, errors, previous versions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from recsys.customers.segments import SEGMENT_COLUMNS
from training.cli import main


def _run(capsys, *args):
    code = main(["segments", "--quiet", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_writes_the_two_artifacts(shop_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "seg"
    code, stdout, err = _run(
        capsys, "--events", shop_dir / "events.parquet", "--items", shop_dir / "items.csv",
        "--out", out, "--horizon-days", 180,
    )  # fmt: skip
    assert code == 0, err
    assert stdout.strip() == str(out)
    assert tuple(pq.read_schema(out / "segments.parquet").names) == SEGMENT_COLUMNS
    frame = pd.read_parquet(out / "segments.parquet")
    assert not frame.isna().any().any() and len(frame) > 500
    params = json.loads((out / "segments.json").read_text())
    for key in ("bgnbd", "gamma_gamma", "clusters", "rfm", "churn", "as_of", "time_unit"):
        assert key in params
    assert params["horizon_days"] == 180 and params["config"]["horizon_days"] == 180
    assert "NaN" not in (out / "segments.json").read_text()
    assert not (out / "rejects.csv").exists()
    # A rerun against this one records the migration matrix.
    code, _, err = _run(
        capsys, "--events", shop_dir / "events.parquet", "--out", tmp_path / "seg2",
        "--previous", out, "--as-of", "2024-06-15",
    )  # fmt: skip
    assert code == 0, err
    again = json.loads((tmp_path / "seg2" / "segments.json").read_text())
    assert again["as_of"] == "2024-06-15"
    assert np.sum(again["migration"]["counts"]) >= len(frame)


def test_order_level_export_with_amounts(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(1)
    rows = []
    for c in range(120):
        for k in range(int(rng.integers(1, 6))):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
            rows.append((f"cust{c}", f"ord{c}-{k}", day.strftime("%Y-%m-%d"),
                         f"{rng.gamma(3, 20):.2f}"))  # fmt: skip
    rows.append(("cust0", "refund-1", "2024-10-01", "-15.00"))  # a refund: return of 15
    rows.append(("", "ord-x", "2024-02-01", "10.00"))  # no customer: rejected
    rows.append(("cust1", "ord-y", "2024-02-01", "ten"))  # not a number: rejected
    frame = pd.DataFrame(rows, columns=["Customer", "Order", "Date", "Amount"])
    path = tmp_path / "orders.csv"
    frame.to_csv(path, index=False)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(
        '[ingest]\ncolumn_map = {Customer = "customer_id", Order = "order_id", '
        'Date = "timestamp", Amount = "amount"}\n'
    )
    out = tmp_path / "seg"
    code, _, err = _run(capsys, "--events", path, "--out", out, "--config", cfg)
    assert code == 0, err
    seg = pd.read_parquet(out / "segments.parquet").set_index("customer_id")
    assert len(seg) == 120
    paid = frame[(frame["Customer"] == "cust0") & (frame["Order"] != "refund-1")]
    expected = paid["Amount"].astype(float).sum() - 15
    assert seg.loc["cust0", "monetary_total"] == pytest.approx(expected)
    assert seg.loc["cust0", "orders"] == len(paid)
    rejects = pd.read_csv(out / "rejects.csv")
    assert sorted(rejects["reject_reason"]) == ["bad_price", "missing_customer_id"]
    assert list(rejects.columns[:4]) == ["Customer", "Order", "Date", "Amount"]


def test_errors_are_one_line(tmp_path: Path, shop_dir: Path, capsys) -> None:
    code, _, err = _run(capsys, "--events", shop_dir / "events.parquet", "--out", tmp_path,
                        "--as-of", "next tuesday")  # fmt: skip
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1
    code, _, err = _run(capsys, "--events", shop_dir / "events.parquet", "--out", tmp_path,
                        "--as-of", "2020-01-01")  # fmt: skip
    assert code == 2 and "no orders before" in err and "Traceback" not in err
    bad = tmp_path / "ev.csv"
    pd.DataFrame({"customer_id": ["a"], "price": [1]}).to_csv(bad, index=False)
    code, _, err = _run(capsys, "--events", bad, "--out", tmp_path)
    assert code == 2 and "timestamp" in err and err.count("\n") == 1
