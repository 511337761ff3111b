"""``recsys uplift fit|assign`` in-process: outputs, rejects, one-line errors."""

import json

import numpy as np
import pandas as pd

from training.cli import main


def _history(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    young = rng.random(n) < 0.5
    arm = rng.choice(["none", "mail"], n)
    p = 0.1 + np.where((arm == "mail") & young, 0.3, 0.0)
    return pd.DataFrame(
        {
            "cid": [f"c{i}" for i in range(n)],
            "young": young.astype(int),
            "spend": rng.gamma(2.0, 50.0, n).round(2),
            "arm": arm,
            "bought": (rng.random(n) < p).astype(int),
        }
    )


def _fit(tmp_path, capsys, history, *extra):
    path = tmp_path / "history.csv"
    history.to_csv(path, index=False)
    args = ["uplift", "fit", "--quiet", "--history", path, "--treatment-col", "arm"]
    args += ["--control", "none", "--outcome", "bought", "--out", tmp_path / "model", *extra]
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_fit_then_assign_targets_the_responsive_half(tmp_path, capsys):
    history = _history(3000).astype({"bought": object})
    history.loc[[5, 17], "arm"] = ""
    history.loc[[40], "bought"] = "yes"
    code, err = _fit(tmp_path, capsys, history, "--id-col", "cid", "--features", "young,spend")
    assert code == 0, err
    rejects = pd.read_csv(tmp_path / "model" / "rejects.csv")
    assert rejects["source_row"].tolist() == [5, 17, 40]
    assert rejects["reject_reason"].tolist() == ["missing_treatment"] * 2 + ["bad_outcome"]
    report = json.loads((tmp_path / "model" / "report.json").read_text())
    assert report["rows"] == {"read": 3000, "accepted": 2997, "rejected": 3}
    held = report["holdout"]
    assert held["uplift_policy"]["value"] > held["random_best_arm_policy"]
    assert report["policy_check"]["fallback"] is False

    customers = _history(1000, seed=1).drop(columns=["arm", "bought"])
    out = tmp_path / "assign.parquet"
    code = main(
        [
            "uplift",
            "assign",
            "-q",
            "--model",
            str(tmp_path / "model"),
            "--customers",
            str(_write(customers, tmp_path / "c.csv")),
            "--id-col",
            "cid",
            "--budget",
            "0.4",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result = pd.read_parquet(out)
    assert result.columns.tolist() == ["customer_id", "arm", "expected_uplift"]
    assert result["customer_id"].tolist() == customers["cid"].tolist()
    mailed = result["arm"] == "mail"
    assert mailed.sum() <= 400 and set(result["arm"]) == {"mail", "none"}
    assert (result.loc[~mailed, "expected_uplift"] == 0).all()
    assert customers.loc[mailed.to_numpy(), "young"].mean() > 0.95


def test_assign_without_an_id_column_uses_row_numbers(tmp_path, capsys):
    assert _fit(tmp_path, capsys, _history(1500), "--features", "young,spend")[0] == 0
    customers = _history(50, seed=2)[["young", "spend"]]
    out = tmp_path / "a.csv"
    code = main(
        [
            "uplift",
            "assign",
            "-q",
            "--model",
            str(tmp_path / "model"),
            "--customers",
            str(_write(customers, tmp_path / "c.csv")),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert pd.read_csv(out)["customer_id"].tolist() == list(range(50))


def test_errors_are_one_line_exit_2(tmp_path, capsys):
    code, err = _fit(tmp_path, capsys, _history(300).drop(columns="arm"))
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1 and "'arm'" in err
    code, err = _fit(tmp_path, capsys, _history(300).assign(arm="none"))
    assert code == 2 and "only the control value" in err and err.count("\n") == 1
    code = main(
        [
            "uplift",
            "assign",
            "--model",
            str(tmp_path / "nothing"),
            "--customers",
            str(tmp_path / "x.csv"),
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1


def _write(frame: pd.DataFrame, path):
    frame.to_csv(path, index=False)
    return path


def test_assign_names_the_missing_features_and_the_columns_found(tmp_path, capsys):
    assert _fit(tmp_path, capsys, _history(1500), "--features", "young,spend")[0] == 0
    customers = _history(20, seed=3)[["cid", "young"]].rename(columns={"young": "is_young"})
    args = ["uplift", "assign", "-q", "--model", tmp_path / "model"]
    args += ["--customers", _write(customers, tmp_path / "c.csv"), "--out", tmp_path / "o.csv"]
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "['young', 'spend']" in err or "['spend', 'young']" in err
    assert "columns: cid, is_young" in err and "the model needs:" in err
