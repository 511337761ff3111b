"""A generated Hillstrom-like e-mail experiment with a known uplift per customer.

Columns as in Kevin Hillstrom's MineThatData challenge (``recency``, ``history``, ``mens``,
``womens``, ``zip_code``, ``newbie``, ``channel``, ``segment``, ``visit``), arms assigned at
random in equal thirds. The planted truth: the men's e-mail lifts visits of customers who bought
men's merchandise (+15 points, +2 otherwise), the women's e-mail those who bought women's
(+10 points, +1 otherwise), both fading with recency; big spenders (``history`` > 350) visit
often anyway and no e-mail changes that ("sure things": a response model mails them first).
``true_uplift`` returns the planted effects so that a policy's real value can be computed, not
only estimated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTROL = "No E-Mail"
ARMS = ("Mens E-Mail", "Womens E-Mail")
FEATURES = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]


def _baseline(frame: pd.DataFrame) -> np.ndarray:
    logit = -2.2 - 0.05 * frame["recency"] + 2.5 * (frame["history"] > 350)
    return np.asarray(1 / (1 + np.exp(-logit)), dtype=float)


def true_uplift(frame: pd.DataFrame) -> pd.DataFrame:
    """Planted visit uplift per arm (columns :data:`ARMS`), probability points."""
    fade = np.asarray(1.2 - frame["recency"] / 12 * 0.6, dtype=float)
    fade = fade * (frame["history"] <= 350).to_numpy()
    mens = np.where(frame["mens"] == 1, 0.15, 0.02) * fade
    womens = np.where(frame["womens"] == 1, 0.10, 0.01) * fade
    return pd.DataFrame({ARMS[0]: mens, ARMS[1]: womens}, index=frame.index)


def visit_probability(frame: pd.DataFrame, arm: np.ndarray | pd.Series) -> np.ndarray:
    """True P(visit) of each row if it received ``arm``."""
    base = _baseline(frame)
    up = true_uplift(frame)
    arm = np.asarray(arm, dtype=object)
    lift = np.select([arm == ARMS[0], arm == ARMS[1]], [up[ARMS[0]], up[ARMS[1]]], 0.0)
    return np.clip(base + lift, 0, 1)


def email_experiment(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """``n`` customers, randomised arms, observed ``visit`` (0/1)."""
    rng = np.random.default_rng(seed)
    mens = (rng.random(n) < 0.55).astype(int)
    womens = np.where(mens == 1, rng.random(n) < 0.35, 1).astype(int)
    frame = pd.DataFrame(
        {
            "recency": rng.integers(1, 13, n),
            "history": np.round(rng.gamma(1.5, 160.0, n) + 29.99, 2),
            "mens": mens,
            "womens": womens,
            "zip_code": rng.choice(["Urban", "Surburban", "Rural"], n, p=[0.4, 0.45, 0.15]),
            "newbie": (rng.random(n) < 0.5).astype(int),
            "channel": rng.choice(["Web", "Phone", "Multichannel"], n, p=[0.44, 0.44, 0.12]),
            "segment": rng.choice([CONTROL, *ARMS], n),
        }
    )
    frame["visit"] = (rng.random(n) < visit_probability(frame, frame["segment"])).astype(int)
    return frame
