import numpy as np
import pandas as pd
import pytest

from recsys.config import MatrixConfig
from recsys.data.dataset import build_dataset
from recsys.errors import DataError


def _events(**cols):
    n = len(cols["customer_id"])
    base = {"timestamp": pd.date_range("2024-01-01", periods=n, freq="D")}
    return pd.DataFrame({**base, **cols})


def test_weights_sum_and_returns_net_out():
    ev = _events(
        customer_id=["a", "a", "a", "b", "b"],
        item_id=["x", "x", "y", "y", "y"],
        event_type=["view", "purchase", "purchase", "purchase", "return"],
    )
    ds = build_dataset(ev, MatrixConfig(quantity="count"))
    dense = ds.matrix.toarray()
    assert ds.customers.external_ids.tolist() == ["a", "b"]
    assert ds.items.external_ids.tolist() == ["x", "y"]
    assert dense.tolist() == [[6.0, 5.0], [0.0, 0.0]]  # b's purchase of y was returned
    assert ds.matrix.nnz == 2 and ds.matrix.dtype == np.float32


def test_quantity_modes_and_missing_event_type_means_purchase():
    ev = _events(customer_id=["a"], item_id=["x"], quantity=[np.e**2 - 0 * 1])
    assert build_dataset(ev, MatrixConfig(quantity="log")).matrix[0, 0] == pytest.approx(15.0)
    assert build_dataset(ev, MatrixConfig(quantity="linear")).matrix[0, 0] == pytest.approx(
        5 * np.e**2, rel=1e-6
    )


def test_time_decay_halves_weight_per_half_life():
    ev = _events(customer_id=["a", "a"], item_id=["old", "new"])
    ev["timestamp"] = pd.to_datetime(["2024-01-01", "2024-01-15"])
    ds = build_dataset(ev, MatrixConfig(quantity="count", half_life_days=14))
    assert ds.matrix[0, 0] == pytest.approx(2.5)
    assert ds.matrix[0, 1] == pytest.approx(5.0)


def test_does_not_mutate_input_and_is_read_only():
    ev = _events(customer_id=["a", "b"], item_id=["x", "y"])
    before = ev.copy()
    ds = build_dataset(ev)
    pd.testing.assert_frame_equal(ev, before)
    with pytest.raises(ValueError):
        ds.matrix.data[0] = 1.0


def test_unknown_event_type_and_missing_column_are_clear_errors():
    with pytest.raises(DataError, match="no weight"):
        build_dataset(_events(customer_id=["a"], item_id=["x"], event_type=["wishlist"]))
    with pytest.raises(DataError, match="item_id"):
        build_dataset(pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-01"]}))


def test_extends_existing_id_maps_without_moving_indices():
    first = build_dataset(_events(customer_id=["a"], item_id=["x"]))
    second = build_dataset(
        _events(customer_id=["b", "a"], item_id=["y", "x"]),
        customers=first.customers,
        items=first.items,
    )
    assert second.customers.external_ids.tolist() == ["a", "b"]
    assert second.items.to_internal(["x"]).tolist() == [0]
