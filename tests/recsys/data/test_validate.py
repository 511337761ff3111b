import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.config import IngestConfig
from recsys.data import validate as V
from recsys.data.validate import (
    REASON_ORDER,
    LoadResult,
    RejectReport,
    clean_ids,
    items_from_events,
    load_customers,
    load_events,
    load_items,
    parse_timestamps,
    validate_events,
    write_rejects,
)
from recsys.errors import DataError

VOCAB = ("view", "add_to_cart", "purchase", "return")
LOOSE = IngestConfig(max_reject_rate=1.0, min_events=1)

GOOD = {
    "customer_id": "c1",
    "item_id": "i1",
    "event_type": "purchase",
    "timestamp": "2024-01-01 10:00:00",
    "quantity": "1",
    "price": "2.5",
    "order_id": "o1",
}


def _raw(*rows: dict) -> pd.DataFrame:
    """Text rows (as read from a CSV); each row is GOOD with the given overrides."""
    return pd.DataFrame([{**GOOD, **r} for r in rows], dtype="str")


def _reasons(res: LoadResult) -> dict[int, str]:
    return dict(zip(res.rejects[C.SOURCE_ROW], res.rejects[C.REJECT_REASON], strict=True))


# ---------------------------------------------------------------------------------- reasons


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"customer_id": ""}, "missing_customer_id"),
        ({"customer_id": "  "}, "missing_customer_id"),
        ({"customer_id": "nan"}, "missing_customer_id"),
        ({"customer_id": None}, "missing_customer_id"),
        ({"item_id": ""}, "missing_item_id"),
        ({"timestamp": "not a date"}, "bad_timestamp"),
        ({"timestamp": ""}, "bad_timestamp"),
        ({"timestamp": "12"}, "bad_timestamp"),
        ({"timestamp": "9999-12-31"}, "bad_timestamp"),  # a sentinel, outside the ns range
        ({"event_type": "wishlist"}, "unknown_event_type"),
        ({"quantity": "abc"}, "bad_quantity"),
        ({"quantity": "0"}, "bad_quantity"),
        ({"quantity": "-2"}, "bad_quantity"),  # negative without a return rule
        ({"quantity": "inf"}, "bad_quantity"),
        ({"price": "cheap"}, "bad_price"),
        ({"price": "-1"}, "negative_price"),
        ({"price": "0"}, "zero_price"),
        ({"price": "0.00"}, "zero_price"),
    ],
)
def test_each_reason_on_a_hand_built_frame(bad, reason):
    raw = _raw({}, {"customer_id": "c2"}, bad, {"customer_id": "c3"})
    res = validate_events(raw, LOOSE, event_types=VOCAB)
    assert _reasons(res) == {2: reason}
    assert res.events[C.SOURCE_ROW].tolist() == [0, 1, 3]
    assert res.report.counts == {reason: 1}
    as_read = res.rejects.loc[0, list(raw.columns)]
    pd.testing.assert_series_equal(as_read, raw.loc[2], check_names=False)


def test_non_product_by_list_case_insensitively_and_by_pattern():
    raw = _raw({"item_id": "post"}, {"item_id": "GIFT_10"}, {"item_id": "85048"}, {})
    cfg = IngestConfig(non_product_items=["POST"], non_product_pattern=r"gift_\d+",
                       max_reject_rate=1.0, min_events=1)  # fmt: skip
    res = validate_events(raw, cfg)
    # the pattern is case-sensitive as written: GIFT_10 is a product here
    assert _reasons(res) == {0: "non_product_item"}
    cfg2 = cfg.model_copy(update={"non_product_pattern": r"(?i)gift_\d+"})
    assert _reasons(validate_events(raw, cfg2)) == {0: "non_product_item", 1: "non_product_item"}


def test_duplicate_is_an_exact_copy_of_an_earlier_row_and_configurable():
    raw = _raw({}, {"quantity": "2"}, {}, {}, {"customer_id": "c2"})
    res = validate_events(raw, LOOSE)
    assert _reasons(res) == {2: "duplicate", 3: "duplicate"}
    kept = validate_events(raw, LOOSE.model_copy(update={"duplicates": "keep"}))
    assert kept.report.n_accepted == 5


def test_zero_price_can_be_kept():
    raw = _raw({"price": "0"}, {})
    res = validate_events(raw, LOOSE.model_copy(update={"zero_price": "keep"}))
    assert res.report.n_accepted == 2
    assert res.events[C.PRICE].tolist() == [0.0, 2.5]


