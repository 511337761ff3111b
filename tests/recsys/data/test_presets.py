import re

import pandas as pd
import pytest
from pydantic import ValidationError

from recsys import columns as C
from recsys.config import Config, IngestConfig, parse_config
from recsys.data.events import validate_events
from recsys.data.presets import PRESETS, map_columns, resolve_columns, resolve_ingest_config
from recsys.errors import ConfigError

LOOSE = {"max_reject_rate": 1.0, "min_events": 1}


def _online_retail(spelling: str) -> pd.DataFrame:
    """Six lines in the UCI layout; ``spelling`` picks the 2009-10 or 2010-11 column names."""
    invoice, price, customer = {
        "ii": ("Invoice", "Price", "Customer ID"),
        "i": ("InvoiceNo", "UnitPrice", "CustomerID"),
    }[spelling]
    return pd.DataFrame(
        {
            invoice: ["489434", "489434", "C489449", "489450", "489451", "489452"],
            "StockCode": ["85048", "79323P", "85048", "POST", "22041", "21232"],
            "Description": ["GLASS BALL", "PINK LIGHTS", "GLASS BALL", "POSTAGE", "FRAME", "BOX"],
            "Quantity": ["12", "6", "-2", "1", "-3", "4"],
            "InvoiceDate": ["2009-12-01 07:45:00"] * 3 + ["2010-07-01 10:00:00"] * 3,
            price: ["6.95", "6.75", "6.95", "18.0", "2.10", "0"],
            customer: ["13085.0", "13085.0", "13085.0", "13085.0", "", "12345.0"],
            "Country": ["United Kingdom"] * 6,
        }
    )


@pytest.mark.parametrize("spelling", ["ii", "i"])
def test_online_retail_preset_maps_either_spelling_and_c_invoices_are_returns(spelling):
    res = validate_events(_online_retail(spelling), IngestConfig(preset="online-retail", **LOOSE))
    ev = res.events
    assert ev[C.SOURCE_ROW].tolist() == [0, 1, 2]
    assert ev[C.CUSTOMER_ID].tolist() == ["13085"] * 3  # the float artefact is gone
    assert ev[C.ITEM_ID].tolist() == ["85048", "79323P", "85048"]
    assert ev[C.EVENT_TYPE].tolist() == [C.PURCHASE, C.PURCHASE, C.RETURN]
    assert ev[C.QUANTITY].tolist() == [12.0, 6.0, 2.0]  # the return is positive
    assert ev[C.PRICE].tolist() == [6.95, 6.75, 6.95]
    assert ev[C.ORDER_ID].tolist() == ["489434", "489434", "C489449"]
    assert ev[C.NAME].tolist() == ["GLASS BALL", "PINK LIGHTS", "GLASS BALL"]
    assert ev[C.COUNTRY].tolist() == ["United Kingdom"] * 3
    # Winter: London time is UTC.
    assert ev[C.TIMESTAMP].iloc[0] == pd.Timestamp("2009-12-01 07:45:00")
    rej = res.rejects.set_index(C.SOURCE_ROW)[C.REJECT_REASON].to_dict()
    assert rej == {3: "non_product_item", 4: "missing_customer_id", 5: "zero_price"}
    assert res.report.counts == {
        "non_product_item": 1,
        "missing_customer_id": 1,
        "zero_price": 1,
    }


def test_online_retail_negative_quantity_outside_c_invoice_is_bad_quantity():
    raw = _online_retail("ii")
    raw.loc[4, "Customer ID"] = "999"  # row 4: a write-off (-3, no "C") of a known customer
    res = validate_events(raw, IngestConfig(preset="online-retail", **LOOSE))
    assert res.rejects.set_index(C.SOURCE_ROW).loc[4, C.REJECT_REASON] == "bad_quantity"


def test_online_retail_times_are_london_local_time_stored_as_utc():
    raw = _online_retail("ii")
    res = validate_events(
        raw.iloc[:2].assign(InvoiceDate="2010-07-01 10:00:00"),
        IngestConfig(preset="online-retail", **LOOSE),
    )
    assert res.events[C.TIMESTAMP].tolist() == [pd.Timestamp("2010-07-01 09:00:00")] * 2


