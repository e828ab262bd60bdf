"""As-linked and linkage-adjusted shares on a world where one source's linkage recall is near 0.90.

Builds the harder synthetic trailblazer (``bench_did_coverage.harder_config``: London boroughs, hard noise,
no area shocks here) with extra faults on the caution records only (``--caution-faults``: more hand-typed
crime references left blank and more PNC IDs missing, via the world spec's ``noise`` overrides), links it
with the report's own pipeline, and prints, per source, the share of crimes with a named suspect that
have a linked record of that source: as linked (Wilson interval), adjusted by that source's clerical-review
precision and recall (:func:`linkage.evaluation.linkage_error.linked_shares`), the true share from the
world's truth table, whether each interval covers it, the recall against truth and the part of the
adjusted interval's variance that is linkage.

Example::

    nice -n 15 .venv/bin/python benchmarks/bench_linkage_adjusted.py --seeds 1 2 3 --per-month 400
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

from linkage.evaluation.linkage_error import linked_shares  # noqa: E402
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
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "linkage_adjusted.csv"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rows = []
    for seed in args.seeds:
        t0, c0 = time.time(), time.process_time()
        cfg = low_recall_config(
            seed, per_month=args.per_month, areas=args.areas, review=args.review, faults=CAUTION_FAULTS
        )
        data = B.gather(cfg)
        named = data.linked[data.linked["n_suspects"] > 0]
        shares = linked_shares(
            named, data.link_result.links, data.review_by_source, truth=data.tables["truth"]
        )
        recall = data.quality["recall_crime"] if "recall_crime" in data.quality else data.quality["recall"]
        shares["recall_vs_truth"] = shares["source"].map(recall)
        shares["as_linked_covers"] = (shares["as_linked_lower"] <= shares["true"]) & (
            shares["true"] <= shares["as_linked_upper"]
        )
        shares["adjusted_covers"] = (shares["adjusted_lower"] <= shares["true"]) & (
            shares["true"] <= shares["adjusted_upper"]
        )
        rows.append(shares.assign(seed=seed))
        print(
            f"seed {seed}: {time.time() - t0:.0f}s wall, {time.process_time() - c0:.0f}s CPU", file=sys.stderr
        )
    frame = pd.concat(rows, ignore_index=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out.with_suffix(".tmp"), index=False)
    out.with_suffix(".tmp").replace(out)
    cols = ["seed", "source", "crimes", "recall_vs_truth", "precision", "recall", "true", "as_linked"]
    cols += ["as_linked_lower", "as_linked_upper", "as_linked_covers", "adjusted", "adjusted_lower"]
    cols += ["adjusted_upper", "adjusted_covers", "linkage_share", "width_ratio"]
    show = frame[cols].copy()
    pct = ["true", "as_linked", "as_linked_lower", "as_linked_upper", "adjusted", "adjusted_lower"]
    show[pct + ["adjusted_upper"]] *= 100
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(show.round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
