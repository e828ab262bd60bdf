"""Shared pieces of the loaders: the load result, CSV reading with file-level checks, quarantine rules."""

from __future__ import annotations

import csv
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

QUARANTINE_COLUMNS = ["source_file", "source_row", "column", "value", "reason"]
"""Leading columns of every quarantine table; the raw row's columns follow under their original names."""

# Quarantine reasons (the ``reason`` column). A row gets the first reason in this order that applies.
R_FIELDS = "wrong number of fields"
R_MONTH = "unparseable month"
R_DATE = "unparseable date"
R_FUTURE = "date in the future"
R_TOO_EARLY = "date before 1900"
R_BEFORE_POLICE_UK = "month before police.uk data began (2010-12)"
R_MISSING = "missing required value"
R_NUMBER = "unparseable number"
R_COORDS_BAD = "unparseable coordinates"
R_COORDS_ZERO = "coordinates at 0,0"
R_COORDS_SWAPPED = "longitude and latitude swapped"
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
    missing_months: tuple[str, ...] = ()  # "<kind>, <force>: YYYY-MM" for each month missing in a run
    releases: tuple[str, ...] = ()  # one line per (kind, force, month) supplied by more than one file

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
        for gap in self.missing_months:
            lines.append(f"MISSING MONTH  {gap}")
        for choice in self.releases:
            lines.append(f"SUPPLIED TWICE  {choice}")
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
    release_choices: list = field(default_factory=list)  # linkage.sources.releases.ReleaseChoice
    file_releases: dict[str, str | None] = field(default_factory=dict)  # file -> release month or None

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


@dataclass(frozen=True)
class CsvRows:
    """A CSV file parsed to text: the records, where each starts and how many fields it had.

    ``frame`` has one all-text column per header name and one row per record (blank lines are not
    records); ``line`` is the physical line each record starts on (the header is line 1 when the file
    starts with it); ``fields`` is the number of fields the record had, so a record that is short
    (a truncated line) or long (an unquoted comma) can be quarantined rather than silently padded or
    cut; ``overflow`` holds the text beyond the header's last column for long records (else None).
    """

    frame: pd.DataFrame
    line: np.ndarray
    fields: np.ndarray
    overflow: np.ndarray
    header_line: int = 1

    @property
    def width(self) -> int:
        """Number of columns in the header."""
        return self.frame.shape[1]


def decode_text(data: bytes, name: str) -> str:
    """CSV bytes to text: UTF-8 (with or without a byte-order mark); lines that are not UTF-8 are read
    as Windows-1252 (which also reads Latin-1 letters), line by line so a mixed file keeps its UTF-8
    lines intact. UTF-16 and binary content raise DataContractError naming ``name``."""
    return _decode(data, name)[0]


