"""Shared pieces of the loaders: the load result, CSV reading with file-level checks, quarantine rules."""

from __future__ import annotations

import io
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from linkage._io import write_csv, write_parquet
from linkage.errors import DataContractError, LinkageError

logger = logging.getLogger(__name__)

# A box round the United Kingdom (Great Britain, Northern Ireland, Scilly, Shetland), WGS84 degrees.
UK_LONGITUDE = (-8.75, 1.9)
UK_LATITUDE = (49.8, 60.95)
# British National Grid extent (EPSG:27700) in metres.
BNG_EASTING = (0.0, 700_000.0)
BNG_NORTHING = (0.0, 1_300_000.0)

QUARANTINE_COLUMNS = ["source_file", "source_row", "column", "value", "reason"]
"""Leading columns of every quarantine table; the raw row's columns follow under their original names."""

# Quarantine reasons (the ``reason`` column). A row gets the first reason in this order that applies.
R_MONTH = "unparseable month"
R_DATE = "unparseable date"
R_MISSING = "missing required value"
R_NUMBER = "unparseable number"
R_COORDS_BAD = "unparseable coordinates"
R_COORDS_UK = "coordinates outside the UK"
R_CRIME_ID = "bad crime id"
R_CRIME_TYPE = "unknown crime type"
R_OUTCOME = "unknown outcome"
R_SEX = "bad sex value"
R_CATEGORY = "unknown category"
R_EXACT_DUP = "exact duplicate"
R_DUP_KEY = "duplicate key"


@dataclass(frozen=True)
class LoadSummary:
    """Row accounting of one load: totals, counts by reason and a per-file table."""

    rows_read: int
    accepted: int
    quarantined: int
    by_reason: dict[str, int]
    by_file: pd.DataFrame  # file, kind, rows_read, accepted, quarantined, then one column per reason

    def __post_init__(self) -> None:
        if self.rows_read != self.accepted + self.quarantined:
            raise LinkageError(
                f"row accounting broken: read {self.rows_read} != accepted {self.accepted}"
                f" + quarantined {self.quarantined}"
            )

    def format(self) -> str:
        """Plain-text accounting: one line per file, then the total and counts by reason."""
        lines = []
        for rec in self.by_file.itertuples(index=False):
            reasons = ", ".join(
                f"{r}: {int(getattr(rec, _slug(r)))}"
                for r in self.by_reason
                if _slug(r) in self.by_file.columns and int(getattr(rec, _slug(r))) > 0
            )
            extra = f"  ({reasons})" if reasons else ""
            lines.append(
                f"{rec.file}  [{rec.kind}]  read {rec.rows_read}  accepted {rec.accepted}"
                f"  quarantined {rec.quarantined}{extra}"
            )
        lines.append(
            f"TOTAL  {len(self.by_file)} file(s)  read {self.rows_read}  accepted {self.accepted}"
            f"  quarantined {self.quarantined}"
        )
        for reason, count in self.by_reason.items():
            lines.append(f"  {reason}: {count}")
        return "\n".join(lines)


def _slug(reason: str) -> str:
    return re.sub(r"\W+", "_", reason).strip("_")


@dataclass
class LoadResult:
    """Accepted rows, quarantined rows and the row accounting of one load.

    ``tables`` holds the accepted rows per kind (``street``, ``outcomes``, ``stop-and-search`` or an
    extract kind); ``accepted`` is the single table when one kind was loaded.
    """

    tables: dict[str, pd.DataFrame]
    quarantined: pd.DataFrame
    summary: LoadSummary
    files: list[str] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        """Kinds loaded, in order."""
        return list(self.tables)

    @property
    def accepted(self) -> pd.DataFrame:
        """The accepted rows when exactly one kind was loaded (else use ``tables[kind]``)."""
        if len(self.tables) != 1:
            raise LinkageError(
                f"this load holds {len(self.tables)} kinds {self.kinds}; use .tables[kind] or pass kind="
            )
        return next(iter(self.tables.values()))

    def write_quarantine(self, path: str | os.PathLike[str]) -> Path:
        """Write the quarantine table atomically: Parquet for ``.parquet``, else CSV."""
        target = Path(path)
        if target.suffix == ".parquet":
            return write_parquet(target, self.quarantined.astype("string"))
        return write_csv(target, self.quarantined)


# --------------------------------------------------------------------------------------------------
# File-level reading


