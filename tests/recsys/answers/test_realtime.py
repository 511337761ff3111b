"""The realtime rung's pure logic: which items fold in, their weights, the blend, mixing."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.answers.ranking import Filters, Rung, blend, mix, pick
from recsys.answers.realtime import (
    DECAY,
    fold_in_items,
    realtime_list,
    version_time,
    wants_fold_in,
)
from recsys.store.codec import encode_list
from recsys.store.reader import CustomerRecord, VersionData
from recsys.store.realtime import LiveState
from tests.recsys.answers.test_ranking import VIEW

STATE = LiveState(
    recent=(
        ("a", 30.0, "add_to_cart"),
        ("b", 20.0, "view"),
        ("a", 10.0, "view"),
        ("c", 5.0, "click"),
    ),
    bought=frozenset({"d"}),
)


def _data(created_at: object) -> VersionData:
    return VersionData("v1", VIEW, {}, {"created_at": created_at})


def test_fold_in_items_are_the_newest_distinct_ones_weighted_by_kind_and_recency() -> None:
    assert fold_in_items(STATE, 5) == [("a", 2.0), ("b", DECAY), ("c", DECAY**2)]
    assert fold_in_items(STATE, 1) == [("a", 2.0)]
    assert fold_in_items(STATE, 5, skip=frozenset({"a"})) == [("b", 1.0), ("c", DECAY)]
    assert fold_in_items(LiveState(), 5) == []


def test_realtime_list_blends_weighted_lists_without_the_recent_items() -> None:
    lists = [[("b", 1.0), ("x", 0.5)], None, [("x", 1.0), ("y", 0.2)]]
    assert realtime_list(lists, [2.0, 1.0, 0.5], drop=frozenset({"b"})) == [
        ("x", 1.5),
        ("y", 0.1),
    ]
    assert blend([[("p", 1.0)], [("p", 1.0)]]) == [("p", 2.0)]  # default weights 1


def test_mix_alternates_and_keeps_each_items_source() -> None:
    live = Rung("realtime", [("c", 9.0), ("a", 8.0)])
    personal = Rung("personal", [("a", 1.0), ("b", 0.5), ("d", 0.4)])
    mixed = mix(live, personal)
    assert mixed.items == [("c", 9.0), ("a", 1.0), ("b", 0.5), ("d", 0.4)]
    assert mixed.sources == ["realtime", "personal", "personal", "personal"]
    source, items = pick([mixed, Rung("popular", [("e", 1.0)])], 4, VIEW, Filters())
    assert source == "realtime"
    assert items == [
        ("c", 9.0, "realtime"),
        ("a", 1.0, "personal"),
        ("b", 0.5, "personal"),
        ("e", 1.0, "popular"),  # d is out of stock
    ]


def test_a_personal_list_is_folded_into_only_by_events_newer_than_the_version() -> None:
    personal = CustomerRecord({b"rec": encode_list(np.array([0]), np.array([1.0]))}, VIEW)
    segment_only = CustomerRecord({b"seg": b"s1"}, VIEW)
    new, old = LiveState((("b", 2e9, "view"),)), LiveState((("b", 1e9, "view"),))
    data = _data("2024-01-01T00:00:00Z")
    assert version_time(data) == pytest.approx(1704067200.0)
    assert wants_fold_in(new, personal, data) and not wants_fold_in(old, personal, data)
    assert wants_fold_in(old, None, data) and wants_fold_in(old, segment_only, data)
    assert not wants_fold_in(None, None, data) and not wants_fold_in(LiveState(), None, data)
    for undated in (None, "not a time"):  # nothing is newer than an undated version
        assert not wants_fold_in(new, personal, _data(undated))


def test_only_the_heads_are_alternated_then_the_rest_of_each_list() -> None:
    from recsys.answers.compose import customer_answer, customer_rungs

    personal = CustomerRecord({b"rec": encode_list(np.array([0, 1]), np.array([2.0, 1.0]))}, VIEW)
    data = VersionData("v1", VIEW, {}, {})
    live = [("d", 9.0), ("c", 8.0)]  # d is out of stock
    source, items = customer_answer(personal, data, 2, realtime=live)
    assert source == "personal" and items == [("a", 2.0, "personal"), ("c", 8.0, "realtime")]
    # depth 1: [d | a] alternated, then the personal rest (b), then the realtime rest (c)
    rungs, _ = customer_rungs(personal, data, realtime=live, depth=1)
    assert pick(rungs, 3, VIEW, Filters())[1] == [
        ("a", 2.0, "personal"),
        ("b", 1.0, "personal"),
        ("c", 8.0, "realtime"),
    ]


def test_an_item_bought_live_leaves_no_gap_in_the_alternation() -> None:
    from recsys.answers.compose import customer_answer

    # Personal [a, b], realtime [c, b]; the customer just bought a (live): the answer still
    # alternates realtime / personal, c then b, instead of skipping a's turn.
    personal = CustomerRecord({b"rec": encode_list(np.array([0, 1]), np.array([2.0, 1.0]))}, VIEW)
    data = VersionData("v1", VIEW, {}, {})
    live = [("c", 8.0), ("b", 5.0)]
    _, items = customer_answer(personal, data, 2, realtime=live, bought=frozenset({"a"}))
    assert items == [("c", 8.0, "realtime"), ("b", 1.0, "personal")]
