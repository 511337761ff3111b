"""``recsys offers`` over an existing bundle, as the README shows it: offers are allocated at
the bundle's own "now" (not the wall clock), a date with no active offer is said out loud, and
the bundle stays publishable whatever the allocation gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from training.cli import main


@pytest.fixture
def bundle(trained, tmp_path) -> Path:
    """A copy of the session's trained bundle (it carries no offers), to be rewritten."""
    copy = tmp_path / trained.bundle_dir.name
    shutil.copytree(trained.bundle_dir, copy)
    return copy


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


def test_offers_default_to_the_bundles_own_date_and_publish(
    bundle, shop_dir, redis_url, namespace, capsys
):
    assert not _manifest(bundle).get("offers")
    segments_as_of = _manifest(bundle)["segments"]["params"]["as_of"]
    assert main(["offers", "--bundle", str(bundle), "--catalog", str(shop_dir / "offers.csv")]) == 0
    offers = _manifest(bundle)["offers"]
    assert pd.Timestamp(offers["as_of"]) == pd.Timestamp(segments_as_of)  # not today
    assert offers["allocated"] > 0 and offers["customers_with_offers"] > 0
    assert len(pd.read_parquet(bundle / "offers.parquet")) > 0
    cli = ["--redis", redis_url, "--namespace", namespace, "--quiet"]
    assert main(["publish", str(bundle), *cli]) == 0
    capsys.readouterr()


def test_a_date_with_no_active_offer_warns_and_the_bundle_stays_publishable(
    bundle, shop_dir, redis_url, namespace, capsys
):
    catalog = str(shop_dir / "offers.csv")
    args = ["offers", "--bundle", str(bundle), "--catalog", catalog, "--as-of", "2001-01-01"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "none of the" in err and "active on 2001-01-01" in err and "--as-of" in err
    text = (bundle / "manifest.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    offers = json.loads(text)["offers"]
    assert offers["allocated"] == 0 and offers["gap"] is None
    assert not list(bundle.glob(".*.tmp"))  # no temporary file left behind
    cli = ["--redis", redis_url, "--namespace", namespace, "--quiet"]
    assert main(["publish", str(bundle), *cli]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("as_of", "fragment"),
    [
        ("garbage", "is not a date"),
        ("2024-13-45", "is not a date"),
        ("01/02/2024", "ambiguous"),  # not silently month-first
    ],
)
def test_a_date_that_does_not_read_is_one_line(bundle, shop_dir, capsys, as_of, fragment):
    before = (bundle / "manifest.json").read_text()
    catalog = str(shop_dir / "offers.csv")
    code = main(["offers", "--bundle", str(bundle), "--catalog", catalog, "--as-of", as_of])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert (bundle / "manifest.json").read_text() == before  # the bundle is untouched


def test_an_explicit_date_applies_to_its_own_run_only(bundle, shop_dir, capsys):
    catalog = str(shop_dir / "offers.csv")
    base = ["offers", "--bundle", str(bundle), "--catalog", catalog]
    assert main([*base, "--as-of", "2024-02-13"]) == 0
    assert _manifest(bundle)["offers"]["as_of"].startswith("2024-02-13")
    assert main(base) == 0  # no --as-of: the bundle's own date again, not 2024-02-13
    own = _manifest(bundle)["segments"]["params"]["as_of"]
    assert pd.Timestamp(_manifest(bundle)["offers"]["as_of"]) == pd.Timestamp(own)
    capsys.readouterr()
