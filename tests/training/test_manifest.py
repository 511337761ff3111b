"""The typed manifest: what training writes is what the store reads, validated on load."""

import json

import pytest

from recsys.errors import DataError
from recsys.manifest import Manifest, RowCounts
from recsys.store.bundle import Bundle


def _manifest(**changes) -> Manifest:
    fields = {
        "version": "20240101T000000Z-abcdef12",
        "created_at": "2024-01-01T00:00:00+00:00",
        "top_n": 20,
        "chosen_model": "blend",
        "rows": RowCounts(input=10, accepted=9, customers=3, items=4, interactions=7),
        "metrics": [{"model": "blend", "protocol": "new_items", "ndcg": 0.25}],
    }
    return Manifest(**{**fields, **changes})


def test_written_manifest_loads_back_equal_and_the_store_opens_it(trained):
    loaded = Manifest.load(trained.bundle_dir)
    assert loaded == trained.manifest
    bundle = Bundle.open(trained.bundle_dir)
    assert bundle.manifest == loaded.to_json_dict()
    assert bundle.version == loaded.version and bundle.top_n == loaded.top_n


def test_json_shape_is_a_flat_object_of_the_documented_keys(tmp_path):
    path = _manifest().write(tmp_path)
    data = json.loads(path.read_text())
    assert data["version"] == "20240101T000000Z-abcdef12"
    assert data["rows"] == {
        "input": 10,
        "accepted": 9,
        "customers": 3,
        "items": 4,
        "interactions": 7,
        "customer_profiles": 0,
    }
    assert data["metrics"][0]["ndcg"] == 0.25
    assert Manifest.load(path) == _manifest()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("version", "bad version!", "version"),
        ("top_n", 0, "top_n"),
        ("created_at", "yesterday", "created_at"),
    ],
)
def test_bad_fields_are_refused_on_load_naming_the_field(tmp_path, field, value, message):
    data = _manifest().to_json_dict()
    data[field] = value
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match=message):
        Manifest.load(tmp_path)


def test_unreadable_and_unparseable_manifests_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        Manifest.load(tmp_path / "nothing.json")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="cannot parse"):
        Manifest.load(tmp_path)