def read_csv_text(data: bytes, name: str) -> pd.DataFrame:
    """Parse CSV bytes to an all-text frame, or raise DataContractError naming ``name``."""
    if not data.strip():
        raise DataContractError(name, "empty file")
    if b"\x00" in data[:4096]:
        raise DataContractError(name, "not a CSV file (binary content)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        logger.warning("%s is not UTF-8; read as cp1252", name)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataContractError(name, f"not a readable CSV file ({str(exc).strip()})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        raise DataContractError(name, f"duplicate column names in header {list(frame.columns)}")
    return frame


# --------------------------------------------------------------------------------------------------
# Row-level checks (vectorised). Each returns a boolean mask of rows failing the check.


def blank(values: pd.Series) -> pd.Series:
    """True where the text value is blank (empty or whitespace)."""
    return values.astype("string[pyarrow]").str.strip().fillna("").eq("")


def to_float(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse text to float; returns (numbers with NaN for blank/bad, mask of non-blank unparseable)."""
    text = values.astype("string[pyarrow]").str.strip().fillna("")
    numbers = pd.to_numeric(text.mask(text == ""), errors="coerce").astype("float64")
    return numbers, pd.Series(numbers.isna().to_numpy() & text.ne("").to_numpy(), index=values.index)


def outside_uk(longitude: pd.Series, latitude: pd.Series) -> pd.Series:
    """True where both coordinates are present and outside the UK box."""
    present = longitude.notna() & latitude.notna()
    inside = longitude.between(*UK_LONGITUDE) & latitude.between(*UK_LATITUDE)
    return present & ~inside


class Rejections:
    """Collects the first failing reason per row, in the order checks are added."""

    def __init__(self, n: int):
        self.reason = np.full(n, None, dtype=object)
        self.column = np.full(n, None, dtype=object)
        self.value = np.full(n, None, dtype=object)

    def add(self, mask: pd.Series | np.ndarray, reason: str, column: str, values: pd.Series | None) -> None:
        """Record ``reason`` for rows in ``mask`` that have no reason yet."""
        hit = np.asarray(mask, dtype=bool) & pd.isna(self.reason)
        if not hit.any():
            return
        self.reason[hit] = reason
        self.column[hit] = column
        if values is not None:
            self.value[hit] = values[hit].astype(object).to_numpy()

    @property
    def rejected(self) -> np.ndarray:
        return ~pd.isna(self.reason)


def build_quarantine(raw: pd.DataFrame, rej: Rejections, meta: pd.DataFrame) -> pd.DataFrame:
    """Quarantine rows: source_file, source_row, column, value, reason, kind, then the raw row."""
    mask = rej.rejected
    head = pd.DataFrame(
        {
            "source_file": meta["source_file"].to_numpy()[mask],
            "source_row": meta["source_row"].to_numpy()[mask],
            "column": rej.column[mask],
            "value": rej.value[mask],
            "reason": rej.reason[mask],
            "kind": meta["kind"].to_numpy()[mask],
        }
    )
    body = raw.loc[mask].reset_index(drop=True)
    body = body.drop(columns=[c for c in body.columns if c in head.columns])
    out = pd.concat([head, body], axis=1)
    for col in ("source_file", "column", "value", "reason", "kind"):
        out[col] = out[col].astype("string")
    out["source_row"] = out["source_row"].astype("int64")
    return out


def empty_quarantine() -> pd.DataFrame:
    """A quarantine table with no rows."""
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in [*QUARANTINE_COLUMNS, "kind"]})
    frame["source_row"] = frame["source_row"].astype("int64")
    return frame


def keep_accepted(frame: pd.DataFrame, rej: Rejections, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``frame`` with no rejection reason (``columns`` only, when given), index reset."""
    kept = frame.loc[~rej.rejected]
    if columns is not None:
        kept = kept[list(columns)]
    return kept.reset_index(drop=True)


def summarise(
    files: pd.DataFrame, quarantined: pd.DataFrame, accepted: list[pd.DataFrame] | tuple[pd.DataFrame, ...]
) -> LoadSummary:
    """Accounting from a per-file table (file, kind, rows_read), the quarantine table and the accepted
    tables (each with a ``source_file`` column): accepted rows are counted from the rows actually kept,
    so a row lost between validation and output breaks ``rows_read == accepted + quarantined``, which
    raises :class:`LinkageError` naming the file."""
    files = files.copy()
    reasons = sorted(quarantined["reason"].dropna().unique().tolist()) if len(quarantined) else []
    counts = (
        quarantined.groupby(["source_file", "reason"], sort=True).size().unstack(fill_value=0)
        if len(quarantined)
        else pd.DataFrame()
    )
    files["quarantined"] = (
        files["file"].map(counts.sum(axis=1)).fillna(0).astype("int64") if len(counts) else 0
    )
    kept = [t["source_file"].astype("string") for t in accepted if len(t)]
    per_file = pd.concat(kept).value_counts() if kept else pd.Series(dtype="int64")
    files["accepted"] = files["file"].map(per_file).fillna(0).astype("int64")
    unknown = sorted(set(per_file.index) - set(files["file"]))
    if unknown:
        raise LinkageError(f"row accounting broken: accepted rows from unread file(s) {unknown}")
    broken = files[files["rows_read"] != files["accepted"] + files["quarantined"]]
    if len(broken):
        detail = "; ".join(
            f"{r.file}: read {r.rows_read} != accepted {r.accepted} + quarantined {r.quarantined}"
            for r in broken.itertuples(index=False)
        )
        raise LinkageError(f"row accounting broken: {detail}")
    for reason in reasons:
        files[_slug(reason)] = files["file"].map(counts[reason]).fillna(0).astype("int64")
    files = files[["file", "kind", "rows_read", "accepted", "quarantined", *[_slug(r) for r in reasons]]]
    by_reason = {r: int((quarantined["reason"] == r).sum()) for r in reasons}
    return LoadSummary(
        rows_read=int(files["rows_read"].sum()),
        accepted=int(files["accepted"].sum()),
        quarantined=len(quarantined),
        by_reason=by_reason,
        by_file=files.reset_index(drop=True),
    )


def write_quarantine_dir(quarantined: pd.DataFrame, directory: str | os.PathLike[str]) -> list[Path]:
    """Write one ``<file>.quarantine.csv`` per source file with quarantined rows into ``directory``."""
    written = []
    for source, rows in quarantined.groupby("source_file", sort=True):
        name = re.sub(r"[^\w.-]+", "_", Path(str(source).replace("!", "_")).name) + ".quarantine.csv"
        raw_cols = [c for c in rows.columns if rows[c].notna().any() or c in QUARANTINE_COLUMNS]
        written.append(write_csv(Path(directory) / name, rows[raw_cols]))
    return written
