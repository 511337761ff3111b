"""The offers table: category and site-wide discounts, free shipping, bundles."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from recsys import columns as C

OFFER_ID: Final = "offer_id"
TITLE: Final = "title"
KIND: Final = "kind"
DISCOUNT_PCT: Final = "discount_pct"
CHANNELS: Final = "channels"
STARTS: Final = "starts"
ENDS: Final = "ends"
MIN_SPEND: Final = "min_spend"

OFFER_COLUMNS: Final = (
    OFFER_ID,
    TITLE,
    KIND,
    C.CATEGORY,
    DISCOUNT_PCT,
    CHANNELS,
    STARTS,
    ENDS,
    MIN_SPEND,
)
OFFER_KINDS: Final = ("percent_off", "free_shipping", "bundle")


def make_offers(
    t0: pd.Timestamp, n_days: int, categories: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Ten plausible offers: category and site-wide discounts, free shipping, bundles.

    Most run for 2-8 weeks inside the period; three are running at its end (the "now" of the
    data) and last beyond it, so the current offers are never empty.
    """
    picks = rng.choice(len(categories), size=min(6, len(categories)), replace=False).tolist()
    cat = [categories[i] for i in picks]
    cat += [cat[0]] * (6 - len(cat))
    specs = [  # kind, category, discount %, channels, min spend, title
        ("percent_off", "", 10, "web,email", 50.0, "10% off orders over 50"),
        ("percent_off", cat[0], 20, "web,email", 0.0, f"20% off {cat[0]}"),
        ("percent_off", cat[1], 15, "email", 0.0, f"15% off {cat[1]} for subscribers"),
        ("percent_off", cat[2], 25, "web", 30.0, f"25% off {cat[2]} over 30"),
        ("free_shipping", "", 5, "web,email", 25.0, "Free shipping over 25"),
        ("free_shipping", cat[3], 8, "web", 0.0, f"Free shipping on {cat[3]}"),
        ("bundle", cat[4], 30, "web", 0.0, f"{cat[4]}: buy 2, get the 3rd free"),
        ("bundle", cat[5], 15, "web,email", 0.0, f"{cat[5]} bundle: 2 for 15% less"),
        ("percent_off", "", 5, "email", 0.0, "Welcome back: 5% off"),
        ("percent_off", cat[0], 40, "web,email", 20.0, f"Clearance: 40% off {cat[0]}"),
    ]
    n = len(specs)
    starts = rng.integers(0, max(n_days - 14, 1), n)
    ends = starts + rng.integers(14, 57, n)
    current = np.array([0, 1, 4])
    starts[current] = np.maximum(n_days - rng.integers(10, 40, len(current)), 0)
    ends[current] = n_days + rng.integers(14, 60, len(current))
    return pd.DataFrame(
        {
            OFFER_ID: pd.array([f"OF{i + 1:02d}" for i in range(n)], dtype="str"),
            TITLE: pd.array([s[5] for s in specs], dtype="str"),
            KIND: pd.array([s[0] for s in specs], dtype="str"),
            C.CATEGORY: pd.array([s[1] for s in specs], dtype="str"),
            DISCOUNT_PCT: np.array([s[2] for s in specs], dtype=np.float64),
            CHANNELS: pd.array([s[3] for s in specs], dtype="str"),
            STARTS: t0 + pd.to_timedelta(starts, unit="D"),
            ENDS: t0 + pd.to_timedelta(ends, unit="D"),
            MIN_SPEND: np.array([s[4] for s in specs], dtype=np.float64),
        }
    )
