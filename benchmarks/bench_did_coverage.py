"""Coverage of the reports' difference-in-differences on the shipped synthetic trailblazer areas.

For each shipped trailblazer configuration with a synthetic world and a go-live month, and each seed, the
script regenerates the world (area sizes scaled by ``--scale``), links it exactly as ``linkage report``
does (:func:`linkage.reporting.builder.gather`), and runs the report's own evaluation section
(:func:`linkage.reporting.sections.evaluation_section`) - the same flags, populations, model, clustering
and true effects the report prints. With ``--truth-links`` it also runs the section on the linked view
rebuilt from the world's *true* links, to separate linkage error from estimator bias.

Per configuration and outcome it prints the mean estimate, the mean true effect, the mean bias
(estimate - truth) with its Monte Carlo standard error, the empirical coverage of the 95% interval, and
writes every per-seed row to ``benchmarks/out/did_coverage.csv``.

Examples::

    .venv/bin/python benchmarks/bench_did_coverage.py --seeds 20 --scale 0.3
    .venv/bin/python benchmarks/bench_did_coverage.py --configs london-south --seeds 30 --truth-links
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from statsmodels.stats.proportion import proportion_confint

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkage.reporting import builder as B  # noqa: E402, N812
from linkage.reporting.config import config_from_dict  # noqa: E402

OUT = ROOT / "benchmarks" / "out"


def _config(slug: str, seed: int, scale: float, per_month: int | None = None):
    path = ROOT / "trailblazers" / f"{slug}.yaml"
    raw = yaml.safe_load(path.read_text())
    raw = copy.deepcopy(raw)
    for area in raw["sources"]["synthetic_world"]["areas"]:
        size = per_month if per_month is not None else area["crimes_per_month"] * scale
        area["crimes_per_month"] = max(1, int(round(size)))
    raw["seed"] = int(seed)
    return config_from_dict(raw, base=path.parent, source=str(path))


def _truth_linked(data) -> pd.DataFrame:
    """The linked view rebuilt from the world's true links (no linkage error), as the report builds it."""
    from linkage.evaluation.frames import linked_crimes
    from linkage.justice import build_right, crime_outcome_table

    tables, truth = data.tables, data.tables["truth"]
    rows = []
    for source in ("cautions", "penalty_notices", "court_outcomes"):
        if source not in tables or tables[source].empty:
            continue
        right = build_right(source, tables[source])
        t = truth[truth["source"] == source][["record_id", "force", "crime_ref", "suspect_ref"]]
        merged = t.merge(right[["record_id", "outcome_date", "outcome_label"]], on="record_id", how="inner")
        rows.append(merged.assign(source=source))
    links = pd.concat(rows, ignore_index=True)
    co = crime_outcome_table(tables["crimes"], tables["suspects"], links)
    ct = data.world.crime_truth
    roles = ct[["force", "crime_ref", "area", "role"]].copy()
    roles["treated"] = (roles["role"] == "trailblazer").astype("int64")
    cfg = data.config
    linked = linked_crimes(
        co,
        areas=roles[["force", "crime_ref", "area", "treated"]],
        police_outcomes=B._police_record(ct, cfg),
        default_area=cfg.area.name,
    )
    keep = roles.loc[roles["role"].isin(["trailblazer", "comparison"]), ["force", "crime_ref"]]
    linked = linked.merge(keep.astype("string"), on=["force", "crime_ref"], how="inner")
    return linked[(linked["month"] >= cfg.start) & (linked["month"] <= cfg.end)].reset_index(drop=True)


def _rows(data, crimes, view: str, slug: str, seed: int) -> list[dict]:
    sec = B.report_evaluation(data, crimes, B.true_effects(data.world, data.config, crimes))
    table = next(t.frame for t in sec.tables if t.name == "evaluation_did")
    key_col = "key" if "key" in table.columns else "outcome"
    out = []
    for _, r in table.iterrows():
        truth = r.get("true effect", np.nan)
        out.append(
            {
                "config": slug,
                "seed": seed,
                "links": view,
                "outcome": r[key_col],
                "unit": r["unit"],
                "estimate": float(r["estimate"]),
                "ci_lower": float(r["95% CI lower"]),
                "ci_upper": float(r["95% CI upper"]),
                "true": float(truth) if pd.notna(truth) else np.nan,
                "crimes": int(r["crimes"]),
            }
        )
    return out


def _summary(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.dropna(subset=["true"]).copy()
    rows["bias"] = rows["estimate"] - rows["true"]
    rows["covered"] = (rows["ci_lower"] <= rows["true"]) & (rows["true"] <= rows["ci_upper"])
    rows["halfwidth"] = (rows["ci_upper"] - rows["ci_lower"]) / 2
    g = rows.groupby(["config", "links", "outcome"], sort=False)
    s = g.agg(
        seeds=("seed", "size"),
        mean_estimate=("estimate", "mean"),
        mean_true=("true", "mean"),
        mean_bias=("bias", "mean"),
        sd_bias=("bias", "std"),
        mean_halfwidth=("halfwidth", "mean"),
        covered=("covered", "sum"),
    ).reset_index()
    s["bias_mcse"] = s["sd_bias"] / np.sqrt(s["seeds"])
    s["coverage"] = s["covered"] / s["seeds"]
    lo, hi = proportion_confint(s["covered"], s["seeds"], alpha=0.05, method="wilson")
    s["coverage_ci"] = [f"[{a:.2f}, {b:.2f}]" for a, b in zip(lo, hi, strict=True)]
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["london-south", "london-east"])
    ap.add_argument("--seeds", type=int, default=20, help="number of seeds (1..N)")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=0.3, help="multiply every area's crimes_per_month")
    ap.add_argument("--crimes-per-month", type=int, help="set every area to this size (overrides --scale)")
    ap.add_argument("--seed-list", type=int, nargs="+", help="these seeds instead of --first-seed/--seeds")
    ap.add_argument("--truth-links", action="store_true", help="also run on the true links")
    ap.add_argument("--out", default=str(OUT / "did_coverage.csv"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rows: list[dict] = []
    t0 = time.time()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for slug in args.configs:
        seeds = args.seed_list or range(args.first_seed, args.first_seed + args.seeds)
        for seed in seeds:
            t = time.time()
            cfg = _config(slug, seed, args.scale, args.crimes_per_month)
            data = B.gather(cfg)
            rows += _rows(data, data.linked, "linked", slug, seed)
            if args.truth_links:
                rows += _rows(data, _truth_linked(data), "truth", slug, seed)
            print(f"{slug} seed {seed}: {time.time() - t:.1f}s", file=sys.stderr, flush=True)
            frame = pd.DataFrame(rows)
            frame.to_csv(out, index=False)  # after every seed, so a long run can be read while it runs
    summary = _summary(frame)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.drop(columns=["sd_bias"]).round(3).to_string(index=False))
    print(f"\n{len(frame)} rows -> {out}; {time.time() - t0:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
