"""National-scale linkage: generate a national year with the synthetic world and link it on this machine.

    .venv/bin/python benchmarks/bench_national.py                          # full scale (about 6M crimes)
    .venv/bin/python benchmarks/bench_national.py --scale 0.125 0.25 0.5 1 # growth table
    .venv/bin/python benchmarks/bench_national.py --scale 0.125 --distributed --workers 2

For each scale the ``national`` preset's 43 forces are generated at that fraction of about 6 million crimes
a year and written in chunks to Parquet (``write_world_chunked``, no police.uk CSVs), then linked with
``linkage.scale.link_national``: models fitted once on a sample of whole forces (default 300,000 crimes),
then every force linked with those parameters, one at a time (or on a Dask LocalCluster with
``--distributed``). Generation and linkage each run in a fresh child process.

Printed per scale: crimes and outcome records, generation wall time, fitting and linking wall time,
peak memory, and precision, recall and F1 per source against the world's truth. Peak memory is given two
ways: the linking process's own peak resident set (``getrusage(RUSAGE_SELF).ru_maxrss``, exact) and the
peak of the summed resident sets of the whole process tree (psutil, sampled every 0.2 s: what the machine
must hold, Dask worker processes included). The linking child's CPU seconds (user + system, its own and
its finished children's) are printed too: on a shared machine they, not wall time, show what a quiet
machine would take in the default sequential mode. Results go to ``benchmarks/out/bench_national.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
SOURCES = ("cautions", "penalty_notices", "court_outcomes")


# ---------------------------------------------------------------------------------------------- children
def child_generate(folder: Path, scale: float, seed: int) -> dict:
    from linkage.synth import WorldSpec, write_world_chunked
    from linkage.synth.presets import NATIONAL_CRIMES_PER_YEAR, national_spec

    spec = WorldSpec.from_dict(national_spec(crimes_per_year=NATIONAL_CRIMES_PER_YEAR * scale))
    t0 = time.perf_counter()
    result = write_world_chunked(spec, seed, folder, public=False)
    rows = result["rows"]
    return {
        "generate_s": round(time.perf_counter() - t0, 1),
        "crimes": int(rows["crimes"]),
        "suspects": int(rows["suspects"]),
        "outcome_records": int(sum(rows.get(s, 0) for s in SOURCES)),
        "parquet_mib": round(sum(p.stat().st_size for p in folder.rglob("*.parquet")) / 2**20, 1),
    }


def child_link(folder: Path, out: Path, distributed: bool, workers: int | None, sample_crimes: int) -> dict:
    import logging

    import pandas as pd

    from linkage.quality import evaluate
    from linkage.scale import link_national

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("distributed").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    run = link_national(
        folder,
        out,
        distributed=distributed,
        n_workers=workers,
        sample_crimes=sample_crimes,
        refit=True,
        progress=False,
    )
    wall = time.perf_counter() - t0
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    # CPU seconds of this process and its finished children (Dask workers): on a machine shared with
    # other jobs this, not wall time, says what a quiet machine would take (sequential mode).
    cpu = sum(
        (u.ru_utime + u.ru_stime)
        for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )
    links = run.links
    truth = pd.read_parquet(folder / "truth" / "truth.parquet")
    report = evaluate(links, truth).table
    biggest = max(run.reports, key=lambda r: r["rows"]["crimes"]["accepted"])
    return {
        "fit_s": run.fit_seconds,
        "link_s": run.link_seconds,
        "linkage_wall_s": round(wall, 1),
        "sample_forces": len(run.sample),
        "partitions": len(run.reports),
        "largest_partition": {
            "force": biggest["partition"],
            "crimes": biggest["rows"]["crimes"]["accepted"],
            "seconds": biggest["seconds"],
            "pairs": biggest.get("pairs", {}),
        },
        "pairs_per_force": {
            str(r["partition"]): {
                "crimes": int(r["rows"]["crimes"]["accepted"]),
                "pairs": {k: int(v) for k, v in r.get("pairs", {}).items()},
                "pairs_by_rule": r.get("pairs_by_rule", {}),
            }
            for r in run.reports
            if "rows" in r
        },
        "links": int(len(links)),
        "link_process_peak_gib": round(self_peak, 2),
        "linkage_cpu_s": round(cpu, 1),
        "quality": {
            s: {k: float(report.loc[s, k]) for k in ("precision", "recall", "f1")}
            for s in (*SOURCES, "all")
            if s in report.index
        },
    }


# ---------------------------------------------------------------------------------------------- parent
class TreeSampler:
    """Peak of the summed RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self._psutil = psutil
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = self._psutil.Process()
        while not self._stop.is_set():
            total = 0
            try:
                procs = [me, *me.children(recursive=True)]
            except self._psutil.Error:
                procs = [me]
            for p in procs:
                with contextlib.suppress(self._psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _child(args: list[str]) -> tuple[dict, float]:
    """Run this script as a child; returns its JSON result and the tree's sampled peak RSS (GiB)."""
    cmd = [sys.executable, __file__, *args]
    with TreeSampler() as sampler:
        proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(cmd)}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), sampler.peak / 2**30


def world_rows(folder: Path) -> dict:
    """Row counts of an already generated world (``--world``), from the Parquet footers."""
    import pyarrow.parquet as pq

    def rows(table: str) -> int:
        return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(folder.rglob(f"{table}*.parquet")))

    return {
        "generate_s": None,
        "crimes": rows("crimes"),
        "suspects": rows("suspects"),
        "outcome_records": sum(rows(s) for s in SOURCES),
        "parquet_mib": round(sum(p.stat().st_size for p in folder.rglob("*.parquet")) / 2**20, 1),
    }


