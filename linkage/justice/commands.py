"""``linkage link``: link outcome records to crimes from a data folder and write the linked result.

Input: a folder written by ``SyntheticWorld.write`` or real extracts, holding ``crimes``, ``suspects``
and any of ``cautions``, ``penalty_notices``, ``court_outcomes`` (and ``truth`` for synthetic data) as
``<kind>.parquet`` or ``<kind>.csv``, in ``restricted/`` (truth in ``truth/``) or at the top level.

Output (a user-chosen folder; it holds personal data, so never ``reports/``): ``links.csv``,
``crime_outcomes.csv``, ``unlinked.csv``, ``candidates.parquet``, ``blocking.csv``,
``police_uk_outcomes.csv`` (police.uk outcomes-file layout; crimes' map points only),
``models/<source>.json``, ``run.json`` (input hashes, settings, version) and, with ``--truth``,
``quality_by_source.csv``, ``quality_by_subgroup.csv``, ``threshold_sweep.csv``, ``precision_recall.png``;
with ``--review-sample N``, ``review_sample.csv`` for clerical review.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from linkage import __version__
from linkage._io import file_sha256, write_csv, write_parquet, write_text, write_with
from linkage.config import read_link_settings
from linkage.errors import DataContractError
from linkage.justice.publication import publication_key
from linkage.pipeline import link_records, measure
from linkage.quality import draw_review_sample, precision_recall_chart, threshold_sweep, write_review_sample
from linkage.scale import DEFAULT_SAMPLE_CRIMES, PartitionFailedError, link_national
from linkage.sources.extract_folder import find_extracts, load_extracts, load_tables, synthetic_world_seed

logger = logging.getLogger(__name__)

# The library functions live in linkage.sources.extract_folder and linkage.config; these names stay
# importable from here for older callers and notebooks.
read_settings = read_link_settings

__all__ = [
    "find_extracts",
    "load_extracts",
    "load_tables",
    "read_settings",
    "register",
    "run_link",
    "run_link_national",
    "synthetic_world_seed",
]


def run_link(args: argparse.Namespace) -> int:
    """Run the linkage and write every output; returns 0."""
    started = time.perf_counter()
    data, out = Path(args.data), Path(args.out)
    settings = read_link_settings(Path(args.settings) if args.settings else None)
    progress = not args.no_progress
    files = find_extracts(data)
    # Resolve the publication key before the long linking step: fail fast on a real extract without one.
    pub_key = publication_key(synthetic_seed=synthetic_world_seed(data))
    if args.truth and "truth" not in files:
        raise DataContractError(data, "--truth given but no truth.parquet or truth.csv found")
    loads = load_extracts(files, progress=progress)
    tables = {kind: load.tables[kind] for kind, load in loads.items()}
    # Nothing dropped silently: each file's accounting, and every quarantined row with its reason.
    accounting = pd.concat([load.summary.by_file for load in loads.values()], ignore_index=True)
    write_csv(out / "row_accounting.csv", accounting)
    write_csv(
        out / "quarantine.csv", pd.concat([load.quarantined for load in loads.values()], ignore_index=True)
    )
    result = link_records(tables, settings, progress=progress, truth=tables["truth"] if args.truth else None)
    with tqdm(total=6, desc="writing", unit="file", disable=not progress) as bar:
        write_csv(out / "links.csv", result.links, date_format="%Y-%m-%d")
        write_csv(out / "crime_outcomes.csv", result.crime_outcomes, date_format="%Y-%m-%d")
        write_csv(out / "unlinked.csv", result.unlinked, date_format="%Y-%m-%d")
        write_csv(out / "ambiguous.csv", result.ambiguous)
        write_csv(out / "blocking.csv", result.blocking)
        write_csv(out / "police_uk_outcomes.csv", result.to_police_uk_outcomes(key=pub_key))
        bar.update(4)
        write_parquet(out / "candidates.parquet", result.candidates)
        for source, model in result.models.items():
            model.save_parameters(out / "models" / f"{source}.json")
        bar.update(2)
    if args.review_sample:
        sample = draw_review_sample(result.candidates, args.review_sample, seed=settings.seed)
        write_review_sample(sample, out / "review_sample.csv")
        logger.info("clerical review sample of %d pairs: %s", len(sample), out / "review_sample.csv")
    if args.truth:
        truth = tables["truth"]
        quality = measure(result, tables)
        assert quality.truth is not None and quality.subgroups is not None  # a truth table was loaded
        write_csv(out / "quality_by_source.csv", quality.truth.table.reset_index())
        write_csv(out / "quality_by_subgroup.csv", quality.subgroups)
        sweep = threshold_sweep(result.candidates, truth)
        write_csv(out / "threshold_sweep.csv", sweep)

        def _chart(tmp: Path) -> None:
            ax = precision_recall_chart(sweep)
            ax.figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})

        write_with(out / "precision_recall.png", _chart)
        write_csv(out / "pass_completeness.csv", result.pass_completeness)
        logger.info("quality against truth:\n%s", quality.truth.to_markdown())
    settings_json = json.dumps(settings.to_dict(), sort_keys=True)
    manifest = {
        "command": "linkage link",
        "version": __version__,
        "inputs": {kind: {"path": str(p), "sha256": file_sha256(p)} for kind, p in sorted(files.items())},
        "settings": settings.to_dict(),
        "settings_sha256": hashlib.sha256(settings_json.encode()).hexdigest(),
        "rows": {k: int(accounting[k].sum()) for k in ("rows_read", "accepted", "quarantined")},
        "n_links": len(result.links),
        "n_unlinked": len(result.unlinked),
        "n_candidates": len(result.candidates),
        "n_ambiguous_links": int(result.links["ambiguous"].sum()) if "ambiguous" in result.links else 0,
        "n_ambiguous_unlinked": len(result.ambiguous),
    }
    if len(result.pass_completeness):
        manifest["pass_completeness"] = result.pass_completeness.round(6).to_dict(orient="records")
    write_text(out / "run.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    logger.info(
        "linked %d of %d outcome records in %.1f s; outputs in %s",
        len(result.links),
        len(result.links) + len(result.unlinked),
        time.perf_counter() - started,
        out,
    )
    return 0


_NATIONAL_DOC = """Link a national extract force by force, with parameters fitted once on a sample of forces.

