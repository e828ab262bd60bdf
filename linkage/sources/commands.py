"""``linkage validate PATH...``: load files with every check and print the row accounting.

Exit codes: 0 every row accepted; 1 some rows quarantined or a month missing from a run of police.uk
files; 2 a file could not be read at all.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from linkage.errors import DataContractError
from linkage.sources import _common as c
from linkage.sources.contracts import EXTRACTS
from linkage.sources.extracts import _read_table, detect_extract_kind, read_extract
from linkage.sources.police_uk import KINDS, read_police_uk

logger = logging.getLogger(__name__)

VALIDATE_KINDS: tuple[str, ...] = ("auto", *KINDS, *[k for k in EXTRACTS if k != "truth"], "truth")


def _auto_kind(path: Path) -> str | None:
    """The extract kind of a single CSV/Parquet file by its header, or None for police.uk input."""
    if path.is_dir() or path.suffix.lower() == ".zip" or not path.is_file():
        return None
    try:
        columns = list(_read_table(path).columns)
    except DataContractError:
        return None  # let the police.uk reader report the problem
    if {"Crime type", "Outcome type", "Type", "Month"} & set(columns):
        return detect_extract_kind(columns)  # a police.uk header (possibly with a wrong column)
    return detect_extract_kind(columns, closest=True)


def load(path: Path, kind: str, quarantine_dir: Path | None) -> c.LoadResult:
    """Load ``path`` as ``kind`` (``auto`` picks extract or police.uk from the header)."""
    if kind == "auto":
        kind = _auto_kind(path) or "police-uk"
    if kind in EXTRACTS:
        result = read_extract(kind, path)
        if quarantine_dir is not None and len(result.quarantined):
            c.write_quarantine_dir(result.quarantined, quarantine_dir)
        return result
    police_kind = None if kind == "police-uk" else kind
    return read_police_uk(path, kind=police_kind, quarantine_dir=quarantine_dir)


def run_validate(args: argparse.Namespace) -> int:
    """Validate every path; print accounting; exit 0, 1 (quarantined rows) or 2 (unreadable file)."""
    status = 0
    total_read = total_accepted = total_quarantined = 0
    for raw_path in args.paths:
        path = Path(raw_path)
        try:
            result = load(path, args.kind, args.quarantine_dir)
        except DataContractError as exc:
            print(f"UNREADABLE {exc}", file=sys.stderr)
            status = 2
            continue
        print(result.summary.format())
        if result.summary.quarantined:
            if args.quarantine_dir is not None:
                print(f"QUARANTINE  {result.summary.quarantined} row(s) written to {args.quarantine_dir}/")
            else:
                print(
                    f"QUARANTINE  {result.summary.quarantined} row(s) not written anywhere; add "
                    "--quarantine-dir DIR to keep them (one <file>.quarantine.csv per file)"
                )
        total_read += result.summary.rows_read
        total_accepted += result.summary.accepted
        total_quarantined += result.summary.quarantined
        if (result.summary.quarantined or result.summary.missing_months) and status == 0:
            status = 1
    if len(args.paths) > 1:
        print(f"ALL PATHS  read {total_read}  accepted {total_accepted}  quarantined {total_quarantined}")
    return status


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate",
        help="load police.uk files or restricted extracts with every check; print row accounting",
        description=(
            "Load each PATH (a CSV, a Parquet extract, a month folder, an archive tree or a zip) with the "
            "same checks as the library and print rows read, accepted and quarantined per file and reason. "
            "Exit 1 if any row was quarantined or a month is missing from a run of police.uk files, 2 if a "
            "file could not be read at all."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file, folder or zip to validate")
    parser.add_argument(
        "--kind",
        choices=VALIDATE_KINDS,
        default="auto",
        help="what the input is; auto detects police.uk kinds and extracts from the header (default)",
    )
    parser.add_argument(
        "--quarantine-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write each file's quarantined rows to DIR/<file>.quarantine.csv",
    )
    parser.set_defaults(func=run_validate)
