"""Run every benchmark in turn (``make bench``); each prints its figures and writes JSON to benchmarks/out/.

Heavy: the national synthetic year, and its linkage at four scales, take tens of minutes and several GiB.
Pass ``--quick`` to skip both.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the national year and its linkage")
    args = parser.parse_args()
    runs = [
        ["bench_synth.py", "--scenario", "area" if args.quick else "all"],
        ["bench_febrl.py"],
        ["bench_linkage.py", "--scenario", "both"],
        ["bench_linkage.py", "--noise", "hard", "--out", str(HERE / "out" / "bench_linkage_hard.json")],
    ]
    if not args.quick:
        runs.append(["bench_national.py", "--scale", "0.125", "0.25", "0.5", "1"])
    failed = 0
    for script, *extra in runs:
        print(f"\n=== {script} {' '.join(extra)}", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / script), *extra], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
