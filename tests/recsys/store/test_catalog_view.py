"""The request path's catalog: plain lookups, and stored lists decoded into pairs."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.errors import StoreError
from recsys.store import Catalog
from recsys.store.catalog_view import CatalogView
from recsys.store.codec import decode_list, encode_list, unpack_list


def test_catalog_view_from_catalog_converts_missing_values() -> None:
    catalog = Catalog(
        np.array(["p", "q"], dtype=object),
        {
            "name": np.array(["P", None], dtype=object),
            "category": np.array([7, None], dtype=object),
            "price": np.array([None, 2.5], dtype=object),
            "in_stock": np.array([False, None], dtype=object),
        },
    )
    view = CatalogView.from_catalog(catalog)
    assert (view.ids, view.index) == (["p", "q"], {"p": 0, "q": 1})
    assert view.name == ["P", None]
    assert view.category == ["7", None]  # categories are compared as text
    assert view.price == [None, 2.5]
    assert view.in_stock == [False, True]  # unknown stock counts as in stock
    assert view.categories == frozenset({"7"})


def _view(n: int) -> CatalogView:
    ids = np.array([f"i{j}" for j in range(n)], dtype=object)
    return CatalogView.from_catalog(Catalog(ids, {}))


@pytest.mark.parametrize("n_items", [10, 70_000])  # uint16 and uint32 indices
@pytest.mark.parametrize("scores", [[0.5, 0.25, 0.125], [1e-9, 3.0, 7e5]])  # float16, float32
def test_decode_equals_the_numpy_decoder(n_items: int, scores: list[float]) -> None:
    view = _view(n_items)
    indices = np.array([n_items - 1, 0, 5])
    value = encode_list(indices, np.array(scores))
    ranked = decode_list(value)
    got = view.decode(value)
    assert [i for i, _ in got] == [f"i{j}" for j in ranked.indices.tolist()]
    assert [s for _, s in got] == ranked.scores.tolist()
    assert unpack_list(value, scores=False) == (tuple(ranked.indices.tolist()), ())
    assert view.item_set(value) == {f"i{n_items - 1}", "i0", "i5"}


def test_decode_refuses_an_index_past_the_catalog_and_corrupt_values() -> None:
    view = _view(3)
    with pytest.raises(StoreError, match="catalog has 3 items"):
        view.decode(encode_list(np.array([3]), np.array([1.0])))
    value = encode_list(np.array([0, 1]), np.array([1.0, 0.5]))
    with pytest.raises(StoreError, match="corrupt ranked list"):
        view.decode(value[:-1])
    with pytest.raises(StoreError, match="unsupported ranked list format"):
        view.decode(b"\x09" + value[1:])
