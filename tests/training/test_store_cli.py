"""publish / versions / rollback through the ``recsys`` command, against real Redis."""

import pandas as pd
import pytest

from recsys.artifacts import ArtifactOptions
from recsys.config import Config
from recsys.store.versions import active_version, list_versions
from training.cli import main
from training.train import TrainOptions, run_training


@pytest.fixture(scope="module")
def bundles(shop_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles")
    made = []
    for top_n in (5, 7, 9):  # three distinct versions (the config is part of the fingerprint)
        cfg = Config(evaluation={"k": top_n})
        made.append(
            run_training(
                TrainOptions(
                    events=shop_dir / "events.parquet",
                    out_dir=out,
                    candidates=("popular",),
                    skip_evaluation=True,
                    artifacts=ArtifactOptions(top_n=top_n),
                ),
                config=cfg,
            )
        )
    assert len({b.version for b in made}) == 3
    return made


def _cli(capsys, *args):
    code = main(list(map(str, args)))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_publish_versions_rollback_and_keep(bundles, redis_url, redis_client, namespace, capsys):
    common = ["--redis", redis_url, "--namespace", namespace]
    for b in bundles[:2]:
        code, out, err = _cli(capsys, "publish", b.bundle_dir, *common, "--quiet")
        assert code == 0, err
        assert out.strip() == b.version
    assert active_version(redis_client, namespace) == bundles[1].version

    code, out, _ = _cli(capsys, "versions", *common)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("* " + bundles[1].version)
    assert lines[1].startswith("  " + bundles[0].version)

    code, out, _ = _cli(capsys, "rollback", bundles[0].version, *common)
    assert code == 0 and bundles[0].version in out
    assert active_version(redis_client, namespace) == bundles[0].version

    # A third publish with keep=2 prunes the oldest version that is not active.
    code, _, err = _cli(capsys, "publish", bundles[2].bundle_dir, *common, "--quiet", "--keep", "2")
    assert code == 0, err
    kept = [v.version for v in list_versions(redis_client, namespace)]
    assert bundles[2].version in kept and len(kept) == 2


def test_rollback_to_an_unknown_version_is_a_clear_error(redis_url, namespace, capsys):
    code, _, err = _cli(
        capsys, "rollback", "nope-123", "--redis", redis_url, "--namespace", namespace
    )
    assert code == 2  # the caller's mistake, not the store's failure
    assert "nope-123" in err and err.count("\n") == 1


def test_publish_of_a_non_bundle_is_a_clear_error(tmp_path, redis_url, namespace, capsys):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "x.parquet")
    code, _, err = _cli(
        capsys, "publish", tmp_path, "--redis", redis_url, "--namespace", namespace, "--quiet"
    )
    assert code == 2
    assert "manifest.json" in err


def test_unreachable_redis_is_a_clear_error(capsys):
    code, _, err = _cli(capsys, "versions", "--redis", "redis://127.0.0.1:1/0")
    assert code == 4 and "127.0.0.1:1" in err
