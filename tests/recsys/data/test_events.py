"""Event validation: every row clean or rejected with its reason; the stops."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.config import IngestConfig
from recsys.data import rejects as R
from recsys.data.events import LoadResult, load_events, validate_events
from recsys.data.rejects import REASON_ORDER, REJECT_DETAIL
from recsys.errors import DataError
from tests.recsys.data.rows import LOOSE, VOCAB, raw_rows


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
        ({"item_id": "a\tb"}, "bad_item_id"),
        ({"customer_id": "x" * 129}, "bad_customer_id"),
        ({"customer_id": "c\x85d"}, "bad_customer_id"),  # a C1 control character
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
    raw = raw_rows({}, {"customer_id": "c2"}, bad, {"customer_id": "c3"})
    res = validate_events(raw, LOOSE, event_types=VOCAB)
    assert _reasons(res) == {2: reason}
    assert res.events[C.SOURCE_ROW].tolist() == [0, 1, 3]
    assert res.report.counts == {reason: 1}
    as_read = res.rejects.loc[0, list(raw.columns)]
    pd.testing.assert_series_equal(as_read, raw.loc[2], check_names=False)


def test_non_product_by_list_case_insensitively_and_by_pattern():
    raw = raw_rows({"item_id": "post"}, {"item_id": "GIFT_10"}, {"item_id": "85048"}, {})
    cfg = IngestConfig(non_product_items=["POST"], non_product_pattern=r"gift_\d+",
                       max_reject_rate=1.0, min_events=1)  # fmt: skip
    res = validate_events(raw, cfg)
    # the pattern is case-sensitive as written: GIFT_10 is a product here
    assert _reasons(res) == {0: "non_product_item"}
    cfg2 = cfg.model_copy(update={"non_product_pattern": r"(?i)gift_\d+"})
    assert _reasons(validate_events(raw, cfg2)) == {0: "non_product_item", 1: "non_product_item"}


def test_duplicate_is_an_exact_copy_of_an_earlier_row_and_configurable():
    raw = raw_rows({}, {"quantity": "2"}, {}, {}, {"customer_id": "c2"})
    res = validate_events(raw, LOOSE)
    assert _reasons(res) == {2: "duplicate", 3: "duplicate"}
    kept = validate_events(raw, LOOSE.model_copy(update={"duplicates": "keep"}))
    assert kept.report.n_accepted == 5


def test_zero_price_can_be_kept():
    raw = raw_rows({"price": "0"}, {})
    res = validate_events(raw, LOOSE.model_copy(update={"zero_price": "keep"}))
    assert res.report.n_accepted == 2
    assert res.events[C.PRICE].tolist() == [0.0, 2.5]


def test_first_failing_reason_in_documented_order_wins():
    assert REASON_ORDER[:5] == (
        "missing_item_id",
        "bad_item_id",
        "non_product_item",
        "missing_customer_id",
        "bad_customer_id",
    )
    everything_wrong = {
        "customer_id": "",
        "item_id": "POST",
        "timestamp": "x",
        "event_type": "wishlist",
        "quantity": "abc",
        "price": "-1",
    }
    cfg = LOOSE.model_copy(update={"non_product_items": ["POST"]})
    raw = raw_rows({}, everything_wrong, {**everything_wrong, "item_id": "i9"},
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
    assert list(res.rejects.columns) == [*raw.columns, C.SOURCE_ROW, C.REJECT_REASON, REJECT_DETAIL]
    src = raw.iloc[res.rejects[C.SOURCE_ROW]].reset_index(drop=True)
    pd.testing.assert_frame_equal(res.rejects[list(raw.columns)], src)


# ------------------------------------------------------------------- returns and event types


def test_returns_by_order_prefix_negative_quantity_and_explicit_type():
    raw = raw_rows(
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
    raw = raw_rows({"order_id": "C1", "quantity": "-1"}, {})
    cfg = LOOSE.model_copy(update={"return_order_prefix": "C"})
    res = validate_events(raw, cfg, event_types=["purchase"])
    assert _reasons(res) == {0: "unknown_event_type"}


def test_missing_event_type_column_or_value_means_purchase_and_values_are_normalised():
    raw = raw_rows({}).drop(columns=["event_type"])
    assert validate_events(raw, LOOSE).events[C.EVENT_TYPE].tolist() == ["purchase"]
    raw = raw_rows({"event_type": ""}, {"event_type": " View "}, {"event_type": "ATC"})
    cfg = LOOSE.model_copy(update={"event_type_map": {"atc": "add_to_cart"}})
    res = validate_events(raw, cfg, event_types=VOCAB)
    assert res.events[C.EVENT_TYPE].tolist() == ["purchase", "view", "add_to_cart"]


def test_default_vocabulary_is_the_matrix_event_weights():
    res = validate_events(
        raw_rows({"event_type": "add_to_cart"}, {"event_type": "wishlist"}), LOOSE
    )
    assert _reasons(res) == {1: "unknown_event_type"}


def test_quantity_defaults_to_one_and_line_total_prices_become_unit_prices():
    raw = raw_rows({"quantity": ""}, {"quantity": "4", "price": "10"}).drop(columns=["order_id"])
    res = validate_events(raw, LOOSE.model_copy(update={"price_is_line_total": True}))
    assert res.events[C.QUANTITY].tolist() == [1.0, 4.0]
    assert res.events[C.PRICE].tolist() == [2.5, 2.5]
    assert C.ORDER_ID not in res.events
    no_q = validate_events(raw_rows({}).drop(columns=["quantity"]), LOOSE)
    assert no_q.events[C.QUANTITY].tolist() == [1.0]


# ------------------------------------------------------------------------ output and values


def test_clean_events_schema_and_types():
    raw = raw_rows({"customer_id": " 13085.0 ", "item_id": "007", "order_id": "489434.0"})
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
    raw = raw_rows({"customer_id": "13085.0"}, {"quantity": "-1"})
    before = raw.copy()
    validate_events(raw, LOOSE)
    pd.testing.assert_frame_equal(raw, before)


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
    path = _write_csv(tmp_path / "events.csv", raw_rows(*rows))
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
    raw = raw_rows({}, {"customer_id": ""})
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
    frame = raw_rows({}).rename(columns={"timestamp": "when"})
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
    raw = raw_rows({}, {"customer_id": "c2"})
    with pytest.raises(DataError, match="only 2 clean events, fewer than min_events 5"):
        validate_events(raw, IngestConfig(min_events=5))
    with pytest.raises(DataError, match="no rows left"):
        validate_events(raw_rows({"customer_id": ""}), IngestConfig(max_reject_rate=1.0))
    # check=False leaves the decision to the caller
    res = validate_events(raw, IngestConfig(min_events=5), check=False)
    assert res.report.n_accepted == 2


def test_reserved_column_names_are_refused():
    with pytest.raises(DataError, match="reserved"):
        validate_events(raw_rows({}).assign(source_row="1"), LOOSE)


# ----------------------------------------------------------------------- files and helpers


def test_load_events_reads_gzipped_csv_and_parquet_alike(tmp_path):
    frame = raw_rows({}, {"customer_id": "13085.0"}, {"price": "0"})
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
    assert r.counts[R.MISSING_CUSTOMER_ID] == (no_customer & ~non_product).sum() == 106_761
    assert r.counts[R.NON_PRODUCT_ITEM] == non_product.sum() == 2_981
    # 6,865 exact duplicate rows; 100 of them already fail an earlier check.
    assert raw.duplicated().sum() == 6_865
    assert r.counts[R.DUPLICATE] == 6_765
    assert r.counts[R.ZERO_PRICE] == 28
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