Input: a folder of Parquet extracts (``restricted/crimes.parquet``, ``suspects.parquet`` and the outcome
sources, as ``write_world_chunked`` or ``SyntheticWorld.write`` make). Each force is one partition, read
alone (pyarrow filters), linked with the fixed parameters and written atomically to
``OUT/partitions/<slug>/`` with a manifest; a re-run skips partitions whose outputs match their inputs,
parameters and settings, so a failed force is re-run alone (``--only <slug>``). ``--distributed`` runs the
same partitions on Dask (``--scheduler ADDRESS``, or a local cluster of worker processes). See
docs/scale.md.
"""


def run_link_national(args: argparse.Namespace) -> int:
    """Run :func:`linkage.scale.link_national`; returns 0, or 1 when a partition failed."""
    settings = read_link_settings(Path(args.settings) if args.settings else None)
    try:
        run = link_national(
            args.data,
            args.out,
            settings,
            distributed=args.distributed,
            scheduler=args.scheduler,
            n_workers=args.workers,
            memory_limit=args.memory_limit,
            only=args.only,
            sample_crimes=args.sample_crimes,
            candidates=args.candidates,
            refit=args.refit,
            progress=not args.no_progress,
        )
    except PartitionFailedError as exc:
        logger.error("%s", exc)
        return 1
    statuses = pd.Series([r["status"] for r in run.reports]).value_counts().to_dict()
    logger.info(
        "fit %.1f s, link %.1f s; partitions %s; outputs in %s",
        run.fit_seconds,
        run.link_seconds,
        statuses,
        args.out,
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``linkage link`` and ``linkage link-national``."""
    _register_national(subparsers)
    p = subparsers.add_parser(
        "link",
        help="link cautions, penalty notices and court outcomes to crimes and suspects",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="folder with the extracts (restricted/*.parquet|csv)")
    p.add_argument("--out", required=True, help="output folder (holds personal data: not reports/)")
    p.add_argument("--settings", help="YAML with link settings (or a trailblazer YAML with a linkage: block)")
    p.add_argument("--truth", action="store_true", help="evaluate against truth.parquet|csv (synthetic data)")
    p.add_argument(
        "--review-sample",
        type=int,
        default=0,
        metavar="N",
        help="also write review_sample.csv: N candidate pairs stratified by match weight, both records "
        "side by side, for clerical review (read back with linkage.quality.read_review)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run_link)


def _register_national(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "link-national",
        help="link a national extract force by force (fit once on a sample; local or Dask)",
        description=_NATIONAL_DOC,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="folder with Parquet extracts (restricted/*.parquet)")
    p.add_argument("--out", required=True, help="output folder (holds personal data: not reports/)")
    p.add_argument("--settings", help="YAML with link settings (or a trailblazer YAML with a linkage: block)")
    p.add_argument(
        "--only",
        action="append",
        metavar="PARTITION",
        help="re-run this partition (slug, e.g. dorset-police, or force name) and leave the rest; repeatable",
    )
    p.add_argument(
        "--sample-crimes",
        type=int,
        default=DEFAULT_SAMPLE_CRIMES,
        metavar="N",
        help=f"crimes in the fitting sample of whole forces (default {DEFAULT_SAMPLE_CRIMES:,})",
    )
    p.add_argument("--refit", action="store_true", help="fit again even when OUT/fitted.json matches")
    p.add_argument(
        "--candidates", action="store_true", help="also write every scored pair per partition (large)"
    )
    p.add_argument("--distributed", action="store_true", help="run the partitions on Dask distributed")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler to use (default: a local cluster)")
    p.add_argument("--workers", type=int, help="local cluster worker processes (default: one per core)")
    p.add_argument(
        "--memory-limit",
        default="auto",
        help="local cluster memory limit per worker, e.g. 6GiB (default auto)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run_link_national)
