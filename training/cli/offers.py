"""``recsys uplift fit|assign``, ``offers`` and ``export email``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recsys.cli_options import (
    Namespace,
    Quiet,
    RedisUrl,
)
from training.cli.app import (
    _csv_list,
    app,
)
from training.progress import Reporter

# --------------------------------------------------------------------------------------------
# recsys uplift fit|assign (a self-contained sub-app; the jobs live in training/uplift.py)
# --------------------------------------------------------------------------------------------

uplift_app = typer.Typer(
    help="Uplift: learn who responds to which treatment from a randomised campaign history.",
    no_args_is_help=True,
)
app.add_typer(uplift_app, name="uplift")


@uplift_app.command("fit")
def uplift_fit(
    history: Annotated[Path, typer.Option("--history", help="Campaign history (CSV/Parquet).")],
    treatment_col: Annotated[str, typer.Option("--treatment-col", help="Arm column.")],
    control: Annotated[str, typer.Option("--control", help="Value of the untreated arm.")],
    outcome_col: Annotated[str, typer.Option("--outcome", help="Outcome column (number).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the model and report.")],
    id_col: Annotated[str | None, typer.Option("--id-col", help="Customer id column.")] = None,
    features: Annotated[
        str | None, typer.Option("--features", help="Comma-separated feature columns.")
    ] = None,
    learner: Annotated[str, typer.Option("--learner", help="dr, t or s.")] = "dr",
    quiet: Quiet = False,
) -> None:
    """Fit an uplift model, judge it on held-out rows, save it (JSON + npz)."""
    from training.uplift import fit_uplift

    rep = Reporter(quiet)
    with rep.step(f"Fitting uplift ({learner}-learner) on {history}"):
        report = fit_uplift(
            history,
            treatment_col=treatment_col,
            control=control,
            outcome_col=outcome_col,
            out=out,
            id_col=id_col,
            features=_csv_list(features, "--features"),
            learner=learner,
        )
    rows, held = report["rows"], report["holdout"]
    rep.info(
        f"  {rows['read']:,} rows, {rows['accepted']:,} accepted, {rows['rejected']:,} rejected"
    )
    rep.info(
        f"  holdout ({held['rows']:,} rows) at a {held['budget']:.0%} budget, mean outcome: "
        f"uplift policy {held['uplift_policy']['value']:.4f}, response model "
        f"{held['response_policy']['value']:.4f}, random with {held['best_single_arm']} "
        f"{held['random_best_arm_policy']:.4f}, no treatment {held['no_treatment']:.4f}"
    )
    rep.info(f"  model written to {out}")


@uplift_app.command("assign")
def uplift_assign(
    model: Annotated[Path, typer.Option("--model", help="Directory of `recsys uplift fit`.")],
    customers: Annotated[Path, typer.Option("--customers", help="Customers with the features.")],
    out: Annotated[Path, typer.Option("--out", help="Output .csv or .parquet.")],
    id_col: Annotated[str | None, typer.Option("--id-col", help="Customer id column.")] = None,
    budget: Annotated[
        float, typer.Option("--budget", help="Largest share of customers treated.", min=0, max=1)
    ] = 1.0,
    quiet: Quiet = False,
) -> None:
    """Best arm per customer (or the control value) with its expected uplift."""
    from training.uplift import assign_uplift

    result = assign_uplift(model, customers, out=out, id_col=id_col, budget=budget)
    Reporter(quiet).info(
        f"  {len(result):,} customers, {int((result['expected_uplift'] > 0).sum()):,} treated; "
        f"written to {out}"
    )


# --------------------------------------------------------------------------------------------
# Offers: recsys offers (allocate over a bundle) and recsys export email (training/offers.py,
# training/export.py). A self-contained block: registered before the entry point runs.
# --------------------------------------------------------------------------------------------


@app.command("offers")
def offers_command(
    bundle: Annotated[Path, typer.Option("--bundle", help="A bundle directory OUT/<version>.")],
    catalog: Annotated[Path, typer.Option("--catalog", help="Offer catalog (CSV/Parquet/JSON).")],
    customers: Annotated[
        Path | None, typer.Option("--customers", help="Customers file (country).")
    ] = None,
    redemptions: Annotated[
        Path | None, typer.Option("--redemptions", help="customer_id, offer_id, timestamp.")
    ] = None,
    contacts: Annotated[
        Path | None, typer.Option("--contacts", help="customer_id, channel, timestamp.")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Allocation date.")] = None,
    quiet: Quiet = False,
) -> None:
    """Allocate the catalog's offers over a bundle (before publishing) and add the tables."""
    from recsys.offers.artifacts import OffersConfig
    from training.offers import run_offers
    from training.segments import parse_as_of

    when = parse_as_of(as_of)  # one line and exit 2 for a date that does not read

    rep = Reporter(quiet)
    with rep.step(f"Allocating offers of {catalog} over {bundle}"):
        result = run_offers(
            bundle,
            catalog,
            customers_path=customers,
            redemptions_path=redemptions,
            contacts_path=contacts,
            config=OffersConfig(as_of=None if when is None else when.isoformat()),
        )
    m = result.manifest
    rep.info(
        f"  {m['allocated']:,} offers to {m['customers_with_offers']:,} customers "
        f"({m['method']}, value {m['objective']:.2f}, LP bound {m['lp_bound']:.2f}); "
        f"{m['rejected_offers']} catalog rows rejected"
    )
    for warning in m.get("warnings", []):
        rep.warn(f"  {warning}")
    typer.echo(str(bundle))


export_app = typer.Typer(help="Exports for other systems.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("email")
def export_email_command(
    version: Annotated[str, typer.Option("--version", help="A published version.")],
    out: Annotated[Path, typer.Option("--out", help="PATH.jsonl or PATH.csv.")],
    customers: Annotated[
        Path, typer.Option("--customers", help="Customers file with email_opt_in.")
    ],
    k: Annotated[int, typer.Option("--k", min=1, max=500, help="Products per email.")] = 10,
    control_share: Annotated[
        float, typer.Option("--control-share", min=0, max=0.99, help="Share held out.")
    ] = 0.1,
    salt: Annotated[str, typer.Option("--salt", help="Salt of the control hash.")] = (
        "email-control"
    ),
    redis: RedisUrl = None,
    namespace: Namespace = "recsys",
    quiet: Quiet = False,
) -> None:
    """The email payload (top-k products + best email offer), equal to the API's answers."""
    from training.export import export_email

    result = export_email(
        version,
        out,
        customers,
        redis_url=redis,
        namespace=namespace,
        k=k,
        control_share=control_share,
        salt=salt,
    )
    Reporter(quiet).info(
        f"  {result.payloads:,} payloads ({result.control:,} in the control group), "
        f"{result.suppressed:,} suppressed; {result.paths['suppressed']}"
    )
    typer.echo(str(out))