def test_first_failing_reason_in_documented_order_wins():
    assert REASON_ORDER[:3] == ("missing_item_id", "non_product_item", "missing_customer_id")
    everything_wrong = {
        "customer_id": "",
        "item_id": "POST",
        "timestamp": "x",
        "event_type": "wishlist",
        "quantity": "abc",
        "price": "-1",
    }
    cfg = LOOSE.model_copy(update={"non_product_items": ["POST"]})
    raw = _raw({}, everything_wrong, {**everything_wrong, "item_id": "i9"},
               {**everything_wrong, "item_id": "i9", "customer_id": "c9"},
               {"timestamp": "x", "quantity": "abc", "price": "-1"},
               {"quantity": "abc", "price": "-1"}, {"price": "-1"})  # fmt: skip
    got = _reasons(validate_events(raw, cfg))
    assert got == {
        1: "non_product_item",
        2: "missing_customer_id",
        3: "bad_timestamp",
        4: "bad_timestamp",
        5: "bad_quantity",
        6: "negative_price",
    }


def test_accepted_plus_rejected_is_every_row_of_a_mixed_frame():
    rng = np.random.default_rng(7)
    n = 500
    raw = pd.DataFrame(
        {
            "customer_id": rng.choice(["c1", "c2", "", "c3 ", "13085.0"], n),
            "item_id": rng.choice(["i1", "i2", "", "POST"], n),
            "event_type": rng.choice(["purchase", "view", "", "bogus", "RETURN"], n),
            "timestamp": rng.choice(["2024-01-01", "2024-02-03 04:05", "bad", ""], n),
            "quantity": rng.choice(["1", "-1", "0", "x", "", "2.5"], n),
            "price": rng.choice(["1", "0", "-3", "", "y"], n),
        }
    )
    res = validate_events(raw, LOOSE.model_copy(update={"non_product_items": ["POST"]}))
    r = res.report
    assert r.n_rows == n
    assert r.n_accepted + r.n_rejected == n
    assert len(res.events) == r.n_accepted and len(res.rejects) == r.n_rejected
    assert sum(r.counts.values()) == r.n_rejected
    rows = np.concatenate([res.events[C.SOURCE_ROW], res.rejects[C.SOURCE_ROW]])
    assert np.array_equal(np.sort(rows), np.arange(n))
    assert res.rejects[C.REJECT_REASON].value_counts().to_dict() == r.counts
    assert set(r.counts) <= set(REASON_ORDER) and len(r.counts) >= 8
    # rejects keep the source columns as read
    assert list(res.rejects.columns) == [*raw.columns, C.SOURCE_ROW, C.REJECT_REASON]
    src = raw.iloc[res.rejects[C.SOURCE_ROW]].reset_index(drop=True)
    pd.testing.assert_frame_equal(res.rejects[list(raw.columns)], src)


# ------------------------------------------------------------------- returns and event types


def test_returns_by_order_prefix_negative_quantity_and_explicit_type():
    raw = _raw(
        {"order_id": "C1", "quantity": "-2"},  # prefix: return of 2
        {"order_id": "C2", "quantity": "3", "event_type": ""},  # prefix, positive: return 3
        {"order_id": "o3", "quantity": "-4", "event_type": ""},  # untyped negative: return 4
        {"order_id": "o4", "quantity": "-5"},  # typed purchase, negative: bad
        {"order_id": "o5", "quantity": "-6", "event_type": "return"},  # typed return: 6
        {"order_id": "C6", "quantity": "1", "event_type": "view"},  # a view stays a view
    )
    cfg = LOOSE.model_copy(update={"return_order_prefix": "C", "negative_quantity_is_return": True})
    res = validate_events(raw, cfg, event_types=VOCAB)
    ev = res.events.set_index(C.SOURCE_ROW)
    assert ev[C.EVENT_TYPE].to_dict() == {
        0: "return", 1: "return", 2: "return", 4: "return", 5: "view"
    }  # fmt: skip
    assert ev[C.QUANTITY].to_dict() == {0: 2.0, 1: 3.0, 2: 4.0, 4: 6.0, 5: 1.0}
    assert _reasons(res) == {3: "bad_quantity"}
    # without the rules a negative quantity is just bad
    plain = validate_events(raw, LOOSE, event_types=VOCAB)
    assert _reasons(plain) == {0: "bad_quantity", 2: "bad_quantity", 3: "bad_quantity"}