def _decode(data: bytes, name: str) -> tuple[str, bool]:
    """(text, True when the whole file was UTF-8): see :func:`decode_text`."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DataContractError(name, "UTF-16 text; save the file as UTF-8 CSV")
    if b"\x00" in data[:4096]:
        raise DataContractError(name, "not a CSV file (binary content)")
    try:
        return data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        pass
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    decoded, fallback = [], []
    for number, raw in enumerate(lines, start=1):
        try:
            decoded.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            decoded.append(raw.decode("cp1252", errors="replace"))
            fallback.append(number)
    logger.warning(
        "%s: %d line(s) are not UTF-8 (first: line %d); read them as Windows-1252",
        name,
        len(fallback),
        fallback[0],
    )
    return "\n".join(decoded), False


def _blank_line(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


def parse_csv(data: bytes, name: str) -> CsvRows:
    """Parse CSV bytes to :class:`CsvRows`, or raise DataContractError naming ``name`` (and the row and
    column where the problem is): empty file, no header, blank or repeated column names, binary content.

    Files without quote characters whose every line has the header's number of fields (every
    police.uk file) are parsed by pandas' C reader; anything else by the ``csv`` module, record by
    record, so line numbers and field counts stay exact.
    """
    if not data or data.isspace():
        raise DataContractError(name, "empty file")
    text, utf8 = _decode(data, name)
    if not text or text.isspace():
        raise DataContractError(name, "empty file")
    fast = None
    if utf8 and b'"' not in data:
        fast = _parse_fast(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
    rows = fast if fast is not None else _parse_slow(text, name)
    header = list(rows.frame.columns)
    for i, col in enumerate(header):
        if not col:
            raise DataContractError(
                name, "blank column name in the header", row=rows.header_line, column=f"#{i + 1}"
            )
    dups = sorted({c for c in header if header.count(c) > 1})
    if dups:
        raise DataContractError(
            name, f"column name repeated in the header: {dups}", row=rows.header_line, column=dups[0]
        )
    return rows


def _parse_fast(raw: bytes) -> CsvRows | None:
    """pandas' C reader for quote-free UTF-8 whose lines all have the header's field count, else None
    (then :func:`_parse_slow` reads it).

    Line structure comes from the bytes with numpy (commas and non-blank bytes summed per line), so the
    check costs a fraction of the parse.
    """
    arr = np.frombuffer(raw, dtype=np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(arr == 10) + 1])
    starts = starts[starts < len(arr)]
    if len(starts) == 0:
        return None
    ends = np.concatenate([starts[1:], [len(arr)]])

    def per_line(mask: np.ndarray) -> np.ndarray:
        where = np.flatnonzero(mask)  # sparse: commas, spaces, tabs, carriage returns
        return np.searchsorted(where, ends) - np.searchsorted(where, starts)

    cr = np.flatnonzero(arr == 13)
    if len(cr) and (cr[-1] == len(arr) - 1 or (arr[cr + 1] != 10).any()):
        return None  # a carriage return that does not end a line
    commas = per_line(arr == 44)
    spaces = per_line((arr == 32) | (arr == 9))
    carriage = np.searchsorted(cr, ends) - np.searchsorted(cr, starts)
    newline = (arr[ends - 1] == 10).astype(np.int64)
    length = ends - starts - newline - carriage  # bytes other than the line end
    blank = length == spaces
    if (blank & (length > 0)).any():  # white-space-only lines: pandas would read them as records
        return None
    numbers = np.flatnonzero(~blank) + 1
    if len(numbers) == 0:
        return None
    counts = commas[numbers - 1]
    if (counts != counts[0]).any():
        return None
    frame = pd.read_csv(
        io.BytesIO(raw), encoding="utf-8", dtype=str, keep_default_na=False, na_filter=False, index_col=False
    )
    if len(frame) != len(numbers) - 1:
        return None
    first = raw[starts[numbers[0] - 1] : ends[numbers[0] - 1]].decode("utf-8")
    frame.columns = [c.strip() for c in first.rstrip("\r\n").split(",")]  # as written (no mangling)
    n = len(frame)
    return CsvRows(
        frame=frame,
        line=numbers[1:].astype("int64"),
        fields=np.full(n, counts[0] + 1, dtype="int64"),
        overflow=np.full(n, None, dtype=object),
        header_line=int(numbers[0]),
    )


def _parse_slow(text: str, name: str) -> CsvRows:
    """Record by record with the ``csv`` module: exact start lines and field counts (any quoting)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 1
    records: list[list[str]] = []
    starts: list[int] = []
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if _blank_line(record):
                continue
            if header is None:
                header, header_line = [c.strip() for c in record], start
                continue
            records.append(record)
            starts.append(start)
    except csv.Error as exc:
        raise DataContractError(name, f"not a readable CSV file ({exc})", row=reader.line_num) from exc
    if header is None:
        raise DataContractError(name, "empty file")
    width = len(header)
    fields = np.fromiter(map(len, records), dtype="int64", count=len(records))
    overflow = np.full(len(records), None, dtype=object)
    for i in np.flatnonzero(fields != width):
        record = records[i]
        if len(record) > width:
            overflow[i] = ",".join(record[width:])
        records[i] = (record + [""] * width)[:width]
    frame = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(columns=header)
    frame = frame.astype(object)
    return CsvRows(
        frame=frame.reset_index(drop=True),
        line=np.asarray(starts, dtype="int64"),
        fields=fields,
        overflow=overflow,
        header_line=header_line,
    )


