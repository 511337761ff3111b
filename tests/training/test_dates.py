"""Dates typed on the command line follow the events file's day/month rule (issue 8):
``--cutoff`` in the file's order, ``--as-of``/``--since`` deciding themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.cli import main


def _file(tmp_path: Path, day_first: bool) -> Path:
    rng = np.random.default_rng(0)
    rows = ["customer_id,item_id,timestamp"]
    for c in range(60):
        for d in range(1, 29):
            if rng.random() < 0.3:
                date = f"{d:02d}/02/2024" if day_first else f"2024-02-{d:02d}"
                rows.append(f"c{c},i{rng.integers(0, 30)},{date} 10:00")
    path = tmp_path / ("dayfirst.csv" if day_first else "iso.csv")
    path.write_text("\n".join(rows) + "\n")
    return path


def _evaluate(tmp_path: Path, events: Path, cutoff: str) -> list[str]:
    return ["evaluate", "--events", str(events), "--out", str(tmp_path / "out"),
            "--models", "popular,repeat", "--cutoff", cutoff]  # fmt: skip


def test_a_cutoff_is_read_in_the_files_day_month_order(tmp_path, capsys):
    events = _file(tmp_path, day_first=True)
    assert main(_evaluate(tmp_path, events, "20/02/2024")) == 0
    assert "Temporal split at 2024-02-20T00:00:00" in capsys.readouterr().out
    # 10/02/2024 is 10 February in a day-first file, not 2 October (past the data)
    assert main(_evaluate(tmp_path, events, "10/02/2024")) == 0
    assert "Temporal split at 2024-02-10T00:00:00" in capsys.readouterr().out


def test_an_ambiguous_cutoff_with_nothing_to_decide_is_refused(tmp_path, capsys):
    events = _file(tmp_path, day_first=False)
    assert main(_evaluate(tmp_path, events, "10/02/2024")) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1
    assert "--cutoff '10/02/2024'" in errors[0] and "ambiguous" in errors[0]


@pytest.mark.parametrize("command", [["report", "online"]])
def test_since_refuses_an_ambiguous_date(tmp_path, capsys, command):
    code = main([*command, "--events", str(tmp_path), "--since", "01/02/2024"])
    err = capsys.readouterr().err
    assert code == 2 and "--since '01/02/2024'" in err and "YYYY-MM-DD" in err
