"""A realistic synthetic shop with planted structure, for demos and quality tests.

:func:`generate_shop` simulates customers browsing and buying in an online shop and returns a
:class:`Shop`: the event log in the canonical input format plus items, customers, offers and
the planted ground truth. Everything is vectorised numpy (no loop over events): about 800k
events per second on one core, identical output for the same seed.

What is planted (and what tests may assert against):

* **Taste groups.** Every customer belongs to one of ``taste_groups`` groups; each group
  prefers 2-3 of the ``categories`` categories. A session's category comes from the group's
  preferred categories with the customer's own taste strength (about 0.9 on average), else
  from the whole catalogue. Carts are about 4x likelier in a preferred category, so purchases
  concentrate there even more than views.
* **Skewed popularity.** Within a category, item appeal is Zipf-like (``1 / rank``; flatter,
  ``rank ** -0.5``, for consumables, whose buyers stick to many different brands), so
  popularity is a real baseline that a collaborative model beats by learning the groups.
* **Price sensitivity.** Customers have ``price_sensitivity`` in [0, 1]; item prices are
  lognormal around a category median; sensitive customers favour items cheap for their
  category, insensitive ones lean towards pricier ones.
* **Funnel.** A session views 1-15 items of one category (4 on average); some are added to
  the cart; a minority of carts become an order (``order_id``, a ``quantity`` per line), so
  most sessions stop at view. Every purchase follows a view and a cart of the same item.
  About 2.5% of purchases are returned 1-21 days later (``return``, same ``order_id``).
* **Repeat habit.** About a quarter of the items are consumables with a repurchase cycle
  (10-35 days). Customers with ``repeat_habit`` re-buy every consumable they buy on that
  cycle (personal pace, jitter, a 5% chance of stopping each cycle); those who signed up
  before the period arrive with a couple of such routines already running. They shop mostly
  to restock (half the discovery conversion, a lean towards consumables), so for them "buy it
  again" is the right answer. Everyone else rarely buys the same item twice.
* **Seasonality and arrivals.** Busier weekends, an evening peak, a slow yearly wave per
  category and a mildly growing shop; customers sign up throughout the period and some items
  are released mid-period. Nobody acts before signing up; no item has an event before its
  release.

The truth is in :attr:`Shop.truth` (per customer), :attr:`Shop.groups` (per taste group) and
:attr:`Shop.item_truth` (per item).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.errors import ConfigError

# Columns only the synthetic shop produces (items, customers, offers, truth).
RELEASE_DATE: Final = "release_date"
CONSUMABLE: Final = "consumable"
PRICE_SENSITIVITY: Final = "price_sensitivity"
TASTE_GROUP: Final = "taste_group"
PREFERRED_CATEGORIES: Final = "preferred_categories"
REPEAT_HABIT: Final = "repeat_habit"
CYCLE_DAYS: Final = "cycle_days"
APPEAL: Final = "appeal"
OFFER_ID: Final = "offer_id"
TITLE: Final = "title"
KIND: Final = "kind"
DISCOUNT_PCT: Final = "discount_pct"
CHANNELS: Final = "channels"
STARTS: Final = "starts"
ENDS: Final = "ends"
MIN_SPEND: Final = "min_spend"

ITEM_COLUMNS: Final = (C.ITEM_ID, C.NAME, C.CATEGORY, C.PRICE, C.IN_STOCK, RELEASE_DATE, CONSUMABLE)
CUSTOMER_COLUMNS: Final = (
    C.CUSTOMER_ID,
    C.SIGNUP_DATE,
    C.COUNTRY,
    C.EMAIL_OPT_IN,
    PRICE_SENSITIVITY,
)
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

# Event type codes, in funnel order (events at the same second sort in this order).
_EVENT_TYPES: Final = np.array([C.VIEW, C.ADD_TO_CART, C.PURCHASE, C.RETURN], dtype=object)
_VIEW, _CART, _PURCHASE, _RETURN = 0, 1, 2, 3


@dataclass(frozen=True)
class _Category:
    name: str
    median_price: float
    consumable_prob: float
    nouns: tuple[str, ...]


# Interleaved so that any prefix mixes consumable and durable departments; with the default
# 14 categories about 25% of the items are consumables.
_CATEGORIES: Final = (
    _Category("Coffee & Tea", 9.0, 0.65, ("Coffee Beans", "Ground Coffee", "Green Tea", "Pods")),
    _Category("Electronics", 79.0, 0.0, ("Headphones", "Charger", "Speaker", "Smart Plug")),
    _Category("Personal Care", 7.0, 0.55, ("Shampoo", "Toothpaste", "Shower Gel", "Deodorant")),
    _Category("Books", 14.0, 0.0, ("Novel", "Cookbook", "Travel Guide", "Biography")),
    _Category("Pet Supplies", 16.0, 0.5, ("Dog Food", "Cat Litter", "Pet Treats", "Chew Toy")),
    _Category("Home Decor", 29.0, 0.0, ("Cushion", "Vase", "Wall Clock", "Candle Holder")),
    _Category("Household Cleaning", 6.0, 0.6, ("Detergent", "Dish Tabs", "Sponges", "Spray")),
    _Category("Kitchen", 24.0, 0.0, ("Frying Pan", "Knife Set", "Mixing Bowl", "Kettle")),
    _Category("Snacks", 4.0, 0.45, ("Crisps", "Granola Bars", "Dark Chocolate", "Nut Mix")),
    _Category("Toys & Games", 22.0, 0.0, ("Board Game", "Puzzle", "Building Set", "Plush Toy")),
    _Category("Baby", 12.0, 0.45, ("Nappies", "Baby Wipes", "Baby Lotion", "Bibs")),
    _Category("Sports & Outdoors", 35.0, 0.0, ("Yoga Mat", "Water Bottle", "Backpack", "Gloves")),
    _Category("Beauty", 18.0, 0.25, ("Face Cream", "Lipstick", "Serum", "Nail Polish")),
    _Category("Garden", 20.0, 0.1, ("Seeds", "Plant Food", "Pruner", "Planter")),
    _Category("Stationery", 6.0, 0.2, ("Notebook", "Gel Pens", "Sticky Notes", "Planner")),
    _Category("Fashion", 39.0, 0.0, ("T-Shirt", "Scarf", "Sneakers", "Belt")),
)
MAX_CATEGORIES: Final = len(_CATEGORIES)
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
_COUNTRIES: Final = np.array(["GB", "DE", "FR", "NL", "ES", "IT", "IE", "BE", "US", "SE"])
_COUNTRY_WEIGHTS: Final = np.array([40, 14, 11, 8, 7, 6, 5, 4, 3, 2], dtype=float)
# Monday..Sunday session intensity, and an evening-heavy hour-of-day profile.
_WEEKDAY: Final = np.array([0.9, 0.88, 0.9, 0.95, 1.05, 1.2, 1.15])
_HOURS: Final = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 4, 4.5, 5, 4.5, 4, 4, 4.5, 5, 6, 7.5, 8, 7, 4.5, 2.5]
)

# Behaviour knobs, tuned so that the planted effects are clear at every size from
# 600 customers x 120 days upwards (see the module docstring).
_DAY: Final = 86_400  # seconds
_SESSIONS_PER_DAY: Final = 0.09  # mean sessions per customer-day (weekday shape and growth aside)
_EXISTING_SHARE: Final = 0.6  # customers who signed up before the period
_TASTE_BETA: Final = (12.0, 1.5)  # Beta law of a customer's share of sessions in group taste
_PRICE_SIGMA: Final = 0.55  # lognormal spread of prices around the category median
_SENSITIVITY_BINS: Final = 8  # price sensitivity is binned for the item sampling tables
_CONSUMABLE_ZIPF: Final = 0.5  # Zipf exponent of consumables' appeal (durables: 1)
_EXTRA_VIEWS: Final = 3.0  # mean extra items viewed per session (Poisson) ...
_MAX_VIEWS: Final = 15  # ... capped
_VIEW_GAP: Final = 150  # seconds between views in a session
_P_CART_PREFERRED: Final = 0.3  # a viewed item is carted, in a preferred category ...
_P_CART_OTHER: Final = 0.08  # ... elsewhere
_P_CONVERT: Final = 0.4  # a session with a cart becomes an order
_P_REBUY_ANYWAY: Final = 0.1  # a later session's re-purchase of a bought item is kept
_HABIT_DISCOVERY: Final = 0.5  # habit customers' conversion factor (they mostly restock)
_HABIT_CONSUMABLE_LEAN: Final = 3.0  # habit customers' appeal factor for consumables
_INHERITED_CHAINS: Final = 2.0  # mean re-buy routines an existing habit customer starts with
_CYCLE_DAYS: Final = (10, 35)  # range of the consumables' repurchase cycles
_PACE: Final = (0.85, 1.2)  # a habit customer's personal factor on every cycle
_CYCLE_JITTER: Final = 0.12  # relative spread of each gap around the cycle
_P_CHAIN_CONTINUES: Final = 0.95  # a re-buy routine survives each cycle
_RETURN_DAYS: Final = (1, 21)
_SEASON_AMPLITUDE: Final = 0.35  # relative amplitude of each category's yearly wave


@dataclass(frozen=True, eq=False)
class Shop:
    """A generated shop: input files plus the planted ground truth.

    Attributes
    ----------
    events:
        ``customer_id, item_id, event_type, timestamp, quantity, price, order_id`` sorted by
        ``timestamp``; event types ``view``, ``add_to_cart``, ``purchase``, ``return``;
        ``price`` is the item's list price; ``order_id`` is set on purchases and returns only.
    items:
        ``item_id, name, category, price, in_stock, release_date, consumable``.
    customers:
        ``customer_id, signup_date, country, email_opt_in, price_sensitivity``.
    offers:
        ``offer_id, title, kind, category, discount_pct, channels, starts, ends, min_spend``.
        ``kind`` is one of :data:`OFFER_KINDS`; ``category`` is empty for site-wide offers;
        ``discount_pct`` is in (0, 90] (for ``free_shipping``, the typical saving on a basket);
        ``channels`` is comma-joined (``"web,email"``). Some offers run past ``end``.
    truth:
        Indexed by ``customer_id``: ``taste_group`` (int), ``preferred_categories``
        (comma-joined category names), ``repeat_habit`` (bool), ``price_sensitivity``.
    groups:
        Indexed by ``taste_group``: ``preferred_categories`` (comma-joined).
    item_truth:
        Indexed by ``item_id``: ``category``, ``appeal`` (relative within-category
        popularity, 1 for the category's favourite), ``consumable``, ``cycle_days``
        (repurchase cycle; NaN for durables).
    start, end:
        The simulated period ``[start, end)``; ``end`` is the "now" of the data.
    """

    events: pd.DataFrame
    items: pd.DataFrame
    customers: pd.DataFrame
    offers: pd.DataFrame
    truth: pd.DataFrame
    groups: pd.DataFrame
    item_truth: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp

    def __repr__(self) -> str:
        return (
            f"Shop(customers={len(self.customers)}, items={len(self.items)}, "
            f"events={len(self.events)}, start={self.start.date()}, end={self.end.date()})"
        )

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the shop to ``out_dir`` (created if needed); returns ``{name: path}``.

        ``events.parquet`` keeps exact dtypes; the small tables are CSV so that anyone can
        open them: ``items.csv``, ``customers.csv``, ``offers.csv``, ``truth.csv`` (per
        customer) and ``item_truth.csv``.
        """
        out = Path(out_dir)
        paths = {
            "events": out / "events.parquet",
            "items": out / "items.csv",
            "customers": out / "customers.csv",
            "offers": out / "offers.csv",
            "truth": out / "truth.csv",
            "item_truth": out / "item_truth.csv",
        }
        try:
            out.mkdir(parents=True, exist_ok=True)
            self.events.to_parquet(paths["events"], index=False)
            self.items.to_csv(paths["items"], index=False)
            self.customers.to_csv(paths["customers"], index=False)
            self.offers.to_csv(paths["offers"], index=False)
            self.truth.to_csv(paths["truth"])
            self.item_truth.to_csv(paths["item_truth"])
        except OSError as exc:
            raise ConfigError(f"cannot write the shop to {out}: {exc.strerror or exc}") from None
        return paths


# --------------------------------------------------------------------------- parameters
def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} == {value!r}, must be an integer in [{low}, {high}]")
    if not low <= value <= high:
        raise ConfigError(f"{name} == {value}, must be in [{low}, {high}]")
    return int(value)


