"""A bundle trained once for the training tests."""

import pytest

from recsys.artifacts import ArtifactOptions
from recsys.config import Config
from training.train import TrainOptions, run_training

CANDIDATES = ("popular", "itemknn", "repeat", "blend")
FAST_BLEND = {
    "blend": {
        "components": [
            {"model": "repeat", "weight": 1.0},
            {"model": "itemknn", "weight": 0.5},
        ]
    }
}


@pytest.fixture(scope="session")
def trained(shop_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles")
    return run_training(
        TrainOptions(
            events=shop_dir / "events.parquet",
            out_dir=out,
            items=shop_dir / "items.csv",
            customers=shop_dir / "customers.csv",
            candidates=CANDIDATES,
            artifacts=ArtifactOptions(top_n=20),
        ),
        config=Config(models=FAST_BLEND),
    )