def run_scale(scale: float, args: argparse.Namespace) -> dict:
    base = args.out / f"scale-{scale:g}"
    world, linked = base / "world", base / "linked"
    for path in (linked,) if args.world else (world, linked):
        if path.exists():
            shutil.rmtree(path)
    if args.world:
        world = args.world
        gen, gen_tree = world_rows(world), 0.0
        print(f"scale {scale:g}: world {world} ({gen['crimes']:,} crimes), not generated here", flush=True)
    else:
        gen, gen_tree = _child(
            ["--child-generate", str(world), "--scale", str(scale), "--seed", str(args.seed)]
        )
        print(f"scale {scale:g}: generated {gen['crimes']:,} crimes in {gen['generate_s']} s", flush=True)
    link_args = [
        "--child-link",
        str(world),
        "--linked",
        str(linked),
        "--sample-crimes",
        str(args.sample_crimes),
    ]
    if args.distributed:
        link_args.append("--distributed")
    if args.workers:
        link_args += ["--workers", str(args.workers)]
    link, link_tree = _child(link_args)
    row = {
        "scale": scale,
        **gen,
        "generate_peak_gib": round(gen_tree, 2),
        **link,
        "link_peak_tree_gib": round(link_tree, 2),
        "distributed": bool(args.distributed),
    }
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)  # never args.world: it is outside base
    return row


def print_table(rows: list[dict]) -> None:
    head = (
        "| scale | crimes | outcome records | generate s | fit s | link s | linkage wall s | linkage CPU s | "
        "link peak GiB (tree) | link process peak GiB | F1 cautions | F1 penalty notices | F1 court | "
        "link s per 1M crimes |"
    )
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for r in rows:
        q = r["quality"]
        cells = [
            f"{r['scale']:g}",
            f"{r['crimes']:,}",
            f"{r['outcome_records']:,}",
            r["generate_s"],
            r["fit_s"],
            r["link_s"],
            r["linkage_wall_s"],
            r.get("linkage_cpu_s", "n/a"),
            r["link_peak_tree_gib"],
            r["link_process_peak_gib"],
            *(f"{q[s]['f1']:.4f}" for s in SOURCES),
            f"{r['linkage_wall_s'] / (r['crimes'] / 1e6):.0f}",
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")


def print_pairs(rows: list[dict], top: int = 5) -> None:
    """Candidate pairs per force (the largest ``top`` forces by crimes) and per blocking pass of the
    largest force, at each scale; then the growth of the largest force's pairs against its crimes."""
    for r in rows:
        forces = r.get("pairs_per_force", {})
        ranked = sorted(forces.items(), key=lambda kv: -kv[1]["crimes"])[:top]
        print(f"scale {r['scale']:g}: candidate pairs of the {len(ranked)} largest forces")
        for force, f in ranked:
            print(f"  {force}: crimes {f['crimes']:,}, pairs {sum(f['pairs'].values()):,} {f['pairs']}")
        if ranked:
            force, f = ranked[0]
            for source, by_rule in sorted(f["pairs_by_rule"].items()):
                print(f"  {force} {source} pairs per pass: {by_rule}")
    sized = [(r["scale"], r.get("pairs_per_force", {})) for r in rows]
    if len(sized) >= 2:
        import math

        (s0, f0), (s1, f1) = sized[0], sized[-1]
        common = set(f0) & set(f1)
        if common:
            force = max(common, key=lambda k: f1[k]["crimes"])
            c0, c1 = f0[force]["crimes"], f1[force]["crimes"]
            p0, p1 = sum(f0[force]["pairs"].values()), sum(f1[force]["pairs"].values())
            exponent = math.log(p1 / p0) / math.log(c1 / c0) if p0 and c0 and c1 != c0 else float("nan")
            print(
                f"{force}: crimes x{c1 / c0:.2f}, candidate pairs x{p1 / p0:.2f} between scale {s0:g} and "
                f"{s1:g}: pairs grow as crimes^{exponent:.2f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0], help="fractions of a national year")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample-crimes", type=int, default=300_000)
    parser.add_argument("--distributed", action="store_true", help="link on a Dask LocalCluster")
    parser.add_argument("--workers", type=int, default=None, help="Dask worker processes (default: cores)")
    parser.add_argument("--out", type=Path, default=OUT / "national", help="working folder")
    parser.add_argument("--json", type=Path, default=OUT / "bench_national.json", help="results file")
    parser.add_argument("--keep", action="store_true", help="keep the generated worlds and linked outputs")
    parser.add_argument(
        "--world",
        type=Path,
        help="link this already generated world (write_world_chunked folder, e.g. from --keep) instead of "
        "generating one; give the one --scale it was generated at",
    )
    parser.add_argument("--child-generate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-link", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--linked", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.world and len(args.scale) != 1:
        parser.error("--world links one world: give one --scale")
    if args.child_generate:
        print(json.dumps(child_generate(args.child_generate, args.scale[0], args.seed)))
        return 0
    if args.child_link:
        print(
            json.dumps(
                child_link(args.child_link, args.linked, args.distributed, args.workers, args.sample_crimes)
            )
        )
        return 0
    rows = []
    for scale in args.scale:
        rows.append(run_scale(scale, args))
        print(json.dumps(rows[-1]), flush=True)
    from linkage._io import write_text

    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "note": "2-core machine shared with other jobs while measured; see load_average_at_end",
    }
    write_text(args.json, json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print_table(sorted(rows, key=lambda r: r["scale"]))
    print_pairs(sorted(rows, key=lambda r: r["scale"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
