"""The pure list logic: filters, the fallback chain, interleaving and session blending."""

from __future__ import annotations

import pytest

from recsys.answers.ranking import Filters, Rung, blend, in_category, interleave, pick
from recsys.store.catalog_view import CatalogView

# a, b, c in stock (cat x, x, y); d out of stock (cat y); e unknown to the catalog.
VIEW = CatalogView(
    ids=["a", "b", "c", "d"],
    index={"a": 0, "b": 1, "c": 2, "d": 3},
    name=["A", "B", "C", "D"],
    category=["x", "x", "y", "y"],
    price=[1.0, None, 3.0, 4.0],
    in_stock=[True, True, True, False],
    categories=frozenset({"x", "y"}),
)


def test_pick_walks_rungs_in_order_and_stops_at_k() -> None:
    rungs = [Rung("personal", [("a", 3.0)]), Rung("popular", [("b", 9.0), ("c", 8.0)])]
    assert pick(rungs, 2, VIEW, Filters()) == (
        "personal",
        [("a", 3.0, "personal"), ("b", 9.0, "popular")],
    )


def test_pick_drops_excluded_duplicate_and_out_of_stock() -> None:
    rungs = [
        Rung("personal", [("d", 5.0), ("a", 4.0), ("b", 3.0)]),
        Rung("segment", [("a", 1.0), ("c", 0.5)]),
    ]
    source, items = pick(rungs, 10, VIEW, Filters(exclude=frozenset({"b"})))
    assert (source, items) == ("personal", [("a", 4.0, "personal"), ("c", 0.5, "segment")])


def test_pick_category_drops_other_and_unknown_items() -> None:
    rungs = [Rung("personal", [("e", 9.0), ("c", 2.0), ("a", 1.0)])]
    assert pick(rungs, 10, VIEW, Filters(category="x")) == ("personal", [("a", 1.0, "personal")])
    # Without a category, an item the catalog does not know is kept.
    assert [i for i, _, _ in pick(rungs, 10, VIEW, Filters())[1]] == ["e", "c", "a"]


def test_pick_source_is_first_contributing_rung() -> None:
    rungs = [Rung("personal", [("d", 1.0)]), Rung("segment", []), Rung("popular", [("a", 1.0)])]
    assert pick(rungs, 3, VIEW, Filters())[0] == "popular"
    # Nothing at all: the last rung is named.
    assert pick(rungs, 3, VIEW, Filters(exclude=frozenset({"a"}))) == ("popular", [])


def test_interleave_alternates_and_deduplicates() -> None:
    first = [("a", 1.0), ("b", 0.5), ("c", 0.1)]
    second = [("x", 9.0), ("a", 8.0)]
    assert interleave(first, second) == [("a", 1.0), ("x", 9.0), ("b", 0.5), ("c", 0.1)]


def test_blend_sums_scores_across_lists() -> None:
    merged = blend([[("a", 0.5), ("b", 0.4)], [("b", 0.3), ("c", 0.6)]])
    assert [i for i, _ in merged] == ["b", "c", "a"]
    assert dict(merged) == pytest.approx({"b": 0.7, "c": 0.6, "a": 0.5})


def test_in_category() -> None:
    items = [("a", 1.0), ("c", 1.0), ("b", 1.0), ("e", 1.0)]
    assert in_category(items, VIEW, "x") == [("a", 1.0), ("b", 1.0)]
    assert in_category(items, VIEW, None) == []
