import numpy as np
import orjson
import pandas as pd
import pytest

from recsys.errors import DataError, StoreError
from recsys.store.codec import (
    F16_RTOL,
    MAX_LENGTH,
    Catalog,
    RankedList,
    decode_list,
    encode_list,
    encode_lists,
)


def test_golden_bytes_narrow_list():
    # uint16 indices (all < 65536) and float16 scores (exactly representable here).
    value = encode_list(np.array([3, 1]), np.array([0.5, 0.25]))
    assert value == bytes([1, 0x03, 2, 0, 3, 0, 1, 0]) + b"\x00\x38" + b"\x00\x34"


def test_golden_bytes_wide_list():
    # an index >= 65536 makes the whole list uint32; a score beyond float16 makes it float32.
    value = encode_list(np.array([70000]), np.array([1e6]))
    assert (
        value == bytes([1, 0x00, 1, 0]) + (70000).to_bytes(4, "little") + np.float32(1e6).tobytes()
    )


def test_round_trip_many_lists_including_empty():
    counts = np.array([3, 0, 2, 1])
    idx = np.array([5, 0, 70000, 9, 8, 1])
    scores = np.array([3.0, 2.0, 1.0, 0.75, 0.5, 1e-9])
    values = encode_lists(counts, idx, scores)
    assert len(values) == 4
    decoded = [decode_list(v) for v in values]
    assert [d.indices.tolist() for d in decoded] == [[5, 0, 70000], [], [9, 8], [1]]
    assert decoded[1].indices.dtype == np.int64 and decoded[1].scores.dtype == np.float32
    assert values[1] == bytes([1, 0x03, 0, 0])  # empty: narrow flags, n = 0
    assert values[0][1] & 0x01 == 0 and values[2][1] & 0x01 == 1  # per-list index width
    np.testing.assert_allclose(decoded[0].scores, [3.0, 2.0, 1.0])
    # 1e-9 is below float16's normal range: that list keeps float32 and loses nothing.
    assert values[3][1] & 0x02 == 0
    assert decoded[3].scores[0] == np.float32(1e-9)


def test_max_length_and_over_length():
    n = MAX_LENGTH
    idx = np.arange(n) % 1000
    value = encode_list(idx, np.linspace(1, 2, n))
    back = decode_list(value)
    assert len(back.indices) == n and back.indices[-1] == (n - 1) % 1000
    assert len(value) == 4 + n * 4
    with pytest.raises(ValueError, match="list length"):
        encode_list(np.zeros(n + 1, dtype=int), np.ones(n + 1))


def test_float16_precision_bound_holds_over_the_normal_range():
    rng = np.random.default_rng(0)
    scores = np.concatenate(
        [rng.uniform(-1, 1, 2000), 10.0 ** rng.uniform(-4, 4.8, 2000), [0.0, 65504.0, -6.2e-5]]
    )
    counts = np.ones(len(scores), dtype=int)  # one list per score: each picks its own width
    values = encode_lists(counts, np.zeros(len(scores), dtype=int), scores)
    back = np.array([decode_list(v).scores[0] for v in values], dtype=np.float64)
    f16 = np.array([bool(v[1] & 0x02) for v in values])
    rel = np.abs(back - scores) / np.maximum(np.abs(scores), 1e-300)
    assert f16.mean() > 0.9  # most scores fit float16
    assert rel[f16].max() <= F16_RTOL
    assert rel[~f16].max() <= 2.0**-24  # the rest keep float32 precision
    # Large values never overflow to inf.
    assert np.isfinite(back).all()


def test_float32_mode_is_exact_to_float32():
    scores = np.array([0.123456789, 3.14159])
    back = decode_list(encode_list(np.array([1, 2]), scores, score_dtype="float32")).scores
    assert back.tolist() == scores.astype(np.float32).tolist()


@pytest.mark.parametrize(
    "value, message",
    [
        (b"", "shorter than"),
        (bytes([2, 0, 0, 0]), "unsupported ranked list format 2"),
        (bytes([1, 0x04, 0, 0]), "unsupported"),
        (bytes([1, 0x03, 2, 0, 1, 0]), "corrupt ranked list: 6 bytes for 2 entries"),
    ],
)
def test_malformed_values_raise_store_error(value, message):
    with pytest.raises(StoreError, match=message):
        decode_list(value)


def test_encode_rejects_inconsistent_input():
    with pytest.raises(ValueError, match="must all be equal"):
        encode_lists(np.array([2]), np.array([1]), np.array([1.0]))
    with pytest.raises(ValueError, match="out of range"):
        encode_list(np.array([-1]), np.array([1.0]))


def _items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["A", "B", "C"],
            "name": ["apple", None, "cherry"],
            "category": ["fruit", "fruit", None],
            "price": [1.5, np.nan, 3.0],
            "in_stock": [True, False, True],
            "launched": pd.to_datetime(["2024-01-01", None, "2024-03-01"]),
        }
    )


def test_catalog_from_frame_and_json_round_trip():
    cat = Catalog.from_frame(_items())
    back = Catalog.from_json(cat.to_json())
    for c in (cat, back):
        assert c.ids.tolist() == ["A", "B", "C"]
        assert c.name.tolist() == ["apple", None, "cherry"]
        assert c.category.tolist() == ["fruit", "fruit", None]
        assert np.isnan(c.price[1]) and c.price[[0, 2]].tolist() == [1.5, 3.0]
        assert c.in_stock.tolist() == [True, False, True]
        assert c.attributes["launched"].tolist() == [
            "2024-01-01T00:00:00",
            None,
            "2024-03-01T00:00:00",
        ]
    doc = orjson.loads(cat.to_json())
    assert doc["format"] == 1 and doc["item_id"] == ["A", "B", "C"]
    assert doc["columns"]["price"] == [1.5, None, 3.0]


def test_catalog_lookups_and_pairs():
    cat = Catalog.from_frame(_items())
    assert cat.index_of(["C", "zz", "A"]).tolist() == [2, -1, 0]
    assert cat.position("B") == 1 and cat.position("nope") is None
    assert "A" in cat and "Q" not in cat
    pairs = cat.pairs(RankedList(np.array([2, 0]), np.array([0.5, 0.25], dtype=np.float32)))
    assert pairs == [("C", 0.5), ("A", 0.25)]
    with pytest.raises(StoreError, match="different versions"):
        cat.pairs(RankedList(np.array([3]), np.array([1.0], dtype=np.float32)))


def test_catalog_defaults_without_attributes():
    cat = Catalog.from_frame(pd.DataFrame({"item_id": [1, 2]}))
    assert cat.ids.tolist() == ["1", "2"]
    assert cat.in_stock.tolist() == [True, True]
    assert np.isnan(cat.price).all() and cat.category.tolist() == [None, None]


def test_catalog_rejects_bad_items():
    with pytest.raises(DataError, match="unique"):
        Catalog.from_frame(pd.DataFrame({"item_id": ["A", "A"]}))
    with pytest.raises(DataError, match="no 'item_id' column"):
        Catalog.from_frame(pd.DataFrame({"sku": ["A"]}))
    with pytest.raises(DataError, match="'price' must be numeric"):
        Catalog.from_frame(pd.DataFrame({"item_id": ["A"], "price": ["cheap"]}))
    with pytest.raises(StoreError, match="unsupported catalog format"):
        Catalog.from_json(b'{"format": 9}')
    with pytest.raises(StoreError, match="not JSON"):
        Catalog.from_json(b"\x80pickle")