def test_a_return_outside_the_vocabulary_is_an_unknown_event_type():
    raw = _raw({"order_id": "C1", "quantity": "-1"}, {})
    cfg = LOOSE.model_copy(update={"return_order_prefix": "C"})
    res = validate_events(raw, cfg, event_types=["purchase"])
    assert _reasons(res) == {0: "unknown_event_type"}


def test_missing_event_type_column_or_value_means_purchase_and_values_are_normalised():
    raw = _raw({}).drop(columns=["event_type"])
    assert validate_events(raw, LOOSE).events[C.EVENT_TYPE].tolist() == ["purchase"]
    raw = _raw({"event_type": ""}, {"event_type": " View "}, {"event_type": "ATC"})
    cfg = LOOSE.model_copy(update={"event_type_map": {"atc": "add_to_cart"}})
    res = validate_events(raw, cfg, event_types=VOCAB)
    assert res.events[C.EVENT_TYPE].tolist() == ["purchase", "view", "add_to_cart"]


def test_default_vocabulary_is_the_matrix_event_weights():
    res = validate_events(_raw({"event_type": "add_to_cart"}, {"event_type": "click"}), LOOSE)
    assert _reasons(res) == {1: "unknown_event_type"}


def test_quantity_defaults_to_one_and_line_total_prices_become_unit_prices():
    raw = _raw({"quantity": ""}, {"quantity": "4", "price": "10"}).drop(columns=["order_id"])
    res = validate_events(raw, LOOSE.model_copy(update={"price_is_line_total": True}))
    assert res.events[C.QUANTITY].tolist() == [1.0, 4.0]
    assert res.events[C.PRICE].tolist() == [2.5, 2.5]
    assert C.ORDER_ID not in res.events
    no_q = validate_events(_raw({}).drop(columns=["quantity"]), LOOSE)
    assert no_q.events[C.QUANTITY].tolist() == [1.0]


# ------------------------------------------------------------------------ output and values


def test_clean_events_schema_and_types():
    raw = _raw({"customer_id": " 13085.0 ", "item_id": "007", "order_id": "489434.0"})
    ev = validate_events(raw, LOOSE).events
    assert list(ev.columns) == [
        "customer_id", "item_id", "event_type", "timestamp", "quantity", "price", "order_id",
        "source_row",
    ]  # fmt: skip
    assert ev.loc[0, C.CUSTOMER_ID] == "13085"
    assert ev.loc[0, C.ITEM_ID] == "007"
    assert ev.loc[0, C.ORDER_ID] == "489434"
    assert ev[C.TIMESTAMP].dtype == np.dtype("datetime64[ns]")
    assert ev[C.QUANTITY].dtype == np.float64 and ev[C.PRICE].dtype == np.float64
    assert ev[C.SOURCE_ROW].dtype == np.int64


def test_caller_frame_is_not_modified():
    raw = _raw({"customer_id": "13085.0"}, {"quantity": "-1"})
    before = raw.copy()
    validate_events(raw, LOOSE)
    pd.testing.assert_frame_equal(raw, before)


def test_clean_ids_handles_floats_ints_and_text():
    assert clean_ids(pd.Series([13085.0, np.nan, 1.5])).tolist()[::2] == ["13085", "1.5"]
    assert clean_ids(pd.Series([13085.0, np.nan])).isna().tolist() == [False, True]
    assert clean_ids(pd.array([7, None], dtype="Int64")).tolist()[0] == "7"
    got = clean_ids(pd.Series([" a ", "", "None", "12.00", "0012"], dtype=object))
    assert got.tolist()[0] == "a" and got.tolist()[3:] == ["12", "0012"]
    assert got.isna().tolist() == [False, True, True, False, False]


def test_timestamps_zone_handling():
    s = pd.Series(
        [
            "2024-07-01 12:00:00",  # naive: local time in the configured zone
            "2024-07-01T12:00:00Z",  # aware: converted to UTC
            "2024-07-01 12:00:00+02:00",
            "7/1/2024 12:00",  # another layout, parsed by the fallback
            "1719835200",  # epoch seconds
        ]
    )
    got = parse_timestamps(s, timezone="Europe/Paris").tolist()
    assert got == [
        pd.Timestamp("2024-07-01 10:00"),
        pd.Timestamp("2024-07-01 12:00"),
        pd.Timestamp("2024-07-01 10:00"),
        pd.Timestamp("2024-07-01 10:00"),
        pd.Timestamp("2024-07-01 12:00"),
    ]
    aware = pd.Series(pd.to_datetime(["2024-01-01 12:00"]).tz_localize("America/New_York"))
    assert parse_timestamps(aware).tolist() == [pd.Timestamp("2024-01-01 17:00")]
    forced = parse_timestamps(pd.Series(["01/02/2024"]), fmt="%d/%m/%Y")
    assert forced.tolist() == [pd.Timestamp("2024-02-01")]


