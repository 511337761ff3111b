"""The tuned grids: recent's lighter view weight is a grid point, chosen where it helps."""

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.evaluation import temporal_split
from recsys.evaluation.hyperparams import GRIDS, Budget, tune_model
from recsys.evaluation.validation import validation_window


def cart_then_buy_shop(n_customers: int = 300, n_items: int = 300, seed: int = 2) -> pd.DataFrame:
    """Every customer views many items (some several times) and carts a few; purchases are
    only ever of carted items, a day or two later. Repeated views predict nothing."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-03-01")
    rows = []
    for c in range(n_customers):
        for _ in range(12):
            item, day = int(rng.integers(n_items)), float(rng.uniform(0, 18))
            for v in range(int(rng.integers(1, 5))):
                rows.append((f"c{c}", f"i{item}", C.VIEW, start + pd.Timedelta(days=day + v / 24)))
        for _ in range(3):
            item, day = int(rng.integers(n_items)), float(rng.uniform(0, 18))
            t = start + pd.Timedelta(days=day)
            rows.append((f"c{c}", f"i{item}", C.VIEW, t))
            rows.append((f"c{c}", f"i{item}", C.ADD_TO_CART, t + pd.Timedelta(minutes=1)))
            if rng.random() < 0.5:
                later = t + pd.Timedelta(days=float(rng.uniform(0.5, 2)))
                rows.append((f"c{c}", f"i{item}", C.PURCHASE, later))
    return pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE, C.TIMESTAMP])


def test_recent_grid_offers_a_lighter_view_weight():
    factors = {p.get("view_factor", 1.0) for p in GRIDS["recent"]}
    assert factors == {1.0, 0.25} and GRIDS["recent"][0] == {"half_life_days": 14.0}


def test_the_lighter_view_weight_wins_where_only_carts_predict_purchases():
    split = temporal_split(cart_then_buy_shop(), test_days=3)
    window = validation_window(split.train, test_days=3, protocols=("new_items",))
    assert window is not None
    tuned = tune_model("recent", window, k=10, metric="ndcg", budget=Budget(), notes=[])
    assert tuned.params in GRIDS["recent"] and tuned.params.get("view_factor") == 0.25
    assert tuned.n_fits == len(GRIDS["recent"])