def read_csv_text(data: bytes, name: str) -> pd.DataFrame:
    """Parse CSV bytes to an all-text frame (see :func:`parse_csv`), or raise DataContractError."""
    return parse_csv(data, name).frame


def field_count_problems(
    rej: Rejections, extra_fields: np.ndarray, columns: list[str], overflow: pd.Series | np.ndarray
) -> None:
    """Quarantine records with too few fields (a truncated line: column = the first one missing) or too
    many (an unquoted comma: column ``(beyond the last column)``). The value says how many fields the
    record had, and for a long record the text beyond the last column (kept nowhere else).
    ``extra_fields`` is each record's field count minus the header's (0 for a well-formed record)."""
    extra = np.asarray(extra_fields, dtype="int64")
    if not extra.any():
        return
    width = len(columns)
    names = np.array([*columns, "(beyond the last column)"], dtype=object)
    column = names[np.clip(width + extra, 0, width)]
    beyond = pd.Series(np.asarray(overflow, dtype=object)).astype("string")
    text = pd.Series(width + extra).astype("string") + f" fields, header has {width}"
    text = text.where(beyond.isna(), text + "; beyond the last column: " + beyond.fillna(""))
    for col in pd.unique(column[extra != 0]):
        rej.add((extra != 0) & (column == col), R_FIELDS, str(col), text)


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


def coordinate_problems(
    rej: Rejections, longitude: pd.Series, latitude: pd.Series, column: str, values: pd.Series | None
) -> None:
    """Quarantine WGS84 points at 0,0, with longitude and latitude swapped, or outside the UK box."""
    zero = longitude.eq(0).fillna(False) & latitude.eq(0).fillna(False)
    rej.add(zero, R_COORDS_ZERO, column, values)
    swapped = outside_uk(longitude, latitude) & ~outside_uk(latitude, longitude)
    rej.add(swapped, R_COORDS_SWAPPED, column, values)
    rej.add(outside_uk(longitude, latitude), R_COORDS_UK, column, values)


def today() -> pd.Timestamp:
    """Today's date (UTC, midnight): dates after it are in the future."""
    return pd.Timestamp.now(tz="UTC").normalize().tz_localize(None)


EARLIEST_DATE = pd.Timestamp("1900-01-01")
"""Dates before this are quarantined as implausible (a date of birth of 1899 or earlier, a typo'd year)."""


def date_range_problems(
    rej: Rejections,
    parsed: pd.Series,
    column: str,
    values: pd.Series | None,
    *,
    earliest: pd.Timestamp = EARLIEST_DATE,
    early_reason: str = R_TOO_EARLY,
) -> None:
    """Quarantine parsed dates after today (:func:`today`) or before ``earliest``."""
    rej.add(parsed.notna() & (parsed > today()), R_FUTURE, column, values)
    rej.add(parsed.notna() & (parsed < earliest), early_reason, column, values)


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
    files: pd.DataFrame,
    quarantined: pd.DataFrame,
    accepted: list[pd.DataFrame] | tuple[pd.DataFrame, ...],
    *,
    missing_months: tuple[str, ...] = (),
    releases: tuple[str, ...] = (),
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
        missing_months=tuple(missing_months),
        releases=tuple(releases),
    )


def write_quarantine_dir(quarantined: pd.DataFrame, directory: str | os.PathLike[str]) -> list[Path]:
    """Write one ``<file>.quarantine.csv`` per source file with quarantined rows into ``directory``."""
    written = []
    for source, rows in quarantined.groupby("source_file", sort=True):
        name = re.sub(r"[^\w.-]+", "_", Path(str(source).replace("!", "_")).name) + ".quarantine.csv"
        raw_cols = [c for c in rows.columns if rows[c].notna().any() or c in QUARANTINE_COLUMNS]
        written.append(write_csv(Path(directory) / name, rows[raw_cols]))
    return written
