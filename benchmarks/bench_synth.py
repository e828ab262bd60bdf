"""Synthetic world generation: time and peak memory for an area-year and a national year.

    .venv/bin/python benchmarks/bench_synth.py                      # both scenarios
    .venv/bin/python benchmarks/bench_synth.py --scenario area
    .venv/bin/python benchmarks/bench_synth.py --scenario national --out benchmarks/out/national

Scenarios (each in its own fresh process, so peak memory is that scenario's alone):

* ``area``: one trailblazer area-year, about 100,000 crimes (8,333 a month for 12 months) on a generated
  street geography in Southwark; times ``generate()`` and ``SyntheticWorld.write()`` (Parquet and the
  police.uk CSVs) separately.
* ``national``: the 43 forces at their 2017/18 recorded-crime volumes (preset ``national``, about 5.4
  million crimes), generated and written area by area to Parquet with ``write_world_chunked`` (restricted
  and truth tables; the public police.uk CSVs are skipped to keep the disk footprint small).

Peak memory is the process's peak resident set size (``resource.getrusage(...).ru_maxrss``). Results are
printed and written as JSON to ``benchmarks/out/bench_synth.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def scenario_area(out: Path, seed: int) -> dict:
    from linkage.synth import WorldSpec, generate

    spec = WorldSpec.from_dict(
        {
            "start_month": "2024-01",
            "months": 12,
            "go_live_month": "2024-07",
            "intervention": {"oocd_pp": 10.0},
            "areas": [
                {
                    "name": "Southwark",
                    "force": "Metropolitan Police Service",
                    "role": "trailblazer",
                    "crimes_per_month": 8333,
                    "geography": {"lsoa_prefix": "Southwark"},
                }
            ],
        }
    )
    t0 = time.perf_counter()
    world = generate(spec, seed)
    t1 = time.perf_counter()
    world.write(out)
    t2 = time.perf_counter()
    return {
        "scenario": "area",
        "crimes": len(world.crimes),
        "outcome_records": len(world.truth),
        "street_rows": len(world.street),
        "generate_s": round(t1 - t0, 2),
        "write_s": round(t2 - t1, 2),
        "peak_rss_mib": round(_peak_mib(), 1),
    }


def scenario_national(out: Path, seed: int) -> dict:
    from linkage.synth import preset, write_world_chunked

    spec = preset("national")
    t0 = time.perf_counter()
    result = write_world_chunked(spec, seed, out, public=False)
    t1 = time.perf_counter()
    rows = result["rows"]
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    return {
        "scenario": "national",
        "areas": len(spec.areas),
        "crimes": rows["crimes"],
        "outcome_records": rows["truth"],
        "suspects": rows["suspects"],
        "generate_and_write_s": round(t1 - t0, 1),
        "parquet_mib": round(size / 2**20, 1),
        "peak_rss_mib": round(_peak_mib(), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("area", "national", "all"), default="all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default benchmarks/out/<scenario>)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)
    if args.scenario == "all":
        results = []
        for name in ("area", "national"):
            cmd = [sys.executable, __file__, "--scenario", name, "--seed", str(args.seed)]
            if args.keep:
                cmd.append("--keep")
            proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        from linkage._io import write_text

        meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
        write_text(OUT / "bench_synth.json", json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
        for r in results:
            print(json.dumps(r))
        return 0
    out = args.out or OUT / args.scenario
    if out.exists():
        shutil.rmtree(out)
    run = scenario_area if args.scenario == "area" else scenario_national
    result = run(out, args.seed)
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
