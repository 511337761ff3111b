"""Everything known about each customer, computed once: the library side of ``recsys
segments`` and of ``recsys train``'s segment artifacts.

:func:`build_segments` turns validated events into one row per customer
(:data:`SEGMENT_COLUMNS`) plus a JSON-ready parameter record (fitted BG/NBD and Gamma-Gamma
parameters, RFM cut points and rules, cluster profiles, the churn model chosen and its holdout
metrics, the BG/NBD holdout check, the settings used). :meth:`SegmentsResult.members` and
:meth:`SegmentsResult.summaries` give the per-segment lists and the per-segment figures the
API publishes (slugs like ``rfm:cant-lose-them`` and ``cluster:3``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from recsys import columns as C
from recsys.customers import churn
from recsys.customers.bgnbd import PARAMS, BetaGeoModel
from recsys.customers.clusters import ClusterResult, feature_matrix, fit_clusters, match_previous
from recsys.customers.clv import predicted_clv
from recsys.customers.cohorts import cohort_record
from recsys.customers.config import CustomersConfig
from recsys.customers.gamma_gamma import GammaGammaModel, independence_check
from recsys.customers.holdout import holdout_check
from recsys.customers.rfm import assign_segments, cut_points, migration_matrix, rfm_scores
from recsys.customers.summary import CHANNEL, order_table, shares, summarize
from recsys.errors import ModelFitError

SEGMENT_COLUMNS: Final = (
    "customer_id",
    "orders",
    "frequency",
    "recency_days",
    "T_days",
    "monetary_mean",
    "monetary_total",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "cluster",
    "cluster_name",
    "p_alive",
    "churn_risk",
    "churn_band",
    "expected_orders",
    "expected_next_order",
    "predicted_clv",
    "historic_clv",
)


def slug(kind: str, name: object) -> str:
    """``rfm:cant-lose-them`` from ("rfm", "Can't Lose Them"); ``cluster:3`` from a cluster id."""
    text = re.sub(r"[^a-z0-9]+", "-", str(name).lower().replace("'", "")).strip("-")
    return f"{kind}:{text}"


def default_as_of(events: pd.DataFrame) -> pd.Timestamp:
    """Midnight after the last event: the summary then includes the whole last day."""
    return pd.Timestamp(events[C.TIMESTAMP].max()).normalize() + pd.Timedelta(days=1)


@dataclass
class SegmentsResult:
    frame: pd.DataFrame  # SEGMENT_COLUMNS, one row per customer
    params: dict[str, Any]  # JSON-ready (segments.json)
    clusters: ClusterResult
    migration: pd.DataFrame | None  # previous x current RFM segment counts

    def members(self) -> dict[str, list[str]]:
        """See :func:`members`."""
        return members(self.frame)

    def summaries(self) -> list[dict[str, Any]]:
        """See :func:`summaries`."""
        return summaries(self.frame)


def members(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Customer ids per segment slug (RFM and cluster) of a segments frame (as written to
    ``segments.parquet``), highest predicted CLV first, ties by customer id."""
    ordered = frame.sort_values(["predicted_clv", "customer_id"], ascending=[False, True])
    out: dict[str, list[str]] = {}
    for kind, col in (("rfm", "rfm_segment"), ("cluster", "cluster")):
        for value, ids in ordered.groupby(col, sort=True)["customer_id"]:
            out[slug(kind, value)] = ids.astype(str).tolist()
    return out