def test_reject_report_numbers_and_lines():
    r = RejectReport(n_rows=10, n_accepted=6, counts={"bad_timestamp": 1, "duplicate": 3})
    assert r.n_rejected == 4 and r.reject_rate == pytest.approx(0.4)
    assert r.to_dict() == {
        "n_rows": 10,
        "n_accepted": 6,
        "n_rejected": 4,
        "reject_rate": 0.4,
        "counts": {"bad_timestamp": 1, "duplicate": 3},
    }
    assert r.summary_lines() == [
        "10 rows read, 6 accepted, 4 rejected (40.0%)",
        "  duplicate: 3",
        "  bad_timestamp: 1",
    ]
    with pytest.raises(ValueError, match="do not add up"):
        RejectReport(n_rows=10, n_accepted=6, counts={"duplicate": 3})


# ------------------------------------------------------------------------------------ stops


def _write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_ten_percent_bad_timestamps_continue_and_rejects_file_holds_exactly_them(tmp_path):
    n = 200
    rng = np.random.default_rng(3)
    bad = np.sort(rng.choice(n, size=n // 10, replace=False))
    ts = pd.date_range("2024-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    ts = np.asarray(ts, dtype=object)
    ts[bad] = rng.choice(["31/31/2024", "yesterday", "2024-13-45 99:00", ""], size=len(bad))
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 17}" for i in range(n)],
            "item_id": [f"i{i % 23}" for i in range(n)],
            "timestamp": ts,
        }
    )
    path = _write_csv(tmp_path / "events.csv", frame)
    rejects_path = tmp_path / "out" / "rejects.csv"
    res = load_events(path, event_types=VOCAB, rejects_path=rejects_path)
    assert res.report.n_accepted == n - len(bad)
    written = pd.read_csv(rejects_path, dtype=str, keep_default_na=False)
    assert set(written[C.SOURCE_ROW].astype(int)) == set(bad.tolist())
    assert set(written[C.REJECT_REASON]) == {"bad_timestamp"}
    assert written["timestamp"].tolist() == ts[bad].tolist()  # as read
    assert set(res.events[C.SOURCE_ROW]) == set(range(n)) - set(bad.tolist())


def test_sixty_percent_bad_rows_stop_with_the_rate_and_still_write_rejects(tmp_path):
    rows = (
        [{"customer_id": f"c{i}"} for i in range(4)]
        + [{"customer_id": "", "item_id": f"i{i}"} for i in range(4)]
        + [{"customer_id": f"d{i}", "timestamp": "?"} for i in range(2)]
    )
    path = _write_csv(tmp_path / "events.csv", _raw(*rows))
    rejects_path = tmp_path / "rejects.csv"
    with pytest.raises(DataError) as exc:
        load_events(path, IngestConfig(min_events=1), rejects_path=rejects_path)
    msg = str(exc.value)
    assert "60.0% of 10 rows rejected" in msg
    assert "max_reject_rate 50.0%" in msg
    assert "missing_customer_id 4, bad_timestamp 2" in msg
    assert "\n" not in msg
    assert len(pd.read_csv(rejects_path)) == 6


def test_reject_rate_at_the_threshold_passes():
    raw = _raw({}, {"customer_id": ""})
    res = validate_events(raw, IngestConfig(max_reject_rate=0.5, min_events=1))
    assert res.report.reject_rate == 0.5


def test_empty_file_stops(tmp_path):
    empty = tmp_path / "events.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        load_events(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("customer_id,item_id,timestamp\n")
    with pytest.raises(DataError, match="no rows"):
        load_events(header_only)


def test_missing_column_names_it_and_lists_the_columns_found(tmp_path):
    frame = _raw({}).rename(columns={"timestamp": "when"})
    path = _write_csv(tmp_path / "events.csv", frame)
    with pytest.raises(DataError) as exc:
        load_events(path)
    msg = str(exc.value)
    assert "required column 'timestamp'" in msg
    assert "columns found: ['customer_id', 'item_id', 'event_type', 'when'" in msg
    assert str(path) in msg


