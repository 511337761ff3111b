"""The public frames of a synthetic shop, from the simulated arrays."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.data.synthetic.catalog import Catalog, Category
from recsys.data.synthetic.population import Population
from recsys.data.synthetic.sessions import EVENT_TYPES, Events

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


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    width = max(width, len(str(max(n - 1, 0))))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(n)], dtype=object)


def build_frames(
    events: Events,
    cat: Catalog,
    pop: Population,
    cats: tuple[Category, ...],
    t0: pd.Timestamp,
    n_days: int,
) -> dict[str, pd.DataFrame]:
    """Turn the simulated arrays into the public frames (keyword arguments of ``Shop``)."""
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
    return {
        "events": event_frame,
        "items": item_frame,
        "customers": customer_frame,
        "truth": truth,
        "groups": groups,
        "item_truth": item_truth,
    }