def summaries(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per segment of a segments frame: ``segment`` (slug), ``kind`` (rfm|cluster), ``name``,
    ``customers``, ``revenue_share`` (of monetary_total), ``mean_clv``, ``churn_mix`` (share
    of each churn band)."""
    f = frame
    total = float(f["monetary_total"].sum()) or 1.0
    out = []
    for kind, col, name_col in (
        ("rfm", "rfm_segment", "rfm_segment"),
        ("cluster", "cluster", "cluster_name"),
    ):
        for value, g in f.groupby(col, sort=True):
            mix = g["churn_band"].value_counts(normalize=True)
            out.append(
                {
                    "segment": slug(kind, value),
                    "kind": kind,
                    "name": str(g[name_col].iloc[0]),
                    "customers": int(len(g)),
                    "revenue_share": float(g["monetary_total"].sum()) / total,
                    "mean_clv": float(g["predicted_clv"].mean()),
                    "churn_mix": {b: float(mix.get(b, 0.0)) for b in churn.BANDS},
                }
            )
    return out


#: Fewest customers the BG/NBD and Gamma-Gamma models are fitted on: four or five parameters
#: from a handful of customers give any value (expected orders of 277 from six customers);
#: below this the empirical estimates are used and the params say so.
MIN_MODEL_CUSTOMERS: Final = 50


def _too_few(summary: pd.DataFrame) -> str | None:
    n = len(summary)
    if n >= MIN_MODEL_CUSTOMERS:
        return None
    return f"only {n} customer(s): the model needs at least {MIN_MODEL_CUSTOMERS}"


def _fit_bgnbd(summary: pd.DataFrame, cfg: CustomersConfig) -> tuple[BetaGeoModel | None, dict]:
    info: dict[str, Any] = {}
    if (few := _too_few(summary)) is not None:
        return None, {**dict.fromkeys(PARAMS), "converged": False, "fallback": "empirical",
                      "error": few}  # fmt: skip
    for l2 in dict.fromkeys([cfg.l2_penalty, max(cfg.l2_penalty, 1e-3)]):
        try:
            model = BetaGeoModel(l2).fit(summary["frequency"], summary["t_x"], summary["T"])
        except ModelFitError as exc:
            info["error"] = str(exc)
            continue
        if model.converged_:
            identified = all(np.isfinite(v) for v in model.se_.values())
            return model, {**model.to_dict(), "identified": identified, "fallback": None}
        info["error"] = f"the fit did not converge with l2_penalty={l2}: {model.message_}"
    return None, {**dict.fromkeys(PARAMS), "converged": False, "fallback": "empirical", **info}


def _empirical(summary: pd.DataFrame, horizon_days: float) -> tuple[np.ndarray, ...]:
    """Fallback predictions without a model: observed rate, alive while within 2 mean gaps."""
    gap = np.where(
        summary["frequency"] > 0,
        (summary["T_days"] - summary["recency_days"]) / summary["frequency"].clip(1),
        summary["T_days"],
    )
    gap = np.maximum(gap, 1.0)
    p_alive = np.exp(-summary["recency_days"].to_numpy() / (2 * gap))
    rate = summary["frequency"].to_numpy() / np.maximum(summary["T_days"].to_numpy(), 1.0)
    return p_alive, p_alive * rate * horizon_days, gap


def build_segments(
    events: pd.DataFrame,
    config: CustomersConfig | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    items: pd.DataFrame | None = None,
    previous: tuple[pd.DataFrame, dict[str, Any]] | None = None,
) -> SegmentsResult:
    """Summary, RFM, clusters, BG/NBD + Gamma-Gamma CLV and churn for every customer.

    Parameters
    ----------
    events:
        Validated events (purchases and returns are used; ``category`` and ``channel`` columns
        give shares when present).
    config:
        :class:`CustomersConfig`; defaults when None.
    as_of:
        The date the summary is taken at (default: midnight after the last event).
    items:
        Optional items table (``item_id``, ``category``) for category shares.
    previous:
        The previous version's (frame, params): cluster ids are matched to it and the RFM
        migration matrix is computed against it.

    Returns
    -------
    SegmentsResult
        ``frame``: one row per customer with an order before ``as_of``, columns
        :data:`SEGMENT_COLUMNS` (days for ``recency_days``/``T_days``, currency for monetary
        and CLV columns, ``expected_orders`` over ``horizon_days``, ``expected_next_order`` a
        timestamp, probabilities in [0, 1]); never NaN. ``params``: the JSON record.

    Raises
    ------
    DataError
        No order before ``as_of``.
    ModelFitError
        A computed column is not finite (a bug guard: fits that fail fall back instead).
    """
    # One OpenMP thread: k-means and gradient boosting spin-wait badly on a shared machine,
    # and the data here is per customer (small), not per event.
    with threadpool_limits(limits=1, user_api="openmp"):
        return _build(events, config, as_of=as_of, items=items, previous=previous)


def _build(
    events: pd.DataFrame,
    config: CustomersConfig | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    items: pd.DataFrame | None = None,
    previous: tuple[pd.DataFrame, dict[str, Any]] | None = None,
) -> SegmentsResult:
    cfg = config or CustomersConfig()
    unit = cfg.time_unit_days
    at = pd.Timestamp(as_of) if as_of is not None else default_as_of(events)
    orders = order_table(events, order_key=cfg.order_key)
    summary = summarize(orders, at, time_unit_days=unit)
    params: dict[str, Any] = {
        "as_of": str(at.date()) if at == at.normalize() else at.isoformat(),
        "time_unit_days": unit,
        "time_unit": {7.0: "week", 1.0: "day"}.get(unit, f"{unit:g} days"),
        "horizon_days": cfg.horizon_days,
        "churn_window_days": cfg.churn_window_days,
        "discount_rate": cfg.discount_rate,
        "n_customers": len(summary),
        "config": cfg.model_dump(mode="json"),
    }

    share_parts = []
    ev = events
    if items is not None and C.CATEGORY in items.columns and C.CATEGORY not in ev.columns:
        keyed = items.set_index(C.ITEM_ID) if C.ITEM_ID in items.columns else items
        cats = keyed[C.CATEGORY]
        ev = ev.assign(**{C.CATEGORY: ev[C.ITEM_ID].map(cats)})
    for col in (C.CATEGORY, CHANNEL):
        if col in ev.columns and ev[col].notna().any():
            share_parts.append(shares(ev, col, at, customers=summary.index, prefix=f"{col}:"))
    share_frame = pd.concat(share_parts, axis=1) if share_parts else None

    scores = rfm_scores(summary)
    segment = assign_segments(scores, cfg.rfm_segments)
    params["rfm"] = {
        "cut_points": cut_points(summary, scores),
        "rules": [r.model_dump(mode="json") for r in cfg.rfm_segments],
        "evaluation_order": "first matching rule wins, in the order of rules; else Others",
    }

    horizon_units = cfg.horizon_days / unit
    bg, params["bgnbd"] = _fit_bgnbd(summary, cfg)
    x, tx, T = summary["frequency"], summary["t_x"], summary["T"]
    if bg is not None:
        p_alive = bg.p_alive(x, tx, T)
        expected = bg.expected_orders(horizon_units, x, tx, T)
        wait_days = bg.median_wait(x, T) * unit
    else:
        p_alive, expected, wait_days = _empirical(summary, cfg.horizon_days)

    gg_info = independence_check(x, summary["repeat_monetary_mean"], cfg.independence_max_corr)
    try:
        if (few := _too_few(summary)) is not None:
            raise ModelFitError(few)
        gg = GammaGammaModel(cfg.l2_penalty).fit(x, summary["repeat_monetary_mean"])
        spend = gg.expected_spend(x, summary["repeat_monetary_mean"])
        params["gamma_gamma"] = {**gg.to_dict(), "independence": gg_info, "fallback": None}
        if not gg.converged_:
            params["gamma_gamma"]["fallback"] = "fitted values used although not converged"
    except ModelFitError as exc:
        spend = summary["monetary_mean"].to_numpy()
        params["gamma_gamma"] = {
            **dict.fromkeys(("p", "q", "v")),
            "converged": False,
            "error": str(exc),
            "independence": gg_info,
            "fallback": "observed mean order value",
        }
    if bg is not None:
        clv = predicted_clv(
            bg,
            x.to_numpy(),
            tx.to_numpy(),
            T.to_numpy(),
            spend,
            horizon_days=cfg.horizon_days,
            time_unit_days=unit,
            step_days=cfg.clv_step_days,
            discount_rate=cfg.discount_rate,
        )
    else:
        clv = expected * spend / (1 + cfg.discount_rate) ** (cfg.horizon_days / 730)

    risk = 1.0 - p_alive
    if bg is not None:
        comparison = churn.compare(
            orders,
            at,
            cfg.churn_window_days,
            time_unit_days=unit,
            l2_penalty=cfg.l2_penalty,
            seed=cfg.seed,
        )
        want = comparison.chosen if cfg.churn_model == "auto" else cfg.churn_model
        if want == "supervised":
            sup = churn.supervised_risk(
                orders, at, cfg.churn_window_days, summary, time_unit_days=unit, seed=cfg.seed
            )
            if sup is not None:
                risk = sup
            else:
                want = "bgnbd_window"
        if want == "bgnbd_window":
            risk = bg.p_no_order(cfg.churn_window_days / unit, x, tx, T)
        comparison.chosen = want
    else:
        comparison = churn.ChurnComparison(
            "empirical", reason="BG/NBD fit failed: 1 - P(alive) of the empirical fallback"
        )
    params["churn"] = {**comparison.to_dict(), "band_cuts": list(cfg.churn_band_cuts)}

    clusters = fit_clusters(
        feature_matrix(summary, share_frame),
        k_min=cfg.cluster_k_min,
        k_max=cfg.cluster_k_max,
        sample=cfg.cluster_sample,
        seed=cfg.seed,
    )
    prev_frame, prev_params = previous if previous is not None else (None, None)
    if prev_params:
        clusters = match_previous(clusters, prev_params.get("clusters", {}).get("profiles", []))
    params["clusters"] = clusters.to_dict()
    params["holdout_check"] = holdout_check(orders, at, cfg)
    params["cohorts"] = cohort_record(orders, at, cfg.churn_window_days)

    frame = pd.DataFrame(
        {
            "customer_id": summary.index.astype(str),
            "orders": summary["orders"].to_numpy(np.int64),
            "frequency": summary["frequency"].to_numpy(np.int64),
            "recency_days": summary["recency_days"].to_numpy(),
            "T_days": summary["T_days"].to_numpy(),
            "monetary_mean": summary["monetary_mean"].to_numpy(),
            "monetary_total": summary["monetary_total"].to_numpy(),
            "rfm_r": scores["rfm_r"].to_numpy(),
            "rfm_f": scores["rfm_f"].to_numpy(),
            "rfm_m": scores["rfm_m"].to_numpy(),
            "rfm_segment": segment.to_numpy(),
            "cluster": clusters.labels.to_numpy(np.int64),
            "cluster_name": clusters.labels.map(clusters.profiles["name"]).to_numpy(),
            "p_alive": np.asarray(p_alive, dtype=np.float64),
            "churn_risk": np.clip(np.asarray(risk, dtype=np.float64), 0, 1),
            "churn_band": churn.churn_bands(risk, cfg.churn_band_cuts),
            "expected_orders": np.asarray(expected, dtype=np.float64),
            "expected_next_order": (
                at + pd.to_timedelta(np.minimum(wait_days, 36500), unit="D")
            ).astype("datetime64[ns]"),
            "predicted_clv": np.asarray(clv, dtype=np.float64),
            "historic_clv": summary["monetary_total"].to_numpy(),
        }
    )
    for col in ("rfm_segment", "cluster_name", "churn_band"):
        frame[col] = frame[col].astype("str")
    numeric = frame.select_dtypes("number")
    if not np.isfinite(numeric.to_numpy(np.float64)).all():
        bad = numeric.columns[~np.isfinite(numeric.to_numpy(np.float64)).all(axis=0)].tolist()
        raise ModelFitError(f"non-finite values in segment columns {bad}")

    migration = None
    if prev_frame is not None and "rfm_segment" in prev_frame.columns:
        prev = prev_frame.set_index(prev_frame["customer_id"].astype(str))["rfm_segment"]
        migration = migration_matrix(prev, frame.set_index("customer_id")["rfm_segment"])
        params["migration"] = {
            "previous_as_of": (prev_params or {}).get("as_of"),
            "rows": migration.index.tolist(),
            "columns": migration.columns.tolist(),
            "counts": migration.to_numpy().tolist(),
        }
    result = SegmentsResult(frame, params, clusters, migration)
    params["segments"] = result.summaries()
    return result
