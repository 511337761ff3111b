"""Sharded scoring: shards joined equal the unsharded tables, row for row and byte for byte."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recsys.artifacts import CUSTOMER_TABLES, build_artifacts
from recsys.config import Config
from recsys.data.catalogs import load_items
from recsys.data.dataset import build_dataset
from recsys.data.events import load_events
from recsys.errors import ConfigError, DataError
from recsys.models import MODELS, make_model
from recsys.models.eligibility import servable_items
from recsys.scoring import ShardSpec, join_shards, score_shard, write_shard
from recsys.store.bundle import TABLES, Bundle
from training.cli import main

TOP_N = 10


@pytest.fixture(scope="module")
def retail(tmp_path_factory) -> Path:
    """A generated retail shop (2,500 customers: several scoring batches)."""
    out = tmp_path_factory.mktemp("retail")
    code = main(
        ["generate", "--quiet", "--kind", "retail", "--customers", "2500", "--items", "300"]
        + ["--days", "120", "--seed", "3", "--out", str(out)]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def fitted(retail):
    cfg = Config()
    events = load_events(retail / "events.parquet", event_types=list(cfg.matrix.event_weights))
    items = load_items(retail / "items.csv")
    dataset = build_dataset(events.events, cfg.matrix, items_frame=items)
    model = make_model("als", factors=16, iterations=3).fit(dataset)
    model.batch_size = 256  # many batches, so shard edges fall inside them
    return model, dataset, items


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_joined_shards_equal_the_unsharded_tables(fitted, tmp_path, count):
    model, dataset, items = fitted
    whole = build_artifacts(model, dataset, items).tables()
    allowed = servable_items(items)
    assert allowed is not None  # the shop has out-of-stock items: the filter is exercised
    for i in range(1, count + 1):
        spec = ShardSpec(i, count)
        write_shard(
            tmp_path, spec, "v1", len(model.customers_), score_shard(model, spec, 50, allowed)
        )
    joined = join_shards(tmp_path, count, "v1")
    assert set(joined) == set(CUSTOMER_TABLES)
    for name in CUSTOMER_TABLES:
        assert len(joined[name]) > 0
        pd.testing.assert_frame_equal(joined[name], whole[name], check_exact=True)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_shards_exactly(fitted, tmp_path, name):
    _, dataset, items = fitted
    model = make_model(name).fit(dataset)
    model.batch_size = 300
    whole = build_artifacts(model, dataset, items).tables()
    for i in (1, 2, 3):
        spec = ShardSpec(i, 3)
        tables = score_shard(model, spec, 50, servable_items(items))
        write_shard(tmp_path, spec, "v1", len(model.customers_), tables)
    for table, frame in join_shards(tmp_path, 3, "v1").items():
        pd.testing.assert_frame_equal(frame, whole[table], check_exact=True)


def test_shards_hold_contiguous_equal_ranges_of_customers():
    ranges = [ShardSpec(i, 3).rows(10) for i in (1, 2, 3)]
    assert ranges == [range(0, 3), range(3, 6), range(6, 10)]
    assert [ShardSpec(i, 4).rows(2) for i in (1, 2, 3, 4)] == [
        range(0, 0),
        range(0, 1),
        range(1, 1),
        range(1, 2),
    ]


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "1/0", "2", ""])
def test_a_bad_shard_spec_is_refused(text):
    with pytest.raises(ConfigError, match="i/N"):
        ShardSpec.parse(text)


def _train(retail: Path, out: Path, *extra: str, offers: bool = True) -> int:
    return main(
        ["train", "--quiet", "--events", str(retail / "events.parquet")]
        + ["--items", str(retail / "items.csv"), "--customers", str(retail / "customers.csv")]
        + (["--offers", str(retail / "offers.csv")] if offers else [])
        + ["--models", "als", "--no-eval", "--top-n", str(TOP_N), "--out", str(out), *extra]
    )


def _bundle_of(out: Path) -> Path:
    return out / (out / "LATEST").read_text().strip()


def _same_bundle(a: Path, b: Path) -> None:
    """Every table of ``b`` equals ``a``'s row for row, and the per-customer files byte for
    byte; the manifests differ only in version and creation time."""
    ta, tb = Bundle.open(a), Bundle.open(b)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for table, file in TABLES.items():
        if (a / file).is_file():
            pd.testing.assert_frame_equal(ta.read(table), tb.read(table), check_exact=True)
    for table in CUSTOMER_TABLES:
        assert (a / TABLES[table]).read_bytes() == (b / TABLES[table]).read_bytes(), table
    skip = {"version", "created_at"}
    ma = {k: v for k, v in ta.manifest.items() if k not in skip}
    mb = {k: v for k, v in tb.manifest.items() if k not in skip}
    assert ma == mb


@pytest.fixture(scope="module")
def unsharded(retail, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    assert _train(retail, out) == 0
    return _bundle_of(out)


@pytest.mark.parametrize("count", [2, 3])
def test_train_with_shards_writes_the_unsharded_bundle(retail, unsharded, tmp_path, count):
    assert _train(retail, tmp_path, "--shards", str(count)) == 0
    bundle = _bundle_of(tmp_path)
    _same_bundle(unsharded, bundle)
    # The scratch directory of the shards is gone; only the bundle and LATEST remain.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["LATEST", bundle.name])


def test_a_deferred_bundle_is_completed_by_scoring_shards_and_joining(retail, unsharded, tmp_path):
    assert _train(retail, tmp_path / "b", "--defer-scoring", offers=False) == 0
    bundle = _bundle_of(tmp_path / "b")
    with pytest.raises(DataError, match="incomplete: missing recommendations.parquet"):
        Bundle.open(bundle)  # not publishable before the join
    shards = tmp_path / "shards"
    for i in (1, 2, 3):
        assert main(["score", str(bundle), "--shard", f"{i}/3", "--out", str(shards), "-q"]) == 0
    assert main(["score", str(bundle), "--join", "3", "--out", str(shards), "-q"]) == 0
    Bundle.open(bundle)
    for table in CUSTOMER_TABLES:
        # Servable items from the catalog's in_stock: every sold item is in the items file.
        assert (bundle / TABLES[table]).read_bytes() == (unsharded / TABLES[table]).read_bytes()


def test_deferred_scoring_refuses_offers_in_one_line(retail, tmp_path, capsys):
    assert _train(retail, tmp_path, "--defer-scoring") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--defer-scoring" in err


@pytest.mark.parametrize("spec", ["0/2", "3/2", "a/b"])
def test_cli_refuses_a_bad_shard_in_one_line(unsharded, tmp_path, capsys, spec):
    capsys.readouterr()
    code = main(["score", str(unsharded), "--shard", spec, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error:") and spec in err
    assert not any(tmp_path.iterdir())


def test_join_with_a_missing_shard_names_it(unsharded, tmp_path, capsys):
    out = tmp_path / "shards"
    assert main(["score", str(unsharded), "--shard", "1/3", "--out", str(out), "-q"]) == 0
    assert main(["score", str(unsharded), "--shard", "3/3", "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    with pytest.raises(DataError, match=r"shard\(s\) 2/3 missing"):
        join_shards(out, 3)
    code = main(["score", str(unsharded), "--join", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "2/3 missing" in err


def test_shards_of_another_version_are_not_joined(unsharded, tmp_path):
    out = tmp_path / "shards"
    assert main(["score", str(unsharded), "--shard", "1/1", "--out", str(out), "-q"]) == 0
    with pytest.raises(DataError, match="another version"):
        join_shards(out, 1, "some-other-version")
