"""Read restricted record-level extracts (CSV or Parquet) against their contracts in ``contracts.EXTRACTS``.

File-level problems (missing file, empty, not CSV/Parquet, missing contract columns) raise
:class:`~linkage.errors.DataContractError`. Row-level problems send the row to quarantine with the first
failing reason, checked in this order: wrong number of fields, missing required value, unparseable date
(dates are ``YYYY-MM-DD``; other formats are not guessed), date in the future, date before 1900, bad sex
value, unparseable number, unknown category (a value outside a column's allowed ``values``),
coordinates at 0,0, longitude and latitude swapped, coordinates outside the UK, unknown crime type
(``crimes`` only), duplicate key.
Columns beyond the contract are kept as text.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from linkage.errors import DataContractError, LinkageError
from linkage.reference.outcomes import canonical_crime_type
from linkage.sources import _common as c
from linkage.sources.contracts import EXTRACTS, TableContract

logger = logging.getLogger(__name__)

SEX_VALUES: tuple[str, ...] = ("M", "F", "U")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for non-Parquet input
        raise DataContractError(path, f"not a readable Parquet file ({type(exc).__name__}: {exc})") from exc
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%d")
        else:
            text = values.astype("string")
        out[str(col)] = text.fillna("").astype(object)
    return out.reset_index(drop=True)


def _read_rows(path: Path) -> c.CsvRows:
    """The table's records: CSV parsed with line numbers and field counts; Parquet rows numbered 2, 3, ...
    as if the file were a CSV with a header (so row numbers mean the same for both)."""
    if not path.is_file():
        raise DataContractError(path, "no such file")
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        frame = _read_parquet(path)
        n = len(frame)
        return c.CsvRows(
            frame=frame,
            line=np.arange(2, n + 2, dtype="int64"),
            fields=np.full(n, frame.shape[1], dtype="int64"),
            overflow=np.full(n, None, dtype=object),
        )
    return c.parse_csv(path.read_bytes(), str(path))


def _read_table(path: Path) -> pd.DataFrame:
    return _read_rows(path).frame


def check_header(contract: TableContract, columns: list[str], name: str, header_line: int = 1) -> None:
    """Raise DataContractError (naming the header row and the first missing column) when ``columns``
    lack any contract column."""
    missing = [col for col in contract.names if col not in columns]
    if missing:
        raise DataContractError(
            name,
            f"wrong header for a {contract.kind} extract: missing columns {missing} (found {columns})",
            row=header_line,
            column=missing[0],
        )


def _validate(rows: c.CsvRows, contract: TableContract) -> tuple[pd.DataFrame, c.Rejections]:
    """Typed table and the row rejections for one extract."""
    raw = rows.frame
    rej = c.Rejections(len(raw))
    c.field_count_problems(rej, rows.fields - rows.width, list(raw.columns), rows.overflow)
    typed = pd.DataFrame(index=raw.index)
    for column in contract.columns:
        text = raw[column.name].astype("string").str.strip()
        text = text.mask(text == "")
        if column.required:
            rej.add(text.isna(), c.R_MISSING, column.name, raw[column.name])
        typed[column.name] = text
    for column in contract.columns:
        text = typed[column.name]
        if column.kind == "date":
            parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            rej.add(text.notna() & parsed.isna(), c.R_DATE, column.name, raw[column.name])
            c.date_range_problems(rej, parsed, column.name, raw[column.name])
            typed[column.name] = parsed.astype("datetime64[ns]")
        elif column.kind == "sex":
            upper = text.str.upper()
            rej.add(
                text.notna() & ~upper.isin(SEX_VALUES).fillna(False), c.R_SEX, column.name, raw[column.name]
            )
            typed[column.name] = upper
        elif column.kind == "float":
            numbers, bad = c.to_float(text)
            rej.add(bad, c.R_NUMBER, column.name, raw[column.name])
            typed[column.name] = numbers
    for column in contract.columns:
        if column.values:
            text = typed[column.name]
            allowed = {v.lower() for v in column.values}
            bad = text.notna() & ~text.str.lower().isin(allowed).fillna(False)
            rej.add(bad, c.R_CATEGORY, column.name, raw[column.name])
    names = contract.names
    if "longitude" in names and "latitude" in names:
        lon, lat = typed["longitude"], typed["latitude"]
        rej.add(lon.isna() != lat.isna(), c.R_COORDS_BAD, "longitude", raw["longitude"])
        c.coordinate_problems(rej, lon, lat, "longitude", raw["longitude"])
    if contract.kind == "crimes":
        canon = canonical_crime_type(typed["crime_type"])
        rej.add(typed["crime_type"].notna() & canon.isna(), c.R_CRIME_TYPE, "crime_type", raw["crime_type"])
        typed["crime_type"] = canon
    key = list(contract.key)
    live = ~rej.rejected
    dup = np.zeros(len(raw), dtype=bool)
    dup[live] = typed.loc[live, key].duplicated(keep="first").to_numpy()
    parts = [typed[k].astype("string").fillna("") for k in key]
    key_text = parts[0]
    for part in parts[1:]:
        key_text = key_text + "|" + part
    rej.add(dup, c.R_DUP_KEY, "+".join(key), key_text)
    extras = [col for col in raw.columns if col not in names]
    for col in extras:
        text = raw[col].astype("string")
        typed[col] = text.mask(text.str.strip() == "")
    return typed, rej


def read_extract(kind: str, path: str | os.PathLike[str]) -> c.LoadResult:
    """Load one restricted extract (``crimes``, ``suspects``, ``cautions``, ``penalty_notices``,
    ``court_outcomes`` or ``truth``) from CSV or Parquet, validating it against its contract."""
    if kind not in EXTRACTS:
        raise LinkageError(f"kind must be one of {sorted(EXTRACTS)}, got {kind!r}")
    contract = EXTRACTS[kind]
    source = Path(path)
    rows = _read_rows(source)
    raw = rows.frame
    raw.columns = [str(col).strip() for col in raw.columns]
    check_header(contract, list(raw.columns), str(source), rows.header_line)
    typed, rej = _validate(rows, contract)
    meta = pd.DataFrame({"source_file": str(source), "source_row": rows.line, "kind": kind})
    typed["source_file"] = pd.Series(str(source), index=typed.index, dtype="string")
    typed["source_row"] = meta["source_row"].to_numpy()
    accepted = c.keep_accepted(typed, rej)
    quarantined = c.build_quarantine(raw, rej, meta) if rej.rejected.any() else c.empty_quarantine()
    files = pd.DataFrame([{"file": str(source), "kind": kind, "rows_read": len(raw)}])
    summary = c.summarise(files, quarantined, [accepted])
    logger.info("%s %s: %d accepted, %d quarantined", kind, source, summary.accepted, summary.quarantined)
    return c.LoadResult(
        tables={kind: accepted}, quarantined=quarantined, summary=summary, files=[str(source)]
    )


def detect_extract_kind(columns: list[str], *, closest: bool = False) -> str | None:
    """The extract kind whose contract columns are all in ``columns`` (the most specific), or None.

    With ``closest``, a header that holds most (at least two thirds) of one contract's columns but not
    all of them gives that kind too, so the reader can say which columns are missing.
    """
    have = set(columns)
    matches = [k for k, contract in EXTRACTS.items() if set(contract.names) <= have]
    if matches:
        return max(matches, key=lambda k: len(EXTRACTS[k].names))
    if not closest:
        return None
    share = {k: len(set(c.names) & have) / len(c.names) for k, c in EXTRACTS.items()}
    best = max(share, key=lambda k: (share[k], len(EXTRACTS[k].names)))
    return best if share[best] >= 2 / 3 else None
