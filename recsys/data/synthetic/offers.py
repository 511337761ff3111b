"""The offer catalog of a generated shop, in the format ``recsys offers --catalog`` reads."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

#: Columns of the generated offer catalog: the format ``recsys offers --catalog`` reads
#: (recsys.offers.catalog; list fields joined with ``|``).
OFFER_COLUMNS: Final = (
    "offer_id",
    "name",
    "kind",
    "value",
    "cost_model",
    "cost",
    "margin",
    "start",
    "end",
    "channels",
    "segments",
    "churn_bands",
    "categories",
    "min_basket",
    "cap_per_customer",
    "budget",
    "budget_unit",
    "priority",
    "fallback",
)
OFFER_KINDS: Final = ("percent_off", "amount_off", "free_shipping", "gift", "points_multiplier")


def make_offers(
    t0: pd.Timestamp, n_days: int, categories: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Ten plausible offers in the offer-catalog format: category and site-wide discounts,
    free shipping, a gift, loyalty points, aimed at RFM segments and churn bands, with
    budgets, and one fallback offer for customers nothing else suits.

    Most run for 2-8 weeks inside the period; four are running at its end (the "now" of the
    data) and last beyond it, so the current offers are never empty.
    """
    picks = rng.choice(len(categories), size=min(4, len(categories)), replace=False).tolist()
    cat = [categories[i] for i in picks]
    cat += [cat[0]] * (4 - len(cat))
    # kind, value, cost model, cost, channels, segments, churn bands, category, min basket,
    # budget, budget unit, priority, fallback, name
    specs = [
        (
            "percent_off",
            10,
            "basket_share",
            0.10,
            "web|email",
            "",
            "",
            "",
            50.0,
            5000.0,
            "money",
            1.0,
            False,
            "10% off orders over 50",
        ),
        (
            "percent_off",
            20,
            "basket_share",
            0.20,
            "web|email",
            "",
            "",
            cat[0],
            0.0,
            3000.0,
            "money",
            1.0,
            False,
            f"20% off {cat[0]}",
        ),
        (
            "amount_off",
            5,
            "fixed",
            5.0,
            "email",
            "At Risk|Can't Lose Them|About To Sleep",
            "high|medium",
            "",
            20.0,
            400.0,
            "redemptions",
            2.0,
            False,
            "5 off: we miss you",
        ),
        (
            "free_shipping",
            4.5,
            "fixed",
            4.5,
            "web|app",
            "",
            "",
            "",
            25.0,
            800.0,
            "redemptions",
            1.0,
            True,
            "Free shipping over 25",
        ),
        (
            "percent_off",
            15,
            "basket_share",
            0.15,
            "email",
            "Champions|Loyal Customers",
            "",
            cat[1],
            0.0,
            2000.0,
            "money",
            1.5,
            False,
            f"15% off {cat[1]} for our best customers",
        ),
        (
            "gift",
            8,
            "fixed",
            3.0,
            "web|email",
            "New Customers|Promising",
            "",
            "",
            30.0,
            300.0,
            "redemptions",
            1.0,
            False,
            "A gift with your second order",
        ),
        (
            "points_multiplier",
            2,
            "basket_share",
            0.02,
            "app|web",
            "",
            "",
            "",
            0.0,
            None,
            "money",
            0.5,
            False,
            "Double loyalty points",
        ),
        (
            "percent_off",
            25,
            "basket_share",
            0.25,
            "web",
            "",
            "",
            cat[2],
            30.0,
            1500.0,
            "money",
            1.0,
            False,
            f"25% off {cat[2]} over 30",
        ),
        (
            "amount_off",
            10,
            "fixed",
            10.0,
            "email",
            "Hibernating|Lost",
            "high",
            "",
            40.0,
            200.0,
            "redemptions",
            1.0,
            False,
            "10 off to come back",
        ),
        (
            "percent_off",
            40,
            "basket_share",
            0.40,
            "web|email",
            "",
            "",
            cat[3],
            20.0,
            1000.0,
            "money",
            0.8,
            False,
            f"Clearance: 40% off {cat[3]}",
        ),
    ]
    n = len(specs)
    starts = rng.integers(0, max(n_days - 14, 1), n)
    ends = starts + rng.integers(14, 57, n)
    current = np.array([0, 2, 3, 4])
    starts[current] = np.maximum(n_days - rng.integers(10, 40, len(current)), 0)
    ends[current] = n_days + rng.integers(14, 60, len(current))
    columns = list(zip(*specs, strict=True))
    return pd.DataFrame(
        {
            "offer_id": [f"OF{i + 1:02d}" for i in range(n)],
            "name": list(columns[13]),
            "kind": list(columns[0]),
            "value": np.array(columns[1], dtype=np.float64),
            "cost_model": list(columns[2]),
            "cost": np.array(columns[3], dtype=np.float64),
            "margin": 0.3,
            "start": (t0 + pd.to_timedelta(starts, unit="D")).strftime("%Y-%m-%dT%H:%M:%S"),
            "end": (t0 + pd.to_timedelta(ends, unit="D")).strftime("%Y-%m-%dT%H:%M:%S"),
            "channels": list(columns[4]),
            "segments": list(columns[5]),
            "churn_bands": list(columns[6]),
            "categories": list(columns[7]),
            "min_basket": np.array(columns[8], dtype=np.float64),
            "cap_per_customer": 1,
            "budget": pd.array(columns[9], dtype="Float64"),
            "budget_unit": list(columns[10]),
            "priority": np.array(columns[11], dtype=np.float64),
            "fallback": list(columns[12]),
        }
    )[list(OFFER_COLUMNS)]
