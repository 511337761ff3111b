"""One CLI framework: shared option declarations, one error style, one yes/no vocabulary."""

from typing import Annotated

import pytest
import typer
from pydantic import TypeAdapter, ValidationError

from recsys.booleans import FALSE_WORDS, TRUE_WORDS, parse_bool
from recsys.cli_options import new_app, run_app
from serving.__main__ import parse_args as serving_args
from training.cli import main as recsys_main
from training.demo import main as demo_main

WORDS = sorted(TRUE_WORDS | FALSE_WORDS)
TRAIN = ["train", "--events", "e.csv", "--out", "o"]


@pytest.mark.parametrize("word", WORDS)
def test_every_word_reads_the_same_in_pydantic_typer_and_recsys(word, monkeypatch):
    expected = word in TRUE_WORDS
    for shown in (word, word.upper(), word.title()):
        assert parse_bool(shown) is expected
    assert TypeAdapter(bool).validate_python(word) is expected  # settings, config files

    app = new_app("t", "flag from the environment")

    @app.command()
    def show(flag: Annotated[bool, typer.Option(envvar="T_FLAG")] = not expected) -> bool:
        return flag

    monkeypatch.setenv("T_FLAG", word)
    assert run_app(app, []) is expected


@pytest.mark.parametrize("word", ["maybe", "", "2", "yess", "oui", " true"])
def test_other_words_are_refused_by_all(word):
    with pytest.raises(ValueError, match="true/false, 1/0, yes/no, on/off"):
        parse_bool(word)
    with pytest.raises(ValidationError):
        TypeAdapter(bool).validate_python(word)


@pytest.mark.parametrize(
    ("run", "argv", "option"),
    [
        (recsys_main, ["serve", "--port", "70000"], "--port"),
        (recsys_main, ["serve", "--workers", "0"], "--workers"),
        (demo_main, ["--port", "x"], "--port"),
        (recsys_main, [*TRAIN, "--k", "0"], "--k"),
        (recsys_main, [*TRAIN, "--test-days", "0"], "--test-days"),
        (recsys_main, ["evaluate", "--events", "e.csv", "--k", "0"], "--k"),
        (recsys_main, [*TRAIN, "--metric", "auc"], "--metric"),
    ],
)
def test_shared_options_refuse_out_of_range_values_in_one_line(run, argv, option, capsys):
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and option in err
    assert "Traceback" not in err


def test_serving_reads_the_shared_options():
    opts = serving_args(["--redis", "redis://h:1/0", "--port", "9000", "--no-access-log"])
    assert (opts.redis_url, opts.port, opts.access_log) == ("redis://h:1/0", 9000, False)
    assert serving_args(["--redis-url", "redis://h:2/0"]).redis_url == "redis://h:2/0"


def test_the_demo_refuses_a_taken_port_before_doing_anything(tmp_path):
    import socket
    import subprocess
    import sys

    # As `make demo` runs it (`python -m training.demo`), not imported: the module's own
    # `__main__` path is what a newcomer runs.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "training.demo", "--dir", str(tmp_path / "demo"),
             "--port", str(port)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    code, err = done.returncode, done.stderr
    assert code == 2, err
    assert err.startswith("error: cannot serve on 127.0.0.1:") and err.count("\n") == 1, err
    assert "make demo PORT=" in err
    assert not (tmp_path / "demo").exists()  # nothing generated, trained or published
