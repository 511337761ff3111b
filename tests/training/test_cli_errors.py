"""``recsys train`` errors as a user meets them: one line, exit 2, files named that exist."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.cli import main


def _events(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24, n), "h")
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 150, n).astype(str),
            "item_id": rng.integers(0, 60, n).astype(str),
            "timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"),
        }
    )


def _train(capsys, *args) -> tuple[int, str, str]:
    code = main(["train", "--quiet", "--models", "popular,repeat", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line(err: str) -> None:
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_missing_events_file_is_one_line_exit_2(tmp_path, capsys):
    code, _, err = _train(capsys, "--events", tmp_path / "missing.csv", "--out", tmp_path / "o")
    assert code == 2
    _one_line(err)
    assert "missing.csv" in err and "no such file" in err
    assert not (tmp_path / "o").exists()


def test_a_directory_as_events_and_a_file_as_out_are_refused(tmp_path, capsys):
    code, _, err = _train(capsys, "--events", tmp_path, "--out", tmp_path / "o")
    assert code == 2 and "directory" in err
    _one_line(err)
    events = tmp_path / "ev.csv"
    _events().to_csv(events, index=False)
    code, _, err = _train(capsys, "--events", events, "--out", events)
    assert code == 2 and "is a file" in err
    _one_line(err)


def test_unknown_model_is_refused_before_any_work(tmp_path, capsys):
    events = tmp_path / "ev.csv"
    _events().to_csv(events, index=False)
    code = main(["train", "--quiet", "--events", str(events), "--out", str(tmp_path / "o"),
                 "--models", "popular,nope"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "'nope'" in err
    _one_line(err)


def test_a_rejects_file_named_in_an_error_exists_and_holds_the_rejected_rows(tmp_path, capsys):
    ev = _events()
    ev.loc[:599, "customer_id"] = ""
    path = tmp_path / "ev.csv"
    ev.to_csv(path, index=False)
    code, _, err = _train(capsys, "--events", path, "--out", tmp_path / "o")
    assert code == 2
    _one_line(err)
    named = re.search(r"rejected rows written to (\S+)", err)
    assert named, err
    rejects = pd.read_csv(Path(named.group(1)))
    assert sorted(rejects["source_row"]) == list(range(600))
    assert set(rejects["reject_reason"]) == {"missing_customer_id"}


def test_a_finished_run_keeps_its_rejects_in_the_bundle_not_beside_it(tmp_path, capsys):
    ev = _events()
    ev.loc[:9, "timestamp"] = "not a date"
    path = tmp_path / "ev.csv"
    ev.to_csv(path, index=False)
    code, out, _ = _train(capsys, "--events", path, "--out", tmp_path / "o", "--test-days", "20")
    assert code == 0
    bundle = Path(out.strip())
    assert len(pd.read_csv(bundle / "rejects.csv")) == 10
    assert not (tmp_path / "o" / "rejects.csv").exists()


def test_config_values_out_of_range_are_refused(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[evaluation]\nk = 0\n")
    events = tmp_path / "ev.csv"
    _events().to_csv(events, index=False)
    code, _, err = _train(capsys, "--events", events, "--out", tmp_path / "o", "--config", cfg)
    assert code == 2 and "evaluation.k" in err
    _one_line(err)


CASE = """customer_id,item_id,event_type,timestamp,quantity
A,P1,purchase,2024-01-01 10:00:00,1
A,P2,purchase,2024-01-02 10:00:00,1
B,P1,purchase,2024-01-03 10:00:00,1
B,P3,purchase,2024-01-04 10:00:00,1
C,P2,purchase,2024-01-05 10:00:00,1
C,P3,purchase,2024-01-06 10:00:00,1
D,P1,purchase,2024-01-07 10:00:00,1
D,P4,purchase,2024-01-08 10:00:00,1
E,P4,purchase,2024-01-09 10:00:00,1
E,P1,purchase,2024-01-10 10:00:00,1
Z,P2,purchase,2024-01-11 10:00:00,3
Z,P2,return,2024-01-12 10:00:00,3
"""


def test_empty_row_customer_case_ships_no_personal_list_for_any_model(tmp_path, capsys):
    """``../shared/cases/empty-row-customer``: Z bought P2 and returned it."""
    events = tmp_path / "minimal.csv"
    events.write_text(CASE)
    for model in ("ease", "als", "itemknn", "blend", "repeat", "popular"):
        code = main(["train", "--quiet", "--no-eval", "--models", model,
                     "--events", str(events), "--out", str(tmp_path / model)])  # fmt: skip
        assert code == 0, capsys.readouterr().err
        bundle = Path(capsys.readouterr().out.strip())
        recs = pd.read_parquet(bundle / "recommendations.parquet")
        assert set(recs["customer_id"]) == set("ABCDE"), model
        again = pd.read_parquet(bundle / "buy_again.parquet")
        assert "Z" not in set(again["customer_id"]), model


def test_train_takes_the_evaluation_options_of_evaluate(shop_dir, tmp_path, capsys):
    code = main(["train", "--quiet", "--events", str(shop_dir / "events.parquet"),
                 "--out", str(tmp_path), "--models", "popular,repeat,recent",
                 "--test-days", "20", "--k", "5", "--metric", "recall"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((Path(capsys.readouterr().out.strip()) / "manifest.json").read_text())
    assert manifest["selection_metric"] == "recall"
    assert manifest["config"]["evaluation"]["k"] == 5
    assert "the last 20 day(s)" in manifest["holdout_split"]
    assert set(manifest["holdout"]) == {"new_items", "all_purchases"}
    chosen = manifest["chosen_model"]
    rows = {(r["model"], r["protocol"]): r["recall"] for r in manifest["metrics"]}
    for protocol, figures in manifest["holdout"].items():
        assert figures["metrics"]["recall"] == rows[(chosen, protocol)]


@pytest.mark.parametrize("models", ["", ",", " , "])
def test_models_naming_nothing_is_refused(tmp_path, capsys, models):
    events = tmp_path / "ev.csv"
    _events().to_csv(events, index=False)
    args = ["train", "--events", str(events), "--out", str(tmp_path / "o"), "--models", models]
    assert main(args) == 2
    err = capsys.readouterr().err
    _one_line(err)
    assert "--models" in err and "names nothing" in err
    assert not (tmp_path / "o").exists()


def test_a_cutoff_nothing_uses_is_refused(tmp_path, capsys):
    events = tmp_path / "ev.csv"
    _events().to_csv(events, index=False)
    base = ["train", "--quiet", "--events", str(events), "--out", str(tmp_path / "o")]
    for extra in (["--models", "popular"], ["--no-eval"]):
        for cutoff in ("notadate", "2030-01-01"):
            assert main([*base, *extra, "--cutoff", cutoff]) == 2
            err = capsys.readouterr().err
            _one_line(err)
            assert f"--cutoff {cutoff} is not used: nothing is evaluated" in err
    assert not list((tmp_path / "o").glob("2*"))  # no bundle written
    # Refused before the events are read (a big file is not loaded for nothing).
    loud = [a for a in base if a != "--quiet"]
    assert main([*loud, "--no-eval", "--cutoff", "2030-01-01"]) == 2
    err = capsys.readouterr().err
    assert "is not used" in err and "Loading events" not in err
    # Evaluated, a cutoff that is not a date is refused too.
    assert main([*base, "--models", "popular,repeat", "--cutoff", "notadate"]) == 2
    assert "cutoff" in capsys.readouterr().err


def test_the_cli_runs_blas_single_threaded_without_a_warning(tmp_path):
    """A newcomer's shell sets no OPENBLAS_NUM_THREADS: the CLI limits the BLAS itself, so
    implicit's fits are not slowed down and no warning asks the user to fix the environment."""
    import os
    import subprocess
    import sys

    events = tmp_path / "ev.csv"
    _events().to_csv(events, index=False)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "training.cli", "train", "-q", "--events", str(events),
         "--out", str(tmp_path / "o"), "--models", "als", "--no-eval"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "threads" not in done.stderr, done.stderr
