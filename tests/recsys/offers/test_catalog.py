"""Offer catalog validation: bad rows rejected with their reason, nothing lost."""

import json

import pandas as pd
import pytest

from recsys.errors import DataError
from recsys.offers.catalog import load_catalog, validate_offers

GOOD = {"offer_id": "ten", "kind": "percent_off", "value": "10", "channels": "web|email"}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({**GOOD, "kind": "bogus"}, "invalid_kind"),
        ({**GOOD, "value": "ten"}, "invalid_value"),
        ({**GOOD, "value": "150"}, "invalid_value"),
        ({**GOOD, "offer_id": ""}, "invalid_offer_id"),
        ({**GOOD, "offer_id": "has space"}, "invalid_offer_id"),
        ({**GOOD, "channels": "web|fax"}, "invalid_channels"),
        ({**GOOD, "start": "2024-02-01", "end": "2024-01-01"}, "invalid_end"),
        ({**GOOD, "start": "not a date"}, "invalid_start"),
        ({**GOOD, "clv_min": 10, "clv_max": 5}, "invalid_clv_max"),
        ({**GOOD, "orders_min": 3, "orders_max": 1}, "invalid_orders_max"),
        ({**GOOD, "margin": "0"}, "invalid_margin"),
        ({**GOOD, "cost_model": "basket_share", "cost": "2"}, "invalid_cost"),
        ({**GOOD, "budget": "-5"}, "invalid_budget"),
        ({**GOOD, "cap_per_customer": "0"}, "invalid_cap_per_customer"),
        ({**GOOD, "customer_type": "vip"}, "invalid_customer_type"),
        ({**GOOD, "fallback": "maybe"}, "invalid_fallback"),
    ],
)
def test_each_bad_row_gets_its_reason(row, reason):
    catalog = validate_offers([GOOD | {"offer_id": "ok"}, row])
    assert catalog.ids == ["ok"]
    assert catalog.rejects["source_row"].tolist() == [1]
    assert catalog.rejects["reject_reason"].tolist() == [reason]
    assert catalog.rejects["detail"].iloc[0]


def test_csv_round_trip_and_duplicates(tmp_path):
    rows = [
        GOOD | {"segments": "champions|loyal", "budget": "500", "fallback": "false"},
        GOOD,  # same id again
        {"offer_id": "ship", "kind": "free_shipping", "value": "0", "fallback": "true"},
    ]
    path = tmp_path / "offers.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    catalog = load_catalog(path)
    assert catalog.ids == ["ten", "ship"] and catalog.n_rows == 3
    assert catalog.rejects["reject_reason"].tolist() == ["duplicate_offer_id"]
    ten = catalog["ten"]
    assert ten.segments == ("champions", "loyal") and ten.channels == ("web", "email")
    assert ten.budget == 500 and not ten.fallback and catalog["ship"].fallback
    assert catalog["ship"].channels == ("web", "email", "app")  # default: every channel
    # the frame form reads back to the same offers
    again = tmp_path / "again.csv"
    catalog.to_frame().to_csv(again, index=False)
    assert load_catalog(again).offers == catalog.offers


def test_json_catalog(tmp_path):
    path = tmp_path / "offers.json"
    path.write_text(json.dumps([GOOD | {"channels": ["app"]}, {"offer_id": "x"}]))
    catalog = load_catalog(path)
    assert catalog["ten"].channels == ("app",)
    assert catalog.rejects["reject_reason"].tolist() == ["invalid_kind"]
    path.write_text('{"not": "a list"}')
    with pytest.raises(DataError, match="list of objects"):
        load_catalog(path)


def test_a_catalog_file_with_a_missing_or_unknown_column_is_refused(tmp_path) -> None:
    import pytest

    from recsys.errors import DataError
    from recsys.offers.catalog import load_catalog

    good = "offer_id,kind,value,budget\nOF1,percent_off,10,100\n"
    (tmp_path / "good.csv").write_text(good)
    assert len(load_catalog(tmp_path / "good.csv").offers) == 1
    (tmp_path / "renamed.csv").write_text(good.replace("offer_id", "promo_code"))
    with pytest.raises(DataError, match="has no column 'offer_id'; found"):
        load_catalog(tmp_path / "renamed.csv")
    (tmp_path / "typo.csv").write_text(good.replace("budget", "budgt"))
    with pytest.raises(DataError, match=r"unknown column\(s\) \['budgt'\]"):
        load_catalog(tmp_path / "typo.csv")
