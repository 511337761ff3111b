"""The ``recsys report`` job: one self-contained HTML file about customers and their experience.

Reads a segments directory or bundle (``segments.parquet``, ``segments.json`` and, when
present, the recommender's ``manifest.json``) and optional survey and ticket files, and writes
an HTML page with embedded PNG figures (matplotlib, base64 data URIs: no external file or
script). Bad survey/ticket rows are rejected with reasons (written next to the report as
``<name>.surveys_rejects.csv`` / ``<name>.tickets_rejects.csv``) and counted in the page.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import orjson  # noqa: E402
import pandas as pd  # noqa: E402

from recsys.customers import cx  # noqa: E402
from recsys.customers.config import OTHERS  # noqa: E402
from recsys.data.io import read_table  # noqa: E402
from recsys.data.rejects import write_rejects  # noqa: E402
from recsys.errors import DataError  # noqa: E402
from training.report_page import STYLE, Report  # noqa: E402
from training.report_page import note as _note  # noqa: E402
from training.report_page import table as _table  # noqa: E402


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(orjson.loads(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None


def _cohorts(rep: Report, params: dict[str, Any]) -> None:
    ret = params.get("cohorts", {}).get("retention")
    if not ret or not ret["cohorts"]:
        rep.section("cohort-retention", "Cohort retention", _note("no cohort data"))
    else:
        share = np.array([[np.nan if v is None else v for v in row] for row in ret["share"]])
        fig, ax = plt.subplots(figsize=(9, 0.35 * len(ret["cohorts"]) + 1.5))
        im = ax.imshow(share * 100, aspect="auto", cmap="viridis", vmin=0, vmax=100)
        ax.set_yticks(
            range(len(ret["cohorts"])),
            [f"{c} (n={n})" for c, n in zip(ret["cohorts"], ret["customers"], strict=True)],
        )
        ax.set_xticks(range(len(ret["months"])), ret["months"])
        ax.set_xlabel("months since first order")
        fig.colorbar(im, ax=ax, label="% of cohort ordering")
        rep.section(
            "cohort-retention",
            "Cohort retention",
            rep.figure(fig, "Share of each first-order cohort ordering k months later"),
        )
    rates = pd.DataFrame(params.get("cohorts", {}).get("rates", []))
    if rates.empty:
        rep.section("repeat-churn", "Repeat purchase and churn over time", _note("no data"))
        return
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for col, label in (("repeat_rate", "repeat-purchase rate"), ("churn_rate", "churn rate")):
        ax.plot(rates["month"], pd.to_numeric(rates[col]) * 100, marker="o", label=label)
    ax.set_ylabel("%")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    window = params.get("churn_window_days")
    rep.section(
        "repeat-churn",
        "Repeat purchase and churn over time",
        rep.figure(
            fig,
            f"Monthly repeat-purchase rate and churn rate (no order in the "
            f"next {window} days among the previous {window} days' buyers)",
        ),
        _table(rates),
    )


def _value(rep: Report, frame: pd.DataFrame, params: dict[str, Any]) -> None:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    clv = frame["predicted_clv"].clip(lower=0)
    ax.hist(np.log10(clv + 1), bins=40, color="#4c72b0")
    ax.set_xlabel("log10(predicted CLV + 1)")
    ax.set_ylabel("customers")
    q = clv.quantile([0.5, 0.9, 0.99])
    bg, gg = params.get("bgnbd", {}), params.get("gamma_gamma", {})
    fit = pd.DataFrame(
        [
            {
                "model": "BG/NBD",
                **{k: bg.get(k) for k in ("r", "alpha", "a", "b")},
                "converged": bg.get("converged"),
                "fallback": bg.get("fallback"),
            },
            {
                "model": "Gamma-Gamma",
                **{k: gg.get(k) for k in ("p", "q", "v")},
                "converged": gg.get("converged"),
                "fallback": gg.get("fallback"),
            },
        ]
    )
    ind = gg.get("independence", {})
    parts = [
        rep.figure(
            fig,
            f"Predicted CLV over {params.get('horizon_days')} days, discounted at "
            f"{params.get('discount_rate', 0):.0%}/year",
        ),
        _note(
            f"median {q[0.5]:,.2f}, p90 {q[0.9]:,.2f}, p99 {q[0.99]:,.2f}; total {clv.sum():,.0f}"
        ),
        _table(fit),
        _note(
            f"frequency/monetary correlation {ind.get('corr', float('nan')):.3f} over "
            f"{ind.get('n', 0)} repeat customers: independence check "
            f"{'passed' if ind.get('passed') else 'FAILED'}"
        ),
    ]
    hc = params.get("holdout_check", {})
    if hc.get("bins"):
        parts.append(
            _note(
                f"BG/NBD holdout check ({hc['holdout_days']} days from "
                f"{hc['cutoff']}): predicted {hc['predicted_total']:,.0f} vs actual "
                f"{hc['actual_total']:,.0f} orders"
            )
        )
        parts.append(_table(pd.DataFrame(hc["bins"])))
    rep.section("clv", "Lifetime value", *parts)


def _rfm(rep: Report, frame: pd.DataFrame, params: dict[str, Any]) -> None:
    g = frame.groupby("rfm_segment").agg(
        customers=("customer_id", "size"),
        revenue=("monetary_total", "sum"),
        mean_clv=("predicted_clv", "mean"),
    )
    order = [r["name"] for r in params.get("rfm", {}).get("rules", [])] + [OTHERS]
    g = g.reindex([s for s in order if s in g.index] + [s for s in g.index if s not in order])
    g["revenue_share_%"] = 100 * g["revenue"] / max(g["revenue"].sum(), 1e-12)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    axes[0].barh(g.index, g["customers"], color="#4c72b0")
    axes[0].set_xlabel("customers")
    axes[0].invert_yaxis()
    axes[1].barh(g.index, g["revenue"], color="#dd8452")
    axes[1].set_xlabel("revenue (net of returns)")
    grid = frame.pivot_table(
        index="rfm_r", columns="rfm_f", values="customer_id", aggfunc="size", fill_value=0
    )
    fig2, ax = plt.subplots(figsize=(5, 4))
    im = ax.imshow(grid.to_numpy(), origin="lower", cmap="Blues")
    ax.set_xticks(range(len(grid.columns)), grid.columns)
    ax.set_yticks(range(len(grid.index)), grid.index)
    ax.set_xlabel("F score")
    ax.set_ylabel("R score")
    fig2.colorbar(im, ax=ax, label="customers")
    rep.section(
        "rfm",
        "RFM segments",
        rep.figure(fig, "Size and revenue per RFM segment"),
        rep.figure(fig2, "RFM grid: customers per recency x frequency score"),
        _table(g.reset_index()),
    )


def _migration(rep: Report, params: dict[str, Any]) -> None:
    mig = params.get("migration")
    if not mig:
        rep.section(
            "migration",
            "Segment migration",
            _note("no previous version given (recsys segments --previous DIR)"),
        )
        return
    m = pd.DataFrame(mig["counts"], index=mig["rows"], columns=mig["columns"])
    fig, ax = plt.subplots(figsize=(0.6 * len(m.columns) + 3, 0.45 * len(m.index) + 2))
    ax.imshow(np.log1p(m.to_numpy()), cmap="Purples")
    ax.set_xticks(range(len(m.columns)), m.columns, rotation=60, ha="right")
    ax.set_yticks(range(len(m.index)), m.index)
    for (i, j), v in np.ndenumerate(m.to_numpy()):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
    ax.set_xlabel("now")
    ax.set_ylabel(f"previous ({mig.get('previous_as_of')})")
    rep.section(
        "migration",
        "Segment migration",
        rep.figure(fig, "Customers moving between RFM segments since the previous version"),
        _table(m, index=True),
    )


def _clusters(rep: Report, params: dict[str, Any]) -> None:
    prof = pd.DataFrame(params.get("clusters", {}).get("profiles", []))
    if prof.empty:
        rep.section("clusters", "Behavioural clusters", _note("no clusters"))
        return
    prof = prof.drop(columns="centroid")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    labels = [f"{c}: {n}" for c, n in zip(prof["cluster"], prof["name"], strict=True)]
    for ax, col in zip(
        axes, ("median_recency_days", "median_orders", "median_monetary_total"), strict=True
    ):
        ax.barh(labels, prof[col], color="#55a868")
        ax.set_title(col.replace("_", " "))
        ax.invert_yaxis()
    for ax in axes[1:]:
        ax.set_yticklabels([])
    rep.section(
        "clusters",
        "Behavioural clusters",
        rep.figure(fig, "Cluster profiles (medians of the members)"),
        _table(prof),
    )


def _churn(rep: Report, frame: pd.DataFrame, params: dict[str, Any]) -> None:
    ch = params.get("churn", {})
    metrics = pd.DataFrame(ch.get("metrics", {})).T.reset_index(names="model")
    bands = frame["churn_band"].value_counts().reindex(["low", "medium", "high"]).fillna(0)
    parts = [
        _note(
            f"churn_risk comes from: {ch.get('chosen')}"
            + (f" ({ch['reason']})" if ch.get("reason") else "")
            + f"; holdout from {ch.get('cutoff')}, churn rate "
            + (f"{ch['churn_rate']:.1%}" if ch.get("churn_rate") is not None else "n/a")
        ),
        _table(metrics) if not metrics.empty else _note("no holdout metrics"),
        _table(bands.astype(int).rename_axis("band").rename("customers").reset_index()),
    ]
    rep.section("churn-model", "Churn risk", *parts)


def _recommender(rep: Report, bundle: Path) -> None:
    path = bundle / "manifest.json"
    if not path.exists():
        rep.section(
            "recommender",
            "Recommender holdout metrics",
            _note("no manifest.json in the bundle (segments run on their own)"),
        )
        return
    man = _read_json(path)
    metrics = pd.DataFrame(man.get("metrics", []))
    parts = [_note(f"chosen model: {man.get('chosen_model')}; version {man.get('version')}")]
    parts.append(_table(metrics) if not metrics.empty else _note("trained without a holdout"))
    rep.section("recommender", "Recommender holdout metrics", *parts)


def _segment_of(frame: pd.DataFrame, ids: pd.Series) -> pd.Series:
    seg = frame.set_index("customer_id")["rfm_segment"]
    return ids.map(seg).fillna("(unknown customer)")


def _rejects(rep_path: Path, name: str, rejects: pd.DataFrame) -> str:
    if rejects.empty:
        return _note(f"all {name} rows accepted")
    path = write_rejects(rejects, rep_path.with_name(f"{rep_path.stem}.{name}_rejects.csv"))
    counts = ", ".join(f"{r} {n}" for r, n in rejects["reject_reason"].value_counts().items())
    return _note(f"{len(rejects)} {name} rows rejected ({counts}); written to {path.name}")


def _surveys(rep: Report, path: Path, frame: pd.DataFrame, out: Path) -> None:
    clean, rejects = cx.validate_surveys(read_table(path))
    month = clean["timestamp"].dt.strftime("%Y-%m")
    monthly = cx.survey_table(clean, month)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    for ax, metric in zip(axes, ("nps", "csat", "ces"), strict=True):
        m = monthly[monthly["metric"] == metric]
        if not m.empty:
            ax.errorbar(
                m["group"],
                m["value"],
                fmt="o-",
                yerr=[m["value"] - m["ci_low"], m["ci_high"] - m["value"]],
            )
        ax.set_title(metric.upper())
        ax.tick_params(axis="x", rotation=60)
    rep.section(
        "surveys",
        "Surveys: NPS, CSAT, CES",
        _rejects(out, "surveys", rejects),
        "<h3>Overall</h3>",
        _table(cx.survey_table(clean)),
        rep.figure(fig, "NPS (points), CSAT (% 4-5) and CES (mean) per month, 95% CI"),
        "<h3>Per month</h3>",
        _table(monthly),
        "<h3>Per RFM segment</h3>",
        _table(cx.survey_table(clean, _segment_of(frame, clean["customer_id"]))),
    )


def _tickets(rep: Report, path: Path, frame: pd.DataFrame, out: Path) -> None:
    clean, rejects = cx.validate_tickets(read_table(path))
    monthly = cx.ticket_table(clean, clean["opened_at"].dt.strftime("%Y-%m"))
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for col in (
        "first_response_mean_h",
        "first_response_p90_h",
        "resolution_mean_h",
        "resolution_p90_h",
    ):
        ax.plot(monthly["group"], monthly[col], marker="o", label=col.replace("_", " "))
    ax.set_ylabel("hours")
    ax.tick_params(axis="x", rotation=60)
    ax.legend(fontsize=8)
    rep.section(
        "tickets",
        "Support tickets",
        _rejects(out, "tickets", rejects),
        "<h3>Overall</h3>",
        _table(cx.ticket_table(clean)),
        rep.figure(fig, "First-response and resolution time per month (mean and p90)"),
        "<h3>Per month</h3>",
        _table(monthly),
        "<h3>Per RFM segment</h3>",
        _table(cx.ticket_table(clean, _segment_of(frame, clean["customer_id"]))),
    )


def run_report(
    bundle: str | Path,
    out: str | Path,
    *,
    surveys: str | Path | None = None,
    tickets: str | Path | None = None,
    online_events: str | Path | None = None,
) -> Report:
    """Write the HTML report to ``out``; returns the assembled :class:`Report`.

    Raises :class:`DataError` when the bundle lacks segments.parquet/segments.json or an
    input file is unreadable or lacks a column.
    """
    b, out_path = Path(bundle), Path(out)
    missing = [n for n in ("segments.parquet", "segments.json") if not (b / n).exists()]
    if missing:
        raise DataError(f"{b}: missing {', '.join(missing)} (run recsys segments --out {b})")
    frame = pd.read_parquet(b / "segments.parquet")
    params = _read_json(b / "segments.json")
    rep = Report()
    head = pd.DataFrame(
        [
            {
                "as of": params.get("as_of"),
                "customers": len(frame),
                "revenue": frame["monetary_total"].sum(),
                "predicted CLV": frame["predicted_clv"].sum(),
                "mean P(alive)": frame["p_alive"].mean(),
            }
        ]
    )
    rep.section("summary", "Summary", _table(head))
    _cohorts(rep, params)
    _value(rep, frame, params)
    _rfm(rep, frame, params)
    _migration(rep, params)
    _clusters(rep, params)
    _churn(rep, frame, params)
    _recommender(rep, b)
    if surveys is not None:
        _surveys(rep, Path(surveys), frame, out_path)
    if tickets is not None:
        _tickets(rep, Path(tickets), frame, out_path)
    if online_events is not None:
        from training.online_report import online_section

        online_section(rep, online_events)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Customer report {html.escape(str(params.get('as_of')))}</title>"
        f"<style>{STYLE}</style></head><body><h1>Customers and their experience, as of "
        f"{html.escape(str(params.get('as_of')))}</h1>{''.join(rep.sections)}</body></html>\n"
    )
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    return rep
