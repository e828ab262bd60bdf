"""National linkage: fit once on a sample of forces, then link every force with those fixed parameters,
on this machine (one partition at a time) or on a Dask cluster (the same partition function).

Output folder layout (it holds personal data, so never ``reports/``)::

    fitted.json                       the fitted models (FittedModels.to_dict), sample forces, hashes
    partitions/<slug>/links.parquet   one row per linked outcome record
    partitions/<slug>/unlinked.parquet
    partitions/<slug>/crime_outcomes.parquet
    partitions/<slug>/quarantine.parquet
    partitions/<slug>/candidates.parquet   only with candidates=True
    partitions/<slug>/manifest.json   written last: key, input hash, rows, links, output hashes, seconds
    links.parquet, unlinked.parquet   every partition's rows, sorted (written when no partition failed)
    run.json                          the run: partitions and their status, fitted digest, settings

A partition is up to date when its manifest's ``key`` (a hash of its input rows, the fitted parameters,
the settings and the package version) matches and every output it lists has the recorded SHA-256; such
partitions are skipped on a re-run, so a failed partition is re-run alone.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import resource
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from linkage import __version__
from linkage._io import file_sha256, write_parquet, write_text
from linkage.errors import LinkageError
from linkage.justice.link import FittedModels, link_outcomes
from linkage.justice.settings import LinkSettings
from linkage.scale.partitions import (
    Partition,
    PartitionTables,
    find_parquet_inputs,
    list_partitions,
    read_partition,
)
from linkage.sources.contracts import OUTCOME_SOURCES

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SAMPLE_CRIMES",
    "NationalRun",
    "PartitionFailedError",
    "choose_sample",
    "fit_on_sample",
    "link_national",
    "link_partition",
    "partition_key",
    "read_outputs",
]

PARTITION_FORMAT = "linkage-scale-partition/1"
DEFAULT_SAMPLE_CRIMES = 300_000
"""Crimes in the fitting sample by default: whole forces drawn at random up to this many (5% of a
national year; about 30,000 outcome records, plenty for EM on a dozen comparisons)."""

_TABLES = ("links", "unlinked", "crime_outcomes", "quarantine")


class PartitionFailedError(LinkageError):
    """One or more partitions raised; the others' outputs stand. ``failures``: slug -> error text."""

    def __init__(self, failures: Mapping[str, str]) -> None:
        self.failures = dict(failures)
        names = ", ".join(sorted(self.failures))
        super().__init__(f"{len(self.failures)} partition(s) failed: {names}; re-run them with --only <slug>")


@dataclass
class NationalRun:
    """What :func:`link_national` did: per-partition reports (status ``linked``, ``skipped`` or
    ``failed``), the fitted parameters' digest, the sample forces, and the wall time of fitting and of
    linking."""

    out: Path
    reports: list[dict[str, Any]]
    fitted_digest: str
    sample: list[str]
    fit_seconds: float
    link_seconds: float
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def links(self) -> pd.DataFrame:
        """Every partition's links, sorted by source and record id (read from the outputs)."""
        return read_outputs(self.out, "links")


# ---------------------------------------------------------------------------------------------- helpers
def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _settings_dict(settings: LinkSettings) -> dict[str, Any]:
    return settings.to_dict()