def _check_share(name: str, value: object, high: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.floating)
        or not 0.0 <= float(value) <= high
    ):
        raise ConfigError(f"{name} == {value!r}, must be a number in [0, {high}]")
    return float(value)


def _parse_start(start: object) -> pd.Timestamp:
    bad = ConfigError(f"start == {start!r}, must be a date such as '2024-01-01'")
    try:
        ts = pd.Timestamp(start)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise bad from None
    if pd.isna(ts):
        raise bad
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize().as_unit("ns")


# --------------------------------------------------------------------------- helpers
def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    width = max(width, len(str(max(n - 1, 0))))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(n)], dtype=object)


def _sample_rows(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column index per row of non-negative ``weights``, proportional to the row."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


def _first_occurrence(*keys: np.ndarray) -> np.ndarray:
    """True where the row's key tuple has not appeared in an earlier row."""
    return ~pd.DataFrame(dict(enumerate(keys))).duplicated().to_numpy()


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
class _Catalog:
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


@dataclass(frozen=True)
class _Population:
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


def _make_catalog(
    n_items: int, cats: tuple[_Category, ...], n_days: int, rng: np.random.Generator
) -> _Catalog:
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
    cycle = rng.integers(_CYCLE_DAYS[0], _CYCLE_DAYS[1] + 1, n_items)
    adjective = rng.integers(len(_ADJECTIVES), size=n_items).tolist()
    noun = rng.integers(4, size=n_items).tolist()
    names = [
        f"{_ADJECTIVES[a]} {cats[c].nouns[n]}"
        for a, c, n in zip(adjective, category.tolist(), noun, strict=True)
    ]
    return _Catalog(
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


def _make_population(
    n_cust: int,
    n_groups: int,
    n_cat: int,
    n_days: int,
    habit_share: float,
    rng: np.random.Generator,
) -> _Population:
    group_cats = _group_categories(n_groups, n_cat, rng)
    preference = np.zeros((n_groups, n_cat))
    for g, cs in enumerate(group_cats):
        preference[g, cs] = rng.dirichlet(np.full(len(cs), 4.0))
    existing = rng.random(n_cust) < _EXISTING_SHARE
    weights = _COUNTRY_WEIGHTS / _COUNTRY_WEIGHTS.sum()
    return _Population(
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


class _Chooser:
    """Draws what customers look at: a category for (customer, day), an item in it.

    Item weights are appeal x a price tilt for the customer's (binned) sensitivity x a lean
    towards consumables for habit customers. One cumulative table per (bin, habit) row over
    the items grouped by category; the rows are stacked with offsets, so one ``searchsorted``
    serves every draw.
    """

    def __init__(
        self, cat: _Catalog, pop: _Population, season: np.ndarray, rng: np.random.Generator
    ) -> None:
        self.cat, self.pop, self.season, self.rng = cat, pop, season, rng
        centres = (np.arange(_SENSITIVITY_BINS) + 0.5) / _SENSITIVITY_BINS
        tilt = np.exp(-2.0 * (centres[:, None] - 0.5) * cat.price_z[cat.by_cat][None, :])
        lean = np.where(cat.consumable[cat.by_cat], _HABIT_CONSUMABLE_LEAN, 1.0)
        weights = np.concatenate([tilt, tilt * lean]) * cat.appeal[cat.by_cat]
        table = np.concatenate([np.zeros((len(weights), 1)), np.cumsum(weights, axis=1)], axis=1)
        self.offsets = np.concatenate([[0.0], np.cumsum(table[:, -1])[:-1]])
        self.table = table
        self.flat = (table + self.offsets[:, None]).ravel()
        self.width = table.shape[1]
        bins = np.minimum(
            (pop.sensitivity * _SENSITIVITY_BINS).astype(np.int64), _SENSITIVITY_BINS - 1
        )
        self.row = bins + _SENSITIVITY_BINS * pop.habit

    def categories(self, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The group's taste (customer's strength) or the whole shop, times the season."""
        pop = self.pop
        t = pop.taste[cust][:, None]
        mix = t * pop.preference[pop.group[cust]] + (1.0 - t) * pop.shop_mix
        return _sample_rows(mix * self.season[day], self.rng)

    def items(self, cust: np.ndarray, category: np.ndarray, day: np.ndarray) -> np.ndarray:
        """One item of ``category`` per row, released by ``day``; -1 if none after retries."""
        cat, start = self.cat, self.cat.cat_start
        row = self.row[cust]
        lo = self.table[row, start[category]] + self.offsets[row]
        hi = self.table[row, start[category + 1]] + self.offsets[row]
        out = np.full(len(cust), -1, dtype=np.int64)
        todo = np.arange(len(cust))
        for _ in range(12):  # unreleased items are redrawn
            x = lo[todo] + self.rng.random(len(todo)) * (hi[todo] - lo[todo])
            col = np.searchsorted(self.flat, x, side="right") - 1 - row[todo] * self.width
            col = np.clip(col, start[category[todo]], start[category[todo] + 1] - 1)
            drawn = cat.by_cat[col]
            ok = cat.release_day[drawn] <= day[todo]
            out[todo[ok]] = drawn[ok]
            todo = todo[~ok]
            if not len(todo):
                break
        return out


class _Events:
    """Columns of the event log, collected in parts by kind and assembled once."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, tuple[np.ndarray, ...]]] = []

    def add(
        self,
        kind: int,
        cust: np.ndarray,
        item: np.ndarray,
        time: np.ndarray,
        qty: np.ndarray | None = None,
        order: np.ndarray | None = None,
    ) -> None:
        n = len(cust)
        cols = (
            cust.astype(np.int64),
            item.astype(np.int64),
            time.astype(np.int64),
            np.ones(n, dtype=np.int64) if qty is None else qty.astype(np.int64),
            np.full(n, -1, dtype=np.int64) if order is None else order.astype(np.int64),
        )
        self.parts.append((kind, cols))

    def of_kind(self, kind: int) -> tuple[np.ndarray, ...]:
        """``cust, item, time, qty, order`` of every event of ``kind`` added so far."""
        cols = [c for k, c in self.parts if k == kind]
        return tuple(np.concatenate(c) for c in zip(*cols, strict=True))

    def columns(self) -> tuple[np.ndarray, ...]:
        """``cust, item, time, kind, qty, order`` of all events, by time (then funnel order)."""
        kind = np.concatenate([np.full(len(c[0]), k, dtype=np.int8) for k, c in self.parts])
        cust, item, time, qty, order = (
            np.concatenate(c) for c in zip(*(c for _, c in self.parts), strict=True)
        )
        sort = np.lexsort((item, kind, cust, time))
        return cust[sort], item[sort], time[sort], kind[sort], qty[sort], order[sort]


# --------------------------------------------------------------------------- generator
def generate_shop(
    customers: int = 2000,
    items: int = 500,
    days: int = 180,
    seed: int = 0,
    start: str | date | datetime | pd.Timestamp = "2024-01-01",
    *,
    categories: int = 14,
    taste_groups: int = 8,
    repeat_habit_share: float = 0.35,
    return_rate: float = 0.025,
) -> Shop:
    """Simulate a shop with planted taste, price, funnel, repeat and seasonal structure.

    Parameters
    ----------
    customers, items:
        Number of customers and of catalogue items (every item belongs to one category).
    days:
        Length of the simulated period, from ``start`` (midnight, naive UTC).
    seed:
        Everything is determined by it: the same seed gives identical frames.
    categories:
        Number of categories (at most 16), taken from a fixed list of shop departments.
    taste_groups:
        Number of taste groups; each prefers 2-3 categories.
    repeat_habit_share:
        Share of customers with a re-buy habit.
    return_rate:
        Share of purchases that are returned (those falling after the period are dropped).

    Returns
    -------
    Shop
        Events scale with ``customers * days``: the default gives about 180k events (~0.2 s);
        5,500 customers x 365 days about 1.1M (~1.4 s).

    Raises
    ------
    ConfigError
        A parameter is out of range (the message names it and the valid range).
    """
    n_cust = _check_int("customers", customers, 1, 10_000_000)
    n_items = _check_int("items", items, 1, 1_000_000)
    n_days = _check_int("days", days, 7, 3650)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    n_cat = _check_int("categories", categories, 1, MAX_CATEGORIES)
    n_groups = _check_int("taste_groups", taste_groups, 1, 1000)
    habit_share = _check_share("repeat_habit_share", repeat_habit_share, 1.0)
    return_rate = _check_share("return_rate", return_rate, 0.5)
    if n_items < n_cat:
        raise ConfigError(f"items == {n_items}, must be >= categories ({n_cat})")
    t0 = _parse_start(start)
    rng = np.random.default_rng(seed)
    cats = _CATEGORIES[:n_cat]
    catalog = _make_catalog(n_items, cats, n_days, rng)
    pop = _make_population(n_cust, n_groups, n_cat, n_days, habit_share, rng)
    doy = (t0.day_of_year - 1 + np.arange(n_days)) / 365.25
    season = 1.0 + _SEASON_AMPLITUDE * np.sin(
        2 * np.pi * (doy[:, None] + rng.random(n_cat)[None, :])
    )
    chooser = _Chooser(catalog, pop, season, rng)

    events = _Events()
    purchases = _simulate_sessions(chooser, t0, n_days, events, rng)
    _simulate_habits(chooser, purchases, n_days, events, rng)
    _simulate_returns(events, n_days, return_rate, rng)
    return _build_shop(events, catalog, pop, cats, t0, n_days, rng)


@dataclass
class _Purchases:
    """Purchases from sessions, before repeats are suppressed (one row per order line)."""

    cust: np.ndarray
    item: np.ndarray
    time: np.ndarray
    qty: np.ndarray
    order: np.ndarray


def _simulate_sessions(
    chooser: _Chooser, t0: pd.Timestamp, n_days: int, events: _Events, rng: np.random.Generator
) -> _Purchases:
    """Sessions -> views -> carts -> orders; adds views and carts to ``events``."""
    pop, cat = chooser.pop, chooser.cat
    day_w = _WEEKDAY[(t0.day_of_week + np.arange(n_days)) % 7] * (1 + 0.3 * np.arange(n_days) / 365)
    cum_w = np.concatenate([[0.0], np.cumsum(day_w)])
    first_day = np.maximum(pop.signup_day, 0)
    n_sess = rng.poisson(_SESSIONS_PER_DAY * pop.activity * (cum_w[n_days] - cum_w[first_day]))
    s_cust = np.repeat(np.arange(len(n_sess)), n_sess)
    lo = cum_w[first_day[s_cust]]  # inverse CDF of the daily intensity after signup
    u = lo + rng.random(len(s_cust)) * (cum_w[n_days] - lo)
    s_day = np.clip(np.searchsorted(cum_w, u, side="right") - 1, first_day[s_cust], n_days - 1)
    hour = rng.choice(24, size=len(s_cust), p=_HOURS / _HOURS.sum())
    s_time = s_day * _DAY + hour * 3600 + rng.integers(0, 3600, len(s_cust))
    s_time = np.minimum(s_time, n_days * _DAY - 3 * 3600)  # sessions end inside the period
    s_cat = chooser.categories(s_cust, s_day)
    s_pref = pop.preference[pop.group[s_cust], s_cat] > 0

    n_views = np.minimum(1 + rng.poisson(_EXTRA_VIEWS, len(s_cust)), _MAX_VIEWS)
    v_sess = np.repeat(np.arange(len(s_cust)), n_views)
    v_slot = np.arange(len(v_sess)) - np.repeat(np.cumsum(n_views) - n_views, n_views)
    v_item = chooser.items(s_cust[v_sess], s_cat[v_sess], s_day[v_sess])
    ok = v_item >= 0
    v_sess, v_slot, v_item = v_sess[ok], v_slot[ok], v_item[ok]
    v_cust = s_cust[v_sess]
    v_time = s_time[v_sess] + v_slot * _VIEW_GAP + rng.integers(0, 90, len(v_sess))
    events.add(_VIEW, v_cust, v_item, v_time)

    p_cart = np.where(s_pref[v_sess], _P_CART_PREFERRED, _P_CART_OTHER)
    carted = (rng.random(len(v_sess)) < p_cart) & _first_occurrence(v_sess, v_item)
    c_sess, c_item = v_sess[carted], v_item[carted]
    c_time = v_time[carted] + rng.integers(5, 60, len(c_sess))
    convert = _P_CONVERT * np.where(pop.habit[s_cust], _HABIT_DISCOVERY, 1.0)
    bought = (rng.random(len(s_cust)) < convert)[c_sess]
    p_sess, p_item = c_sess[bought], c_item[bought]
    checkout = s_time + n_views * _VIEW_GAP + rng.integers(120, 900, len(s_cust))
    extra = np.where(
        cat.consumable[p_item],
        rng.poisson(0.6, len(p_item)),
        (rng.random(len(p_item)) < 0.05).astype(np.int64),
    )
    c_qty = np.ones(len(c_sess), dtype=np.int64)
    c_qty[bought] = 1 + extra
    events.add(_CART, s_cust[c_sess], c_item, c_time, c_qty)
    return _Purchases(
        cust=s_cust[p_sess],
        item=p_item,
        time=checkout[p_sess],
        qty=1 + extra,
        order=p_sess.astype(np.int64),
    )


def _simulate_habits(
    chooser: _Chooser, p: _Purchases, n_days: int, events: _Events, rng: np.random.Generator
) -> None:
    """Suppress most re-purchases from sessions, then add the planted re-buy routines.

    Adds every purchase (and each routine re-buy's view and cart) to ``events``.
    """
    pop, cat = chooser.pop, chooser.cat
    n_cust = len(pop.habit)
    # Existing habit customers arrive with routines running: consumables drawn from their
    # taste on day 0, as if bought before the period.
    h_cust = np.repeat(np.arange(n_cust), rng.poisson(_INHERITED_CHAINS * pop.habit * pop.existing))
    h_cust = np.repeat(h_cust, 4)  # a few draws each, to land on consumables
    zero = np.zeros(len(h_cust), dtype=np.int64)
    h_item = chooser.items(h_cust, chooser.categories(h_cust, zero), zero)
    ok = (h_item >= 0) & cat.consumable[np.maximum(h_item, 0)] & _first_occurrence(h_cust, h_item)
    h_cust, h_item = h_cust[ok], h_item[ok]

    # A session re-purchase of something already bought (or inherited) is mostly dropped:
    # the cart is abandoned. Repeats come from the routines.
    cust = np.concatenate([h_cust, p.cust])
    item = np.concatenate([h_item, p.item])
    time = np.concatenate([np.full(len(h_cust), -1), p.time])
    order = np.lexsort((time, item, cust))
    again = np.zeros(len(cust), dtype=bool)
    again[order[1:]] = (np.diff(cust[order]) == 0) & (np.diff(item[order]) == 0)
    again = again[len(h_cust) :]
    keep = ~again | (rng.random(len(again)) < _P_REBUY_ANYWAY)
    events.add(_PURCHASE, p.cust[keep], p.item[keep], p.time[keep], p.qty[keep], p.order[keep])

    # Routines: every first purchase of a consumable by a habit customer (and every inherited
    # one) is re-bought each cycle x personal pace x jitter until the period ends or it stops.
    first = np.flatnonzero(~again & pop.habit[p.cust] & cat.consumable[p.item])
    r_cust = np.concatenate([h_cust, p.cust[first]])
    r_item = np.concatenate([h_item, p.item[first]])
    r_qty = np.concatenate([1 + rng.poisson(0.6, len(h_cust)), p.qty[first]])
    pace = rng.uniform(*_PACE, n_cust)
    cycle = cat.cycle_days[r_item] * pace[r_cust] * _DAY
    r_start = np.concatenate([-rng.random(len(h_cust)) * cycle[: len(h_cust)], p.time[first]])
    n_max = int(n_days / (_CYCLE_DAYS[0] * _PACE[0] * 0.6)) + 1
    jitter = np.clip(rng.normal(1.0, _CYCLE_JITTER, (len(r_cust), n_max)), 0.6, 1.5)
    when = r_start[:, None] + np.cumsum(cycle[:, None] * jitter, axis=1)
    alive = np.cumprod(rng.random(when.shape) < _P_CHAIN_CONTINUES, axis=1).astype(bool)
    mask = alive & (when >= 3600) & (when < n_days * _DAY - 3600)
    src = np.broadcast_to(np.arange(len(r_cust))[:, None], mask.shape)[mask]
    t_buy = when[mask].astype(np.int64)
    t_cart = t_buy - rng.integers(30, 300, len(src))
    t_view = t_cart - rng.integers(10, 300, len(src))
    orders = p.order.max(initial=-1) + 1 + np.arange(len(src))
    c, i, q = r_cust[src], r_item[src], r_qty[src]
    events.add(_VIEW, c, i, t_view)
    events.add(_CART, c, i, t_cart, q)
    events.add(_PURCHASE, c, i, t_buy, q, orders)


def _simulate_returns(
    events: _Events, n_days: int, return_rate: float, rng: np.random.Generator
) -> None:
    """A few purchases come back 1-21 days later (same order and quantity)."""
    cust, item, time, qty, order = events.of_kind(_PURCHASE)
    ret = np.flatnonzero(rng.random(len(cust)) < return_rate)
    when = time[ret] + rng.integers(_RETURN_DAYS[0] * _DAY, _RETURN_DAYS[1] * _DAY, len(ret))
    ok = when < n_days * _DAY
    ret = ret[ok]
    events.add(_RETURN, cust[ret], item[ret], when[ok], qty[ret], order[ret])


def _build_shop(
    events: _Events,
    cat: _Catalog,
    pop: _Population,
    cats: tuple[_Category, ...],
    t0: pd.Timestamp,
    n_days: int,
    rng: np.random.Generator,
) -> Shop:
    """Turn the simulated arrays into the public frames."""
    n_items, n_cust = len(cat.category), len(pop.group)
    item_ids, cust_ids = _ids("I", n_items, 4), _ids("C", n_cust, 5)
    e_cust, e_item, e_time, e_kind, e_qty, e_order = events.columns()

    # Order ids numbered by first appearance in time.
    has = e_order >= 0
    keys, first = np.unique(e_order[has], return_index=True)
    number = np.empty(len(keys), dtype=np.int64)
    number[np.argsort(first, kind="stable")] = np.arange(len(keys))
    order_ids = np.full(len(e_order), None, dtype=object)
    order_ids[has] = _ids("O", len(keys), 7)[number[np.searchsorted(keys, e_order[has])]]

    event_frame = pd.DataFrame(
        {
            C.CUSTOMER_ID: pd.array(cust_ids[e_cust], dtype="str"),
            C.ITEM_ID: pd.array(item_ids[e_item], dtype="str"),
            C.EVENT_TYPE: pd.array(_EVENT_TYPES[e_kind], dtype="str"),
            C.TIMESTAMP: t0 + pd.to_timedelta(e_time, unit="s"),
            C.QUANTITY: e_qty,
            C.PRICE: cat.price[e_item],
            C.ORDER_ID: pd.array(order_ids, dtype="str"),
        }
    )
    category_names = np.array([c.name for c in cats], dtype=object)
    item_frame = pd.DataFrame(
        {
            C.ITEM_ID: pd.array(item_ids, dtype="str"),
            C.NAME: pd.array(cat.names, dtype="str"),
            C.CATEGORY: pd.array(category_names[cat.category], dtype="str"),
            C.PRICE: cat.price,
            C.IN_STOCK: cat.in_stock,
            RELEASE_DATE: t0 + pd.to_timedelta(cat.release_day, unit="D"),
            CONSUMABLE: cat.consumable,
        }
    )
    customer_frame = pd.DataFrame(
        {
            C.CUSTOMER_ID: pd.array(cust_ids, dtype="str"),
            C.SIGNUP_DATE: t0 + pd.to_timedelta(pop.signup_day, unit="D"),
            C.COUNTRY: pd.array(pop.country, dtype="str"),
            C.EMAIL_OPT_IN: pop.email_opt_in,
            PRICE_SENSITIVITY: pop.sensitivity,
        }
    )
    group_names = np.array(
        [",".join(category_names[cs]) for cs in pop.group_categories], dtype=object
    )
    groups = pd.DataFrame(
        {PREFERRED_CATEGORIES: pd.array(group_names, dtype="str")},
        index=pd.RangeIndex(len(group_names), name=TASTE_GROUP),
    )
    truth = pd.DataFrame(
        {
            TASTE_GROUP: pop.group,
            PREFERRED_CATEGORIES: pd.array(group_names[pop.group], dtype="str"),
            REPEAT_HABIT: pop.habit,
            PRICE_SENSITIVITY: pop.sensitivity,
        },
        index=pd.Index(cust_ids, dtype="str", name=C.CUSTOMER_ID),
    )
    item_truth = pd.DataFrame(
        {
            C.CATEGORY: item_frame[C.CATEGORY].to_numpy(),
            APPEAL: cat.appeal,
            CONSUMABLE: cat.consumable,
            CYCLE_DAYS: np.where(cat.consumable, cat.cycle_days, np.nan),
        },
        index=pd.Index(item_ids, dtype="str", name=C.ITEM_ID),
    )
    return Shop(
        events=event_frame,
        items=item_frame,
        customers=customer_frame,
        offers=_make_offers(t0, n_days, list(category_names), rng),
        truth=truth,
        groups=groups,
        item_truth=item_truth,
        start=t0,
        end=t0 + pd.Timedelta(days=n_days),
    )


def _make_offers(
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
