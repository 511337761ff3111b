"""CX metrics: planted surveys and tickets are recovered; bad rows rejected with reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.customers import cx
from recsys.customers.synthetic import PLANTED, generate_cx
from recsys.errors import DataError


@pytest.fixture(scope="module")
def data():
    ids = [f"C{i:05d}" for i in range(500)]
    return generate_cx(ids, "2024-01-01", "2024-12-31", surveys=20_000, tickets=5000, seed=3)


def test_metric_formulas() -> None:
    r = cx.nps(np.array([10, 9, 8, 7, 6, 0, 10, 10, 9, 3]))
    assert r["value"] == pytest.approx(100 * (5 - 3) / 10) and r["n"] == 10
    assert r["ci_low"] < r["value"] < r["ci_high"]
    assert cx.csat(np.array([5, 4, 3, 1]))["value"] == 50
    c = cx.ces(np.array([1, 2, 3, 4, 5]))
    assert c["value"] == 3 and c["ci_low"] == pytest.approx(3 - 2.776445 * np.sqrt(2.5 / 5))
    lo, hi = cx.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)


def test_surveys_recover_planted_values_and_trend(data) -> None:
    clean, rejects = cx.validate_surveys(data.surveys)
    assert len(clean) + len(rejects) == len(data.surveys)
    assert rejects["reject_reason"].value_counts().to_dict() == data.bad["surveys"]
    overall = cx.survey_table(clean).set_index("metric")
    for metric in ("nps", "csat", "ces"):
        row = overall.loc[metric]
        # Within 3 standard errors (the 95% CI is about 4 se wide): three metrics at 95%
        # coverage each would miss one time in seven.
        width = row["ci_high"] - row["ci_low"]
        assert abs(row["value"] - PLANTED[metric]) <= 0.75 * width, (metric, row.to_dict())
    monthly = cx.survey_table(clean, clean["timestamp"].dt.strftime("%Y-%m"))
    nps = monthly[monthly["metric"] == "nps"].set_index("group")["value"]
    assert nps.iloc[-1] - nps.iloc[0] > 25  # planted: +5 -> +45


def test_tickets_recover_planted_values(data) -> None:
    clean, rejects = cx.validate_tickets(data.tickets)
    assert rejects["reject_reason"].value_counts().to_dict() == data.bad["tickets"]
    t = cx.ticket_table(clean).iloc[0]
    assert t["first_response_mean_h"] == pytest.approx(4.0, rel=0.05)
    assert t["resolution_mean_h"] == pytest.approx(24.0, rel=0.05)
    assert abs(t["fcr_pct"] - PLANTED["fcr"]) <= 0.75 * (t["fcr_ci_high"] - t["fcr_ci_low"])
    assert t["resolved"] == pytest.approx(0.9 * t["tickets"], rel=0.03)
    assert t["first_response_p90_h"] > t["first_response_mean_h"]


def test_missing_columns() -> None:
    with pytest.raises(DataError, match="score"):
        cx.validate_surveys(pd.DataFrame({"customer_id": ["a"], "timestamp": ["x"], "metric": [1]}))
