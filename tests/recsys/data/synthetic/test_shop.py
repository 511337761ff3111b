"""The synthetic shop: schema, determinism, parameters, writing."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.config import MatrixConfig
from recsys.data.dataset import build_dataset
from recsys.data.synthetic.frames import (
    CUSTOMER_COLUMNS,
    ITEM_COLUMNS,
    PREFERRED_CATEGORIES,
    REPEAT_HABIT,
    TASTE_GROUP,
)
from recsys.data.synthetic.offers import OFFER_COLUMNS
from recsys.data.synthetic.shop import Shop, generate_shop
from recsys.errors import ConfigError

TINY = {"customers": 300, "items": 80, "days": 60}


@pytest.fixture(scope="module")
def tiny() -> Shop:
    return generate_shop(**TINY, seed=3)


def test_same_seed_gives_identical_frames(tiny: Shop) -> None:
    again = generate_shop(**TINY, seed=3)
    for name in ("events", "items", "customers", "offers", "truth", "groups", "item_truth"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(tiny, name))
    assert (again.start, again.end) == (tiny.start, tiny.end)


def test_different_seeds_differ(tiny: Shop) -> None:
    other = generate_shop(**TINY, seed=4)
    assert not other.events.equals(tiny.events)
    assert not other.truth[TASTE_GROUP].equals(tiny.truth[TASTE_GROUP])
    assert not np.array_equal(other.items[C.PRICE], tiny.items[C.PRICE])


# --------------------------------------------------------------------------- schema
def test_events_schema_and_dtypes(small_shop: Shop) -> None:
    ev = small_shop.events
    assert tuple(ev.columns) == C.EVENT_COLUMNS
    for col in (C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE, C.ORDER_ID):
        assert pd.api.types.is_string_dtype(ev[col]), col
    assert ev[C.TIMESTAMP].dtype == "datetime64[ns]"
    assert ev[C.QUANTITY].dtype == np.int64 and (ev[C.QUANTITY] >= 1).all()
    assert ev[C.PRICE].dtype == np.float64 and (ev[C.PRICE] > 0).all()
    assert set(ev[C.EVENT_TYPE]) == {C.VIEW, C.ADD_TO_CART, C.PURCHASE, C.RETURN}
    assert ev[C.TIMESTAMP].is_monotonic_increasing
    assert ev[C.TIMESTAMP].min() >= small_shop.start
    assert ev[C.TIMESTAMP].max() < small_shop.end
    assert ev[C.CUSTOMER_ID].str.fullmatch(r"C\d{5}").all()
    assert ev[C.ITEM_ID].str.fullmatch(r"I\d{4}").all()
    has_order = ev[C.EVENT_TYPE].isin([C.PURCHASE, C.RETURN])
    assert ev.loc[has_order, C.ORDER_ID].str.fullmatch(r"O\d{7}").all()
    assert ev.loc[~has_order, C.ORDER_ID].isna().all()
    # The list price of the item, on every event.
    listed = ev[C.ITEM_ID].map(small_shop.items.set_index(C.ITEM_ID)[C.PRICE])
    assert np.array_equal(ev[C.PRICE].to_numpy(), listed.to_numpy())


def test_tables_schema(small_shop: Shop) -> None:
    items, customers, truth = small_shop.items, small_shop.customers, small_shop.truth
    assert tuple(items.columns) == ITEM_COLUMNS
    assert tuple(customers.columns) == CUSTOMER_COLUMNS
    assert tuple(small_shop.offers.columns) == OFFER_COLUMNS
    assert items[C.ITEM_ID].is_unique and len(items) == 200
    assert customers[C.CUSTOMER_ID].is_unique and len(customers) == 800
    assert items[C.IN_STOCK].dtype == bool and items["consumable"].dtype == bool
    assert 0.01 <= 1 - items[C.IN_STOCK].mean() <= 0.12  # ~5% out of stock
    assert 0.15 <= items["consumable"].mean() <= 0.35  # ~25% consumables
    assert items[C.CATEGORY].nunique() == 14
    assert (items[C.PRICE] > 0).all() and items["release_date"].dtype == "datetime64[ns]"
    assert customers[C.EMAIL_OPT_IN].dtype == bool
    assert customers[C.SIGNUP_DATE].dtype == "datetime64[ns]"
    assert customers["price_sensitivity"].between(0, 1).all()
    assert truth.index.equals(pd.Index(customers[C.CUSTOMER_ID]))
    assert truth[REPEAT_HABIT].dtype == bool
    assert 0.28 <= truth[REPEAT_HABIT].mean() <= 0.42  # repeat_habit_share=0.35
    # Truth agrees with the per-group table; each group prefers 2-3 real categories.
    per_group = small_shop.groups.loc[truth[TASTE_GROUP], PREFERRED_CATEGORIES].to_numpy()
    assert np.array_equal(truth[PREFERRED_CATEGORIES].to_numpy(), per_group)
    for names in small_shop.groups[PREFERRED_CATEGORIES]:
        cats = names.split(",")
        assert 2 <= len(cats) <= 3 and set(cats) <= set(items[C.CATEGORY])
    consumable = small_shop.item_truth["consumable"]
    assert small_shop.item_truth["cycle_days"].notna().equals(consumable)


def test_default_size_and_ingestion_compatibility() -> None:
    shop = generate_shop()
    assert 100_000 <= len(shop.events) <= 220_000
    ds = build_dataset(shop.events, MatrixConfig())  # canonical columns, known event types
    assert ds.n_customers > 1500 and ds.n_items == 500


# --------------------------------------------------------------------------- funnel


def test_write_round_trips(small_shop: Shop, shop_dir) -> None:
    names = {p.name for p in shop_dir.iterdir()}
    expected = {"events.parquet", "items.csv", "customers.csv", "offers.csv", "truth.csv"}
    assert expected | {"item_truth.csv"} == names
    events = pd.read_parquet(shop_dir / "events.parquet")
    pd.testing.assert_frame_equal(events, small_shop.events)
    assert events[C.TIMESTAMP].dtype.kind == "M"
    items = pd.read_csv(shop_dir / "items.csv")
    assert tuple(items.columns) == ITEM_COLUMNS and len(items) == len(small_shop.items)
    truth = pd.read_csv(shop_dir / "truth.csv", index_col=C.CUSTOMER_ID)
    assert truth[REPEAT_HABIT].astype(bool).equals(small_shop.truth[REPEAT_HABIT].astype(bool))
    offers = pd.read_csv(shop_dir / "offers.csv", keep_default_na=False)
    assert tuple(offers.columns) == OFFER_COLUMNS


def test_write_returns_the_paths(tmp_path, tiny: Shop) -> None:
    paths = tiny.write(tmp_path / "nested" / "out")
    assert set(paths) == {"events", "items", "customers", "offers", "truth", "item_truth"}
    assert all(p.is_file() for p in paths.values())


def test_write_to_an_unwritable_place_is_a_clear_error(tmp_path, tiny: Shop) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot write the shop"):
        tiny.write(blocker / "out")


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 0}, "customers == 0"),
        ({"items": 2.5}, "items == 2.5"),
        ({"days": 3}, "days == 3"),
        ({"seed": -1}, "seed == -1"),
        ({"categories": 17}, "categories == 17"),
        ({"items": 5, "categories": 8}, "items == 5, must be >= categories"),
        ({"repeat_habit_share": 1.5}, "repeat_habit_share == 1.5"),
        ({"return_rate": True}, "return_rate == True"),
        ({"start": "not a date"}, "start == 'not a date'"),
    ],
)
def test_bad_parameters_raise_config_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        generate_shop(**{**TINY, **kwargs})


def test_start_and_sizes_are_honoured() -> None:
    shop = generate_shop(
        customers=50,
        items=30,
        days=10,
        seed=1,
        start="2023-03-15T10:30",
        categories=5,
        taste_groups=3,
    )
    assert shop.start == pd.Timestamp("2023-03-15") and shop.end == pd.Timestamp("2023-03-25")
    assert len(shop.customers) == 50 and len(shop.items) == 30
    assert shop.items[C.CATEGORY].nunique() == 5 and len(shop.groups) == 3
    assert repr(shop).startswith("Shop(customers=50, items=30, events=")


def test_retail_is_the_default_kind_and_its_output_is_pinned() -> None:
    # Numbers of the seed-3 tiny shop as generated before kinds existed: retail is unchanged.
    shop = generate_shop(**TINY, seed=3, kind="retail")
    pd.testing.assert_frame_equal(shop.events, generate_shop(**TINY, seed=3).events)
    assert len(shop.events) == 6578 and int(shop.events[C.QUANTITY].sum()) == 6897
    assert shop.events[C.EVENT_TYPE].value_counts().to_dict() == {
        "view": 5022,
        "add_to_cart": 1092,
        "purchase": 451,
        "return": 13,
    }
    last = shop.events.iloc[-1]
    assert (last[C.CUSTOMER_ID], last[C.ITEM_ID], last[C.ORDER_ID]) == (
        "C00016",
        "I0032",
        "O0000395",
    )
    assert shop.kind == "retail"


def test_retail_has_a_large_share_of_repeat_purchases() -> None:
    retail = generate_shop(**TINY, seed=3)
    p = retail.events[retail.events[C.EVENT_TYPE] == C.PURCHASE]
    assert p.duplicated([C.CUSTOMER_ID, C.ITEM_ID]).mean() >= 0.2


def test_an_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="kind == 'shoe', must be one of retail, marketplace"):
        generate_shop(kind="shoe")  # type: ignore[arg-type]


def test_the_offer_catalog_loads_with_no_rejects(tmp_path, tiny: Shop) -> None:
    from recsys.offers.catalog import load_catalog

    catalog = load_catalog(tiny.write(tmp_path)["offers"])
    assert catalog.n_rows == len(catalog.offers) == 10 and catalog.rejects.empty
    assert sum(offer.fallback for offer in catalog.offers) == 1
    assert {offer.kind for offer in catalog.offers} >= {"percent_off", "amount_off", "gift"}