def partition_key(input_sha256: str, fitted_digest: str, settings: LinkSettings, candidates: bool) -> str:
    """SHA-256 naming everything a partition's outputs depend on: its input rows, the fitted parameters,
    the settings, whether candidates are kept, and the package version."""
    payload = {
        "format": PARTITION_FORMAT,
        "input_sha256": input_sha256,
        "fitted_sha256": fitted_digest,
        "settings": _settings_dict(settings),
        "candidates": bool(candidates),
        "version": __version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _up_to_date(folder: Path, key: str) -> dict[str, Any] | None:
    """The manifest of ``folder`` when its key is ``key`` and every listed output has its hash."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("key") != key:
        return None
    for name, digest in manifest.get("outputs", {}).items():
        file = folder / name
        if not file.is_file() or file_sha256(file) != digest:
            return None
    return manifest


# ---------------------------------------------------------------------------------------------- partition
def link_partition(
    inputs: Mapping[str, str | Path],
    partition: Partition,
    out: str | Path,
    fitted: FittedModels,
    settings: LinkSettings,
    *,
    candidates: bool = False,
    rerun: bool = False,
) -> dict[str, Any]:
    """Link one force with fixed parameters and write its outputs atomically under
    ``out/partitions/<slug>/`` (manifest last). Skipped, unless ``rerun``, when the outputs there are
    up to date. Runs the same in this process or on a Dask worker; returns a JSON-able report."""
    started = time.perf_counter()
    inputs = {k: Path(v) for k, v in inputs.items()}
    folder = Path(out) / "partitions" / partition.slug
    data = read_partition(inputs, partition)
    digest = fitted.digest()
    key = partition_key(data.input_sha256, digest, settings, candidates)
    read_s = time.perf_counter() - started
    report: dict[str, Any] = {"partition": partition.force, "slug": partition.slug, "key": key}
    manifest = None if rerun else _up_to_date(folder, key)
    if manifest is not None:
        report.update(
            status="skipped",
            seconds=round(time.perf_counter() - started, 2),
            records=manifest.get("records", {}),
            links=manifest.get("links", {}),
            rows=manifest.get("rows", {}),
            peak_rss_mib=round(_peak_rss_mib(), 1),
        )
        return report
    result = _link_tables(data, fitted, settings, candidates)
    outputs: dict[str, str] = {}
    frames = {
        "links": result.links,
        "unlinked": result.unlinked,
        "crime_outcomes": result.crime_outcomes,
        "quarantine": data.quarantined,
    }
    if candidates:
        frames["candidates"] = result.candidates
    for name, frame in frames.items():
        path = write_parquet(folder / f"{name}.parquet", frame)
        outputs[path.name] = file_sha256(path)
    records = {s: int(len(data.tables[s])) for s in OUTCOME_SOURCES if s in data.tables}
    links = {s: int((result.links["source"] == s).sum()) for s in records}
    seconds = round(time.perf_counter() - started, 2)
    manifest = {
        "format": PARTITION_FORMAT,
        "partition": partition.force,
        "slug": partition.slug,
        "key": key,
        "input_sha256": data.input_sha256,
        "inputs": {k: str(v) for k, v in sorted(inputs.items())},
        "fitted_sha256": digest,
        "settings": _settings_dict(settings),
        "candidates": bool(candidates),
        "version": __version__,
        "rows": data.rows,
        "records": records,
        "links": links,
        "outputs": outputs,
        "timings": {
            "read_s": round(read_s, 2),
            "total_s": seconds,
            **{
                f"{src}_{col}": round(float(v), 3)
                for src, row in result.timings.iterrows()
                for col, v in row.items()
                if col != "pairs"
            },
        },
        "pairs": {src: int(row["pairs"]) for src, row in result.timings.iterrows() if "pairs" in row},
        "pairs_by_rule": _pairs_by_rule(result.blocking),
    }
    write_text(folder / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    report.update(
        status="linked",
        seconds=seconds,
        records=records,
        links=links,
        rows=data.rows,
        pairs=manifest["pairs"],
        pairs_by_rule=manifest["pairs_by_rule"],
        peak_rss_mib=round(_peak_rss_mib(), 1),
    )
    del result, data, frames
    gc.collect()
    return report


def _link_tables(data: PartitionTables, fitted: FittedModels, settings: LinkSettings, candidates: bool):
    present = [s for s in OUTCOME_SOURCES if s in data.tables]
    return link_outcomes(
        data.tables, settings=settings, sources=present, fitted=fitted, candidates=candidates
    )


# ---------------------------------------------------------------------------------------------- fitting
def choose_sample(partitions: Sequence[Partition], sample_crimes: int, seed: int = 0) -> list[Partition]:
    """Whole forces drawn in a seeded random order, each taken while the total stays within
    ``sample_crimes`` (so one very large force cannot swamp the budget); the smallest force when none
    fits. Whole forces keep each person's crimes together, which the crime stage's EM learns from."""
    if sample_crimes < 1:
        raise LinkageError(f"sample_crimes must be a positive number of crimes, got {sample_crimes!r}")
    if not partitions:
        raise LinkageError("no partitions to sample from")
    order = np.random.default_rng(seed).permutation(len(partitions))
    chosen: list[Partition] = []
    total = 0
    for i in order:
        p = partitions[int(i)]
        if p.n_crimes > 0 and total + p.n_crimes <= sample_crimes:
            chosen.append(p)
            total += p.n_crimes
    if not chosen:
        chosen = [min(partitions, key=lambda p: (p.n_crimes, p.force))]
    return sorted(chosen, key=lambda p: p.force)


def fit_on_sample(
    inputs: Mapping[str, Path],
    sample: Sequence[Partition],
    settings: LinkSettings,
    progress: bool = False,
) -> tuple[FittedModels, str]:
    """Fit every source's two-stage model once on the sample forces together (read one by one, then
    linked in memory); returns the fitted models and a SHA-256 of the sample's input rows."""
    digest = hashlib.sha256()
    parts: dict[str, list[pd.DataFrame]] = {}
    for p in sample:
        data = read_partition(inputs, p)
        digest.update(f"{p.force}\0{data.input_sha256}\0".encode())
        for kind, frame in data.tables.items():
            parts.setdefault(kind, []).append(frame)
    tables = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    logger.info(
        "fitting on %d force(s) (%s): %d crimes, %s",
        len(sample),
        ", ".join(p.force for p in sample),
        len(tables.get("crimes", [])),
        ", ".join(f"{len(tables[s]):,} {s}" for s in OUTCOME_SOURCES if s in tables),
    )
    present = [s for s in OUTCOME_SOURCES if s in tables]
    result = link_outcomes(tables, settings=settings, sources=present, progress=progress, candidates=False)
    return result.fitted(), digest.hexdigest()


