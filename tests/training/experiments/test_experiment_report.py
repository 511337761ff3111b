"""Attribution to experiment arms and ``recsys experiments report``: answers from the API,
events through POST /v1/events, the export, and the reports (real Redis, TestClient)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis
from scipy import stats

from recsys.events.ingest import ingest_frame, ingest_rows
from recsys.events.recommendation_id import new_recommendation_id
from recsys.experiments import make_experiment, parse_arms
from recsys.experiments.registry import start_experiment
from serving.settings import Settings
from tests.serving.conftest import Publisher, serve
from training.cli import main
from training.experiment_report import (
    experiment_report,
    newcombe,
    two_proportion_test,
    write_experiment_report,
)
from training.online_report import attributed_outcomes

AB = make_experiment("ab", parse_arms("v1:50,v2:50"))


def _frame(records: list[dict]) -> pd.DataFrame:
    stamp = "2024-05-01T10:00:00+00:00"
    rows = [
        row
        for n, r in enumerate(records)
        for row in ingest_rows({"event_id": f"e{n}", "timestamp": stamp, **r})
    ]
    return ingest_frame(rows)


def _units(arm_sizes: dict[str, int], clicks: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """One impression per unit with the arm in its id; a click with probability clicks[arm]."""
    rng = np.random.default_rng(seed)
    records = []
    for arm, n in arm_sizes.items():
        version = AB.arm(arm).version  # type: ignore[union-attr]
        for u in range(n):
            rid = new_recommendation_id(version, "personal", "web", "ab", arm)
            who = {"customer_id": f"{arm}{u}", "recommendation_id": rid}
            records.append({"event_type": "impression", "item_ids": ["i1", "i2"], **who})
            if rng.random() < clicks[arm]:
                records.append({"event_type": "click", "item_id": "i2", **who})
    return _frame(records)


def test_the_report_flags_an_injected_sample_ratio_mismatch_and_not_a_fair_split() -> None:
    skewed = experiment_report(_units({"A": 600, "B": 400}, {"A": 0.1, "B": 0.1}), AB)
    assert skewed.srm["units"] == {"A": 600, "B": 400}
    assert skewed.srm["mismatch"] and skewed.srm["p_value"] < 1e-9
    fair = experiment_report(_units({"A": 510, "B": 490}, {"A": 0.1, "B": 0.1}), AB)
    assert not fair.srm["mismatch"] and fair.srm["p_value"] > 0.3


def test_the_report_recovers_a_planted_click_lift_with_its_tests() -> None:
    report = experiment_report(_units({"A": 3000, "B": 3000}, {"A": 0.10, "B": 0.16}), AB)
    arms = report.arms.set_index("arm")
    assert arms.loc["A", "units"] == arms.loc["A", "impressions"] == 3000
    assert arms.loc["A", "ctr_low"] < 0.10 < arms.loc["A", "ctr_high"]
    assert arms.loc["B", "click_rate_low"] < 0.16 < arms.loc["B", "click_rate_high"]
    click = report.tests.set_index("metric").loc["click_rate"]
    assert click["difference_low"] < 0.06 < click["difference_high"]
    assert click["significant"] and click["p_value"] < 1e-6 and click["test"] == "two-proportion z"
    none = report.tests.set_index("metric").loc["conversion"]
    assert none["difference"] == 0 and not none["significant"]


def test_the_z_test_is_the_pooled_two_proportion_test_and_newcombe_brackets_the_difference():
    k1, n1, k2, n2 = 120, 1000, 160, 1000
    z, p = two_proportion_test(k1, n1, k2, n2)
    pooled = (k1 + k2) / (n1 + n2)
    expected = (k2 / n2 - k1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert z == pytest.approx(expected) and p == pytest.approx(2 * stats.norm.sf(expected))
    low, high = newcombe(k1, n1, k2, n2)
    assert low < 0.04 < high and low > 0.0  # significant at 5%: the interval excludes 0
    assert two_proportion_test(0, 10, 0, 10) == (0.0, 1.0)
    assert all(math.isnan(v) for v in two_proportion_test(0, 0, 3, 10))  # no test ran


def test_positions_come_from_the_impression_order() -> None:
    rid = new_recommendation_id("v1", "personal", "web", "ab", "A")
    who = {"customer_id": "c", "recommendation_id": rid}
    frame = _frame(
        [
            {"event_type": "impression", "item_ids": ["i1", "i2", "i3"], **who},
            {"event_type": "click", "item_id": "i3", **who},
            {"event_type": "add_to_cart", "item_id": "i9", "position": 7, **who},
        ]
    )
    out = attributed_outcomes(frame).set_index("item_id")
    assert out.loc["i3", "position"] == 3 and out.loc["i9", "position"] == 7
    assert (out.loc["i3", "experiment"], out.loc["i3", "arm"]) == ("ab", "A")


def test_an_attributed_click_on_an_api_answer_shows_up_by_arm(
    publish_shop: Publisher,
    redis_url: str,
    redis_client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish_shop("v1"), publish_shop("v2")
    start_experiment(redis_client, namespace, AB)
    settings = Settings(redis_url=redis_url, namespace=namespace, gc_freeze=False)
    events, clicked_arms = [], []
    with serve(settings) as api:
        for n in range(40):
            customer = f"u{n}"
            body = api.get(f"/v1/customers/{customer}/recommendations", params={"k": 3}).json()
            rid = body["recommendation_id"]
            items = [i["item_id"] for i in body["items"]]
            who = {"customer_id": customer, "recommendation_id": rid}  # no attribution fields
            events.append(
                {"event_id": f"imp{n}", "event_type": "impression", "item_ids": items, **who}
            )
            if n % 4 == 0:
                clicked_arms.append(body["arm"])
                events.append(
                    {"event_id": f"clk{n}", "event_type": "click", "item_id": items[1], **who}
                )
        assert api.post("/v1/events", json={"events": events}).json()["accepted"] == len(events)
    where = ["--redis", redis_url, "--namespace", namespace]
    out = tmp_path / "events"
    assert main(["events", "export", "--out", str(out), "-q", *where]) == 0
    table = tmp_path / "online.json"
    assert main(["report", "online", "--events", str(out), "--out", str(table), "-q"]) == 0
    rows = {(r["experiment"], r["arm"]): r for r in json.loads(table.read_text())}
    assert set(rows) == {("ab", "A"), ("ab", "B")}
    assert rows["ab", "A"]["model_version"] == "v1" and rows["ab", "B"]["model_version"] == "v2"
    assert sum(r["impressions"] for r in rows.values()) == 40
    for arm in ("A", "B"):
        assert rows["ab", arm]["clicks"] == clicked_arms.count(arm)
    # The experiment report: per arm, with the split's health.
    capsys.readouterr()
    report = tmp_path / "ab.json"
    args = ["experiments", "report", "ab", "--events", str(out), "--out", str(report), *where]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Experiment ab" in printed and "Sample ratio" in printed
    saved = json.loads(report.read_text())
    units = {a["arm"]: a["units"] for a in saved["arms"]}
    assert sum(units.values()) == 40 and saved["sample_ratio"]["mismatch"] is False
    clicks = {a["arm"]: a["click_rate"] * a["units"] for a in saved["arms"]}
    assert {k: round(v) for k, v in clicks.items()} == {
        arm: clicked_arms.count(arm) for arm in ("A", "B")
    }


def test_the_report_writes_markdown_and_html(tmp_path: Path) -> None:
    report = experiment_report(_units({"A": 50, "B": 50}, {"A": 0.2, "B": 0.3}), AB)
    md = write_experiment_report(report, tmp_path / "r.md").read_text()
    assert md.startswith("# Experiment ab") and "| arm | version |" in md and "Sample ratio" in md
    html = write_experiment_report(report, tmp_path / "r.html").read_text()
    assert "<table" in html and "Against the control" in html
    with pytest.raises(Exception, match="write .json, .md or .html"):
        write_experiment_report(report, tmp_path / "r.txt")


def test_a_report_with_no_unit_yet_says_so_instead_of_nan(tmp_path: Path) -> None:
    # An experiment just started: events arrive, but no impression echoes it yet.
    report = experiment_report(
        _frame([{"event_type": "view", "customer_id": "c1", "item_id": "i1"}]), AB
    )
    assert report.arms["units"].sum() == 0
    md = write_experiment_report(report, tmp_path / "r.md").read_text()
    html = write_experiment_report(report, tmp_path / "r.html").read_text()
    assert report.tests["p_value"].isna().all()  # nothing was tested: no p = 1
    for text in (md, html):
        assert "nan" not in text.lower()
        assert "no unit has seen the experiment yet" in text
    saved = json.loads(write_experiment_report(report, tmp_path / "r.json").read_text())
    assert saved["sample_ratio"]["p_value"] is None  # JSON null, never NaN


def test_experiment_commands_refuse_unknown_names_and_versions_with_exit_2(
    publish_shop: Publisher, redis_url: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_shop("v1")
    where = ["--redis", redis_url, "--namespace", namespace]
    capsys.readouterr()
    assert main(["experiments", "start", "x", "--versions", "v1:50,v9:50", *where]) == 2
    err = capsys.readouterr().err
    assert "v9" in err and "not published" in err and err.count("\n") == 1
    assert main(["experiments", "stop", "nobody", *where]) == 2
    assert "does not exist" in capsys.readouterr().err
    # An A/A test (one version in both arms) is allowed; a name is never reused.
    assert main(["experiments", "start", "x", "--versions", "v1:50,v1:50", *where]) == 0
    capsys.readouterr()
    assert main(["experiments", "start", "x", "--versions", "v1:50,v1:50", *where]) == 2
    assert "exists already" in capsys.readouterr().err