def test_missing_file_says_which(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        load_events(tmp_path / "nope.csv")


def test_too_small_to_train_and_no_rows_left():
    raw = _raw({}, {"customer_id": "c2"})
    with pytest.raises(DataError, match="only 2 clean events, fewer than min_events 5"):
        validate_events(raw, IngestConfig(min_events=5))
    with pytest.raises(DataError, match="no rows left"):
        validate_events(_raw({"customer_id": ""}), IngestConfig(max_reject_rate=1.0))
    # check=False leaves the decision to the caller
    res = validate_events(raw, IngestConfig(min_events=5), check=False)
    assert res.report.n_accepted == 2


def test_reserved_column_names_are_refused():
    with pytest.raises(DataError, match="reserved"):
        validate_events(_raw({}).assign(source_row="1"), LOOSE)


# ----------------------------------------------------------------------- files and helpers


def test_load_events_reads_gzipped_csv_and_parquet_alike(tmp_path):
    frame = _raw({}, {"customer_id": "13085.0"}, {"price": "0"})
    gz = tmp_path / "events.csv.gz"
    with gzip.open(gz, "wt") as fh:
        frame.to_csv(fh, index=False)
    pq = tmp_path / "events.parquet"
    typed = frame.assign(price=frame["price"].astype(float), quantity=frame["quantity"].astype(int))
    typed.to_parquet(pq)
    a = load_events(gz, LOOSE)
    b = load_events(pq, LOOSE)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.report == b.report
    assert a.events[C.CUSTOMER_ID].tolist() == ["c1", "13085"]


def test_write_rejects_round_trips(tmp_path):
    res = validate_events(_raw({}, {"item_id": ""}), LOOSE)
    path = write_rejects(res.rejects, tmp_path / "deep" / "rejects.csv")
    back = pd.read_csv(path, dtype=str)
    assert back[C.REJECT_REASON].tolist() == ["missing_item_id"]
    assert back[C.SOURCE_ROW].tolist() == ["1"]


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
    raw = _raw({}, {"price": "4"}).assign(Description=["Mug", "Mug"])
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

ONLINE_RETAIL = Path(__file__).parents[3] / "../shared/data/online_retail_ii"


@pytest.mark.slow
def test_real_online_retail_reconciles_and_shows_the_known_dirt(tmp_path):
    parquet = ONLINE_RETAIL / "online_retail_II_2009-2010.parquet"
    if not parquet.exists():
        pytest.skip(f"{parquet} not available")
    cfg = IngestConfig(preset="online-retail")
    res = load_events(parquet, cfg, rejects_path=tmp_path / "rejects.csv")
    r = res.report
    assert r.n_rows == 525_461
    assert r.n_accepted + r.n_rejected == r.n_rows
    rows = np.concatenate([res.events[C.SOURCE_ROW], res.rejects[C.SOURCE_ROW]])
    assert np.array_equal(np.sort(rows), np.arange(r.n_rows))

    raw = pd.read_parquet(parquet)
    code = raw["StockCode"].astype(str)
    non_product = code.str.upper().isin({s.upper() for s in cfg.non_product_items}) | (
        code.str.fullmatch(cfg.non_product_pattern)
    )
    no_customer = raw["Customer ID"].isna()
    assert no_customer.sum() == 107_927
    # Rows without a customer that are postage/fees/adjustments count as non-products.
    assert r.counts[V.MISSING_CUSTOMER_ID] == (no_customer & ~non_product).sum() == 106_761
    assert r.counts[V.NON_PRODUCT_ITEM] == non_product.sum() == 2_981
    # 6,865 exact duplicate rows; 100 of them already fail an earlier check.
    assert raw.duplicated().sum() == 6_865
    assert r.counts[V.DUPLICATE] == 6_765
    assert r.counts[V.ZERO_PRICE] == 28
    assert r.counts == {
        "non_product_item": 2_981,
        "missing_customer_id": 106_761,
        "zero_price": 28,
        "duplicate": 6_765,
    }
    assert r.n_accepted == 408_926
    # Cancellation lines with a customer become positive returns.
    returns = res.events[res.events[C.EVENT_TYPE] == C.RETURN]
    assert len(returns) == 9_372 and (returns[C.QUANTITY] > 0).all()
    assert returns[C.ORDER_ID].str.startswith("C").all()
    assert res.events[C.CUSTOMER_ID].str.fullmatch(r"\d{5}").all()  # no "13085.0"
    # The gzipped CSV export gives the same answer.
    csv = load_events(ONLINE_RETAIL / "online_retail_II_2009-2010.csv.gz", cfg)
    assert csv.report == r
    pd.testing.assert_frame_equal(csv.events, res.events)
