"""Bundle reading/writing, and ``small_bundle``: the hand-made bundle the store tests publish."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.errors import DataError
from recsys.store.bundle import (
    MANIFEST_FILE,
    POPULAR_FILE,
    RECOMMENDATIONS_FILE,
    SIMILAR_ITEMS_FILE,
    Bundle,
    write_bundle_tables,
)

ITEM_IDS = ["A", "B", "C", "D", "E", "F", "G", "café"]
# Customer ids with a colon, braces and non-ASCII: keys use them verbatim.
CUSTOMER_IDS = ["c1", "c2", "c:{3}", "ü4"]


def small_tables(shift: int = 0) -> dict[str, pd.DataFrame]:
    """Deterministic tables; ``shift`` rotates every list so versions differ visibly."""
    items = pd.DataFrame(
        {
            "item_id": ITEM_IDS,
            "name": [f"name {i}" for i in ITEM_IDS],
            "category": ["x", "x", "y", "y", "z", "z", "x", None],
            "price": [1.0, 2.5, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0],
            "in_stock": [True, True, False, True, True, True, True, True],
        }
    )
    n = len(ITEM_IDS)
    rows = []
    for c, cust in enumerate(CUSTOMER_IDS[:3] if shift == 0 else CUSTOMER_IDS):
        for r in range(3 + c % 2):
            rows.append((cust, r + 1, ITEM_IDS[(c + 2 * r + shift) % n], 1.0 / (r + 1) + shift))
    recs = pd.DataFrame(rows, columns=["customer_id", "rank", "item_id", "score"])
    again = pd.DataFrame(
        {
            "customer_id": ["c2", "c2", "zz-only-again"],
            "rank": [1, 2, 1],
            "item_id": ["A", "B", "C"],
        }
    ).assign(score=[7.0, 3.5, 1.25])
    sim_rows = []
    for i, item in enumerate(ITEM_IDS[:6]):
        for r in range(2):
            sim_rows.append((item, r + 1, ITEM_IDS[(i + r + 1 + shift) % n], 0.9 - 0.1 * r))
    similar = pd.DataFrame(sim_rows, columns=["item_id", "rank", "similar_item_id", "score"])
    popular = pd.DataFrame(
        {
            "segment": ["_all", "_all", "_all", "vip", "vip"],
            "rank": [1, 2, 3, 1, 2],
            "item_id": [ITEM_IDS[(k + shift) % n] for k in (0, 1, 2)] + ["G", "café"],
            "score": [300.0, 200.0, 100.0, 9.0, 8.0],
        }
    )
    segments = pd.DataFrame({"customer_id": ["c1", "c2"], "segment": ["vip", "bargain"]})
    return {
        "items": items,
        "recommendations": recs,
        "buy_again": again,
        "similar_items": similar,
        "popular": popular,
        "segments": segments,
    }


def small_bundle(root: Path, version: str, shift: int = 0, **overrides: pd.DataFrame) -> Path:
    """Write ``small_tables(shift)`` (with ``overrides``) as ``root/version``."""
    manifest = {
        "version": version,
        "created_at": "2025-01-02T03:04:05Z",
        "top_n": 4,
        "model": "als",
    }
    tables = {**small_tables(shift), **overrides}
    return write_bundle_tables(root / version, manifest, **tables)


def test_write_and_open_round_trip(tmp_path):
    path = small_bundle(tmp_path, "v1")
    bundle = Bundle.open(path)
    assert bundle.version == "v1" and bundle.top_n == 4
    assert bundle.manifest["model"] == "als"
    pd.testing.assert_frame_equal(bundle.recommendations(), small_tables()["recommendations"])
    assert bundle.has("buy_again") and bundle.buy_again() is not None
    assert not bundle.has("offers")
    arrow = bundle.read_arrow("recommendations")
    assert arrow.column_names == ["customer_id", "rank", "item_id", "score"]
    assert str(arrow.schema.field("customer_id").type).startswith("dictionary")


def test_open_names_every_missing_file(tmp_path):
    tables = small_tables()
    write_bundle_tables(
        tmp_path / "b", {"version": "v1", "created_at": "x", "top_n": 1}, items=tables["items"]
    )
    with pytest.raises(DataError) as err:
        Bundle.open(tmp_path / "b")
    missing = str(err.value).split("missing ", 1)[1].split(", ")
    assert missing == [RECOMMENDATIONS_FILE, SIMILAR_ITEMS_FILE, POPULAR_FILE]
    with pytest.raises(DataError, match="does not exist"):
        Bundle.open(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "manifest, message",
    [
        ({"created_at": "x", "top_n": 1}, r"missing key\(s\) \['version'\]"),
        ({"version": "bad id", "created_at": "x", "top_n": 1}, "invalid version id"),
        ({"version": "v1", "created_at": "x", "top_n": 0}, "top_n must be an integer >= 1"),
        ([1, 2], "must hold a JSON object"),
    ],
)
def test_bad_manifest(tmp_path, manifest, message):
    path = small_bundle(tmp_path, "v1")
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=message):
        Bundle.open(path)


def test_missing_column_and_corrupt_file_are_data_errors(tmp_path):
    recs = small_tables()["recommendations"].drop(columns=["score"])
    path = small_bundle(tmp_path, "v1", recommendations=recs)
    bundle = Bundle.open(path)
    with pytest.raises(DataError, match=r"missing column\(s\) \['score'\]"):
        bundle.recommendations()
    with pytest.raises(DataError, match=r"missing column\(s\) \['score'\]"):
        bundle.read_arrow("recommendations")
    (path / POPULAR_FILE).write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read"):
        bundle.read_arrow("popular")
    with pytest.raises(ValueError, match="unknown bundle table"):
        write_bundle_tables(tmp_path / "x", {}, ratings=recs)
