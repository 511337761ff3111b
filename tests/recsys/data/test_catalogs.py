"""Items and customers tables."""

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.config import IngestConfig
from recsys.data.catalogs import items_from_events, load_customers, load_items
from recsys.data.events import validate_events
from recsys.errors import DataError
from tests.recsys.data.rows import LOOSE, raw_rows


def test_items_from_events_most_frequent_name_and_median_price():
    raw = pd.DataFrame(
        {
            "StockCode": ["A1", "A1", "A1", "B2", "B2", "POST", None],
            "Description": ["Mug", "mug?", "Mug", "nan", "Plate", "POSTAGE", "x"],
            "Price": [1.0, 3.0, 2.0, 0.0, 4.0, 18.0, 1.0],
        }
    )
    items = items_from_events(raw, IngestConfig(preset="online-retail"))
    assert items.index.tolist() == ["A1", "B2"]
    assert items.index.name == C.ITEM_ID
    assert items[C.NAME].tolist() == ["Mug", "Plate"]
    assert items[C.PRICE].tolist() == [2.0, 4.0]  # zero prices ignored


def test_items_from_clean_events_uses_the_mapped_name_column():
    raw = raw_rows({}, {"price": "4"}).assign(Description=["Mug", "Mug"])
    cfg = LOOSE.model_copy(update={"column_map": {"Description": "name"}})
    events = validate_events(raw, cfg).events
    assert C.NAME in events
    items = items_from_events(events)
    assert items.loc["i1", C.NAME] == "Mug" and items.loc["i1", C.PRICE] == 3.25


def test_load_items_coerces_and_validates(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("item_id,name,price,in_stock,colour\n007,Mug,2.5,yes,red\n8,Plate,,0,\n")
    items = load_items(path)
    assert items.index.tolist() == ["007", "8"]
    assert items[C.PRICE].tolist()[0] == 2.5 and np.isnan(items[C.PRICE].iloc[1])
    assert items[C.IN_STOCK].tolist() == [True, False]
    assert items["colour"].tolist()[0] == "red"
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,price\na,1\na,2\n")
    with pytest.raises(DataError, match="1 duplicated item_id"):
        load_items(bad)
    bad.write_text("item_id,in_stock\na,maybe\n")
    with pytest.raises(
        DataError, match=r"'in_stock' has 1 unreadable value\(s\), e.g. \['maybe'\]"
    ):
        load_items(bad)
    bad.write_text("sku,price\na,1\n")
    with pytest.raises(DataError, match=r"required column 'item_id'.*columns found: \['sku', "):
        load_items(bad)


def test_load_items_with_a_preset_column_map(tmp_path):
    path = tmp_path / "items.csv"
    pd.DataFrame({"StockCode": ["85048"], "Description": ["BALL"], "Price": [6.95]}).to_csv(
        path, index=False
    )
    items = load_items(path, IngestConfig(preset="online-retail"))
    assert items.loc["85048", C.NAME] == "BALL" and items.loc["85048", C.PRICE] == 6.95


def test_load_customers_coerces_and_validates(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,email_opt_in,signup_date,country\n13085.0,true,2024-01-02,UK\nc2,,,FR\n"
    )
    cust = load_customers(path)
    assert cust.index.tolist() == ["13085", "c2"]
    assert cust[C.EMAIL_OPT_IN].tolist() == [True, False]  # no answer is no consent
    assert cust[C.SIGNUP_DATE].iloc[0] == pd.Timestamp("2024-01-02")
    assert pd.isna(cust[C.SIGNUP_DATE].iloc[1])
    path.write_text("customer_id,signup_date\nc1,someday\n")
    with pytest.raises(DataError, match="'signup_date' has 1 unreadable"):
        load_customers(path)
    path.write_text("customer_id,country\n,UK\n")
    with pytest.raises(DataError, match="1 row\\(s\\) without customer_id"):
        load_customers(path)


# --------------------------------------------------------------------------------- real data
