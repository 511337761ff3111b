"""``recsys train`` is reproducible: the same data gives the same model, parameters and weights.

Tuning is count-limited (fixed grids, a bounded ascent, seeded samples), so two default runs
on the same files choose the same model with the same hyperparameters and blend weights,
whatever the machine's load; only timings may differ.
"""

from __future__ import annotations

from recsys.artifacts import ArtifactOptions
from recsys.config import Config
from recsys.data.synthetic.shop import generate_shop
from training.train import TrainOptions, run_training


def test_two_default_runs_ship_the_same_model(tmp_path):
    files = generate_shop(customers=400, items=150, days=120, seed=3).write(tmp_path / "shop")
    manifests = []
    for run in ("first", "second"):
        result = run_training(
            TrainOptions(
                events=files["events"],
                out_dir=tmp_path / run,
                segments=False,
                artifacts=ArtifactOptions(top_n=10),
            ),
            config=Config(),
        )
        manifests.append(result.manifest)
    first, second = manifests
    assert first.chosen_model == second.chosen_model
    assert first.model_params == second.model_params
    assert first.data_fingerprint == second.data_fingerprint
    # the tuning notes (chosen parameters, blend weights) match; only the seconds may not
    tuned = [[n.split(" (")[0] for n in m.notes if n.startswith("tuned")] for m in manifests]
    assert tuned[0] and tuned[0] == tuned[1]
    assert not any("time backstop" in n for n in first.notes)
    metrics = [
        [{k: v for k, v in row.items() if k != "fit_time_s"} for row in m.metrics]
        for m in manifests
    ]
    assert metrics[0] == metrics[1]
    if first.chosen_model == "blend":
        assert first.model_params["components"] == second.model_params["components"]
