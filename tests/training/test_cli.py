"""The ``recsys`` command line, run in-process: exit codes, one-line errors, outputs."""

import numpy as np
import pandas as pd

from training.cli import main


def _events(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 120 * 24, n), "h")
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 150, n).astype(str),
            "item_id": rng.integers(0, 60, n).astype(str),
            "timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"),
        }
    )


def _run(capsys, *args):
    code = main(["evaluate", "--quiet", "--models", "popular,repeat", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_missing_column_exits_2_naming_it(tmp_path, capsys):
    path = tmp_path / "ev.csv"
    _events(50).drop(columns="item_id").to_csv(path, index=False)
    code, _, err = _run(capsys, "--events", path, "--out", tmp_path / "r")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error:")
    assert "item_id" in err and "customer_id" in err and "Traceback" not in err


def test_ten_percent_bad_timestamps_continue_and_rejects_hold_exactly_those_rows(tmp_path, capsys):
    ev = _events(2000)
    bad = np.arange(0, 2000, 10)
    ev.loc[bad, "timestamp"] = "not a date"
    path = tmp_path / "ev.csv"
    ev.to_csv(path, index=False)
    code, out, _ = _run(capsys, "--events", path, "--out", tmp_path / "r")
    assert code == 0
    assert "| popular |" in out and "| repeat |" in out
    rejects = pd.read_csv(tmp_path / "r" / "rejects.csv")
    assert sorted(rejects["source_row"]) == bad.tolist()
    assert set(rejects["reject_reason"]) == {"bad_timestamp"}
    assert (tmp_path / "r" / "evaluation.csv").exists()
    assert "ndcg@10" in (tmp_path / "r" / "evaluation.md").read_text()


def test_sixty_percent_bad_rows_stop_with_the_rate(tmp_path, capsys):
    ev = _events(1000)
    ev.loc[:599, "customer_id"] = ""
    path = tmp_path / "ev.csv"
    ev.to_csv(path, index=False)
    code, _, err = _run(capsys, "--events", path, "--out", tmp_path / "r")
    assert code == 2
    assert "60" in err and "missing_customer_id" in err and err.count("\n") == 1


def test_empty_file_stops_clearly(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("customer_id,item_id,timestamp\n")
    code, _, err = _run(capsys, "--events", path, "--out", tmp_path / "r")
    assert code == 2
    assert "empty" in err.lower() or "no rows" in err.lower()


def test_unreadable_file_stops_clearly(tmp_path, capsys):
    code, _, err = _run(capsys, "--events", tmp_path / "missing.parquet", "--out", tmp_path / "r")
    assert code == 2 and "missing.parquet" in err


def test_generate_then_evaluate_all_default_models(tmp_path, capsys):
    shop = tmp_path / "shop"
    assert (
        main(
            [
                "generate",
                "--quiet",
                "--out",
                str(shop),
                "--customers",
                "300",
                "--items",
                "80",
                "--days",
                "90",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    capsys.readouterr()
    code = main(
        [
            "evaluate",
            "--quiet",
            "--events",
            str(shop / "events.parquet"),
            "--items",
            str(shop / "items.csv"),
            "--out",
            str(tmp_path / "r"),
            "--k",
            "5",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    table = pd.read_csv(tmp_path / "r" / "evaluation.csv")
    assert set(table["protocol"]) == {"new_items", "all_purchases"}
    assert {"popular", "als", "ease", "repeat", "bm25"} <= set(table["model"])
    assert "## Protocol `new_items`" in out and "precision@5" in out


def test_bad_option_is_a_usage_error_not_a_traceback(capsys):
    code = main(["evaluate", "--events"])
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err
