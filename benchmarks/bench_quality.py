"""Quality of the default ``recsys train`` on every kind of shop, with bootstrap intervals.

For each shop (the real Online Retail II and dunnhumby files when ``../shared/data`` is there,
and generated shops of each ``--kind``), the default selection runs exactly as
``recsys train --events FILE`` runs it: the same loading, candidates
(:data:`training.train.DEFAULT_CANDIDATES`), blend tuning, holdout and selection rule
(:func:`recsys.evaluation.candidates.compare_candidates`). Then, per protocol, the shipped
model's served lists are compared with the best single candidate (any candidate but the
blend) and the best simple baseline (popular, buy again, recently viewed), as ratios of mean
NDCG@k over the same judged customers with 95% paired bootstrap intervals
(:mod:`recsys.evaluation.bootstrap`). The per-customer values come from refitting those
models on the same training window; their means are checked against the selection's table.

Targets (issue 8), on each protocol that applies: shipped >= 1.0x the best single candidate
and >= 1.05x the best simple baseline. Nothing here is tuned to these tables.

Results: ``benchmarks/results/quality.md`` and ``quality.json``. Real data is found at
``../shared/data`` from the project root, or at ``$RECSYS_SHARED_DATA`` (worktrees).

Run: ``python -m benchmarks.bench_quality [--shops NAME ...] [--resamples N] [--merge]``; on a
busy machine run the real shops one at a time with ``--merge``, which keeps the other shops'
last results in the saved table.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd  # noqa: E402

from benchmarks.common import RESULTS, SHARED_DATA, save  # noqa: E402
from recsys.config import Config  # noqa: E402
from recsys.data.dataset import build_dataset  # noqa: E402
from recsys.data.events import load_events  # noqa: E402
from recsys.data.presets import resolve_ingest_config  # noqa: E402
from recsys.evaluation.bootstrap import paired_ratio_bootstrap, per_customer_metric  # noqa: E402
from recsys.evaluation.candidates import Comparison, compare_candidates  # noqa: E402
from recsys.evaluation.protocols import served_list  # noqa: E402
from recsys.models import make_model  # noqa: E402
from training.train import DEFAULT_CANDIDATES  # noqa: E402

#: The simple baselines a default must beat by 5%: popularity, buy again, recently viewed.
BASELINES = ("popular", "repeat", "recent")
TARGET_SINGLE = 1.0
TARGET_BASELINE = 1.05
SEED = 0
#: Generated shops: moderate sizes (the whole benchmark takes a few minutes).
GENERATED = {
    "generated retail": {"kind": "retail", "customers": 3000},
    "generated marketplace": {"kind": "marketplace", "customers": 3000},
    "generated ratings": {"kind": "ratings", "customers": 3000},
}


def shared_data() -> Path:
    """``$RECSYS_SHARED_DATA`` if set, else ``../shared/data`` from the project root."""
    return Path(os.environ.get("RECSYS_SHARED_DATA") or SHARED_DATA)


@dataclass(frozen=True)
class ShopSpec:
    name: str
    #: Writes the events file into a directory and returns its path, or a reason to skip.
    events: Callable[[Path], Path | str]
    preset: str | None = None


def _real(relative: str) -> Callable[[Path], Path | str]:
    def locate(_tmp: Path) -> Path | str:
        path = shared_data() / relative
        return path if path.is_file() else f"{path} not found (set RECSYS_SHARED_DATA)"

    return locate


def _generated(params: dict[str, Any], seed: int = SEED) -> Callable[[Path], Path | str]:
    def write(tmp: Path) -> Path | str:
        from recsys.data.synthetic.shop import generate_shop

        shop = generate_shop(seed=seed, **params)
        return shop.write(tmp / "shop")["events"]

    return write


SHOPS = (
    ShopSpec(
        "online retail II 2009-10",
        _real("online_retail_ii/online_retail_II_2009-2010.parquet"),
        "online-retail",
    ),
    ShopSpec("dunnhumby sample", _real("dunnhumby/transactions_sample.csv.gz"), "dunnhumby"),
    *(ShopSpec(name, _generated(params)) for name, params in GENERATED.items()),
)


def other_seed_shops(seed: int) -> tuple[ShopSpec, ...]:
    """The generated shops drawn with another generator seed, named ``"... (seed N)"``: shops
    the defaults were never looked at on, to check that a change generalises."""
    return tuple(
        ShopSpec(f"{name} (seed {seed})", _generated(params, seed))
        for name, params in GENERATED.items()
    )


def _best(table: pd.DataFrame, protocol: str, models: list[str], metric: str) -> str | None:
    rows = table[(table["protocol"] == protocol) & table["model"].isin(models)]
    if rows.empty:
        return None
    return str(rows.sort_values(metric, ascending=False, kind="stable")["model"].iloc[0])


def _figure(table: pd.DataFrame, model: str, protocol: str, metric: str) -> float:
    row = table[(table["model"] == model) & (table["protocol"] == protocol)]
    return float(row[metric].iloc[0])


def _per_customer(
    comparison: Comparison, names: set[str], config: Config
) -> dict[tuple[str, str], Any]:
    """(model, protocol) -> per-customer metric of its served lists, refitted on the same
    training window with the same parameters as the selection used."""
    result = comparison.result
    dataset = build_dataset(comparison.split.train, config.matrix)
    out = {}
    for name in sorted(names):
        model = make_model(name, **comparison.params[name]).fit(dataset)
        for protocol, truth in result.truths.items():
            if truth.n_customers == 0:
                continue
            recs = served_list(model, truth.customer_ids, result.k, protocol, missing="error")
            out[name, protocol] = per_customer_metric(
                recs, truth, result.k, config.evaluation.metric
            )
    return out


def bench_shop(spec: ShopSpec, events_path: Path, resamples: int) -> dict[str, Any]:
    """The default selection on one shop, and its ratios per protocol."""
    config = Config()
    if spec.preset:
        config = config.with_overrides(ingest={"preset": spec.preset})
    metric = config.evaluation.metric
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        events = load_events(
            events_path,
            resolve_ingest_config(config.ingest),
            event_types=list(config.matrix.event_weights),
            rejects_path=Path(tmp) / "rejects.csv",
        ).events
    comparison = compare_candidates(events, DEFAULT_CANDIDATES, config=config, items_frame=None)
    selection_s = time.perf_counter() - start
    table = comparison.result.table
    shipped = comparison.chosen
    evaluated = sorted(table["model"].unique())
    singles = [m for m in evaluated if m != "blend"]
    baselines = [m for m in evaluated if m in BASELINES]
    refs = {
        p: (_best(table, p, singles, metric), _best(table, p, baselines, metric))
        for p in comparison.result.protocols
    }
    needed = {shipped} | {m for pair in refs.values() for m in pair if m}
    values = _per_customer(comparison, needed, config)
    rows: list[dict[str, Any]] = []
    mismatches: list[str] = []
    for protocol, (single, baseline) in refs.items():
        a = comparison.applicability[protocol]
        row: dict[str, Any] = {
            "shop": spec.name,
            "protocol": protocol,
            "applies": a.applies,
            "why": a.reason,
            "shipped": shipped,
            "n_customers": int(comparison.result.facts["n_customers"][protocol]),
        }
        if (shipped, protocol) not in values:
            rows.append(row)
            continue
        mine = values[shipped, protocol]
        row[metric] = _figure(table, shipped, protocol, metric)
        # The refit reproduces the selection's figure (same data, parameters and seeds).
        row["refit_" + metric] = float(mine[~pd.isna(mine)].mean())
        if abs(row["refit_" + metric] - row[metric]) > 1e-9:
            mismatches.append(f"{protocol}: refit {row['refit_' + metric]:.6f}")
        for role, ref, target in (
            ("single", single, TARGET_SINGLE),
            ("baseline", baseline, TARGET_BASELINE),
        ):
            if ref is None:
                continue
            ci = paired_ratio_bootstrap(mine, values[ref, protocol], n_resamples=resamples)
            row[f"best_{role}"] = ref
            row[f"best_{role}_{metric}"] = _figure(table, ref, protocol, metric)
            row[f"vs_{role}"] = ci.to_dict()
            row[f"meets_{role}"] = bool(ci.ratio >= target - 1e-12)
            row[f"meets_{role}_ci"] = bool(ci.low >= target - 1e-12)
        rows.append(row)
    return {
        "shop": spec.name,
        "n_events": len(events),
        "split": comparison.split_note,
        "shipped": shipped,
        "notes": comparison.notes
        + [f"{m} skipped: {r}" for m, r in comparison.result.facts["skipped_models"].items()]
        + [f"refit differs from the selection's figure: {m}" for m in mismatches],
        "selection_s": selection_s,
        "total_s": time.perf_counter() - start,
        "table": table.round(5).to_dict(orient="records"),
        "rows": rows,
    }


def _ratio_cell(row: dict[str, Any], role: str) -> str:
    ci = row.get(f"vs_{role}")
    if not ci:
        return "n/a"
    return f"{ci['ratio']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]"


def _ref_cell(row: dict[str, Any], role: str) -> str:
    if f"best_{role}" not in row:
        return "n/a"
    return f"{row[f'best_{role}']} ({row[f'best_{role}_ndcg']:.4f})"


def _verdict(row: dict[str, Any]) -> str:
    if not row["applies"]:
        return "does not apply"
    if "vs_single" not in row:
        return "n/a"
    parts = []
    for role, target in (("single", TARGET_SINGLE), ("baseline", TARGET_BASELINE)):
        if f"meets_{role}" not in row:
            continue
        met = "met" if row[f"meets_{role}"] else "**missed**"
        sure = " (interval clears)" if row[f"meets_{role}_ci"] else ""
        parts.append(f"{target:g}x {role}: {met}{sure}")
    return "; ".join(parts)


def markdown(shops: list[dict[str, Any]], skipped: dict[str, str], resamples: int) -> str:
    metric = "NDCG@10"
    lines = [
        "# Default `recsys train` vs the best single candidate and simple baselines",
        "",
        f"Ratios of mean {metric} of the shipped model's served lists over the same judged "
        f"customers, with 95% paired bootstrap intervals ({resamples:,} resamples, seed 0). "
        "Targets on each protocol that applies: >= 1.0x the best single candidate, >= 1.05x "
        "the best simple baseline (popular, repeat = buy again, recent = recently viewed).",
        "",
        f"| shop | protocol | applies | shipped | {metric} | best single | vs best single "
        f"| best baseline | vs best baseline | targets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for shop in shops:
        for r in shop["rows"]:
            applies = ("yes: " if r["applies"] else "no: ") + r["why"]
            single, base = _ref_cell(r, "single"), _ref_cell(r, "baseline")
            lines.append(
                f"| {shop['shop']} | {r['protocol']} | {applies} | {r['shipped']} | "
                f"{r.get('ndcg', float('nan')):.4f} | {single} | {_ratio_cell(r, 'single')} | "
                f"{base} | {_ratio_cell(r, 'baseline')} | {_verdict(r)} |"
            )
    lines += ["", "## Shops", ""]
    for shop in shops:
        lines.append(
            f"- **{shop['shop']}**: {shop['n_events']:,} events; {shop['split']}; shipped "
            f"{shop['shipped']}; {shop['total_s']:.0f} s."
        )
        lines += [f"  - {note}" for note in shop["notes"]]
    for name, reason in skipped.items():
        lines.append(f"- **{name}**: skipped: {reason}")
    return "\n".join(lines) + "\n"


def _merged(
    shops: list[dict[str, Any]], skipped: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """These results over the last saved ones: shops run now replace theirs, in SHOPS order."""
    path = RESULTS / "quality.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    by_name = {s["shop"]: s for s in old.get("shops", [])}
    by_name.update({s["shop"]: s for s in shops})
    order = [spec.name for spec in SHOPS]
    merged = sorted(
        by_name.values(), key=lambda s: order.index(s["shop"]) if s["shop"] in order else 99
    )
    kept = {n: r for n, r in old.get("skipped", {}).items() if n not in by_name}
    return merged, {**kept, **skipped}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    names = [s.name for s in SHOPS]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shops", nargs="*", default=names, help=f"any of {names}")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other shops of the last saved results (run heavy shops one at a time)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help="generator seed of the generated shops (another seed: shops named '... (seed N)')",
    )
    args = parser.parse_args(argv)
    specs = SHOPS
    if args.seed != SEED:
        # Another seed: only the generated shops exist; a shop named without the suffix is
        # its seeded copy.
        specs = other_seed_shops(args.seed)
        names = [s.name for s in specs]
        requested = args.shops if args.shops != [s.name for s in SHOPS] else names
        args.shops = [n if n in names else f"{n} (seed {args.seed})" for n in requested]
    unknown = [n for n in args.shops if n not in names]
    if unknown:
        parser.error(f"unknown shop {unknown[0]!r}: choose from {names}")
    shops, skipped = [], {}
    for spec in specs:
        if spec.name not in args.shops:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = spec.events(Path(tmp))
            if isinstance(path, str):
                skipped[spec.name] = path
                print(f"{spec.name}: skipped: {path}", flush=True)
                continue
            print(f"{spec.name}: running the default selection on {path.name}", flush=True)
            shop = bench_shop(spec, path, args.resamples)
        shops.append(shop)
        for r in shop["rows"]:
            print(
                f"  {r['protocol']:<14} {'applies' if r['applies'] else 'no vote':<8} "
                f"shipped {r['shipped']:<8} ndcg {r.get('ndcg', float('nan')):.4f}  vs "
                f"{r.get('best_single', '-')}: {_ratio_cell(r, 'single')}  vs "
                f"{r.get('best_baseline', '-')}: {_ratio_cell(r, 'baseline')}  "
                f"({r['why']})",
                flush=True,
            )
    if not shops:  # every shop asked for was skipped: nothing measured, nothing saved
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped.items())
        raise SystemExit(f"error: no shop ran ({reasons}); set RECSYS_SHARED_DATA")
    if args.merge:
        shops, skipped = _merged(shops, skipped)
    text = markdown(shops, skipped, args.resamples)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quality.md").write_text(text)
    path = save("quality", {"resamples": args.resamples, "shops": shops, "skipped": skipped})
    print("\n" + text)
    print(f"saved {path} and {RESULTS / 'quality.md'}")
    return {"shops": shops, "skipped": skipped}


if __name__ == "__main__":
    main()
