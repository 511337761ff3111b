"""Do the offers prior's scores rank coupon redeemers above non-redeemers? (dunnhumby)

The Complete Journey sample (``dunnhumby/`` of the shared data) records who received each
campaign (``campaigns.csv.gz``), which products its coupons apply to (``coupons.csv.gz``) and
who redeemed one (``coupon_redemptions.csv.gz``): real, not randomised, outcomes. For every
campaign with a redemption and some transactions before its start, each recipient household
is scored for the campaign from the transactions *before the start date* only (no leakage):

* ``affinity (blend)`` / ``affinity (als)``: the prior's recommendation affinity
  (:mod:`recsys.offers.prior`): the best model score among the coupons' products over the
  household's best score overall. The model (the default blend, or ALS alone) is fitted on the
  pre-campaign transactions and scores every product, repeats allowed (``exclude_seen=False``:
  in grocery the coupon's products are often ones already bought). The blend is the default
  one without its optional EASE part: from April on the catalog is over EASE's item limit and
  the default blend drops it anyway; leaving it out everywhere keeps one model across dates
  and the run short;
* ``prior (blend)``: the full prior: that affinity x persuadability (churn risk) x value weight
  (CLV rank), churn risk and CLV from :func:`recsys.customers.segments.build_segments` on the
  same pre-campaign transactions;
* baselines: ``past spend`` (total sales value before the start) and ``random`` (seeded
  uniform scores: the AUC 0.5 of a random ranking, with the interval's width under no signal).

Each score's AUC of redeemers vs non-redeemers among the recipients is reported per campaign
and pooled (pairs within the same campaign; and all rows pooled across campaigns), with a 95%
stratified bootstrap interval (:func:`recsys.offers.evaluation.auc_interval`). Households
without transactions in the sample before the start score 0 on everything but ``random``.

Run: ``python -m benchmarks.bench_redeemers [--data DIR] [--resamples N]``; set
``RECSYS_SHARED_DATA=/work/shared/data`` from a worktree. Skips with a reason when the data is
absent.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.common import SHARED_DATA, save  # noqa: E402
from recsys import columns as C  # noqa: E402
from recsys.customers.segments import build_segments  # noqa: E402
from recsys.data.dataset import build_dataset  # noqa: E402
from recsys.models.base import Recommender  # noqa: E402
from recsys.models.blend import DEFAULT_COMPONENTS  # noqa: E402
from recsys.models.registry import make_model  # noqa: E402
from recsys.offers.artifacts import eligibility_frame  # noqa: E402
from recsys.offers.catalog import validate_offers  # noqa: E402
from recsys.offers.evaluation import auc_interval  # noqa: E402
from recsys.offers.prior import prior_uplift  # noqa: E402

FILES = (
    "transactions_sample.csv.gz",
    "campaigns.csv.gz",
    "campaign_descriptions.csv.gz",
    "coupons.csv.gz",
    "coupon_redemptions.csv.gz",
)
MODELS = ("blend", "als")
SCORES = ("random", "past spend", "affinity (als)", "affinity (blend)", "prior (blend)")
SEED = 20260
BLEND = [dict(c) for c in DEFAULT_COMPONENTS if c["model"] != "ease"]


def data_dir(arg: str | None) -> Path | None:
    """The ``dunnhumby`` folder holding :data:`FILES`, or None when absent."""
    for candidate in (arg, os.environ.get("RECSYS_SHARED_DATA"), SHARED_DATA):
        if not candidate:
            continue
        for folder in (Path(candidate) / "dunnhumby", Path(candidate)):
            if all((folder / f).exists() for f in FILES):
                return folder
    return None


def load(folder: Path) -> dict[str, pd.DataFrame]:
    """The five tables, ids as text; transactions as canonical purchase events."""
    t = pd.read_csv(folder / "transactions_sample.csv.gz")
    qty = t["quantity"].where(t["quantity"] > 0, 1.0)
    events = pd.DataFrame(
        {
            C.CUSTOMER_ID: t["household_id"].astype(str),
            C.ITEM_ID: t["product_id"].astype(str),
            C.TIMESTAMP: pd.to_datetime(t["transaction_timestamp"]),
            C.EVENT_TYPE: C.PURCHASE,
            C.QUANTITY: qty,
            C.PRICE: t["sales_value"] / qty,
            C.ORDER_ID: t["basket_id"].astype(str),
        }
    )
    desc = pd.read_csv(folder / "campaign_descriptions.csv.gz", parse_dates=["start_date"])
    tables = {"events": events, "descriptions": desc}
    for name in ("campaigns", "coupons", "coupon_redemptions"):
        # Ids as integer text: coupons.csv.gz writes two product ids as "9e+05", which makes
        # the column float ("9676830.0") and would match no transaction's product.
        frame = pd.read_csv(folder / f"{name}.csv.gz")
        ids = [c for c in frame.columns if c.endswith("_id")]
        frame = frame.dropna(subset=ids)
        tables[name] = frame.astype({c: "int64" for c in ids}).astype({c: str for c in ids})
    return tables


class History:
    """What the engine knows at one date: models and profiles fitted on earlier events."""

    def __init__(self, events: pd.DataFrame, start: pd.Timestamp) -> None:
        before = events[events[C.TIMESTAMP] < start]
        self.n_events = len(before)
        self.spend = (before[C.QUANTITY] * before[C.PRICE]).groupby(before[C.CUSTOMER_ID]).sum()
        dataset = build_dataset(before)
        self.models: dict[str, Recommender] = {
            "blend": make_model("blend", components=BLEND).fit(dataset),
            "als": make_model("als").fit(dataset),
        }
        self.profiles = build_segments(before, as_of=start).frame

    def scores(self, model: str, households: np.ndarray, products: list[str]) -> pd.DataFrame:
        """Each household's best score overall and best among ``products``
        (``customer_id, item_id, score``): all the prior's affinity needs."""
        m = self.models[model]
        best = m.recommend(households, k=1, exclude_seen=False)
        covered = m.recommend(households, k=1, exclude_seen=False, items=products)
        return pd.concat([best, covered], ignore_index=True)


