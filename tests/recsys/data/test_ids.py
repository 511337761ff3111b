import numpy as np
import pytest

from recsys.data.ids import IdMap
from recsys.errors import UnknownIdError


def test_first_seen_order_and_round_trip():
    m = IdMap.from_values(["b", "a", "b", "c", 7])
    assert m.external_ids.tolist() == ["b", "a", "c", "7"]
    idx = m.to_internal(["c", "b", "7"])
    assert idx.tolist() == [2, 0, 3]
    assert m.to_external(idx).tolist() == ["c", "b", "7"]


def test_missing_policies():
    m = IdMap.from_values(["a", "b"])
    with pytest.raises(UnknownIdError, match="1 unknown id"):
        m.to_internal(["a", "zz"])
    assert m.to_internal(["a", "zz", "b"], missing="skip").tolist() == [0, 1]
    assert m.to_internal(["a", "zz"], missing="ignore").tolist() == [0, -1]


def test_add_is_append_only_and_returns_new_map():
    m = IdMap.from_values(["a", "b"])
    m2 = m.add(["c", "a", "d"])
    assert m.external_ids.tolist() == ["a", "b"]
    assert m2.external_ids.tolist() == ["a", "b", "c", "d"]
    assert m2.to_internal(["a", "b"]).tolist() == m.to_internal(["a", "b"]).tolist()
    assert m.add(["a"]) is m


def test_frozen_and_rejects_duplicates():
    m = IdMap.from_values(["a"])
    with pytest.raises(ValueError):
        m.external_ids[0] = "z"
    with pytest.raises(ValueError, match="unique"):
        IdMap(np.array(["a", "a"]))


def test_out_of_range_internal_id():
    with pytest.raises(IndexError):
        IdMap.from_values(["a"]).to_external([1])
