"""Timestamp parsing: zones, layouts, epochs."""

import pandas as pd
import pytest

from recsys.data.timestamps import infer_date_order, parse_date, parse_timestamps
from recsys.errors import DataError


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
    got = parse_timestamps(s, timezone="Europe/Paris", fmt="month_first").tolist()
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


def test_year_last_dates_without_a_deciding_value_are_refused():
    with pytest.raises(DataError, match="timestamp_format") as info:
        parse_timestamps(pd.Series(["7/1/2024 12:00"]))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("values", "order"),
    [
        (["01/02/2024", "13/02/2024"], "day_first"),
        (["01.02.2024 10:00", "31.01.2024 09:30"], "day_first"),
        (["12/1/2010 8:26", "12/13/2010 8:26"], "month_first"),
        (["2024-01-02", "2024-02-13 10:00"], None),  # ISO: no day/month question
        (["05/05/2024", "06/06/2024"], None),  # reads the same either way
        ([], None),
    ],
)
def test_infer_date_order_from_unambiguous_values(values, order):
    assert infer_date_order(pd.Series(values, dtype=object)) == order


def test_infer_date_order_refuses_mixed_and_undecided_columns_in_one_line():
    with pytest.raises(DataError, match="mix day-first .*timestamp_format") as info:
        infer_date_order(["13/02/2024", "02/13/2024"])
    assert "\n" not in str(info.value)
    with pytest.raises(DataError, match="ambiguous dates: '01/02/2024'.*timestamp_format"):
        infer_date_order(["01/02/2024", "03/02/2024"])
    assert infer_date_order(["01/02/2024"], timestamp_format="day_first") == "day_first"
    assert infer_date_order(["01/02/2024"], timestamp_format="%m/%d/%Y") is None


def test_day_first_column_is_read_day_first_and_never_mixed():
    got = parse_timestamps(pd.Series(["01/02/2024", "13/02/2024 10:30", "2024-03-01"]))
    assert got.tolist() == [
        pd.Timestamp("2024-02-01"),
        pd.Timestamp("2024-02-13 10:30"),
        pd.Timestamp("2024-03-01"),
    ]
    # a value that only reads the other way is unparseable, not swapped
    forced = parse_timestamps(pd.Series(["01/02/2024", "02/13/2024"]), fmt="day_first")
    assert forced[0] == pd.Timestamp("2024-02-01") and pd.isna(forced[1])
    month = parse_timestamps(pd.Series(["01/02/2024", "13/02/2024"]), fmt="month_first")
    assert month[0] == pd.Timestamp("2024-01-02") and pd.isna(month[1])


def test_parse_date_follows_the_file_order_rule():
    assert parse_date("13/02/2024") == pd.Timestamp("2024-02-13")
    assert parse_date("2024-02-01") == pd.Timestamp("2024-02-01")
    assert parse_date("01/02/2024", "day_first") == pd.Timestamp("2024-02-01")
    assert parse_date("01/02/2024", "month_first") == pd.Timestamp("2024-01-02")
    with pytest.raises(DataError, match=r"^cutoff '01/02/2024': ambiguous.*timestamp_format"):
        parse_date("01/02/2024", what="cutoff")
    with pytest.raises(DataError, match="not a date"):
        parse_date("soon")
