import numpy as np
import pandas as pd
import pytest

from recsys.data.dataset import build_dataset
from recsys.errors import ConfigError
from recsys.models import load_model, make_model
from recsys.models.blend import minmax_rows


@pytest.fixture(scope="module")
def dataset():
    rng = np.random.default_rng(0)
    n = 400
    ev = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 40, n).astype(str),
            "item_id": rng.integers(0, 30, n).astype(str),
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
        }
    )
    return build_dataset(ev)


def testminmax_rows_ignores_masked_entries():
    scores = np.array([[1.0, 3.0, -np.inf], [2.0, 2.0, 2.0]], dtype=np.float32)
    out = minmax_rows(scores)
    assert out.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]


def test_scores_are_the_weighted_sum_of_normalised_components(dataset):
    blend = make_model(
        "blend",
        components=[{"model": "popular", "weight": 2.0}, {"model": "repeat", "weight": 0.5}],
    ).fit(dataset)
    rows = np.arange(5)
    pop, rep = blend.models_
    expected = 2.0 * minmax_rows(pop._score(rows)) + 0.5 * minmax_rows(rep._score(rows))
    np.testing.assert_allclose(blend._score(rows), expected, rtol=1e-6)


def test_optional_component_is_skipped_when_it_cannot_fit(dataset, tmp_path):
    comps = [
        {"model": "repeat", "weight": 1.0},
        {"model": "ease", "weight": 0.5, "params": {"max_items": 10}, "optional": True},
    ]
    blend = make_model("blend", components=comps).fit(dataset)
    assert [m.name for m in blend.models_] == ["repeat"]
    assert "ease" in blend.skipped_[0] and "max_items" in blend.skipped_[0]
    again = load_model(blend.save(tmp_path / "blend.npz"))
    pd.testing.assert_frame_equal(
        again.recommend(["1", "2"], k=5), blend.recommend(["1", "2"], k=5)
    )


def test_required_component_failure_stops_the_fit(dataset):
    comps = [{"model": "ease", "params": {"max_items": 10}}]
    with pytest.raises(ConfigError, match="max_items|catalog"):
        make_model("blend", components=comps).fit(dataset)


def test_invalid_components_are_clear_errors(dataset):
    with pytest.raises(ConfigError, match="not a registered model"):
        make_model("blend", components=[{"model": "nope"}]).fit(dataset)
    with pytest.raises(ConfigError, match="weight must be > 0"):
        make_model("blend", components=[{"model": "popular", "weight": 0}]).fit(dataset)
