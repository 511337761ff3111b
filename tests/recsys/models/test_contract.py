"""The contract every registered recommender must meet.

Parametrised over :data:`recsys.models.MODELS`: a newly registered model gets every check
without listing it here. ``FAST_PARAMS`` only makes training cheap on the tiny datasets;
``CHECKERBOARD_EXPECTATIONS`` states what a model is expected to do on planted data when
"personalised" is not the right expectation (default: personalised).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.config import MatrixConfig
from recsys.data.dataset import InteractionDataset, build_dataset
from recsys.errors import ConfigError, NotFittedError, UnknownIdError
from recsys.models import MODELS, Recommender, load_model, make_model

_ALS_FAST = {"factors": 4, "regularization": 1.0, "iterations": 10, "random_state": 7}

FAST_PARAMS: dict[str, dict[str, Any]] = {
    "als": _ALS_FAST,
    "bpr": {"factors": 8, "iterations": 60, "learning_rate": 0.05, "random_state": 7},
    "itemknn": {"K": 20},
    "bm25": {"K": 20},
    "ease": {"l2": 5.0},
    "blend": {
        "components": [
            {"model": "repeat", "weight": 1.0, "params": {}},
            {"model": "als", "weight": 0.5, "params": _ALS_FAST},
        ]
    },
}

NAMES = sorted(MODELS)


def fast_model(name: str) -> Recommender:
    return make_model(name, **FAST_PARAMS.get(name, {}))


# --------------------------------------------------------------------------- datasets
def random_dataset(seed: int = 3, n_customers: int = 40, n_items: int = 30) -> InteractionDataset:
    """Random purchases, views and a few returns over 90 days, plus one item nobody touched."""
    rng = np.random.default_rng(seed)
    n = 500
    cust = rng.integers(0, n_customers, n)
    item = np.minimum(rng.geometric(0.08, n) - 1, n_items - 1)  # skewed popularity
    kind = rng.choice([C.PURCHASE, C.VIEW, C.ADD_TO_CART], n, p=[0.6, 0.3, 0.1])
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h")
    events = pd.DataFrame(
        {
            C.CUSTOMER_ID: [f"c{i}" for i in cust],
            C.ITEM_ID: [f"i{j}" for j in item],
            C.EVENT_TYPE: kind,
            C.TIMESTAMP: ts,
            C.QUANTITY: rng.integers(1, 4, n),
        }
    )
    buys = events[events[C.EVENT_TYPE] == C.PURCHASE].head(5)
    returns = buys.assign(
        **{C.EVENT_TYPE: C.RETURN, C.TIMESTAMP: buys[C.TIMESTAMP] + pd.Timedelta("1D")}
    )
    events = pd.concat([events, returns], ignore_index=True)
    items_frame = pd.DataFrame(index=pd.Index(["never-sold"], name=C.ITEM_ID))
    return build_dataset(events, MatrixConfig(), items_frame=items_frame)


def checkerboard(n: int = 20) -> InteractionDataset:
    """implicit's checkerboard: customer i bought every item j with j % 2 == i % 2, except i.

    Two disjoint taste groups; the withheld diagonal item ``i`` is the one item of its own
    group that customer ``i`` has not bought, and everyone like them bought it.
    """
    pairs = [(i, j) for i in range(n) for j in range(i % 2, n, 2) if j != i]
    events = pd.DataFrame(
        {
            C.CUSTOMER_ID: [f"c{i}" for i, _ in pairs],
            C.ITEM_ID: [f"i{j}" for _, j in pairs],
            C.TIMESTAMP: pd.Timestamp("2024-01-01"),
        }
    )
    # Every item id appears in the map, in numeric order, so ids read like indices.
    items_frame = pd.DataFrame(index=pd.Index([f"i{j}" for j in range(n)], name=C.ITEM_ID))
    return build_dataset(events, MatrixConfig(quantity="count"), items_frame=items_frame)


@pytest.fixture(scope="module")
def data() -> InteractionDataset:
    return random_dataset()


@pytest.fixture(scope="module")
def fitted() -> dict[str, Recommender]:
    """One fitted model per name, shared by the read-only checks (fitting once keeps it fast)."""
    return {}


@pytest.fixture(params=NAMES)
def name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def model(name: str, data: InteractionDataset, fitted: dict[str, Recommender]) -> Recommender:
    if name not in fitted:
        fitted[name] = fast_model(name).fit(data)
    return fitted[name]


# --------------------------------------------------------------------------- helpers
def _ids(df: pd.DataFrame, col: str) -> list[str]:
    return df[col].astype(str).tolist()


def assert_same_lists(a: pd.DataFrame, b: pd.DataFrame, key: str, item: str) -> None:
    """Same keys, lengths, rank-wise scores and items; items may swap only within score ties.

    BLAS may round a 1-row and a 1024-row product differently in the last bit, which can
    reorder items whose scores tie to float precision; anything else is a real difference.
    """
    assert sorted(set(_ids(a, key))) == sorted(set(_ids(b, key)))
    for k, ga in a.groupby(key, sort=False):
        gb = b[b[key] == k]
        assert len(ga) == len(gb), k
        sa, sb = ga[C.SCORE].to_numpy(), gb[C.SCORE].to_numpy()
        np.testing.assert_allclose(sa, sb, rtol=1e-4, atol=1e-5)
        assert ga[C.RANK].tolist() == gb[C.RANK].tolist()
        ma = dict(zip(_ids(ga, item), sa, strict=True))
        mb = dict(zip(_ids(gb, item), sb, strict=True))
        for it in ma.keys() & mb.keys():
            assert ma[it] == pytest.approx(mb[it], rel=1e-4, abs=1e-5), (k, it)
        for it in ma.keys() ^ mb.keys():  # differing members can only be tied at the cut
            assert (ma.get(it, mb.get(it))) == pytest.approx(sa[-1], rel=1e-4, abs=1e-5), (k, it)


def assert_same_recs(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert_same_lists(a, b, C.CUSTOMER_ID, C.ITEM_ID)


def assert_same_similar(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert_same_lists(a, b, C.ITEM_ID, C.SIMILAR_ITEM_ID)


def bought_pairs(ds: InteractionDataset) -> dict[str, set[str]]:
    """Customer -> items with more purchase than return events in ``ds`` (from the log)."""
    ev = ds.events
    sign = ev[C.EVENT_TYPE].map({C.PURCHASE: 1, C.RETURN: -1}).fillna(0).astype(int)
    net = sign.groupby([ev["customer_idx"], ev["item_idx"]]).sum()
    out: dict[str, set[str]] = {}
    for (c, i), n in net.items():
        if n > 0:
            out.setdefault(str(ds.customers.to_external([c])[0]), set()).add(
                str(ds.items.to_external([i])[0])
            )
    return out


def train_items(ds: InteractionDataset, customer: str) -> set[str]:
    row = ds.customers.to_internal([customer])[0]
    return set(ds.items.to_external(ds.matrix[row].indices).tolist())


# --------------------------------------------------------------------------- estimator checks
def test_fit_returns_self_and_does_not_touch_the_data(name: str, data: InteractionDataset) -> None:
    before = (data.matrix.data.copy(), data.events.copy())
    model = fast_model(name)
    assert model.fit(data) is model
    assert model.is_fitted and model.fit_time_ >= 0
    np.testing.assert_array_equal(data.matrix.data, before[0])
    pd.testing.assert_frame_equal(data.events, before[1])


def test_init_stores_params_as_given_and_learns_nothing(name: str) -> None:
    params = FAST_PARAMS.get(name, {})
    model = make_model(name, **params)
    for key, value in params.items():
        assert getattr(model, key) is value
    learned = [a for a in vars(model) if a.endswith("_") and not a.startswith("__")]
    assert learned == []
    assert set(vars(model)) <= set(model.get_params())
    assert not model.is_fitted


def test_get_params_round_trips_through_make_model(name: str) -> None:
    model = fast_model(name)
    params = model.get_params()
    clone = make_model(name, **params)
    assert clone.get_params() == params
    assert type(clone) is type(model)
    assert repr(clone) == repr(model)


def test_unknown_parameter_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        make_model(name, no_such_param=1)
    with pytest.raises(ConfigError, match="no_such_param"):
        fast_model(name).set_params(no_such_param=1)


def test_not_fitted_raises(name: str) -> None:
    model = fast_model(name)
    with pytest.raises(NotFittedError, match="fit"):
        model.recommend(["c1"])
    with pytest.raises(NotFittedError):
        model.similar_items(["i1"])
    with pytest.raises(NotFittedError):
        model.save("unused.npz")


def test_refit_is_idempotent(name: str, data: InteractionDataset, model: Recommender) -> None:
    customers = data.customers.external_ids
    first = model.recommend(customers, k=8)
    again = fast_model(name).fit(data).recommend(customers, k=8)
    assert_same_recs(first, again)
    # Refitting the same object starts from scratch too.
    refit = fast_model(name)
    refit.fit(random_dataset(seed=11))
    assert_same_recs(first, refit.fit(data).recommend(customers, k=8))


# --------------------------------------------------------------------------- recommend
def test_batch_equals_one_by_one(model: Recommender, data: InteractionDataset) -> None:
    customers = data.customers.external_ids[:12].tolist()
    for exclude_seen in (True, False):
        batch = model.recommend(customers, k=6, exclude_seen=exclude_seen)
        single = pd.concat(
            [model.recommend([c], k=6, exclude_seen=exclude_seen) for c in customers],
            ignore_index=True,
        )
        assert_same_recs(batch, single)


def test_output_shape_ranks_and_scores(model: Recommender, data: InteractionDataset) -> None:
    customers = data.customers.external_ids.tolist()
    for k in (1, 5, 1000):
        recs = model.recommend(customers, k=k, exclude_seen=False)
        assert list(recs.columns) == list(C.RECOMMENDATION_COLUMNS)
        assert recs[C.CUSTOMER_ID].unique().tolist() == [
            c for c in customers if c in set(recs[C.CUSTOMER_ID])
        ]  # customers come back in request order
        for _, g in recs.groupby(C.CUSTOMER_ID, sort=False):
            assert 1 <= len(g) <= min(k, data.n_items)
            assert g[C.RANK].tolist() == list(range(1, len(g) + 1))
            assert np.all(np.diff(g[C.SCORE].to_numpy()) <= 0)
            assert np.isfinite(g[C.SCORE]).all()
            assert g[C.ITEM_ID].is_unique
            assert set(g[C.ITEM_ID]) <= set(data.items.external_ids)
        assert recs[C.RANK].dtype == np.int32 and recs[C.SCORE].dtype == np.float32


def test_exclude_seen_never_returns_a_bought_item_but_keeps_viewed_ones(
    model: Recommender, data: InteractionDataset
) -> None:
    recs = model.recommend(data.customers.external_ids, k=data.n_items, exclude_seen=True)
    assert len(recs) > 0
    bought = bought_pairs(data)
    viewed_only = 0
    for customer, g in recs.groupby(C.CUSTOMER_ID):
        mine = bought.get(str(customer), set())
        assert not set(g[C.ITEM_ID]) & mine
        viewed_only += len(set(g[C.ITEM_ID]) & (train_items(data, str(customer)) - mine))
    assert viewed_only > 0  # items seen but not bought stay candidates


def test_items_restricts_candidates(model: Recommender, data: InteractionDataset) -> None:
    allowed = ["i0", "i3", "i5", "i9", "not-an-item"]
    recs = model.recommend(data.customers.external_ids, k=10, exclude_seen=False, items=allowed)
    assert len(recs) > 0
    assert set(recs[C.ITEM_ID]) <= set(allowed[:-1])
    assert model.recommend(data.customers.external_ids, k=3, items=[]).empty


def test_unknown_customers_skipped_by_default_or_raise(
    model: Recommender, data: InteractionDataset
) -> None:
    recs = model.recommend(["nobody", "c1", "ghost"], k=3)
    assert set(recs[C.CUSTOMER_ID]) == {"c1"}
    empty = model.recommend(["nobody"], k=3)
    assert empty.empty and list(empty.columns) == list(C.RECOMMENDATION_COLUMNS)
    with pytest.raises(UnknownIdError, match="nobody"):
        model.recommend(["c1", "nobody"], k=3, missing="error")


def returned_everything() -> InteractionDataset:
    """``../shared/cases/empty-row-customer``: ``Z`` bought ``P2`` three times and returned all
    three; ``Y`` only ever returned (no purchase on file). Everyone else bought two items."""
    rows = [
        ("A", "P1", C.PURCHASE), ("A", "P2", C.PURCHASE), ("B", "P1", C.PURCHASE),
        ("B", "P3", C.PURCHASE), ("C", "P2", C.PURCHASE), ("C", "P3", C.PURCHASE),
        ("D", "P1", C.PURCHASE), ("D", "P4", C.PURCHASE), ("E", "P4", C.PURCHASE),
        ("E", "P1", C.PURCHASE), ("Z", "P2", C.PURCHASE), ("Z", "P2", C.RETURN),
        ("Y", "P3", C.RETURN),
    ]  # fmt: skip
    events = pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE])
    events[C.TIMESTAMP] = pd.date_range("2024-01-01 10:00", periods=len(rows), freq="D")
    events[C.QUANTITY] = [1] * 10 + [3, 3, 1]
    return build_dataset(events, MatrixConfig())


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_a_customer_with_no_usable_history_gets_no_personal_list(
    name: str, exclude_seen: bool
) -> None:
    ds = returned_everything()
    model = fast_model(name).fit(ds)
    assert set(model.customers_.external_ids) >= {"Z", "Y"}  # known, with empty rows
    recs = model.recommend(["A", "Z", "B", "Y"], k=3, exclude_seen=exclude_seen, missing="error")
    assert set(recs[C.CUSTOMER_ID]) == {"A", "B"}
    assert (recs.groupby(C.CUSTOMER_ID).size() >= 1).all()
    assert model.history_lengths()[model.customers_.to_internal(["Z", "Y", "A"])].tolist() == [
        0,
        0,
        2,
    ]


@pytest.mark.parametrize("k", [0, -1, "3", 2.5, True])
def test_bad_k_is_a_config_error(model: Recommender, k: object) -> None:
    with pytest.raises(ConfigError, match="k =="):
        model.recommend(["c1"], k=k)  # type: ignore[arg-type]
    if model.supports_similar:
        with pytest.raises(ConfigError, match="k =="):
            model.similar_items(["i1"], k=k)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- similar items
def test_similar_items_excludes_the_query_or_is_not_supported(
    model: Recommender, data: InteractionDataset
) -> None:
    items = data.items.external_ids.tolist()
    if not model.supports_similar:
        with pytest.raises(NotImplementedError):
            model.similar_items(items[:2])
        return
    sims = model.similar_items(items + ["unknown-item"], k=5)
    assert list(sims.columns) == list(C.SIMILAR_COLUMNS)
    assert len(sims) > 0
    assert (sims[C.ITEM_ID] != sims[C.SIMILAR_ITEM_ID]).all()
    assert "unknown-item" not in set(sims[C.ITEM_ID])
    for _, g in sims.groupby(C.ITEM_ID):
        assert len(g) <= 5 and g[C.RANK].tolist() == list(range(1, len(g) + 1))
        assert np.all(np.diff(g[C.SCORE].to_numpy()) <= 0)
    with pytest.raises(UnknownIdError):
        model.similar_items(["unknown-item"], missing="error")
    batch = model.similar_items(items[:8], k=4)
    single = pd.concat([model.similar_items([i], k=4) for i in items[:8]], ignore_index=True)
    assert_same_similar(batch, single)


# --------------------------------------------------------------------------- persistence
def test_save_load_round_trip(model: Recommender, data: InteractionDataset, tmp_path: Path) -> None:
    path = model.save(tmp_path / "model")
    assert path.suffix == ".npz" and path.exists()
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.customers_ == model.customers_ and loaded.items_ == model.items_
    customers = data.customers.external_ids
    for exclude_seen in (True, False):
        a = model.recommend(customers, k=7, exclude_seen=exclude_seen)
        b = loaded.recommend(customers, k=7, exclude_seen=exclude_seen)
        pd.testing.assert_frame_equal(a, b)
    if model.supports_similar:
        items = data.items.external_ids
        pd.testing.assert_frame_equal(
            model.similar_items(items, k=5), loaded.similar_items(items, k=5)
        )


def test_saved_file_loads_without_pickle(model: Recommender, tmp_path: Path) -> None:
    path = model.save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            arr = npz[key]  # would raise ValueError on an object array
            assert arr.dtype.kind in "biufU", (key, arr.dtype)


# --------------------------------------------------------------------------- planted data
def expect_personalised(model: Recommender, ds: InteractionDataset, n: int) -> None:
    """Each customer's top pick is the withheld same-group item; lists stay in the group."""
    customers = ds.customers.external_ids
    top1 = model.recommend(customers, k=1)
    assert _ids(top1, C.ITEM_ID) == [f"i{c[1:]}" for c in _ids(top1, C.CUSTOMER_ID)]
    assert len(top1) == n
    group = model.recommend(customers, k=n // 2, exclude_seen=False)
    cust = group[C.CUSTOMER_ID].str[1:].astype(int)
    item = group[C.ITEM_ID].str[1:].astype(int)
    assert ((cust % 2) == (item % 2)).all()
    if model.supports_similar:
        sims = model.similar_items(ds.items.external_ids, k=5)
        a = sims[C.ITEM_ID].str[1:].astype(int)
        b = sims[C.SIMILAR_ITEM_ID].str[1:].astype(int)
        assert len(sims) > 0 and ((a % 2) == (b % 2)).all()


def expect_same_list_for_everyone(model: Recommender, ds: InteractionDataset, n: int) -> None:
    """Not personalised: one list for all; on the checkerboard every item is equally popular."""
    recs = model.recommend(ds.customers.external_ids, k=n, exclude_seen=False)
    lists = recs.groupby(C.CUSTOMER_ID)[C.ITEM_ID].apply(tuple)
    assert lists.nunique() == 1 and len(lists.iloc[0]) == n
    assert recs[C.SCORE].nunique() == 1


def expect_history_first(model: Recommender, ds: InteractionDataset, n: int) -> None:
    """Buy-it-again: own purchases on top; excluding them leaves a full popularity list."""
    customers = ds.customers.external_ids
    own = n // 2 - 1
    recs = model.recommend(customers, k=own, exclude_seen=False)
    for customer, g in recs.groupby(C.CUSTOMER_ID):
        assert set(g[C.ITEM_ID]) == train_items(ds, str(customer))
    floor = recs[C.SCORE].min()
    rest = model.recommend(customers, k=n, exclude_seen=True)
    assert rest.groupby(C.CUSTOMER_ID).size().eq(n - own).all()  # full, never empty
    assert (rest[C.SCORE] < floor).all()


CHECKERBOARD_EXPECTATIONS: dict[str, Callable[[Recommender, InteractionDataset, int], None]] = {
    "popular": expect_same_list_for_everyone,
    "trending": expect_same_list_for_everyone,
    "repeat": expect_history_first,
    "recent": expect_history_first,
}


def test_checkerboard(name: str) -> None:
    n = 20
    ds = checkerboard(n)
    model = fast_model(name).fit(ds)
    CHECKERBOARD_EXPECTATIONS.get(name, expect_personalised)(model, ds, n)
