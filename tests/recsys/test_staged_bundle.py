"""``staged_bundle``: a bundle appears whole or not at all, and two runs never clobber each
other (a new user trained twice into one --out within a second: "Directory not empty")."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.artifacts import LATEST_FILE, staged_bundle
from recsys.errors import DataError


def test_a_bundle_appears_whole_and_latest_names_it(tmp_path: Path) -> None:
    with staged_bundle(tmp_path, "v1") as tmp:
        (tmp / "manifest.json").write_text("{}")
        assert not (tmp_path / "v1").exists()
    assert (tmp_path / "v1" / "manifest.json").exists()
    assert (tmp_path / LATEST_FILE).read_text().strip() == "v1"
    assert not list(tmp_path.glob(".tmp-*"))


def test_a_second_run_of_the_same_version_is_refused_in_one_line(tmp_path: Path) -> None:
    with staged_bundle(tmp_path, "v1") as tmp:
        (tmp / "manifest.json").write_text('{"first": true}')
    with pytest.raises(DataError, match="already exists: another run wrote the same version"):
        with staged_bundle(tmp_path, "v1") as tmp:
            (tmp / "manifest.json").write_text('{"second": true}')
    assert (tmp_path / "v1" / "manifest.json").read_text() == '{"first": true}'
    assert not list(tmp_path.glob(".tmp-*"))


def test_another_runs_temporary_directory_is_left_alone(tmp_path: Path) -> None:
    other = tmp_path / ".tmp-v1-999999999"  # another process writing the same version
    other.mkdir()
    (other / "a").write_text("1")
    with staged_bundle(tmp_path, "v1") as mine:
        assert mine != other
        (mine / "manifest.json").write_text("{}")
    assert (other / "a").read_text() == "1"
    assert (tmp_path / "v1" / "manifest.json").exists()
