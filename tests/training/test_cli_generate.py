"""``recsys generate --kind``: each kind writes its shop; a bad kind is a one-line error."""

import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.events import load_events
from training.cli import main


@pytest.mark.parametrize(
    ("kind", "types", "days"),
    [
        ("retail", {"view", "add_to_cart", "purchase", "return"}, 60),
        ("marketplace", {"view", "add_to_cart", "favorite", "purchase", "return"}, 14),
        ("ratings", {"purchase"}, 365),
    ],
)
def test_generate_each_kind(tmp_path, capsys, kind, types, days):
    out = tmp_path / kind
    args = ["generate", "--kind", kind, "--out", str(out), "--customers", "400", "--seed", "2"]
    if kind == "retail":
        args += ["--days", "60", "--items", "100"]
    assert main(args) == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert f"a {kind} shop of 400 customers" in printed and f"over {days} days" in printed
    events = pd.read_parquet(out / "events.parquet")
    assert set(events[C.EVENT_TYPE]) == types
    span = events[C.TIMESTAMP].max() - pd.Timestamp("2024-01-01")
    assert span < pd.Timedelta(days=days)
    if kind == "ratings":
        assert not events.duplicated([C.CUSTOMER_ID, C.ITEM_ID]).any()
    # Every event type a generated shop writes is one the default ingest takes: none is
    # rejected (favourites were, for want of a weight).
    result = load_events(out / "events.parquet")
    assert len(result.rejects) == 0 and len(result.events) == len(events)


def test_generate_refuses_an_unknown_kind_in_one_line(tmp_path, capsys):
    assert main(["generate", "--kind", "bazaar", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: kind == 'bazaar', must be one of retail, marketplace, ratings"
    assert not (tmp_path / "x").exists()
