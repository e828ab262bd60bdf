"""As-linked and linkage-adjusted shares on a world where one source's linkage recall is near 0.90.

Builds the harder synthetic trailblazer (``bench_did_coverage.harder_config``: London boroughs, hard noise,
no area shocks here) with extra faults on the caution records only (``--caution-faults``: more hand-typed
crime references left blank and more PNC IDs missing, via the world spec's ``noise`` overrides), links it
with the report's own pipeline, and prints, per source, the share of crimes with a named suspect that
have a linked record of that source: as linked (Wilson interval), adjusted by that source's clerical-review
precision and recall (:func:`linkage.evaluation.linkage_error.linked_shares`), the true share from the
world's truth table, whether each interval covers it, the recall against truth and the part of the
adjusted interval's variance that is linkage.

Then the multiple imputation of link sets the report runs (``--m`` link sets, Rubin's rules) on the same
world: the linked-only share and mean days to the linked outcome
(:func:`~linkage.evaluation.linkage_error.imputed_linked_outcomes`) and the difference-in-differences of a
linked record within the follow-up window (:func:`~linkage.evaluation.linkage_error.imputed_did`), each
as linked and imputed beside its true value on the world's true links
(:func:`~linkage.evaluation.linkage_error.true_links`) and whether each interval covers it. Per-source rows
go to ``--out`` (review-adjusted) and ``<out stem>_imputed.csv`` (imputed); a coverage summary over the
seeds is printed last, with the wall and CPU seconds of linking and of the imputation.

Example::

    nice -n 15 .venv/bin/python benchmarks/bench_linkage_adjusted.py --seeds 1 2 3 --per-month 400
    nice -n 15 .venv/bin/python benchmarks/bench_linkage_adjusted.py --seeds 1 2 3 4 5 --per-month 2400 \
        --review 3000
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_did_coverage import harder_config  # noqa: E402

from linkage.evaluation.linkage_error import (  # noqa: E402
    imputed_did,
    imputed_linked_outcomes,
    linked_shares,
    true_links,
)
from linkage.reporting import builder as B  # noqa: E402, N812
from linkage.reporting.config import config_from_dict  # noqa: E402

CAUTION_FAULTS = {
    "profile": "hard",
    "crime_ref_blank": 0.95,
    "crime_ref_wrong": 0.5,
    "pnc_missing_caution": 0.9,
    "offence_altered_caution": 0.5,
}


def low_recall_config(seed: int, *, per_month: int, areas: int, review: int, faults: dict[str, float]):
    """The harder configuration with ``faults`` overriding the hard noise profile and a review sample."""
    cfg = harder_config(seed, oocd_pp=10.0, shock_sd_pp=0.0, n_areas=areas, per_month=per_month)
    raw = copy.deepcopy(cfg.raw) if hasattr(cfg, "raw") else None
    if raw is None:
        raise SystemExit("config has no raw form")
    raw["sources"]["synthetic_world"]["noise"] = dict(faults)
    raw.setdefault("evaluation", {})["review_sample"] = review
    return config_from_dict(raw, base=ROOT / "trailblazers", source=f"low-recall world seed {seed}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--per-month", type=int, default=400)
    ap.add_argument("--areas", type=int, default=6)
    ap.add_argument("--review", type=int, default=1500, help="clerical review sample (pairs, all sources)")
    ap.add_argument("--m", type=int, default=10, help="imputed link sets (the report uses 10)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "linkage_adjusted.csv"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rows, imputed_rows = [], []
    for seed in args.seeds:
        t0, c0 = time.time(), time.process_time()
        cfg = low_recall_config(
            seed, per_month=args.per_month, areas=args.areas, review=args.review, faults=CAUTION_FAULTS
        )
        data = B.gather(cfg)
        named = data.linked[data.linked["n_suspects"] > 0]
        world = {k: getattr(data.world, k) for k in ("cautions", "penalty_notices", "court_outcomes")}
        truth = true_links(data.tables["truth"], world)
        shares = linked_shares(named, data.link_result.links, data.review_by_source, truth=truth)
        recall = data.quality["recall_crime"] if "recall_crime" in data.quality else data.quality["recall"]
        shares["recall_vs_truth"] = shares["source"].map(recall)
        shares["as_linked_covers"] = (shares["as_linked_lower"] <= shares["true"]) & (
            shares["true"] <= shares["as_linked_upper"]
        )
        shares["adjusted_covers"] = (shares["adjusted_lower"] <= shares["true"]) & (
            shares["true"] <= shares["adjusted_upper"]
        )
        rows.append(shares.assign(seed=seed))
        t1, c1 = time.time(), time.process_time()
        cand, links, ev = data.link_result.candidates, data.link_result.links, cfg.evaluation
        mi = imputed_linked_outcomes(named, cand, links, m=args.m, seed=cfg.seed, truth=truth)
        t2, c2 = time.time(), time.process_time()
        did = imputed_did(
            named,
            cand,
            links,
            go_live=cfg.go_live,
            period_end=cfg.period_end,
            followup_days=ev.followup_days,
            cluster=ev.cluster,
            m=args.m,
            seed=cfg.seed,
            truth=truth,
        )
        did = did.rename(columns={c: f"did_{c}" for c in did.columns if c != "source"})
        imputed_rows.append(mi.merge(did, on="source", how="outer").assign(seed=seed))
        print(
            f"seed {seed}: link and review {t1 - t0:.1f}s wall, {c1 - c0:.1f}s CPU; imputed shares and days "
            f"(m={args.m}) {t2 - t1:.1f}s wall, {c2 - c1:.1f}s CPU; imputed DiD "
            f"{time.time() - t2:.1f}s wall, {time.process_time() - c2:.1f}s CPU",
            file=sys.stderr,
        )
    frame = pd.concat(rows, ignore_index=True)
    imputed = pd.concat(imputed_rows, ignore_index=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for table, path in ((frame, out), (imputed, out.with_name(f"{out.stem}_imputed.csv"))):
        table.to_csv(path.with_suffix(".tmp"), index=False)
        path.with_suffix(".tmp").replace(path)
    cols = ["seed", "source", "crimes", "recall_vs_truth", "precision", "recall", "true", "as_linked"]
    cols += ["as_linked_lower", "as_linked_upper", "as_linked_covers", "adjusted", "adjusted_lower"]
    cols += ["adjusted_upper", "adjusted_covers", "linkage_share", "width_ratio"]
    show = frame[cols].copy()
    pct = ["true", "as_linked", "as_linked_lower", "as_linked_upper", "adjusted", "adjusted_lower"]
    show[pct + ["adjusted_upper"]] *= 100
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(show.round(3).to_string(index=False))
        print("\nMultiple imputation (shares and DiD x100; days as days):")
        cols = ["seed", "source", "true_share", "as_linked_share", "imputed_share", "imputed_share_lower"]
        cols += ["imputed_share_upper", "share_linkage", "true_days", "as_linked_days", "imputed_days"]
        cols += ["days_linkage", "did_true", "did_as_linked", "did_imputed", "did_imputed_lower"]
        cols += ["did_imputed_upper", "did_linkage_share"]
        show = imputed[cols].copy()
        pct = [c for c in cols if "share" in c and "linkage" not in c] + ["did_true", "did_as_linked"]
        pct += ["did_imputed", "did_imputed_lower", "did_imputed_upper"]
        show[pct] *= 100
        print(show.round(3).to_string(index=False))
        print("\nCoverage of the truth over the seeds (intervals covering / seeds):")
        print(coverage_summary(frame, imputed).to_string(index=False))
    return 0


def coverage_summary(adjusted: pd.DataFrame, imputed: pd.DataFrame) -> pd.DataFrame:
    """Per source and quantity: how many seeds' as-linked and adjusted or imputed intervals cover the
    truth, and the range of the part of the adjusted or imputed variance that is linkage."""
    rows = []

    def add(frame: pd.DataFrame, quantity: str, linked: str, other: str, method: str, share: str) -> None:
        for source, g in frame.groupby("source"):
            known = g[linked].notna() & g[other].notna()
            rows.append(
                {
                    "source": source,
                    "quantity": quantity,
                    "method": method,
                    "as linked covers": f"{int(g.loc[known, linked].astype(bool).sum())}/{int(known.sum())}",
                    "method covers": f"{int(g.loc[known, other].astype(bool).sum())}/{int(known.sum())}",
                    "linkage share of variance": f"{g[share].min():.2f}-{g[share].max():.2f}",
                }
            )

    add(adjusted, "share", "as_linked_covers", "adjusted_covers", "review-adjusted", "linkage_share")
    add(imputed, "share", "as_linked_share_covers", "imputed_share_covers", "imputed", "share_linkage")
    add(imputed, "mean days", "as_linked_days_covers", "imputed_days_covers", "imputed", "days_linkage")
    add(imputed, "DiD", "did_as_linked_covers", "did_imputed_covers", "imputed", "did_linkage_share")
    return pd.DataFrame(rows).sort_values(["source", "quantity", "method"], kind="stable")


if __name__ == "__main__":
    raise SystemExit(main())
