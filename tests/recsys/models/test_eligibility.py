"""What a list may hold: bought (net of returns) leaves the default answer; out of stock
leaves every list."""

import pandas as pd

from recsys import columns as C
from recsys.data.dataset import build_dataset
from recsys.models import make_model
from recsys.models.eligibility import bought_matrix, servable_items


def test_bought_means_more_purchases_than_returns_of_the_configured_types():
    rows = [
        ("a", "x", C.PURCHASE), ("a", "x", C.PURCHASE), ("a", "x", C.RETURN),  # 2 - 1: bought
        ("a", "y", C.PURCHASE), ("a", "y", C.RETURN),  # returned: a candidate again
        ("a", "z", C.VIEW), ("b", "z", C.ADD_TO_CART), ("b", "x", C.PURCHASE),
    ]  # fmt: skip
    events = pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE])
    events[C.TIMESTAMP] = pd.Timestamp("2024-01-01")
    ds = build_dataset(events)

    def pairs(m):
        coo = m.tocoo()
        return {
            (ds.customers.to_external([r])[0], ds.items.to_external([c])[0])
            for r, c in zip(coo.row, coo.col, strict=True)
        }

    assert pairs(bought_matrix(ds)) == {("a", "x"), ("b", "x")}
    assert pairs(bought_matrix(ds, (C.PURCHASE, C.ADD_TO_CART))) == {
        ("a", "x"),
        ("b", "x"),
        ("b", "z"),
    }


def test_a_partial_return_keeps_the_item_bought():
    """Online Retail's customer 12949 bought 24 of item 37370 and returned 2: still bought.
    Quantities decide whether anything is left; events still count the purchases."""
    rows = [
        ("a", "x", C.PURCHASE, 24.0), ("a", "x", C.RETURN, 2.0),  # 22 kept
        ("a", "y", C.PURCHASE, 3.0), ("a", "y", C.RETURN, 3.0),  # all back
        ("a", "z", C.PURCHASE, 1.0), ("a", "z", C.PURCHASE, 1.0), ("a", "z", C.RETURN, 2.0),
        ("b", "x", C.PURCHASE, 1.0), ("b", "x", C.PURCHASE, 5.0), ("b", "x", C.RETURN, 1.0),
    ]  # fmt: skip
    events = pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE, C.QUANTITY])
    events[C.TIMESTAMP] = pd.Timestamp("2024-01-01")
    ds = build_dataset(events)
    counts = ds.purchase_counts().toarray()
    a, b = ds.customers.to_internal(["a", "b"])
    x, y, z = ds.items.to_internal(["x", "y", "z"])
    assert (counts[a, x], counts[a, y], counts[a, z], counts[b, x]) == (1.0, 0.0, 0.0, 1.0)
    bought = bought_matrix(ds).toarray()
    assert (bought[a, x], bought[a, y], bought[a, z], bought[b, x]) == (1.0, 0.0, 0.0, 1.0)
    # the default answer never offers it back, whatever the model
    for name in ("popular", "repeat", "als"):
        recs = make_model(name).fit(ds).recommend(["a"], k=10)
        assert "x" not in set(recs[C.ITEM_ID]), name
        assert "y" in set(recs[C.ITEM_ID]) and "z" in set(recs[C.ITEM_ID]), name


def test_servable_items_are_the_in_stock_ones_or_all():
    frame = pd.DataFrame({C.IN_STOCK: [True, False, None]}, index=pd.Index(["p", "q", "r"]))
    assert servable_items(frame).tolist() == ["p", "r"]
    assert servable_items(frame.assign(**{C.IN_STOCK: True})) is None
    assert servable_items(None) is None


def test_returns_cancel_only_what_was_bought_before_them():
    """Online Retail's customer 16321 returned 12 of an item bought before the data starts,
    then bought 12 three minutes later: that item is bought (it used to net to 0)."""
    rows = [
        ("a", "x", C.RETURN, 12.0, "2010-01-01 10:33"),
        ("a", "x", C.PURCHASE, 12.0, "2010-01-01 10:36"),
        ("a", "y", C.PURCHASE, 5.0, "2010-01-01"), ("a", "y", C.RETURN, 5.0, "2010-01-02"),
        ("a", "y", C.RETURN, 5.0, "2010-01-03"), ("a", "y", C.PURCHASE, 2.0, "2010-01-04"),
        ("a", "z", C.PURCHASE, 1.0, "2010-01-01"), ("a", "z", C.RETURN, 1.0, "2010-01-01"),
    ]  # fmt: skip
    events = pd.DataFrame(
        rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE, C.QUANTITY, C.TIMESTAMP]
    )
    events[C.TIMESTAMP] = pd.to_datetime(events[C.TIMESTAMP], format="ISO8601")
    ds = build_dataset(events)
    counts = ds.purchase_counts().toarray()[0]
    x, y, z = ds.items.to_internal(["x", "y", "z"])
    # x: the early return cancels nothing; y: 5 - 5 (- 5 of nothing) + 2 -> 2 kept, 1 event;
    # z: bought and returned at the same instant (purchase first) -> nothing kept
    assert (counts[x], counts[y], counts[z]) == (1.0, 1.0, 0.0)
    assert ds.purchase_counts() is ds.purchase_counts()  # computed once
    bought_matrix(ds)
    assert ds.purchase_counts().data.tolist() == [1.0, 1.0]  # bought_matrix did not alter it
