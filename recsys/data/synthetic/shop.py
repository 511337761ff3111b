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

Kinds of shop (``generate_shop(kind=...)``). The above is ``"retail"``. The other kinds share
the catalogue, population, taste groups, popularity, prices and seasonality, and change the
behaviour:

* ``"marketplace"`` (:mod:`.marketplace`): a view-heavy shop over a short span (14 days by
  default) with a large catalogue (5,000 items by default; tens of thousands work): long
  browsing sessions, carts and ``favorite`` marks, few purchases. About 60% of purchases are
  of an item the buyer viewed, carted or marked earlier (that visit or a later one); the rest
  are bought straight away with no earlier look. No repeat habit; repeats are rare.
* ``"ratings"`` (:mod:`.ratings`): purchases only, each item at most once per customer, over a
  year by default; long tails of appetite (a few customers take 10x the median) and of
  item popularity. No returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd

from recsys.data.synthetic.catalog import (
    CATEGORIES,
    MAX_CATEGORIES,
    make_catalog,
)
from recsys.data.synthetic.frames import build_frames
from recsys.data.synthetic.marketplace import simulate_marketplace
from recsys.data.synthetic.offers import make_offers
from recsys.data.synthetic.population import make_population
from recsys.data.synthetic.ratings import simulate_ratings
from recsys.data.synthetic.sessions import Chooser, Events
from recsys.data.synthetic.simulation import (
    SEASON_AMPLITUDE,
    simulate_habits,
    simulate_returns,
    simulate_sessions,
)
from recsys.errors import ConfigError


@dataclass(frozen=True, eq=False)
class Shop:
    """A generated shop: input files plus the planted ground truth.

    Attributes
    ----------
    events:
        ``customer_id, item_id, event_type, timestamp, quantity, price, order_id`` sorted by
        ``timestamp``; event types ``view``, ``add_to_cart``, ``purchase``, ``return`` (and
        ``favorite`` in a marketplace; ratings catalogues log ``purchase`` only);
        ``price`` is the item's list price; ``order_id`` is set on purchases and returns only.
    items:
        ``item_id, name, category, price, in_stock, release_date, consumable``.
    customers:
        ``customer_id, signup_date, country, email_opt_in, price_sensitivity``.
    offers:
        An offer catalog (:data:`~recsys.data.synthetic.offers.OFFER_COLUMNS`, the format
        ``recsys offers --catalog`` reads): ten offers aimed at RFM segments and churn bands,
        with budgets and one fallback offer; some run past ``end``.
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
    kind:
        ``"retail"``, ``"marketplace"`` or ``"ratings"`` (see :func:`generate_shop`).
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
    kind: str = "retail"

    def __repr__(self) -> str:
        return (
            f"Shop(customers={len(self.customers)}, items={len(self.items)}, "
            f"events={len(self.events)}, start={self.start.date()}, end={self.end.date()}, "
            f"kind={self.kind})"
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


# --------------------------------------------------------------------------- generator
ShopKind = Literal["retail", "marketplace", "ratings"]
#: The kinds of shop :func:`generate_shop` simulates.
SHOP_KINDS: Final = ("retail", "marketplace", "ratings")
# Per kind: default items, days (the retail defaults are the historical ones).
_DEFAULTS: Final = {"retail": (500, 180), "marketplace": (5000, 14), "ratings": (2000, 365)}


def generate_shop(
    customers: int = 2000,
    items: int | None = None,
    days: int | None = None,
    seed: int = 0,
    start: str | date | datetime | pd.Timestamp = "2024-01-01",
    *,
    kind: ShopKind = "retail",
    categories: int = 14,
    taste_groups: int = 8,
    repeat_habit_share: float = 0.35,
    return_rate: float = 0.025,
) -> Shop:
    """Simulate a shop of one ``kind`` with planted taste, price, funnel and seasonal structure.

    Parameters
    ----------
    customers, items:
        Number of customers and of catalogue items (every item belongs to one category).
        ``items`` defaults to 500 (retail), 5,000 (marketplace) or 2,000 (ratings).
    days:
        Length of the simulated period, from ``start`` (midnight, naive UTC); defaults to
        180 (retail), 14 (marketplace) or 365 (ratings).
    seed:
        Everything is determined by it: the same seed gives identical frames.
    kind:
        ``"retail"``: repeat-heavy (re-buy routines, every purchase follows a view and a cart
        in the same session). ``"marketplace"``: view-heavy (many views, carts and
        favourites, few purchases; about 60% of purchases are of items the buyer viewed,
        carted or marked before, the rest are bought straight away; repeats are rare).
        ``"ratings"``: purchases only, each item at most once per customer, long tails of
        appetite and popularity. See the module docstring.
    categories:
        Number of categories (at most 16), taken from a fixed list of shop departments.
    taste_groups:
        Number of taste groups; each prefers 2-3 categories.
    repeat_habit_share:
        Share of customers with a re-buy habit (retail only; no one has it elsewhere).
    return_rate:
        Share of purchases that are returned (those falling after the period are dropped);
        a ratings catalogue has no returns.

    Returns
    -------
    Shop
        Retail events scale with ``customers * days``: the default gives about 180k events
        (~0.2 s); 5,500 customers x 365 days about 1.1M (~1.4 s).

    Raises
    ------
    ConfigError
        A parameter is out of range (the message names it and the valid range).
    """
    if kind not in SHOP_KINDS:
        raise ConfigError(f"kind == {kind!r}, must be one of {', '.join(SHOP_KINDS)}")
    default_items, default_days = _DEFAULTS[kind]
    n_cust = _check_int("customers", customers, 1, 10_000_000)
    n_items = _check_int("items", default_items if items is None else items, 1, 1_000_000)
    n_days = _check_int("days", default_days if days is None else days, 7, 3650)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    n_cat = _check_int("categories", categories, 1, MAX_CATEGORIES)
    n_groups = _check_int("taste_groups", taste_groups, 1, 1000)
    habit_share = _check_share("repeat_habit_share", repeat_habit_share, 1.0)
    return_rate = _check_share("return_rate", return_rate, 0.5)
    if n_items < n_cat:
        raise ConfigError(f"items == {n_items}, must be >= categories ({n_cat})")
    if kind != "retail":
        habit_share = 0.0
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
    if kind == "retail":
        purchases = simulate_sessions(chooser, t0, n_days, events, rng)
        simulate_habits(chooser, purchases, n_days, events, rng)
    elif kind == "marketplace":
        simulate_marketplace(chooser, t0, n_days, events, rng)
    else:
        simulate_ratings(chooser, n_days, events, rng)
    if kind != "ratings":
        simulate_returns(events, n_days, return_rate, rng)
    frames = build_frames(events, catalog, pop, cats, t0, n_days)
    return Shop(
        **frames,
        offers=make_offers(t0, n_days, [c.name for c in cats], rng),
        start=t0,
        end=t0 + pd.Timedelta(days=n_days),
        kind=kind,
    )
