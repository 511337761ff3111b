"""Eligibility rules, the contact policy, the prior and the publishable table."""

import numpy as np
import pandas as pd
import pytest

from recsys.errors import DataError
from recsys.offers.arbitration import COLUMNS, expected_value, offers_table
from recsys.offers.catalog import validate_offers
from recsys.offers.eligibility import eligible_pairs, unmatched_values
from recsys.offers.policy import ContactPolicy
from recsys.offers.prior import prior_uplift

NOW = pd.Timestamp("2024-06-15")

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d"],
        "segment": ["champions", "at_risk", "new", None],
        "churn_band": ["low", "high", "medium", "high"],
        "clv": [900.0, 120.0, 40.0, np.nan],
        "n_orders": [12, 3, 1, 0],
        "country": ["UK", "FR", "UK", "UK"],
        "basket_value": [80.0, 40.0, 20.0, 30.0],
    }
)


def _catalog():
    return validate_offers(
        [
            {"offer_id": "vip", "kind": "gift", "value": 1, "segments": "champions|loyal"},
            {
                "offer_id": "winback",
                "kind": "percent_off",
                "value": 20,
                "churn_bands": "high",
                "clv_min": 100,
                "channels": "email",
            },
            {
                "offer_id": "welcome",
                "kind": "amount_off",
                "value": 5,
                "customer_type": "new",
                "countries": "UK",
                "cap_per_customer": 1,
                "cap_period_days": 30,
            },
            {"offer_id": "old", "kind": "gift", "value": 1, "end": "2024-01-01"},
            {
                "offer_id": "ship",
                "kind": "free_shipping",
                "value": 0,
                "fallback": True,
                "channels": "web",
            },
        ]
    )


def _pairs(**kw):
    pairs = eligible_pairs(_catalog(), CUSTOMERS, when=NOW, **kw)
    return sorted(pairs.itertuples(index=False, name=None))


def test_rules_select_exactly_the_right_customers():
    assert _pairs() == [
        ("a", "ship"),
        ("a", "vip"),
        ("b", "ship"),
        ("b", "winback"),
        ("c", "ship"),
        ("c", "welcome"),
        ("d", "ship"),
        ("d", "welcome"),
    ]


def test_per_customer_cap_within_the_period():
    redemptions = pd.DataFrame(
        {
            "customer_id": ["c", "d"],
            "offer_id": ["welcome", "welcome"],
            "timestamp": ["2024-06-10", "2024-04-01"],
        }  # d's is older than the 30-day period
    )
    pairs = _pairs(redemptions=redemptions)
    assert ("c", "welcome") not in pairs and ("d", "welcome") in pairs


def test_a_rule_value_no_customer_has_is_flagged():
    # "loyal" is in vip's list but no customer is in that segment: the offer still reaches
    # champions, yet a misspelt value would silently reach nobody, so it is said.
    notes = unmatched_values(_catalog(), CUSTOMERS)
    assert notes == [
        "offer 'vip': segments ['loyal'] match no customer (values found: at_risk, champions, new)"
    ]
    typo = validate_offers([{"offer_id": "x", "kind": "gift", "value": 1, "segments": "Champion"}])
    assert unmatched_values(typo, CUSTOMERS)[0].startswith("offer 'x': segments ['Champion']")
    assert unmatched_values(typo, CUSTOMERS.drop(columns="segment")) == []


def test_a_rule_on_a_missing_column_names_it():
    with pytest.raises(DataError, match="'winback' needs customers column 'clv'"):
        eligible_pairs(_catalog(), CUSTOMERS.drop(columns="clv"), when=NOW)


def test_contact_policy_counts_contacts_in_the_period_and_suppresses_redeemers():
    policy = ContactPolicy(max_per_channel={"email": 2, "web": 3}, period_days=7, suppress_days=14)
    contacts = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "channel": ["email", "email", "web", "email"],
            "timestamp": ["2024-06-14", "2024-06-12", "2024-06-14", "2024-05-01"],
        }
    )
    caps = policy.channel_caps(["a", "b"], when=NOW, contacts=contacts)
    assert caps.loc["a"].to_dict() == {"email": 0, "web": 2}
    assert caps.loc["b"].to_dict() == {"email": 2, "web": 3}
    redemptions = pd.DataFrame(
        {"customer_id": ["a", "b"], "timestamp": ["2024-06-10", "2024-01-01"]}
    )
    assert policy.suppressed(["a", "b"], when=NOW, redemptions=redemptions).tolist() == [
        True,
        False,
    ]


def test_prior_is_labelled_and_follows_its_formula():
    pairs = eligible_pairs(_catalog(), CUSTOMERS, when=NOW)
    custom = CUSTOMERS.assign(churn_risk=[0.0, 0.5, 1.0, np.nan])
    prior = prior_uplift(pairs, custom, _catalog(), base_uplift=0.1)
    assert (prior["source"] == "prior").all()
    assert prior["reason"].str.startswith("prior (no campaign history)").all()
    by = prior.set_index(["customer_id", "offer_id"])["uplift"]
    # b: churn risk 0.5 -> persuadability 1; clv rank 2/3 -> weight 0.5 + 2/3
    assert by["b", "winback"] == pytest.approx(0.1 * 1.0 * (0.5 + 2 / 3))
    # a: churn risk 0 -> persuadability 0.25; clv rank 1 -> weight 1.5
    assert by["a", "vip"] == pytest.approx(0.1 * 0.25 * 1.5)


def test_prior_affinity_to_the_offer_items():
    catalog = validate_offers(
        [{"offer_id": "shoes", "kind": "gift", "value": 1, "categories": "shoes"}]
    )
    pairs = pd.DataFrame({"customer_id": ["a", "b"], "offer_id": ["shoes", "shoes"]})
    recs = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "item_id": ["s1", "h1", "h1"], "score": [0.5, 1.0, 2.0]}
    )
    items = pd.DataFrame({"item_id": ["s1", "h1"], "category": ["shoes", "hats"]})
    prior = prior_uplift(
        pairs,
        CUSTOMERS[["customer_id"]],
        catalog,
        recommendations=recs,
        items=items,
        base_uplift=0.1,
    )
    assert prior["uplift"].tolist() == pytest.approx([0.05, 0.0])


def test_expected_value_and_the_publishable_table():
    catalog = _catalog()
    pairs = pd.DataFrame(
        {
            "customer_id": ["b", "a"],
            "offer_id": ["winback", "vip"],
            "uplift": [0.10, 0.02],
            "response": [0.30, 0.50],
        }
    )
    valued = expected_value(pairs, catalog, CUSTOMERS)
    # b: 0.10 x margin 0.3 x basket 40 - 0.30 x cost 0
    assert valued["value"].tolist() == pytest.approx([0.10 * 0.3 * 40, 0.02 * 0.3 * 80])
    table = offers_table(valued.iloc[[0]], catalog, CUSTOMERS["customer_id"])
    assert table.columns.tolist() == COLUMNS
    winback = table[table["offer_id"] == "winback"]
    assert winback[["customer_id", "channel", "rank"]].values.tolist() == [["b", "email", 1]]
    fallback = table[table["reason"] == "fallback"]
    assert sorted(fallback["customer_id"]) == ["a", "b", "c", "d"]
    assert set(fallback["channel"]) == {"web"} and (fallback["offer_id"] == "ship").all()
