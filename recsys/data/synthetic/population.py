"""The customers: taste groups, price sensitivity, repeat habit, activity, sign-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

_COUNTRIES: Final = np.array(["GB", "DE", "FR", "NL", "ES", "IT", "IE", "BE", "US", "SE"])
_COUNTRY_WEIGHTS: Final = np.array([40, 14, 11, 8, 7, 6, 5, 4, 3, 2], dtype=float)
_EXISTING_SHARE: Final = 0.6  # customers who signed up before the period
_TASTE_BETA: Final = (12.0, 1.5)  # Beta law of a customer's share of sessions in group taste


def _group_categories(n_groups: int, n_cat: int, rng: np.random.Generator) -> list[list[int]]:
    """2-3 preferred categories per group, covering every category when slots allow."""
    sizes = rng.choice([2, 3], size=n_groups)
    order, pos = rng.permutation(n_cat), 0
    groups: list[list[int]] = []
    for size in sizes.tolist():
        chosen: list[int] = []
        while len(chosen) < min(size, n_cat):
            cat = int(order[pos])
            pos += 1
            if pos == n_cat:
                order, pos = rng.permutation(n_cat), 0
            if cat not in chosen:
                chosen.append(cat)
        groups.append(chosen)
    return groups


@dataclass(frozen=True)
class Population:
    """Per-customer arrays plus the taste groups."""

    group: np.ndarray
    taste: np.ndarray  # share of sessions spent in the group's categories
    sensitivity: np.ndarray
    habit: np.ndarray
    activity: np.ndarray  # relative session rate, mean ~1
    existing: np.ndarray  # signed up before the period
    signup_day: np.ndarray
    country: np.ndarray
    email_opt_in: np.ndarray
    group_categories: list[list[int]]
    preference: np.ndarray  # groups x categories, rows sum to 1
    shop_mix: np.ndarray  # categories, the untargeted share


def make_population(
    n_cust: int,
    n_groups: int,
    n_cat: int,
    n_days: int,
    habit_share: float,
    rng: np.random.Generator,
) -> Population:
    group_cats = _group_categories(n_groups, n_cat, rng)
    preference = np.zeros((n_groups, n_cat))
    for g, cs in enumerate(group_cats):
        preference[g, cs] = rng.dirichlet(np.full(len(cs), 4.0))
    existing = rng.random(n_cust) < _EXISTING_SHARE
    weights = _COUNTRY_WEIGHTS / _COUNTRY_WEIGHTS.sum()
    return Population(
        group=rng.integers(n_groups, size=n_cust),
        taste=rng.beta(*_TASTE_BETA, n_cust),
        sensitivity=np.round(rng.beta(2.0, 2.0, n_cust), 3),
        habit=rng.random(n_cust) < habit_share,
        activity=rng.lognormal(-0.32, 0.8, n_cust),
        existing=existing,
        signup_day=np.where(
            existing, -rng.integers(1, 1096, n_cust), rng.integers(0, n_days, n_cust)
        ),
        country=_COUNTRIES[rng.choice(len(_COUNTRIES), size=n_cust, p=weights)],
        email_opt_in=rng.random(n_cust) < 0.62,
        group_categories=group_cats,
        preference=preference,
        shop_mix=rng.dirichlet(np.full(n_cat, 10.0)),
    )
