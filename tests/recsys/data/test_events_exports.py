"""Ingest faults found by real users: each case with its right value.

The cases come from ``../shared/cases`` (their rows are embedded here); the day-first and
European files are what spreadsheet exports in Europe look like.
"""

from pathlib import Path

import pandas as pd
import pytest

from recsys import columns as C
from recsys.config import IngestConfig
from recsys.data.catalogs import items_from_events, load_items
from recsys.data.dataset import build_dataset
from recsys.data.events import load_events
from recsys.data.rejects import REJECT_DETAIL
from recsys.errors import DataError
from recsys.models import make_model

LOOSE = {"max_reject_rate": 1.0, "min_events": 1}

# ../shared/cases/or-stockcode-case/minimal.csv
OR_STOCKCODE_CASE = """\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
560001,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-03-01 10:00:00,2.55,12001.0,United Kingdom
560001,22423,ITEM 22423,6,2011-03-01 10:00:00,2.55,12001.0,United Kingdom
560002,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-03-02 10:00:00,2.55,12002.0,United Kingdom
560002,22423,ITEM 22423,6,2011-03-02 10:00:00,2.55,12002.0,United Kingdom
560003,85123a,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-03-03 10:00:00,2.55,12003.0,United Kingdom
560003,22423,ITEM 22423,6,2011-03-03 10:00:00,2.55,12003.0,United Kingdom
560004,85123a,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-03-04 10:00:00,2.55,12004.0,United Kingdom
560004,22423,ITEM 22423,6,2011-03-04 10:00:00,2.55,12004.0,United Kingdom
560004,47566,ITEM 47566,6,2011-03-04 10:00:00,2.55,12004.0,United Kingdom
560005,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-03-05 10:00:00,2.55,12005.0,United Kingdom
560005,47566,ITEM 47566,6,2011-03-05 10:00:00,2.55,12005.0,United Kingdom
560006,85123a,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-03-06 10:00:00,2.55,12006.0,United Kingdom
560006,47566,ITEM 47566,6,2011-03-06 10:00:00,2.55,12006.0,United Kingdom
560007,22423,ITEM 22423,6,2011-03-07 10:00:00,2.55,12007.0,United Kingdom
560007,47566,ITEM 47566,6,2011-03-07 10:00:00,2.55,12007.0,United Kingdom
560008,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-03-08 10:00:00,2.55,12008.0,United Kingdom
560009,85123a,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-03-09 10:00:00,2.55,12009.0,United Kingdom
560009,22423,ITEM 22423,6,2011-03-09 10:00:00,2.55,12009.0,United Kingdom
"""

# ../shared/cases/id-slash-space/minimal.csv
ID_SLASH_SPACE = """\
customer_id,item_id,timestamp
acct/1042,SKU/1,2024-01-01 10:00:00
acct/1042,P2,2024-01-02 10:00:00
team 7,P1,2024-01-03 10:00:00
team 7,P3,2024-01-04 10:00:00
member+88,P2,2024-01-05 10:00:00
member+88,P3,2024-01-06 10:00:00
kundeÄ9,P1,2024-01-07 10:00:00
kundeÄ9,SKU/1,2024-01-08 10:00:00
C5,P3,2024-01-09 10:00:00
C5,SKU/1,2024-01-10 10:00:00
C6,P1,2024-01-11 10:00:00
C6,P2,2024-01-12 10:00:00
"""