def _fitted_for_run(
    inputs: Mapping[str, Path],
    partitions: Sequence[Partition],
    out: Path,
    settings: LinkSettings,
    sample_crimes: int,
    refit: bool,
    progress: bool,
) -> tuple[FittedModels, list[str]]:
    """The fitted models of ``out/fitted.json`` when they were fitted on the same sample rows with the
    same settings and version, else a new fit (written there)."""
    sample = choose_sample(partitions, sample_crimes, seed=settings.seed)
    names = [p.force for p in sample]
    path = out / "fitted.json"
    if path.is_file() and not refit:
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = None
        if isinstance(saved, dict) and saved.get("sample") == names:
            sample_sha = hashlib.sha256()
            for p in sample:
                sample_sha.update(f"{p.force}\0{read_partition(inputs, p).input_sha256}\0".encode())
            same = (
                saved.get("sample_sha256") == sample_sha.hexdigest()
                and saved.get("settings") == _settings_dict(settings)
                and saved.get("version") == __version__
            )
            if same:
                fitted = FittedModels.from_dict(saved["fitted"], settings)
                logger.info("reusing the fitted models in %s (digest %s)", path, fitted.digest()[:12])
                return fitted, names
    fitted, sample_sha256 = fit_on_sample(inputs, sample, settings, progress=progress)
    record = {
        "format": "linkage-scale-fitted/1",
        "sample": names,
        "sample_crimes": int(sum(p.n_crimes for p in sample)),
        "sample_sha256": sample_sha256,
        "settings": _settings_dict(settings),
        "version": __version__,
        "fitted_sha256": fitted.digest(),
        "fitted": fitted.to_dict(),
    }
    write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return fitted, names


# ---------------------------------------------------------------------------------------------- runners
Runner = Callable[[Sequence[Partition]], Iterable[tuple[Partition, dict[str, Any] | None, str | None]]]


def _run_local(
    inputs: Mapping[str, Path],
    out: Path,
    fitted: FittedModels,
    settings: LinkSettings,
    candidates: bool,
    rerun: set,
) -> Runner:
    def run(partitions: Sequence[Partition]):
        for p in partitions:
            try:
                report = link_partition(
                    inputs, p, out, fitted, settings, candidates=candidates, rerun=p.slug in rerun
                )
            except Exception as exc:  # one force's failure must not lose the others' work
                logger.error("partition %s failed:\n%s", p.slug, traceback.format_exc())
                yield p, None, f"{type(exc).__name__}: {exc}"
            else:
                yield p, report, None

    return run


