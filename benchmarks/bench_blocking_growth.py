"""Candidate pairs of one force's partition per blocking pass, in national worlds of different sizes.

    .venv/bin/python benchmarks/bench_blocking_growth.py WORLD_A WORLD_B [...] [--force NAME] [--no-window]
        [--persons] [--nearest K ...]

Each ``WORLD`` is a folder written by ``linkage.synth.write_world_chunked`` (e.g. ``bench_national.py
--keep``). For the force, prints its crimes and, per source, the candidate pairs first made by each pass
of ``linkage.justice.outcome_sources.source_spec``, then the growth exponent of its pairs against its crimes
(``log(pairs ratio) / log(crimes ratio)``; 1 = linear). Blocking only: no fitting, comparison or scoring.
``--no-window`` drops the passes' date windows, for the figures before them. With three or more worlds
it also prints the least-squares exponent (slope of log pairs on log crimes) per source and per pass.

``--persons`` reads each world's truth (benchmark only: the engine never sees it) and prints what drives
the PNC pass: the force's suspected persons, their crimes (mean, 99th percentile, maximum) and the
crimes-weighted mean crimes per person (sum n^2 / sum n), which a person key's pairs follow.
``--nearest K`` prints, per source, what keeping only the K nearest-dated crimes (|committed - offence
date|) of each outcome's PNC-pass candidates would leave: pairs, and true pairs of the pass lost. (A
what-if from before the passes had their own bound, ``DateRange.nearest``; it now re-ranks the pass's
already bounded pairs.)
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

SOURCES = ("cautions", "penalty_notices", "court_outcomes")


def force_pairs(world: Path, force: str, window: bool = True, nearest: tuple[int, ...] = ()) -> dict:
    """Crimes and pairs per source and pass of ``force`` in ``world`` (and the ``nearest`` what-ifs)."""
    from linkage.engine import LinkageModel
    from linkage.justice import DEFAULT_SOURCES, build_left, build_right, source_spec
    from linkage.scale.partitions import find_parquet_inputs, list_partitions, read_partition

    inputs = find_parquet_inputs(world)
    partition = next(p for p in list_partitions(inputs) if p.force == force)
    data = read_partition(inputs, partition)
    tables = data.tables
    left = build_left(tables["crimes"], tables["suspects"])
    out = {"crimes": len(tables["crimes"]), "pairs": {}, "records": {}, "by_rule": {}, "nearest": {}}
    t0 = time.perf_counter()
    for source, settings in DEFAULT_SOURCES.items():
        if source not in tables:
            continue
        spec = source_spec(source, settings)
        right = build_right(source, tables[source])
        rules = [r if window else dataclasses.replace(r, window=None) for r in spec.blocking_rules]
        by_rule = LinkageModel(list(spec.comparisons), rules).candidate_pairs_by_rule(left, right)
        counts = by_rule.value_counts(sort=False)
        out["pairs"][source] = int(len(by_rule))
        out["records"][source] = int(len(right))
        out["by_rule"][source] = {str(k): int(v) for k, v in counts.items()}
        if nearest:
            # the PNC pass last: its pairs are then the ones no other pass makes
            last = [r for r in rules if r.name != "pnc"] + [r for r in rules if r.name == "pnc"]
            only = LinkageModel(list(spec.comparisons), last).candidate_pairs_by_rule(left, right)
            only = only[only == "pnc"].index
            out["nearest"][source] = nearest_whatif(world, force, source, left, right, by_rule, only, nearest)
    out["blocking_s"] = round(time.perf_counter() - t0, 2)
    return out


def nearest_ranks(lpos, rpos, gap):
    """Rank (0 = nearest) of each pair among its outcome's pairs by ``|gap|`` days; a missing gap (nan)
    ranks last, ties go to the earlier crime (``lpos``)."""
    import numpy as np

    gap = np.where(np.isnan(gap), np.inf, np.abs(gap))
    order = np.lexsort((lpos, gap, rpos))
    r_sorted = rpos[order]
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.searchsorted(r_sorted, r_sorted, side="left")
    return rank


def nearest_whatif(
    world: Path, force: str, source: str, left, right, by_rule, pnc_only, ks: tuple[int, ...]
) -> dict:
    """PNC-pass pairs and true pairs lost if each outcome kept only its ``k`` nearest-dated crimes:
    ``true dropped`` from the pass, ``true lost`` from the candidates (no other pass makes them; the
    pairs only the PNC pass makes are ``pnc_only``)."""
    import pandas as pd

    pnc = by_rule[by_rule == "pnc"].index
    lpos, rpos = pnc.get_level_values(0).to_numpy(), pnc.get_level_values(1).to_numpy()
    gap = (
        (left["committed_date"].to_numpy()[lpos] - right["offence_date"].to_numpy()[rpos])
        .astype("timedelta64[D]")
        .astype("float64")
    )
    rank = nearest_ranks(lpos, rpos, gap)
    truth = pd.read_parquet(world / "truth" / "truth.parquet", filters=[("source", "=", source)])
    truth = truth.loc[truth["force"] == force, ["record_id", "crime_ref", "suspect_ref"]].astype(str)
    pairs = pd.DataFrame(
        {
            "record_id": right["record_id"].astype(str).to_numpy()[rpos],
            "crime_ref": left["crime_ref"].astype(str).to_numpy()[lpos],
            "suspect_ref": left["suspect_ref"].astype(str).to_numpy()[lpos],
        }
    )
    is_true = pairs.merge(truth.assign(_t=True), how="left", on=list(pairs.columns))["_t"].notna().to_numpy()
    alone = pnc.isin(pnc_only)
    res = {"pairs": len(lpos), "true": int(is_true.sum()), "true only here": int((is_true & alone).sum())}
    for k in ks:
        keep = rank < k
        res[f"k={k}"] = {
            "pairs": int(keep.sum()),
            "true dropped": int((is_true & ~keep).sum()),
            "true lost": int((is_true & ~keep & alone).sum()),
        }
    return res


def person_counts(world: Path, force: str) -> dict:
    """Suspected persons of ``force`` and their crimes, from the world's truth (benchmark only)."""
    import pandas as pd

    st = pd.read_parquet(world / "truth" / "suspect_truth.parquet")
    st = st.loc[st["force"] == force, ["force", "crime_ref", "suspect_ref", "person_id"]]
    n = st.groupby("person_id").size()
    return {
        "persons": len(n),
        "crimes/person mean": round(float(n.mean()), 2),
        "p99": int(n.quantile(0.99)),
        "max": int(n.max()),
        "sum n^2 / sum n": round(float((n**2).sum() / n.sum()), 1),
        **{
            f"{src}: same-person crimes per outcome": per_outcome(world, force, src, st, n) for src in SOURCES
        },
    }


