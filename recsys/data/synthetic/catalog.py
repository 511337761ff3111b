"""The catalogue: items grouped in categories, with Zipf appeal, prices, releases, cycles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np


@dataclass(frozen=True)
class Category:
    name: str
    median_price: float
    consumable_prob: float
    nouns: tuple[str, ...]


# Interleaved so that any prefix mixes consumable and durable departments; with the default
# 14 categories about 25% of the items are consumables.
CATEGORIES: Final = (
    Category("Coffee & Tea", 9.0, 0.65, ("Coffee Beans", "Ground Coffee", "Green Tea", "Pods")),
    Category("Electronics", 79.0, 0.0, ("Headphones", "Charger", "Speaker", "Smart Plug")),
    Category("Personal Care", 7.0, 0.55, ("Shampoo", "Toothpaste", "Shower Gel", "Deodorant")),
    Category("Books", 14.0, 0.0, ("Novel", "Cookbook", "Travel Guide", "Biography")),
    Category("Pet Supplies", 16.0, 0.5, ("Dog Food", "Cat Litter", "Pet Treats", "Chew Toy")),
    Category("Home Decor", 29.0, 0.0, ("Cushion", "Vase", "Wall Clock", "Candle Holder")),
    Category("Household Cleaning", 6.0, 0.6, ("Detergent", "Dish Tabs", "Sponges", "Spray")),
    Category("Kitchen", 24.0, 0.0, ("Frying Pan", "Knife Set", "Mixing Bowl", "Kettle")),
    Category("Snacks", 4.0, 0.45, ("Crisps", "Granola Bars", "Dark Chocolate", "Nut Mix")),
    Category("Toys & Games", 22.0, 0.0, ("Board Game", "Puzzle", "Building Set", "Plush Toy")),
    Category("Baby", 12.0, 0.45, ("Nappies", "Baby Wipes", "Baby Lotion", "Bibs")),
    Category("Sports & Outdoors", 35.0, 0.0, ("Yoga Mat", "Water Bottle", "Backpack", "Gloves")),
    Category("Beauty", 18.0, 0.25, ("Face Cream", "Lipstick", "Serum", "Nail Polish")),
    Category("Garden", 20.0, 0.1, ("Seeds", "Plant Food", "Pruner", "Planter")),
    Category("Stationery", 6.0, 0.2, ("Notebook", "Gel Pens", "Sticky Notes", "Planner")),
    Category("Fashion", 39.0, 0.0, ("T-Shirt", "Scarf", "Sneakers", "Belt")),
)
MAX_CATEGORIES: Final = len(CATEGORIES)
_ADJECTIVES: Final = (
    "Classic",
    "Organic",
    "Premium",
    "Everyday",
    "Eco",
    "Deluxe",
    "Compact",
    "Family",
    "Original",
    "Fresh",
    "Nordic",
    "Urban",
)
_PRICE_SIGMA: Final = 0.55  # lognormal spread of prices around the category median
_CONSUMABLE_ZIPF: Final = 0.5  # Zipf exponent of consumables' appeal (durables: 1)
CYCLE_RANGE: Final = (10, 35)  # range of the consumables' repurchase cycles


@dataclass(frozen=True)
class Catalog:
    """Per-item arrays (index = internal item number)."""

    category: np.ndarray
    consumable: np.ndarray
    appeal: np.ndarray  # within-category Zipf weight
    price: np.ndarray
    price_z: np.ndarray  # log price against the category median, in sigmas
    release_day: np.ndarray  # days from the start; negative: before the period
    cycle_days: np.ndarray  # 0 for durables
    in_stock: np.ndarray
    names: list[str]
    by_cat: np.ndarray  # item numbers grouped by category ...
    cat_start: np.ndarray  # ... category c is by_cat[cat_start[c]:cat_start[c + 1]]


def make_catalog(
    n_items: int, cats: tuple[Category, ...], n_days: int, rng: np.random.Generator
) -> Catalog:
    n_cat = len(cats)
    category = rng.permutation(np.arange(n_items) % n_cat)
    consumable = rng.random(n_items) < np.array([c.consumable_prob for c in cats])[category]
    by_cat = np.argsort(category, kind="stable")
    cat_start = np.searchsorted(category[by_cat], np.arange(n_cat + 1))
    rank = np.empty(n_items, dtype=np.int64)
    rank[by_cat] = np.arange(n_items) - cat_start[category[by_cat]]
    appeal = 1.0 / (rank + 1.0) ** np.where(consumable, _CONSUMABLE_ZIPF, 1.0)
    median = np.array([c.median_price for c in cats])[category]
    raw = median * np.exp(_PRICE_SIGMA * rng.normal(0.0, 1.0, n_items))
    price = np.maximum(np.round(raw) - 0.01, 0.99)  # shop prices end in .99
    price_z = (np.log(price) - np.log(median)) / _PRICE_SIGMA
    late = rng.random(n_items) < 0.15
    release_day = np.where(
        late, rng.integers(1, max(int(n_days * 0.85), 2), n_items), -rng.integers(30, 731, n_items)
    )
    cycle = rng.integers(CYCLE_RANGE[0], CYCLE_RANGE[1] + 1, n_items)
    adjective = rng.integers(len(_ADJECTIVES), size=n_items).tolist()
    noun = rng.integers(4, size=n_items).tolist()
    names = [
        f"{_ADJECTIVES[a]} {cats[c].nouns[n]}"
        for a, c, n in zip(adjective, category.tolist(), noun, strict=True)
    ]
    return Catalog(
        category=category,
        consumable=consumable,
        appeal=appeal,
        price=price,
        price_z=price_z,
        release_day=release_day,
        cycle_days=np.where(consumable, cycle, 0),
        in_stock=rng.random(n_items) >= 0.05,
        names=names,
        by_cat=by_cat,
        cat_start=cat_start,
    )
