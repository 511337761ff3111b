"""The reject counts and the rejects file."""

import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.events import validate_events
from recsys.data.rejects import RejectReport, write_rejects
from tests.recsys.data.rows import LOOSE, raw_rows


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


def test_write_rejects_round_trips(tmp_path):
    res = validate_events(raw_rows({}, {"item_id": ""}), LOOSE)
    path = write_rejects(res.rejects, tmp_path / "deep" / "rejects.csv")
    back = pd.read_csv(path, dtype=str)
    assert back[C.REJECT_REASON].tolist() == ["missing_item_id"]
    assert back[C.SOURCE_ROW].tolist() == ["1"]