def score_campaign(
    history: History, campaign: str, recipients: np.ndarray, products: list[str]
) -> dict[str, np.ndarray]:
    """Every score of :data:`SCORES` for each recipient (order of ``recipients``)."""
    catalog = validate_offers(
        [{"offer_id": f"campaign-{campaign}", "kind": "percent_off", "value": 0, "items": products}]
    )
    pairs = pd.DataFrame({C.CUSTOMER_ID: recipients, "offer_id": f"campaign-{campaign}"})
    bare = pd.DataFrame({C.CUSTOMER_ID: recipients})
    rng = np.random.default_rng([SEED, int(campaign)])
    out = {
        "random": rng.random(len(recipients)),
        "past spend": history.spend.reindex(recipients).fillna(0.0).to_numpy(),
    }
    for model in MODELS:
        recs = history.scores(model, recipients, products)
        # No churn risk or CLV and base_uplift 1: the prior's uplift is its affinity alone.
        out[f"affinity ({model})"] = prior_uplift(
            pairs, bare, catalog, recommendations=recs, base_uplift=1.0, base_response=0.0
        )["uplift"].to_numpy()
        if model == "blend":
            customers = eligibility_frame(history.profiles, None, pd.Series(recipients))
            prior = prior_uplift(pairs, customers, catalog, recommendations=recs)
            out["prior (blend)"] = prior["uplift"].to_numpy()
    return out


