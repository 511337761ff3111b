"""``recsys report``: a self-contained HTML page with every section, figure and CX table."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from recsys.customers.synthetic import generate_cx
from training.cli import main
from training.segments import run_segments

SECTIONS = {
    "summary",
    "cohort-retention",
    "repeat-churn",
    "clv",
    "rfm",
    "migration",
    "clusters",
    "churn-model",
    "recommender",
    "surveys",
    "tickets",
}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self.tables = 0
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id") or "")
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "table":
            self.tables += 1
        if tag in ("script", "link", "iframe") or (tag == "a" and a.get("href")):
            self.external.append(tag)


@pytest.fixture(scope="module")
def bundle(small_shop, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bundle")
    events = root / "events.parquet"
    small_shop.events.to_parquet(events, index=False)
    run_segments(events, out_dir=root / "prev", as_of="2024-04-15")
    run_segments(events, out_dir=root / "now", previous_dir=root / "prev")
    manifest = {
        "version": "v1",
        "chosen_model": "als",
        "metrics": [{"model": "als", "ndcg@10": 0.21}, {"model": "popular", "ndcg@10": 0.05}],
    }
    (root / "now" / "manifest.json").write_text(json.dumps(manifest))
    cx = generate_cx(
        small_shop.customers["customer_id"],
        small_shop.start,
        small_shop.end,
        surveys=1500,
        tickets=400,
        seed=1,
    )
    cx.write(root)
    return root


def test_report_structure(bundle: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cx" / "report.html"
    code = main(
        [
            "report",
            "--quiet",
            "--bundle",
            str(bundle / "now"),
            "--surveys",
            str(bundle / "surveys.csv"),
            "--tickets",
            str(bundle / "tickets.csv"),
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    page = _Page()
    page.feed(text)
    assert set(page.sections) == SECTIONS
    assert page.external == []  # self-contained: no scripts, stylesheets or links
    assert len(page.images) >= 9
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.tables >= 12
    assert "ndcg@10" in text and "Can't Lose Them" in text
    # Bad survey and ticket rows are rejected with reasons and counted on the page.
    rejects = pd.read_csv(out.with_name("report.surveys_rejects.csv"))
    assert set(rejects["reject_reason"]) == {
        "missing_customer_id",
        "bad_timestamp",
        "unknown_metric",
        "bad_score",
        "score_out_of_range",
    }
    assert f"{len(rejects)} surveys rows rejected" in text
    assert out.with_name("report.tickets_rejects.csv").exists()


def test_report_without_extras(bundle: Path, tmp_path: Path) -> None:
    from training.report import run_report

    rep = run_report(bundle / "prev", tmp_path / "r.html")
    text = (tmp_path / "r.html").read_text()
    assert "no previous version given" in text and "no manifest.json" in text
    assert rep.figures >= 6
    assert not any('id="surveys"' in s for s in rep.sections)


def test_report_errors(tmp_path: Path, capsys) -> None:
    code = main(["report", "--quiet", "--bundle", str(tmp_path), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "segments.parquet" in err and err.count("\n") == 1


# Counts the images the browser decoded (complete, with a real size) once the page has loaded.
_PROBE = """<script>window.addEventListener("load", () => {
  const im = [...document.images];
  const ok = im.filter((i) => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100);
  document.body.setAttribute("data-images", ok.length + "/" + im.length);
});</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
            capture_output=True,
            timeout=900,
            check=False,
        )
        if path := shutil.which("chromium"):
            return path
    pytest.skip("no chromium, and it could not be installed (apt-get install chromium)")


@pytest.mark.slow
def test_figures_render_in_headless_chromium(bundle: Path, tmp_path: Path) -> None:
    from training.report import run_report

    out = tmp_path / "report.html"
    rep = run_report(
        bundle / "now", out, surveys=bundle / "surveys.csv", tickets=bundle / "tickets.csv"
    )
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text().replace("</body>", _PROBE + "</body>"))
    res = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    found = re.search(r'data-images="(\d+)/(\d+)"', res.stdout)
    assert found, res.stderr[-2000:]
    assert int(found.group(1)) == int(found.group(2)) == rep.figures >= 9


def test_the_online_section_needs_an_events_export(bundle: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    args = ["report", "-q", "--bundle", str(bundle / "now"), "--out", str(tmp_path / "r.html")]
    assert main([*args, "--events", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "no Parquet file" in err and err.count("\n") == 1
