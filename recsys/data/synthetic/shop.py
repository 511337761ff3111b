"""The synthetic shop: parameters, assembly of the public frames, and :class:`Shop`.

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
from recsys.data.synthetic.catalog import (
    CATEGORIES,
    MAX_CATEGORIES,
    Catalog,
    Category,
    make_catalog,
)
from recsys.data.synthetic.offers import make_offers
from recsys.data.synthetic.population import Population, make_population
from recsys.data.synthetic.simulation import (
    EVENT_TYPES,
    SEASON_AMPLITUDE,
    Chooser,
    Events,
    simulate_habits,
    simulate_returns,
    simulate_sessions,
)
from recsys.errors import ConfigError

# Columns only the synthetic shop produces (items, customers, truth; offers: see .offers).
RELEASE_DATE: Final = "release_date"
CONSUMABLE: Final = "consumable"
PRICE_SENSITIVITY: Final = "price_sensitivity"
TASTE_GROUP: Final = "taste_group"
PREFERRED_CATEGORIES: Final = "preferred_categories"
REPEAT_HABIT: Final = "repeat_habit"
CYCLE_DAYS: Final = "cycle_days"
APPEAL: Final = "appeal"

ITEM_COLUMNS: Final = (C.ITEM_ID, C.NAME, C.CATEGORY, C.PRICE, C.IN_STOCK, RELEASE_DATE, CONSUMABLE)
CUSTOMER_COLUMNS: Final = (
    C.CUSTOMER_ID,
    C.SIGNUP_DATE,
    C.COUNTRY,
    C.EMAIL_OPT_IN,
    PRICE_SENSITIVITY,
)


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
    cats = CATEGORIES[:n_cat]
    catalog = make_catalog(n_items, cats, n_days, rng)
    pop = make_population(n_cust, n_groups, n_cat, n_days, habit_share, rng)
    doy = (t0.day_of_year - 1 + np.arange(n_days)) / 365.25
    season = 1.0 + SEASON_AMPLITUDE * np.sin(
        2 * np.pi * (doy[:, None] + rng.random(n_cat)[None, :])
    )
    chooser = Chooser(catalog, pop, season, rng)

    events = Events()
    purchases = simulate_sessions(chooser, t0, n_days, events, rng)
    simulate_habits(chooser, purchases, n_days, events, rng)
    simulate_returns(events, n_days, return_rate, rng)
    return _build_shop(events, catalog, pop, cats, t0, n_days, rng)


def _build_shop(
    events: Events,
    cat: Catalog,
    pop: Population,
    cats: tuple[Category, ...],
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
            C.EVENT_TYPE: pd.array(EVENT_TYPES[e_kind], dtype="str"),
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
        offers=make_offers(t0, n_days, list(category_names), rng),
        truth=truth,
        groups=groups,
        item_truth=item_truth,
        start=t0,
        end=t0 + pd.Timedelta(days=n_days),
    )
