"""Timestamp parsing: zones, layouts, epochs."""

import pandas as pd

from recsys.data.timestamps import parse_timestamps


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
