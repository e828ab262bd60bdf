"""Partitions of a national extract: one police force each, read from Parquet one at a time.

A partition is a force. Every input table carries the force: crimes and suspects by the force that
recorded the crime, each outcome record by the force that dealt with it (the caution's or penalty
notice's issuing force, the court case's prosecuting force), so an outcome record is only ever compared
with its own force's crimes and nothing links across the boundary. A national extract therefore splits
into 43 independent problems, whatever the period: an outcome that falls a year or more after its crime
(court outcomes do) is in the same partition as that crime, so no time window cuts a link off.

Tables are read with pyarrow filters on ``force`` (Parquet row-group statistics let pyarrow skip other
forces' row groups), then validated against their contracts by :func:`linkage.read_extract`, with
quarantined rows counted per partition.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from linkage._io import file_sha256
from linkage.errors import DataContractError, LinkageError
from linkage.sources import QUARANTINE_COLUMNS, read_extract
from linkage.sources.contracts import OUTCOME_SOURCES
from linkage.sources.extract_folder import find_extracts

logger = logging.getLogger(__name__)

__all__ = [
    "LINK_INPUTS",
    "Partition",
    "PartitionTables",
    "find_parquet_inputs",
    "list_partitions",
    "partition_slug",
    "read_partition",
]

LINK_INPUTS: tuple[str, ...] = ("crimes", "suspects", *OUTCOME_SOURCES)
"""The extracts a partition reads (``truth`` is read only by benchmarks and evaluation)."""


@dataclass(frozen=True)
class Partition:
    """One force: its name, a file-system-safe ``slug``, its number of crime rows (for ordering and the
    fitting sample) and the raw ``force`` values that name it (the name with stray surrounding spaces,
    which validation strips: each is read, so no row is left behind)."""

    force: str
    slug: str
    n_crimes: int
    values: tuple[str, ...]


@dataclass
class PartitionTables:
    """A partition's validated tables, the rows read, accepted and quarantined per table, the quarantined
    rows themselves, and a SHA-256 of the raw rows read (the partition's input key)."""

    tables: dict[str, pd.DataFrame]
    rows: dict[str, dict[str, int]]
    quarantined: pd.DataFrame
    input_sha256: str


def partition_slug(force: str) -> str:
    """``Metropolitan Police Service`` -> ``metropolitan-police-service``."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(force).strip().lower()).strip("-")
    if not slug:
        raise LinkageError(f"force must have a letter or digit, got {force!r}")
    return slug


def find_parquet_inputs(folder: str | Path, kinds: Sequence[str] = LINK_INPUTS) -> dict[str, Path]:
    """``kind -> Parquet file`` in ``folder/restricted`` (``truth`` in ``folder/truth``) or ``folder``.

    Partitioned linkage reads Parquet only (row groups are what keep memory bounded); crimes and suspects
    are required and at least one outcome source."""
    found = find_extracts(Path(folder))
    out: dict[str, Path] = {}
    for kind in kinds:
        path = found.get(kind)
        if path is None:
            continue
        if path.suffix.lower() != ".parquet":
            raise DataContractError(
                path, "partitioned linkage reads Parquet (one force at a time); convert this CSV first"
            )
        out[kind] = path
    return out


def list_partitions(inputs: Mapping[str, Path]) -> list[Partition]:
    """Every force with crimes or outcome records, sorted by name, with its crime count (reads only the
    ``force`` column of each table)."""
    counts: dict[str, int] = {}
    raw_values: dict[str, set[str]] = {}
    for kind, path in inputs.items():
        if kind not in LINK_INPUTS:
            continue
        column = pq.read_table(path, columns=["force"]).column("force").cast("string")
        for item in pc.value_counts(column).to_pylist():
            raw = item["values"]
            force = None if raw is None else raw.strip()
            if not force:
                continue  # a blank force fails validation wherever it is read; counted there
            counts.setdefault(force, 0)
            raw_values.setdefault(force, set()).add(raw)
            if kind == "crimes":
                counts[force] += int(item["counts"])
    slugs: dict[str, str] = {}
    for force in counts:
        slug = partition_slug(force)
        if slug in slugs:
            raise DataContractError(
                inputs.get("crimes", "inputs"),
                f"forces {slugs[slug]!r} and {force!r} share the slug {slug!r}",
            )
        slugs[slug] = force
    return [
        Partition(force=f, slug=partition_slug(f), n_crimes=counts[f], values=tuple(sorted(raw_values[f])))
        for f in sorted(counts)
    ]


def read_partition(inputs: Mapping[str, Path], partition: Partition) -> PartitionTables:
    """Read and validate one force's rows of every table in ``inputs``.

    The rows are read with a pyarrow filter on ``force``, copied to a temporary Parquet file and loaded
    with :func:`linkage.read_extract`, so validation is exactly that of a whole extract (same rules, same
    quarantine reasons). Key duplicates are found within the partition (crime and suspect keys include the
    force, so for them that is the whole extract). A quarantined row's ``source_file`` is
    ``<file> [<force>]`` and its ``source_row`` numbers the force's rows as if they were a CSV file of
    their own (header = row 1). ``input_sha256`` hashes those temporary files, i.e. the rows read.
    """
    digest = hashlib.sha256()
    tables: dict[str, pd.DataFrame] = {}
    rows: dict[str, dict[str, int]] = {}
    quarantine = []
    with tempfile.TemporaryDirectory(prefix=f"linkage-{partition.slug}-") as tmp:
        for kind in sorted(inputs):
            path = Path(inputs[kind])
            table = pq.read_table(path, filters=[("force", "in", list(partition.values))])
            part_file = Path(tmp) / f"{kind}.parquet"
            pq.write_table(table, part_file)
            n_read = table.num_rows
            del table
            digest.update(f"{kind}\0{file_sha256(part_file)}\0".encode())
            loaded = read_extract(kind, part_file)
            accepted = loaded.tables[kind]
            label = f"{path} [{partition.force}]"
            accepted["source_file"] = pd.Series(label, index=accepted.index, dtype="string")
            n_bad = len(loaded.quarantined)
            if n_bad:
                quarantine.append(loaded.quarantined.assign(source_file=label))
                logger.warning("%s %s: %d row(s) quarantined", partition.force, kind, n_bad)
            if n_read != len(accepted) + int(loaded.summary.quarantined):
                raise LinkageError(
                    f"{partition.force} {kind}: {n_read} rows read != {len(accepted)} accepted + "
                    f"{loaded.summary.quarantined} quarantined"
                )
            tables[kind] = accepted
            rows[kind] = {
                "read": n_read,
                "accepted": len(accepted),
                "quarantined": int(loaded.summary.quarantined),
            }
    quarantined = (
        pd.concat(quarantine, ignore_index=True) if quarantine else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    )
    return PartitionTables(tables=tables, rows=rows, quarantined=quarantined, input_sha256=digest.hexdigest())