@pytest.mark.parametrize(
    ("code", "non_product"),
    [
        ("POST", True), ("DOT", True), ("M", True), ("m", True), ("D", True), ("S", True),
        ("B", True), ("C2", True), ("CRUK", True), ("PADS", True), ("BANK CHARGES", True),
        ("AMAZONFEE", True), ("ADJUST", True), ("ADJUST2", True), ("TEST001", True),
        ("gift_0001_20", True), ("GIFT", True),
        ("85048", False), ("79323P", False), ("15056BL", False), ("DCGS0058", False),
        ("DCGSSBOY", False), ("SP1002", False), ("47503J", False),
    ],
)  # fmt: skip
def test_online_retail_non_product_rules(code, non_product):
    cfg = IngestConfig(preset="online-retail")
    listed = code.upper() in {s.upper() for s in cfg.non_product_items}
    matched = re.fullmatch(cfg.non_product_pattern, code) is not None
    assert (listed or matched) is non_product


def test_dunnhumby_preset_unit_price_from_sales_value_and_float_basket_ids():
    raw = pd.DataFrame(
        {
            "household_id": [2261, 2131, 511],
            "store_id": [309, 368, 316],
            "basket_id": [31625220889.0, 32053127496.0, 32445856036.0],
            "product_id": [940996, 873902, 847901],
            "quantity": [2.0, 1.0, 0.0],
            "sales_value": [3.86, 1.59, 1.0],
            "transaction_timestamp": ["2017-01-28 19:06:53"] * 3,
        }
    )
    res = validate_events(raw, IngestConfig(preset="dunnhumby", **LOOSE))
    ev = res.events
    assert ev[C.CUSTOMER_ID].tolist() == ["2261", "2131"]
    assert ev[C.ITEM_ID].tolist() == ["940996", "873902"]
    assert ev[C.ORDER_ID].tolist() == ["31625220889", "32053127496"]
    assert ev[C.PRICE].tolist() == pytest.approx([1.93, 1.59])
    assert res.rejects[C.REJECT_REASON].tolist() == ["bad_quantity"]  # quantity 0


def test_preset_is_merged_and_explicit_fields_win():
    cfg = IngestConfig(preset="online-retail", timezone="UTC", column_map={"Inv": "order_id"})
    assert cfg.return_order_prefix == "C"  # from the preset
    assert cfg.timezone == "UTC"  # explicit beats the preset's Europe/London
    assert list(cfg.column_map)[0] == "Inv"  # explicit entries are tried first
    assert cfg.column_map["StockCode"] == C.ITEM_ID
    assert resolve_ingest_config(cfg) == cfg  # idempotent


def test_preset_survives_config_round_trips():
    cfg = Config(ingest=IngestConfig(preset="online-retail"))
    again = cfg.with_overrides(evaluation={"k": 5})
    assert again.ingest == cfg.ingest
    assert again.ingest.return_order_prefix == "C"
    from_file = parse_config({"ingest": {"preset": "dunnhumby", "min_events": 3}})
    assert from_file.ingest.price_is_line_total is True
    assert from_file.ingest.min_events == 3


def test_preset_added_by_with_overrides_applies_over_a_full_default_dump():
    # Config.with_overrides dumps every field; defaults must not mask the preset.
    cfg = Config().with_overrides(ingest={"preset": "online-retail"})
    assert cfg.ingest.return_order_prefix == "C"
    assert cfg.ingest.timezone == "Europe/London"
    assert cfg.ingest == IngestConfig(preset="online-retail")
    kept = Config(ingest=IngestConfig(min_events=3)).with_overrides(ingest={"preset": "dunnhumby"})
    assert kept.ingest.min_events == 3 and kept.ingest.price_is_line_total is True


def test_unknown_preset_is_a_config_error_listing_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown ingest preset 'nope'.*dunnhumby"):
        parse_config({"ingest": {"preset": "nope"}})
    with pytest.raises(ValidationError):
        IngestConfig(preset="nope")


def test_presets_are_valid_configs():
    for name, fields in PRESETS.items():
        cfg = IngestConfig(preset=name)
        for key, value in fields.items():
            assert getattr(cfg, key) == value


def test_resolve_columns_first_present_spelling_wins_and_loose_names_match():
    cmap = {"InvoiceNo": "order_id", "Invoice": "order_id", "StockCode": "item_id"}
    got = resolve_columns(["Invoice", "StockCode", "Customer ID", "PRICE"], cmap, C.EVENT_COLUMNS)
    assert got == {
        "order_id": "Invoice",
        "item_id": "StockCode",
        "customer_id": "Customer ID",  # loose: case, spaces and "_" ignored
        "price": "PRICE",
    }


def test_map_columns_renames_and_drops_a_shadowed_canonical_column():
    frame = pd.DataFrame({"Price": [1.0], "price": [9.0], "extra": ["x"]})
    out, mapping = map_columns(frame, {"Price": "price"}, [C.PRICE])
    assert mapping == {"price": "Price"}
    assert list(out.columns) == ["price", "extra"]
    assert out["price"].tolist() == [1.0]
