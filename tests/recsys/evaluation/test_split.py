import pandas as pd
import pytest

from recsys import columns as C
from recsys.errors import ConfigError, DataError
from recsys.evaluation.split import TemporalSplit, temporal_split


def _events(timestamps):
    n = len(timestamps)
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: [f"c{i % 3}" for i in range(n)],
            C.ITEM_ID: [f"i{i}" for i in range(n)],
            C.TIMESTAMP: pd.to_datetime(timestamps),
        }
    )


# Ten days of data; the last event is on 2024-01-10 at 18:00.
STAMPS = [
    "2024-01-01 09:00:00",
    "2024-01-03 12:00:00",
    "2024-01-07 23:59:59",
    "2024-01-08 00:00:00",
    "2024-01-09 10:00:00",
    "2024-01-10 18:00:00",
]


def test_last_n_calendar_days_are_the_test_window_and_midnight_goes_to_test():
    ev = _events(STAMPS)
    split = temporal_split(ev, test_days=3)
    # Last day 2024-01-10 counts whole: 10th, 9th, 8th -> cutoff at midnight on the 8th.
    assert split.cutoff == pd.Timestamp("2024-01-08 00:00:00")
    assert split.train[C.ITEM_ID].tolist() == ["i0", "i1", "i2"]
    assert split.test[C.ITEM_ID].tolist() == ["i3", "i4", "i5"]
    assert split.n_train == 3 and split.n_test == 3
    assert (split.train[C.TIMESTAMP] < split.cutoff).all()
    assert (split.test[C.TIMESTAMP] >= split.cutoff).all()
    assert list(split.test.index) == [0, 1, 2]


def test_one_test_day_is_the_last_calendar_day():
    split = temporal_split(_events(STAMPS), test_days=1)
    assert split.cutoff == pd.Timestamp("2024-01-10")
    assert split.test[C.ITEM_ID].tolist() == ["i5"]


def test_explicit_cutoff_overrides_test_days_and_accepts_timestamps():
    ev = _events(STAMPS)
    split = temporal_split(ev, test_days=3, cutoff="2024-01-03 12:00")
    assert split.cutoff == pd.Timestamp("2024-01-03 12:00")
    assert split.train[C.ITEM_ID].tolist() == ["i0"]  # the 12:00 event is at the cutoff: test
    assert split.test[C.ITEM_ID].tolist() == ["i1", "i2", "i3", "i4", "i5"]
    same = temporal_split(ev, test_days=None, cutoff=pd.Timestamp("2024-01-03 12:00"))
    assert same.test[C.ITEM_ID].tolist() == split.test[C.ITEM_ID].tolist()


def test_input_is_not_mutated_and_other_columns_survive():
    ev = _events(STAMPS)
    ev[C.EVENT_TYPE] = "purchase"
    before = ev.copy()
    split = temporal_split(ev, test_days=3)
    pd.testing.assert_frame_equal(ev, before)
    assert list(split.train.columns) == list(ev.columns)
    split.train.loc[0, C.ITEM_ID] = "changed"
    assert ev.loc[0, C.ITEM_ID] == "i0"


def test_string_timestamps_are_parsed_and_returned_as_datetimes():
    ev = _events(STAMPS)
    ev[C.TIMESTAMP] = STAMPS  # plain strings
    split = temporal_split(ev, test_days=3)
    assert split.test[C.ITEM_ID].tolist() == ["i3", "i4", "i5"]
    assert pd.api.types.is_datetime64_any_dtype(split.train[C.TIMESTAMP])
    assert split.train[C.TIMESTAMP].iloc[2] == pd.Timestamp("2024-01-07 23:59:59")


def test_naive_cutoff_against_zoned_data_is_read_in_the_data_zone():
    ev = _events(STAMPS)
    ev[C.TIMESTAMP] = ev[C.TIMESTAMP].dt.tz_localize("Europe/London")
    split = temporal_split(ev, cutoff="2024-01-08")
    assert split.cutoff == pd.Timestamp("2024-01-08", tz="Europe/London")
    assert split.test[C.ITEM_ID].tolist() == ["i3", "i4", "i5"]


def test_zoned_cutoff_against_naive_utc_data_is_converted():
    split = temporal_split(_events(STAMPS), cutoff="2024-01-08T01:00:00+01:00")
    assert split.cutoff == pd.Timestamp("2024-01-08 00:00")
    assert split.test[C.ITEM_ID].tolist() == ["i3", "i4", "i5"]


def test_summary_is_json_ready():
    split = temporal_split(_events(STAMPS), test_days=3)
    assert split.summary() == {
        "cutoff": "2024-01-08T00:00:00",
        "n_train_events": 3,
        "n_test_events": 3,
        "train_start": "2024-01-01T09:00:00",
        "test_end": "2024-01-10T18:00:00",
    }
    assert isinstance(split, TemporalSplit)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cutoff": "2024-01-01 09:00"}, "train side would be empty"),
        ({"cutoff": "2023-06-01"}, "train side would be empty"),
        ({"test_days": 20}, "train side would be empty"),
        ({"cutoff": "2024-01-10 18:00:01"}, "test side would be empty"),
        ({"test_days": None, "cutoff": None}, "needs test_days or cutoff"),
        ({"test_days": 0}, "test_days == 0, must be >= 1"),
        ({"test_days": 2.5}, "must be an integer"),
        ({"cutoff": "not a date"}, "not a date/time"),
    ],
)
def test_bad_cutoffs_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        temporal_split(_events(STAMPS), **kwargs)


def test_bad_events_are_data_errors():
    with pytest.raises(DataError, match="lack column 'timestamp'"):
        temporal_split(pd.DataFrame({C.CUSTOMER_ID: ["a"], C.ITEM_ID: ["x"]}))
    with pytest.raises(DataError, match="no events"):
        temporal_split(_events([]))
    undated = _events(STAMPS)
    undated.loc[2, C.TIMESTAMP] = pd.NaT
    with pytest.raises(DataError, match="1 event"):
        temporal_split(undated)
    garbled = _events(STAMPS)
    garbled[C.TIMESTAMP] = ["2024-01-01", "yesterday-ish", "x", "y", "z", "w"]
    with pytest.raises(DataError, match="not parseable"):
        temporal_split(garbled)
