"""Restricted extracts in a folder: find them, load and validate them, sum their row accounting.

The one loader for record-level extracts, shared by ``linkage link``, ``linkage link-national``
(:mod:`linkage.scale`) and the pipeline (:mod:`linkage.pipeline`). A folder written by
``SyntheticWorld.write`` (or real extracts) holds ``crimes``, ``suspects`` and any of ``cautions``,
``penalty_notices``, ``court_outcomes`` (and ``truth`` for synthetic data) as ``<kind>.parquet`` or
``<kind>.csv``, in ``restricted/`` (truth in ``truth/``) or at the top level.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from linkage.errors import DataContractError
from linkage.sources._common import LoadResult, LoadSummary
from linkage.sources.contracts import OUTCOME_SOURCES
from linkage.sources.extracts import read_extract

logger = logging.getLogger(__name__)

__all__ = [
    "EXTRACT_KINDS",
    "find_extracts",
    "synthetic_world_seed",
    "load_extracts",
    "load_tables",
    "combine_summaries",
]

EXTRACT_KINDS = ("crimes", "suspects", *OUTCOME_SOURCES, "truth")


def find_extracts(folder: Path) -> dict[str, Path]:
    """``kind -> file`` for every extract found in ``folder/restricted``, ``folder/truth`` (the layout
    ``SyntheticWorld.write`` uses) or ``folder`` itself; Parquet before CSV."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataContractError(folder, "no such folder")
    found: dict[str, Path] = {}
    for kind in EXTRACT_KINDS:
        for base in (folder / "restricted", folder / "truth", folder):
            for suffix in (".parquet", ".csv"):
                path = base / f"{kind}{suffix}"
                if kind not in found and path.is_file():
                    found[kind] = path
    for kind in ("crimes", "suspects"):
        if kind not in found:
            raise DataContractError(
                folder, f"no {kind}.parquet or {kind}.csv in {folder}/restricted or {folder}"
            )
    if not any(k in found for k in OUTCOME_SOURCES):
        raise DataContractError(folder, f"no outcome extract ({', '.join(OUTCOME_SOURCES)}) found")
    return found


def synthetic_world_seed(folder: Path) -> int | None:
    """The seed in ``folder/manifest.json`` when ``SyntheticWorld.write`` made the folder, else None.

    Only a synthetic world may publish Crime IDs under a key derived from its seed; real extracts
    need ``$LINKAGE_PUBLICATION_KEY`` (see :mod:`linkage.justice.publication`).
    """
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataContractError(path, f"cannot read manifest: {exc}") from exc
    if not isinstance(manifest, dict) or not str(manifest.get("generator", "")).startswith("linkage.synth"):
        return None
    seed = manifest.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise DataContractError(path, f"synthetic world manifest has a bad seed {seed!r}")
    return seed


def load_extracts(files: Mapping[str, Path], progress: bool = False) -> dict[str, LoadResult]:
    """Load and validate each extract (:func:`linkage.sources.read_extract`), logging each file's row
    accounting (read = accepted + quarantined)."""
    loads = {}
    for kind, path in tqdm(files.items(), desc="loading", unit="file", disable=not progress):
        result = read_extract(kind, path)
        log = logger.warning if result.summary.quarantined else logger.info
        log("%s", result.summary.format())
        loads[kind] = result
    return loads


def load_tables(files: Mapping[str, Path], progress: bool = False) -> dict[str, pd.DataFrame]:
    """The accepted table of each extract (:func:`load_extracts`)."""
    return {kind: result.tables[kind] for kind, result in load_extracts(files, progress).items()}


def combine_summaries(summaries: Iterable[LoadSummary]) -> LoadSummary:
    """One row accounting for several loads: counts and reasons summed, the per-file rows stacked."""
    summaries = list(summaries)
    files = pd.concat([s.by_file for s in summaries], ignore_index=True)
    reasons: dict[str, int] = {}
    for summary in summaries:
        for reason, n in summary.by_reason.items():
            reasons[reason] = reasons.get(reason, 0) + int(n)
    return LoadSummary(
        rows_read=int(files["rows_read"].sum()),
        accepted=int(files["accepted"].sum()),
        quarantined=int(files["quarantined"].sum()),
        by_reason=reasons,
        by_file=files,
    )