def per_outcome(world: Path, force: str, source: str, st, n) -> float:
    """Mean crimes of the outcome's own person per outcome of ``source`` (what a person key pairs
    with no window), from the truth."""
    import pandas as pd

    truth = pd.read_parquet(world / "truth" / "truth.parquet", filters=[("source", "=", source)])
    truth = truth[truth["force"] == force].merge(st, on=["force", "crime_ref", "suspect_ref"])
    if truth.empty:
        return float("nan")
    return round(float(n.reindex(truth["person_id"]).mean()), 1)


def fitted_exponent(crimes: list[int], pairs: list[int]) -> float:
    """Least-squares slope of log pairs on log crimes (nan when a count is zero)."""
    import numpy as np

    if min(pairs) <= 0:
        return float("nan")
    return float(np.polyfit(np.log(crimes), np.log(pairs), 1)[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("worlds", type=Path, nargs="+")
    parser.add_argument("--force", default="Metropolitan Police Service")
    parser.add_argument("--no-window", action="store_true", help="drop the passes' date windows")
    parser.add_argument("--persons", action="store_true", help="persons' crime counts from the truth")
    parser.add_argument("--nearest", type=int, nargs="*", default=[], help="K nearest-dated PNC what-if")
    args = parser.parse_args(argv)
    rows = []
    for world in args.worlds:
        r = force_pairs(world, args.force, window=not args.no_window, nearest=tuple(args.nearest))
        rows.append(r)
        print(f"{world}: {args.force}: crimes {r['crimes']:,}, pairs {r['pairs']} ({r['blocking_s']} s)")
        for source, by_rule in r["by_rule"].items():
            print(f"  {source} per pass: {by_rule}")
        for source, what_if in r["nearest"].items():
            print(f"  {source} PNC pass, nearest-dated crimes only: {what_if}")
        if args.persons:
            print(f"  persons: {person_counts(world, args.force)}")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        cr = b["crimes"] / a["crimes"]
        for source in a["pairs"]:
            pr = b["pairs"][source] / a["pairs"][source]
            rr = b["records"][source] / a["records"][source]
            print(
                f"{source}: crimes x{cr:.2f}, pairs x{pr:.2f}, exponent {math.log(pr) / math.log(cr):.2f}; "
                f"records x{rr:.2f}, pairs per record {a['pairs'][source] / a['records'][source]:.1f} -> "
                f"{b['pairs'][source] / b['records'][source]:.1f}"
            )
        pr = sum(b["pairs"].values()) / sum(a["pairs"].values())
        per_a, per_b = (sum(r["pairs"].values()) / sum(r["records"].values()) for r in (a, b))
        rr = sum(b["records"].values()) / sum(a["records"].values())
        print(
            f"all sources: crimes x{cr:.2f}, pairs x{pr:.2f}, exponent {math.log(pr) / math.log(cr):.2f}; "
            f"records x{rr:.2f}, pairs per record {per_a:.1f} -> {per_b:.1f}"
        )
    if len(rows) >= 3:
        crimes = [r["crimes"] for r in rows]
        print("fitted exponents (least squares over every world):")
        for source in rows[0]["pairs"]:
            fit = fitted_exponent(crimes, [r["pairs"][source] for r in rows])
            per_pass = {
                rule: round(fitted_exponent(crimes, [r["by_rule"][source].get(rule, 0) for r in rows]), 2)
                for rule in rows[-1]["by_rule"][source]
            }
            print(f"  {source}: {fit:.2f}; per pass {per_pass}")
        fit = fitted_exponent(crimes, [sum(r["pairs"].values()) for r in rows])
        print(f"  all sources: {fit:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