def _write(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ ids


def test_online_retail_stock_codes_differing_in_case_are_one_item(tmp_path):
    path = _write(tmp_path, OR_STOCKCODE_CASE)
    res = load_events(path, IngestConfig(preset="online-retail"))
    ev = res.events
    assert res.report.n_accepted == 18 and res.report.n_rejected == 0
    assert sorted(ev[C.ITEM_ID].unique()) == ["22423", "47566", "85123A"]
    heart = ev[ev[C.ITEM_ID] == "85123A"]
    assert len(heart) == 8
    assert sorted(heart[C.CUSTOMER_ID]) == [f"1200{i}" for i in (1, 2, 3, 4, 5, 6, 8, 9)]
    items = items_from_events(ev, IngestConfig(preset="online-retail"))
    assert items.index.tolist() == ["85123A", "22423", "47566"]
    assert items.loc["85123A", C.NAME] == "WHITE HANGING HEART T-LIGHT HOLDER"
    # without the preset's rule the two spellings stay two items
    plain = load_events(path, IngestConfig(preset="online-retail", id_case="none"))
    assert plain.events[C.ITEM_ID].nunique() == 4


def test_buyers_of_either_spelling_are_not_offered_the_other(tmp_path):
    events = load_events(_write(tmp_path, OR_STOCKCODE_CASE), IngestConfig(preset="online-retail"))
    model = make_model("itemknn").fit(build_dataset(events.events))
    buyers = ["12001", "12005", "12003", "12006"]  # two bought 85123A, two 85123a
    recs = model.recommend(buyers, k=5)
    assert set(recs[C.CUSTOMER_ID]) == set(buyers)
    assert not recs[C.ITEM_ID].str.upper().eq("85123A").any()
    # 12007 bought neither: the one heart item is offered to them, under one id
    assert model.recommend(["12007"], k=5)[C.ITEM_ID].tolist() == ["85123A"]


def test_an_items_file_is_normalised_by_the_same_rule(tmp_path):
    path = _write(tmp_path, "StockCode,Description,Price\n85123a,HEART,2.55\n22423,CAKE,12.75\n")
    items = load_items(path, IngestConfig(preset="online-retail"))
    assert items.index.tolist() == ["85123A", "22423"]
    dup = _write(tmp_path, "StockCode,Price\n85123a,2.55\n85123A,2.55\n", "dup.csv")
    with pytest.raises(DataError, match=r"1 duplicated item_id\(s\), e.g. \['85123A'\]"):
        load_items(dup, IngestConfig(preset="online-retail"))


def test_ids_with_slashes_spaces_plus_at_and_non_ascii_letters_are_accepted_unchanged(tmp_path):
    text = ID_SLASH_SPACE + "a@b.example,P1,2024-01-13 10:00:00\n"
    res = load_events(_write(tmp_path, text), IngestConfig(min_events=1))
    assert res.report.n_rejected == 0 and res.report.n_accepted == 13
    assert res.events[C.CUSTOMER_ID].unique().tolist() == [
        "acct/1042",
        "team 7",
        "member+88",
        "kundeÄ9",
        "C5",
        "C6",
        "a@b.example",
    ]
    assert sorted(res.events[C.ITEM_ID].unique()) == ["P1", "P2", "P3", "SKU/1"]


def test_ids_the_api_cannot_carry_are_rejected_with_the_reason_in_the_rejects_file(tmp_path):
    long_id = "x" * 129
    text = (
        "customer_id,item_id,timestamp\n"
        "c1,i1,2024-01-01\n"
        f"{long_id},i1,2024-01-02\n"
        'c2,"a\x07b",2024-01-03\n'
        '" c3 ",i2,2024-01-04\n'
    )
    rejects_path = tmp_path / "rejects.csv"
    res = load_events(_write(tmp_path, text), IngestConfig(**LOOSE), rejects_path=rejects_path)
    assert res.events[C.CUSTOMER_ID].tolist() == ["c1", "c3"]  # " c3 " stripped, accepted
    assert res.report.counts == {"bad_item_id": 1, "bad_customer_id": 1}
    back = pd.read_csv(rejects_path, dtype=str, keep_default_na=False)
    assert back[C.SOURCE_ROW].tolist() == ["1", "2"]
    assert back[C.REJECT_REASON].tolist() == ["bad_customer_id", "bad_item_id"]
    assert back[REJECT_DETAIL].tolist() == ["too_long", "control_character"]
    # with stripping off, surrounding space is an id the API cannot carry
    strict = load_events(_write(tmp_path, text), IngestConfig(**LOOSE, id_strip=False))
    assert strict.report.counts == {"bad_item_id": 1, "bad_customer_id": 2}
    assert strict.rejects[REJECT_DETAIL].tolist() == [
        "too_long",
        "control_character",
        "surrounding_space",
    ]


# ---------------------------------------------------------------------------------- dates


def test_day_first_dates_are_read_day_first(tmp_path):
    text = (
        "customer_id,item_id,timestamp\n"
        "c1,i1,01/02/2024 09:15\n"
        "c1,i2,13/02/2024 18:00\n"
        "c2,i1,05/03/2024\n"
    )
    res = load_events(_write(tmp_path, text), IngestConfig(min_events=1))
    assert res.report.n_rejected == 0
    assert res.date_order == "day_first"
    assert res.events[C.TIMESTAMP].tolist() == [
        pd.Timestamp("2024-02-01 09:15"),
        pd.Timestamp("2024-02-13 18:00"),
        pd.Timestamp("2024-03-05"),
    ]


def test_an_ambiguous_date_file_is_refused_in_one_line_naming_timestamp_format(tmp_path):
    text = "customer_id,item_id,timestamp\nc1,i1,01/02/2024\nc1,i2,03/02/2024\n"
    path = _write(tmp_path, text)
    with pytest.raises(DataError) as info:
        load_events(path, IngestConfig(min_events=1))
    message = str(info.value)
    assert "\n" not in message and "timestamp_format" in message
    assert message.startswith(f"events {path}: column 'timestamp': ambiguous dates")
    res = load_events(path, IngestConfig(min_events=1, timestamp_format="month_first"))
    assert res.events[C.TIMESTAMP].tolist() == [
        pd.Timestamp("2024-01-02"),
        pd.Timestamp("2024-03-02"),
    ]
    assert res.date_order == "month_first"


def test_a_file_mixing_day_first_and_month_first_is_refused(tmp_path):
    text = "customer_id,item_id,timestamp\nc1,i1,13/02/2024\nc1,i2,02/13/2024\n"
    with pytest.raises(DataError, match="mix day-first .* timestamp_format"):
        load_events(_write(tmp_path, text), IngestConfig(min_events=1))


# ---------------------------------------------------------------------------- European CSV


EUROPEAN = """\
Invoice;StockCode;Description;Quantity;InvoiceDate;Price;Customer ID;Country
560001;85123A;WHITE HANGING HEART T-LIGHT HOLDER;6;01.03.2011 10:00;2,55;12001;Germany
560001;22423;REGENCY CAKESTAND 3 TIER;1;01.03.2011 10:00;12,75;12001;Germany
560002;21212;PACK OF 72 RETRO SPOT CAKE CASES;120;15.03.2011 11:30;0,42;12002;France
560003;79321;CHILLI LIGHTS;2;20.03.2011 09:05;1.234,50;12003;Belgium
"""


def test_semicolon_separated_decimal_comma_csv_is_read_right(tmp_path):
    path = _write(tmp_path, EUROPEAN)
    res = load_events(path, IngestConfig(preset="online-retail", min_events=1))
    assert res.report.n_rejected == 0
    ev = res.events
    assert ev[C.PRICE].tolist() == [2.55, 12.75, 0.42, 1234.5]
    assert ev[C.QUANTITY].tolist() == [6.0, 1.0, 120.0, 2.0]
    assert ev[C.TIMESTAMP].tolist() == [
        pd.Timestamp("2011-03-01 10:00"),  # Europe/London in winter: UTC
        pd.Timestamp("2011-03-01 10:00"),
        pd.Timestamp("2011-03-15 11:30"),
        pd.Timestamp("2011-03-20 09:05"),
    ]
    assert res.date_order == "day_first"
    items = load_items(path, IngestConfig(preset="online-retail"))
    assert items.loc["22423", C.PRICE] == 12.75


def test_separator_and_decimal_mark_can_be_configured(tmp_path):
    # A pipe-separated file whose only decimals are ambiguous to a sniffer: "1,500" reads
    # as 1.5 with decimal="," and as a bad price with the default point.
    text = "customer_id|item_id|timestamp|price\nc1|i1|2024-01-01|1,500\nc1|i2|2024-01-02|3\n"
    path = _write(tmp_path, text)
    res = load_events(path, IngestConfig(min_events=1, sep="|", decimal=","))
    assert res.events[C.PRICE].tolist() == [1.5, 3.0]
    point = load_events(path, IngestConfig(**LOOSE, decimal="."))
    assert point.report.counts == {"bad_price": 1}