def _run_distributed(
    inputs: Mapping[str, Path],
    out: Path,
    fitted: FittedModels,
    settings: LinkSettings,
    candidates: bool,
    rerun: set,
    client: Any,
) -> Runner:
    from dask.distributed import as_completed

    def run(partitions: Sequence[Partition]):
        shared = client.scatter(fitted, broadcast=True)
        by_key = {}
        # Largest first, so a big force does not start last and hold up the end of the run.
        for p in sorted(partitions, key=lambda q: (-q.n_crimes, q.force)):
            fut = client.submit(
                link_partition,
                {k: str(v) for k, v in inputs.items()},
                p,
                str(out),
                shared,
                settings,
                candidates=candidates,
                rerun=p.slug in rerun,
                key=f"link-partition-{p.slug}-{time.time_ns()}",
                pure=False,
                retries=0,
            )
            by_key[fut.key] = (fut, p)
        for fut in as_completed([f for f, _ in by_key.values()]):
            p = by_key[fut.key][1]
            try:
                report = fut.result()
            except Exception as exc:
                logger.error("partition %s failed on a worker: %s: %s", p.slug, type(exc).__name__, exc)
                yield p, None, f"{type(exc).__name__}: {exc}"
            else:
                yield p, report, None

    return run


def _start_client(scheduler: str | None, n_workers: int | None, memory_limit: str | float | None):
    """A Dask client on ``scheduler``, or on a new LocalCluster of worker processes (one thread each)."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        logger.info("connecting to the Dask scheduler at %s", scheduler)
        return Client(scheduler), None
    n = n_workers or os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit if memory_limit is not None else "auto",
        dashboard_address=None,
    )
    logger.info("started a Dask LocalCluster: %d worker process(es), memory limit %s each", n, memory_limit)
    return Client(cluster), cluster


# ---------------------------------------------------------------------------------------------- driver
def link_national(
    data: str | Path,
    out: str | Path,
    settings: LinkSettings | None = None,
    *,
    distributed: bool = False,
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int | None = None,
    memory_limit: str | float | None = "auto",
    only: Sequence[str] | None = None,
    sample_crimes: int = DEFAULT_SAMPLE_CRIMES,
    fitted: FittedModels | None = None,
    candidates: bool = False,
    refit: bool = False,
    progress: bool = False,
) -> NationalRun:
    """Link every force of the Parquet extracts in ``data`` into ``out``, one partition at a time.

    Parameters are fitted once (:func:`fit_on_sample` on :func:`choose_sample` forces, reused from
    ``out/fitted.json`` when the sample and settings are unchanged) unless ``fitted`` is given.
    ``distributed`` runs the partitions on Dask: ``client`` or ``scheduler`` (an address) when given,
    else a new LocalCluster of ``n_workers`` processes (default: one per core) with ``memory_limit``
    each. ``only``: slugs or force names to re-run (always re-linked); the others are left as they are.
    Raises :class:`PartitionFailedError` after the run when any partition failed.
    """
    settings = settings or LinkSettings()
    out = Path(out)
    inputs = find_parquet_inputs(data)
    partitions = list_partitions(inputs)
    if not partitions:
        raise LinkageError(f"no forces found in {data}")
    chosen = partitions
    rerun: set[str] = set()
    if only:
        lookup = {p.slug: p for p in partitions} | {p.force: p for p in partitions}
        unknown = [o for o in only if o not in lookup]
        if unknown:
            raise LinkageError(
                f"only names unknown partition(s) {unknown}; known: {[p.slug for p in partitions]}"
            )
        chosen = sorted({lookup[o] for o in only}, key=lambda p: p.force)
        rerun = {p.slug for p in chosen}
    t0 = time.perf_counter()
    if fitted is None:
        fitted, sample = _fitted_for_run(inputs, partitions, out, settings, sample_crimes, refit, progress)
    else:
        sample = []
    fit_s = time.perf_counter() - t0
    digest = fitted.digest()
    cluster = None
    if distributed and client is None:
        client, cluster = _start_client(scheduler, n_workers, memory_limit)
    try:
        if distributed:
            runner = _run_distributed(inputs, out, fitted, settings, candidates, rerun, client)
        else:
            runner = _run_local(inputs, out, fitted, settings, candidates, rerun)
        reports, failures = _drive(runner, chosen, progress)
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
    link_s = time.perf_counter() - t0 - fit_s
    run = NationalRun(
        out=out,
        reports=reports,
        fitted_digest=digest,
        sample=sample,
        fit_seconds=round(fit_s, 2),
        link_seconds=round(link_s, 2),
        failures=failures,
    )
    _write_run(run, partitions, settings, distributed)
    if failures:
        raise PartitionFailedError(failures)
    return run


def _drive(runner: Runner, partitions: Sequence[Partition], progress: bool):
    reports: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    with tqdm(total=len(partitions), desc="partitions", unit="partition", disable=not progress) as bar:
        for p, report, error in runner(partitions):
            if error is not None:
                failures[p.slug] = error
                reports.append({"partition": p.force, "slug": p.slug, "status": "failed", "error": error})
            else:
                reports.append(report)
                logger.info(
                    "partition %s: %s in %.1f s; %s crimes; %s",
                    p.slug,
                    report["status"],
                    report["seconds"],
                    f"{report['rows'].get('crimes', {}).get('accepted', 0):,}",
                    ", ".join(
                        f"{s} {report['links'].get(s, 0):,}/{n:,} linked"
                        for s, n in report["records"].items()
                    ),
                )
            bar.set_postfix_str(p.slug, refresh=False)
            bar.update(1)
    reports.sort(key=lambda r: r["slug"])
    return reports, failures


def _write_run(
    run: NationalRun, partitions: Sequence[Partition], settings: LinkSettings, distributed: bool
) -> None:
    """``run.json`` always; the combined ``links.parquet`` and ``unlinked.parquet`` only when every
    partition has up-to-date outputs."""
    complete = not run.failures and all(
        (run.out / "partitions" / p.slug / "manifest.json").is_file() for p in partitions
    )
    if complete:
        for name in ("links", "unlinked"):
            write_parquet(run.out / f"{name}.parquet", read_outputs(run.out, name))
    summary = {
        "command": "linkage link-national",
        "version": __version__,
        "distributed": bool(distributed),
        "settings": _settings_dict(settings),
        "fitted_sha256": run.fitted_digest,
        "sample": run.sample,
        "fit_seconds": run.fit_seconds,
        "link_seconds": run.link_seconds,
        "complete": complete,
        "partitions": run.reports,
        "failures": run.failures,
    }
    write_text(run.out / "run.json", json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")


def read_outputs(out: str | Path, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One output table (``links``, ``unlinked``, ``crime_outcomes``, ``quarantine``, ``candidates``) of
    every partition under ``out/partitions``, concatenated and sorted stably (links and unlinked by source
    and record id, crime outcomes by force and crime reference)."""
    if name not in (*_TABLES, "candidates"):
        raise LinkageError(f"name must be one of {[*_TABLES, 'candidates']}, got {name!r}")
    files = sorted((Path(out) / "partitions").glob(f"*/{name}.parquet"))
    if not files:
        raise LinkageError(f"no {name}.parquet under {Path(out) / 'partitions'}")
    frames = [pd.read_parquet(f, columns=list(columns) if columns else None) for f in files]
    frames = [f for f in frames if len(f)] or frames[:1]
    frame = pd.concat(frames, ignore_index=True)
    order = {"links": ["source", "record_id"], "unlinked": ["source", "record_id"]}.get(
        name, ["force", "crime_ref"] if name in ("crime_outcomes",) else []
    )
    order = [c for c in order if c in frame.columns]
    if order:
        frame = frame.sort_values(order, kind="mergesort")
    return frame.reset_index(drop=True)


def _pairs_by_rule(blocking: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per source, the candidate pairs first made by each blocking rule (``LinkResult.blocking``)."""
    if blocking is None or blocking.empty:
        return {}
    rule_col = next(c for c in blocking.columns if c not in ("pairs", "source"))
    return {
        str(src): {str(r): int(n) for r, n in zip(g[rule_col], g["pairs"], strict=True)}
        for src, g in blocking.groupby("source", sort=True)
    }
