"""The engine alone, like for like: blocking + comparison + two-stage scoring of the court pairs.

    .venv/bin/python benchmarks/bench_engine_speed.py                # london-trailblazers, typical, seed 1
    .venv/bin/python benchmarks/bench_engine_speed.py --repeats 5 --threads 1

The engine path of ``bench_linkage.py --scenario likeforlike`` without the Splink side: court lines
against crime-suspects on one loose blocking rule (same birth year and sex), the court model fitted
first by ``link_outcomes`` (untimed), then ``--repeats`` timed runs of blocking
(``candidate_pairs``), ``compare`` and ``TwoStageModel.predict`` in this process. Per run: pairs, wall
and CPU seconds of each step and in all, cores used (CPU / wall), pairs/s and pairs per CPU-second, and
the 1-minute load average (the machine is shared: compare CPU seconds). At the end: the process's peak
resident memory (world and fitting included) and a digest of the pairs, levels and predictions, so two
versions of the engine can be checked for identical outputs on the same fitted parameters.
``--threads 1`` runs every step on one thread (the serial path).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOURCE = "court_outcomes"


def _digest(arrays) -> str:
    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="london-trailblazers")
    parser.add_argument("--noise", default="typical", choices=["clean", "typical", "hard"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, choices=[1, 2], default=2, help="1: every step serial")
    args = parser.parse_args(argv)

    import linkage.engine.kernels as kernels
    from linkage.engine import Year, block_on
    from linkage.justice import DEFAULT_SOURCES, build_left, build_right, link_outcomes, source_spec
    from linkage.justice.model import TwoStageModel
    from linkage.synth import WorldSpec, generate, preset

    if args.threads == 1:
        kernels.THREADS = 1  # the engine's one thread setting: every pool serial

    spec = preset(args.preset).to_dict()
    spec["noise"] = args.noise
    world = generate(WorldSpec.from_dict(spec), seed=args.seed)
    tables = {n: world.table(n) for n in ("crimes", "suspects", "cautions", "penalty_notices", SOURCE)}
    del world
    fitted = link_outcomes(tables, sources=[SOURCE]).models[SOURCE]
    left = build_left(tables["crimes"], tables["suspects"])
    right = build_right(SOURCE, tables[SOURCE])
    comps = list(source_spec(SOURCE, DEFAULT_SOURCES[SOURCE]).comparisons)
    model = TwoStageModel(comps, [block_on(Year("date_of_birth"), "sex")])
    print(f"world: preset={args.preset} noise={args.noise} seed={args.seed}; threads={args.threads}; "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print("| run | pairs | wall s | CPU s | cores | pairs/s (wall) | pairs per CPU-s | blocking | compare | "
          "scoring | load 1 min |")  # fmt: skip
    print("|---" * 11 + "|")
    for run in range(args.repeats):
        marks = [(time.perf_counter(), time.process_time())]
        pairs = model.full.candidate_pairs(left, right)
        marks.append((time.perf_counter(), time.process_time()))
        levels = model.compare(pairs, left, right)
        marks.append((time.perf_counter(), time.process_time()))
        pred = fitted.predict(levels)
        marks.append((time.perf_counter(), time.process_time()))
        wall, cpu = marks[-1][0] - marks[0][0], marks[-1][1] - marks[0][1]
        steps = [f"{b[0] - a[0]:.2f} ({b[1] - a[1]:.2f})" for a, b in zip(marks[:-1], marks[1:], strict=True)]
        n = len(pairs)
        print(
            f"| {run + 1} | {n:,} | {wall:.2f} | {cpu:.2f} | {cpu / wall:.2f} | {n / wall:,.0f} | "
            f"{n / cpu:,.0f} | {' | '.join(steps)} | {os.getloadavg()[0]:.1f} |",
            flush=True,
        )
    print("steps: wall (CPU) seconds")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process (world and fitting included): {peak:,.0f} MB")
    print(
        "digest: pairs",
        _digest([pairs.codes[0], pairs.codes[1]]),
        "levels",
        _digest(levels[c].to_numpy() for c in levels.columns),
        "predictions",
        _digest(pred[c].to_numpy() for c in pred.columns),
    )
    print(f"pairs with match probability >= 0.5: {int((pred['match_probability'] >= 0.5).sum()):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
