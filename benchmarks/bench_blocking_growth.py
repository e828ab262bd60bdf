"""Candidate pairs of one force's partition per blocking pass, in national worlds of different sizes.

    .venv/bin/python benchmarks/bench_blocking_growth.py WORLD_A WORLD_B [--force NAME] [--no-window]

Each ``WORLD`` is a folder written by ``linkage.synth.write_world_chunked`` (e.g. ``bench_national.py
--keep``). For the force, prints its crimes and, per source, the candidate pairs first made by each pass
of ``linkage.justice.outcome_sources.source_spec``, then the growth exponent of its pairs against its crimes
(``log(pairs ratio) / log(crimes ratio)``; 1 = linear). Blocking only: no fitting, comparison or scoring.
``--no-window`` drops the passes' date windows, for the figures before them.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path


def force_pairs(world: Path, force: str, window: bool = True) -> dict:
    """Crimes and pairs per source and pass of ``force`` in ``world``."""
    from linkage.engine import LinkageModel
    from linkage.justice import DEFAULT_SOURCES, build_left, build_right, source_spec
    from linkage.scale.partitions import find_parquet_inputs, list_partitions, read_partition

    inputs = find_parquet_inputs(world)
    partition = next(p for p in list_partitions(inputs) if p.force == force)
    data = read_partition(inputs, partition)
    tables = data.tables
    left = build_left(tables["crimes"], tables["suspects"])
    out = {"crimes": len(tables["crimes"]), "pairs": {}, "by_rule": {}}
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
        out["by_rule"][source] = {str(k): int(v) for k, v in counts.items()}
    out["blocking_s"] = round(time.perf_counter() - t0, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("worlds", type=Path, nargs="+")
    parser.add_argument("--force", default="Metropolitan Police Service")
    parser.add_argument("--no-window", action="store_true", help="drop the passes' date windows")
    args = parser.parse_args(argv)
    rows = []
    for world in args.worlds:
        r = force_pairs(world, args.force, window=not args.no_window)
        rows.append(r)
        print(f"{world}: {args.force}: crimes {r['crimes']:,}, pairs {r['pairs']} ({r['blocking_s']} s)")
        for source, by_rule in r["by_rule"].items():
            print(f"  {source} per pass: {by_rule}")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        cr = b["crimes"] / a["crimes"]
        for source in a["pairs"]:
            pr = b["pairs"][source] / a["pairs"][source]
            print(f"{source}: crimes x{cr:.2f}, pairs x{pr:.2f}, exponent {math.log(pr) / math.log(cr):.2f}")
        pr = sum(b["pairs"].values()) / sum(a["pairs"].values())
        print(f"all sources: crimes x{cr:.2f}, pairs x{pr:.2f}, exponent {math.log(pr) / math.log(cr):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