def run(folder: Path, resamples: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    tables = load(folder)
    events, desc = tables["events"], tables["descriptions"]
    desc = desc.assign(campaign_id=desc["campaign_id"].astype(str)).set_index("campaign_id")
    redeemed = tables["coupon_redemptions"][["campaign_id", "household_id"]].drop_duplicates()
    products = tables["coupons"].groupby("campaign_id")["product_id"].unique()
    histories: dict[pd.Timestamp, History] = {}
    rows, long_rows = [], []
    skipped = {
        c: "no coupon redemption"
        for c in sorted(set(desc.index) - set(redeemed["campaign_id"]), key=int)
    }
    for campaign in sorted(redeemed["campaign_id"].unique(), key=int):
        start = desc.loc[campaign, "start_date"]
        if not (events[C.TIMESTAMP] < start).any():
            skipped[campaign] = f"starts {start.date()}, before the first transaction"
            continue
        if start not in histories:
            histories[start] = History(events, start)
        history = histories[start]
        recipients = (
            tables["campaigns"].loc[tables["campaigns"]["campaign_id"] == campaign, "household_id"]
        ).unique()
        y = np.isin(
            recipients, redeemed.loc[redeemed["campaign_id"] == campaign, "household_id"]
        ).astype(int)
        if y.all():
            skipped[campaign] = "every recipient redeemed"
            continue
        scores = score_campaign(history, campaign, recipients, list(products[campaign]))
        row: dict[str, Any] = {
            "campaign": campaign,
            "type": desc.loc[campaign, "campaign_type"],
            "start": str(start.date()),
            "recipients": len(recipients),
            "redeemers": int(y.sum()),
            "with_history": float(history.spend.reindex(recipients).notna().mean()),
            "events_before": history.n_events,
        }
        for name in SCORES:
            row[name] = auc_interval(y, scores[name], n_resamples=resamples, seed=SEED).to_dict()
        rows.append(row)
        long_rows.append(pd.DataFrame({"campaign": campaign, "y": y, **scores}))
    pooled_frame = pd.concat(long_rows, ignore_index=True)
    pooled = {
        how: {
            name: auc_interval(
                pooled_frame["y"],
                pooled_frame[name],
                pooled_frame["campaign"] if how == "within campaigns" else None,
                n_resamples=resamples,
                seed=SEED,
            ).to_dict()
            for name in SCORES
        }
        for how in ("within campaigns", "across campaigns")
    }
    return {
        "data": str(folder),
        "scores": list(SCORES),
        "models": list(MODELS),
        "resamples": resamples,
        "campaigns": rows,
        "pooled": pooled,
        "skipped": skipped,
        "seconds": time.perf_counter() - t0,
    }


def _cell(r: dict[str, Any]) -> str:
    return f"{r['auc']:.2f} [{r['low']:.2f},{r['high']:.2f}]"


def report(result: dict[str, Any]) -> None:
    names = result["scores"]
    print(
        "dunnhumby: AUC of coupon redeemers vs non-redeemers among a campaign's recipients, "
        "scored from pre-campaign transactions only (95% bootstrap interval; random = 0.5)"
    )
    head = f"{'campaign':<9}{'type':<7}{'start':<11}{'recip':>6}{'redeem':>7}{'hist':>5}  "
    print(head + "".join(f"{n:<19}" for n in names))
    for row in result["campaigns"]:
        print(
            f"{row['campaign']:<9}{row['type'][-1]:<7}{row['start']:<11}{row['recipients']:>6}"
            f"{row['redeemers']:>7}{row['with_history']:>5.0%}  "
            + "".join(f"{_cell(row[n]):<19}" for n in names)
        )
    for how, figures in result["pooled"].items():
        first = figures[names[0]]
        print(
            f"pooled {how} ({first['n_pos']} redeemers, {first['n_neg']} non-redeemers, "
            f"{first['n_groups']} group(s)):"
        )
        for n in names:
            print(f"  {n:<18} {_cell(figures[n])}")
    for campaign, why in result["skipped"].items():
        print(f"campaign {campaign} skipped: {why}")
    print(f"({result['seconds']:.0f} s)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="shared data folder (or its dunnhumby/ subfolder)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    args = parser.parse_args(argv)
    folder = data_dir(args.data)
    if folder is None:
        print(
            "skipped: dunnhumby data not found (pass --data DIR or set RECSYS_SHARED_DATA; "
            f"looked for {', '.join(FILES)})"
        )
        return
    result = run(folder, args.resamples)
    report(result)
    print(f"saved {save('redeemers', result)}")


if __name__ == "__main__":
    main()
