"""Read data.police.uk street, outcomes and stop-and-search files of every vintage into canonical tables.

``read_police_uk(path)`` takes one CSV, a month folder, an archive tree (``YYYY-MM/`` folders) or a
``.zip`` of any of these. The kind of each file is detected from its header (not its name). Every row
is either accepted into the canonical table of its kind or quarantined with a reason; the summary
accounts for every row read. Canonical forms and rules are documented in docs/data_dictionary.md.

Canonical street columns (:data:`STREET_COLUMNS`)::

    crime_id, month, reported_by, falls_within, longitude, latitude, easting, northing, location,
    lsoa_code, lsoa_name, crime_type, crime_type_original, crime_type_coarse, last_outcome,
    last_outcome_original, context, vintage, source_file, source_row

Canonical outcomes columns (:data:`OUTCOMES_COLUMNS`)::

    crime_id, month, reported_by, falls_within, longitude, latitude, easting, northing, location,
    lsoa_code, lsoa_name, outcome_type, outcome_type_original, vintage, source_file, source_row

Vintages handled: 2010-12 to 2012 files with British National Grid ``Easting``/``Northing`` and no
``Crime ID`` (converted to WGS84, originals kept); the six-category (to Aug 2011), eleven-category (Sep
2011 - Apr 2013) and fourteen-category (May 2013 on) crime types; outcome labels before and after the
June 2014 relabelling.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from linkage.errors import DataContractError, LinkageError
from linkage.geography import BNG_EASTING, BNG_NORTHING, grid_to_lonlat
from linkage.reference.outcomes import (
    ELEVEN_CATEGORY_END,
    OUTCOME_RELABEL_MONTH,
    SIX_CATEGORY_END,
    canonical_crime_type,
    canonical_outcome,
    crime_type_is_coarse,
)
from linkage.sources import _common as c
from linkage.sources.coverage import spans
from linkage.sources.releases import R_SUPERSEDED, release_of, resolve

logger = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("street", "outcomes", "stop-and-search")

# Original header -> canonical name, for street and outcomes files.
_CRIME_HEADER = {
    "Crime ID": "crime_id",
    "Month": "month",
    "Reported by": "reported_by",
    "Falls within": "falls_within",
    "Longitude": "longitude",
    "Latitude": "latitude",
    "Easting": "easting",
    "Northing": "northing",
    "Location": "location",
    "LSOA code": "lsoa_code",
    "LSOA name": "lsoa_name",
}
STREET_HEADER = {
    **_CRIME_HEADER,
    "Crime type": "crime_type_original",
    "Last outcome category": "last_outcome_original",
    "Context": "context",
}
OUTCOMES_HEADER = {**_CRIME_HEADER, "Outcome type": "outcome_type_original"}
STOP_AND_SEARCH_HEADER = {
    "Type": "type",
    "Date": "date",
    "Part of a policing operation": "part_of_a_policing_operation",
    "Policing operation": "policing_operation",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "Gender": "gender",
    "Age range": "age_range",
    "Self-defined ethnicity": "self_defined_ethnicity",
    "Officer-defined ethnicity": "officer_defined_ethnicity",
    "Legislation": "legislation",
    "Object of search": "object_of_search",
    "Outcome": "outcome",
    "Outcome linked to object of search": "outcome_linked_to_object_of_search",
    "Removal of more than just outer clothing": "removal_of_more_than_just_outer_clothing",
}
_HEADERS = {"street": STREET_HEADER, "outcomes": OUTCOMES_HEADER, "stop-and-search": STOP_AND_SEARCH_HEADER}
_REQUIRED = {
    "street": {"Month", "Reported by", "Falls within", "Location", "Crime type"},
    "outcomes": {"Month", "Reported by", "Falls within", "Location", "Outcome type"},
    "stop-and-search": {"Type", "Date", "Latitude", "Longitude"},
}

STREET_COLUMNS: tuple[str, ...] = (
    "crime_id",
    "month",
    "reported_by",
    "falls_within",
    "longitude",
    "latitude",
    "easting",
    "northing",
    "location",
    "lsoa_code",
    "lsoa_name",
    "crime_type",
    "crime_type_original",
    "crime_type_coarse",
    "last_outcome",
    "last_outcome_original",
    "context",
    "vintage",
    "source_file",
    "source_row",
)
OUTCOMES_COLUMNS: tuple[str, ...] = (
    "crime_id",
    "month",
    "reported_by",
    "falls_within",
    "longitude",
    "latitude",
    "easting",
    "northing",
    "location",
    "lsoa_code",
    "lsoa_name",
    "outcome_type",
    "outcome_type_original",
    "suspects",
    "vintage",
    "source_file",
    "source_row",
)
STOP_AND_SEARCH_COLUMNS: tuple[str, ...] = (
    *STOP_AND_SEARCH_HEADER.values(),
    "force",
    "source_file",
    "source_row",
)
SEARCH_TYPES: tuple[str, ...] = ("Person search", "Vehicle search", "Person and Vehicle search")
_CRIME_ID = re.compile(r"[0-9a-fA-F]{64}")
FIRST_MONTH = pd.Timestamp("2010-12-01")
"""The first month police.uk published (street-level crime from December 2010)."""


# --------------------------------------------------------------------------------------------------
# Finding and reading files


def _collect(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every CSV under ``path``: a file, a folder tree or a zip; sorted by name.

    In folders, our own ``*.quarantine.csv`` outputs are skipped so a quarantine folder inside the tree
    is not read back as input.
    """
    if path.is_dir():
        files = sorted(
            (
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() == ".csv" and not p.name.endswith(".quarantine.csv")
            ),
            key=str,
        )
        found: list[tuple[str, bytes]] = []
        for p in files:
            found.append((str(p), p.read_bytes()))
        for z in sorted((p for p in path.rglob("*.zip") if p.is_file()), key=str):
            found.extend(_collect(z))
        if not found:
            raise DataContractError(path, "no CSV files found in folder")
        return found
    if not path.exists():
        raise DataContractError(path, "no such file or folder")
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = sorted(
                    n for n in archive.namelist() if n.lower().endswith(".csv") and not n.endswith("/")
                )
                if not names:
                    raise DataContractError(path, "zip archive holds no CSV files")
                return [(f"{path}!{n}", archive.read(n)) for n in names]
        except zipfile.BadZipFile as exc:
            raise DataContractError(path, "not a zip archive") from exc
    return [(str(path), path.read_bytes())]


def detect_kind(columns: list[str], name: str, header_line: int = 1) -> str:
    """Kind of a police.uk file from its header; raises DataContractError (naming the header row and the
    first wrong column) if none fits."""
    cols = set(columns)
    known = set(STREET_HEADER) | set(OUTCOMES_HEADER) | set(STOP_AND_SEARCH_HEADER)
    if "Crime type" in cols:
        kind = "street"
    elif "Outcome type" in cols:
        kind = "outcomes"
    elif {"Type", "Date"} <= cols or "Object of search" in cols:
        kind = "stop-and-search"
    else:
        unknown = [col for col in columns if col not in known]
        raise DataContractError(
            name,
            f"header {columns} matches no police.uk file kind (street, outcomes, stop-and-search)"
            + (f"; unexpected {unknown}" if unknown else ""),
            row=header_line,
            column=unknown[0] if unknown else None,
        )
    unknown = [col for col in columns if col not in _HEADERS[kind]]
    missing = sorted(_REQUIRED[kind] - cols)
    if unknown or missing:
        raise DataContractError(
            name,
            f"wrong header for a {kind} file: missing {missing}, unexpected {unknown}",
            row=header_line,
            column=(unknown or missing)[0],
        )
    if kind != "stop-and-search":
        has_wgs = {"Longitude", "Latitude"} <= cols
        has_bng = {"Easting", "Northing"} <= cols
        if not (has_wgs or has_bng):
            raise DataContractError(
                name,
                f"wrong header for a {kind} file: no Longitude/Latitude or Easting/Northing",
                row=header_line,
                column="Longitude",
            )
    return kind


# --------------------------------------------------------------------------------------------------
# Canonical forms


def _text(raw: pd.DataFrame, column: str) -> pd.Series:
    """Trimmed text of ``column`` (blank -> NA); all NA if the column is absent."""
    if column not in raw.columns:
        return pd.Series(pd.NA, index=raw.index, dtype="string")
    text = raw[column].astype("string[pyarrow]").str.strip()
    return text.mask(text == "")


def _original(raw: pd.DataFrame, column: str) -> pd.Series:
    """The published string as is (blank -> NA)."""
    if column not in raw.columns:
        return pd.Series(pd.NA, index=raw.index, dtype="string")
    text = raw[column].astype("string[pyarrow]")
    return text.mask(text.str.strip() == "")


def _coordinates(raw: pd.DataFrame, rej: c.Rejections) -> pd.DataFrame:
    """longitude, latitude (WGS84) and easting, northing (BNG) with coordinate checks recorded."""
    lon, lon_bad = c.to_float(_text(raw, "Longitude"))
    lat, lat_bad = c.to_float(_text(raw, "Latitude"))
    east, east_bad = c.to_float(_text(raw, "Easting"))
    north, north_bad = c.to_float(_text(raw, "Northing"))
    for bad, col in (
        (lon_bad, "Longitude"),
        (lat_bad, "Latitude"),
        (east_bad, "Easting"),
        (north_bad, "Northing"),
    ):
        rej.add(bad, c.R_COORDS_BAD, col, _original(raw, col))
    rej.add(lon.isna() != lat.isna(), c.R_COORDS_BAD, "Longitude", _original(raw, "Longitude"))
    rej.add(east.isna() != north.isna(), c.R_COORDS_BAD, "Easting", _original(raw, "Easting"))
    rej.add(
        east.eq(0).fillna(False) & north.eq(0).fillna(False),
        c.R_COORDS_ZERO,
        "Easting",
        _original(raw, "Easting"),
    )
    # BNG -> WGS84 where only the grid reference is given.
    grid = east.notna() & north.notna() & lon.isna() & lat.isna()
    in_grid = east.between(*BNG_EASTING) & north.between(*BNG_NORTHING)
    rej.add(grid & ~in_grid, c.R_COORDS_UK, "Easting", _original(raw, "Easting"))
    convert = grid & in_grid
    if convert.any():
        grid_lon, grid_lat = grid_to_lonlat(east[convert], north[convert])
        lon = lon.copy()
        lat = lat.copy()
        lon[convert] = grid_lon
        lat[convert] = grid_lat
    c.coordinate_problems(rej, lon, lat, "Longitude", _original(raw, "Longitude"))
    return pd.DataFrame({"longitude": lon, "latitude": lat, "easting": east, "northing": north})


def _month(raw: pd.DataFrame, rej: c.Rejections) -> pd.Series:
    text = _text(raw, "Month")
    month = pd.to_datetime(text, format="%Y-%m", errors="coerce")
    rej.add(month.isna(), c.R_MONTH, "Month", _original(raw, "Month"))
    c.date_range_problems(
        rej,
        month,
        "Month",
        _original(raw, "Month"),
        earliest=FIRST_MONTH,
        early_reason=c.R_BEFORE_POLICE_UK,
    )
    return month.astype("datetime64[ns]")


def _crime_common(raw: pd.DataFrame, rej: c.Rejections) -> pd.DataFrame:
    """Columns shared by street and outcomes files, with their checks."""
    month = _month(raw, rej)
    reported_by = _text(raw, "Reported by")
    falls_within = _text(raw, "Falls within")
    rej.add(reported_by.isna(), c.R_MISSING, "Reported by", None)
    rej.add(falls_within.isna(), c.R_MISSING, "Falls within", None)
    coords = _coordinates(raw, rej)
    crime_id = _text(raw, "Crime ID")
    bad_id = crime_id.notna() & ~crime_id.fillna("").str.fullmatch(_CRIME_ID)
    rej.add(bad_id, c.R_CRIME_ID, "Crime ID", _original(raw, "Crime ID"))
    return pd.DataFrame(
        {
            "crime_id": crime_id.str.lower(),
            "month": month,
            "reported_by": reported_by,
            "falls_within": falls_within,
            **{k: coords[k] for k in ("longitude", "latitude", "easting", "northing")},
            "location": _text(raw, "Location"),
            "lsoa_code": _text(raw, "LSOA code"),
            "lsoa_name": _text(raw, "LSOA name"),
        }
    )


def _suspects(frame: pd.DataFrame) -> pd.Series:
    """Rows per Crime ID, month and outcome: police.uk publishes one outcomes row per suspect, so
    identical rows are several suspects' outcomes, all kept (NA for rows without a Crime ID)."""
    key = [frame["crime_id"], frame["month"], frame["outcome_type_original"], frame["source_file"]]
    counts = frame.groupby(key, dropna=False, sort=False)["crime_id"].transform("size")
    return counts.astype("Int64").where(frame["crime_id"].notna())


def _street(raw: pd.DataFrame, rej: c.Rejections) -> pd.DataFrame:
    out = _crime_common(raw, rej)
    crime_type_original = _original(raw, "Crime type")
    crime_type = canonical_crime_type(crime_type_original)
    rej.add(crime_type.isna(), c.R_CRIME_TYPE, "Crime type", crime_type_original)
    outcome_original = _original(raw, "Last outcome category")
    outcome = canonical_outcome(outcome_original)
    rej.add(outcome_original.notna() & outcome.isna(), c.R_OUTCOME, "Last outcome category", outcome_original)
    month = out["month"]
    vintage = np.select(
        [month <= SIX_CATEGORY_END, month <= ELEVEN_CATEGORY_END, month.notna()],
        ["six-category", "eleven-category", "fourteen-category"],
        default=None,
    )
    out = out.assign(
        crime_type=crime_type,
        crime_type_original=crime_type_original,
        crime_type_coarse=crime_type_is_coarse(crime_type_original, month),
        last_outcome=outcome,
        last_outcome_original=outcome_original,
        context=_original(raw, "Context"),
        vintage=pd.Series(vintage, index=out.index, dtype="string"),
    )
    return out


def _outcomes(raw: pd.DataFrame, rej: c.Rejections) -> pd.DataFrame:
    out = _crime_common(raw, rej)
    original = _original(raw, "Outcome type")
    outcome = canonical_outcome(original)
    rej.add(outcome.isna(), c.R_OUTCOME, "Outcome type", original)
    month = out["month"]
    vintage = np.select(
        [month < OUTCOME_RELABEL_MONTH, month.notna()],
        ["pre-June-2014 labels", "current labels"],
        default=None,
    )
    out = out.assign(
        outcome_type=outcome,
        outcome_type_original=original,
        vintage=pd.Series(vintage, index=out.index, dtype="string"),
    )
    return out


_FORCE_FROM_NAME = re.compile(r"\d{4}-\d{2}-(?P<force>.+)-stop-and-search\.csv$", re.IGNORECASE)


def _stop_and_search(raw: pd.DataFrame, rej: c.Rejections, source: pd.Series) -> pd.DataFrame:
    date_text = _text(raw, "Date")
    date = pd.to_datetime(date_text, format="ISO8601", utc=True, errors="coerce")
    rej.add(date.isna(), c.R_DATE, "Date", _original(raw, "Date"))
    c.date_range_problems(rej, date.dt.tz_localize(None), "Date", _original(raw, "Date"))
    coords = _coordinates(raw, rej)
    search_type = _text(raw, "Type")
    rej.add(~search_type.isin(SEARCH_TYPES).fillna(False), c.R_CATEGORY, "Type", _original(raw, "Type"))
    out = pd.DataFrame({name: _text(raw, col) for col, name in STOP_AND_SEARCH_HEADER.items()})
    out["date"] = date
    out["longitude"] = coords["longitude"]
    out["latitude"] = coords["latitude"]
    truth = {"true": True, "false": False}
    for col in (
        "part_of_a_policing_operation",
        "outcome_linked_to_object_of_search",
        "removal_of_more_than_just_outer_clothing",
    ):
        out[col] = out[col].str.lower().map(truth).astype("boolean")
    base = source.str.rsplit("/", n=1).str[-1].str.rsplit("!", n=1).str[-1]
    out["force"] = base.str.extract(_FORCE_FROM_NAME)["force"].astype("string")
    return out


def _missing_months(tables: dict[str, pd.DataFrame]) -> tuple[str, ...]:
    """``"<kind>, <force>: YYYY-MM"`` for every month between a force's first and last month of street or
    outcomes rows that has no row at all (a month file missing from an archive)."""
    gaps = []
    for kind in ("street", "outcomes"):
        table = tables.get(kind)
        if table is None or table.empty:
            continue
        months = table[["falls_within", "month"]].dropna().drop_duplicates()
        for force, group in months.groupby("falls_within", sort=True):
            have = pd.PeriodIndex(group["month"], freq="M")
            span = pd.period_range(have.min(), have.max(), freq="M")
            for month in span.difference(have):
                gaps.append(f"{kind}, {force}: {month}")
    by_run: dict[str, list[pd.Period]] = {}
    for gap in gaps:
        where, month = gap.rsplit(": ", 1)
        by_run.setdefault(where, []).append(pd.Period(month, freq="M"))
    for where, months in by_run.items():  # one line per kind and force (said once per run: linkage.cli)
        logger.warning("missing month: %s: %s", where, spans(months))
    return tuple(gaps)


# --------------------------------------------------------------------------------------------------
# Public entry point


def read_police_uk(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    kind: str | None = None,
    quarantine_dir: str | os.PathLike[str] | None = None,
    releases: Mapping[str, str] | None = None,
) -> c.LoadResult:
    """Load police.uk files under ``path`` (one path or several) into canonical tables, quarantining
    bad rows.

    ``kind`` (``street``, ``outcomes`` or ``stop-and-search``) restricts a folder or zip to files of
    that kind; a single file of another kind is an error. A file that cannot be read at all raises
    :class:`~linkage.errors.DataContractError`. With ``quarantine_dir`` each file's quarantined rows are
    also written to ``<quarantine_dir>/<file>.quarantine.csv``. A (force, month, kind) supplied by more
    than one file (two releases of a month) is resolved by :mod:`linkage.sources.releases`: the newest
    release is used; ``releases`` maps a given path (as passed) to its release month ``YYYY-MM`` where
    the path does not say it.
    """
    if kind is not None and kind not in KINDS:
        raise LinkageError(f"kind must be one of {KINDS} or None, got {kind!r}")
    roots = [Path(p) for p in path] if isinstance(path, list | tuple) else [Path(path)]
    given = {str(Path(k)): v for k, v in (releases or {}).items()}
    entries: list[tuple[str, bytes]] = []
    file_release: dict[str, str | None] = {}
    for root in roots:
        found = _collect(root)
        for name, _ in found:
            file_release[name] = release_of(name, given.get(str(root)))
        entries += found
    root = roots[0] if len(roots) == 1 else Path(", ".join(str(r) for r in roots))
    by_kind: dict[str, list[pd.DataFrame]] = {}
    file_rows = []
    for name, data in entries:
        rows = c.parse_csv(data, name)
        raw = rows.frame.copy()
        file_kind = detect_kind(list(raw.columns), name, rows.header_line)
        if kind is not None and file_kind != kind:
            if len(entries) == 1:
                raise DataContractError(name, f"is a {file_kind} file, not {kind}")
            logger.info("skipping %s: %s file, not %s", name, file_kind, kind)
            continue
        raw.insert(0, "__overflow", rows.overflow)
        raw.insert(0, "__fields", rows.fields - rows.width)
        raw.insert(0, "__source_row", rows.line)
        raw.insert(0, "__source_file", name)
        by_kind.setdefault(file_kind, []).append(raw)
        file_rows.append({"file": name, "kind": file_kind, "rows_read": len(raw)})
    if not file_rows:
        raise DataContractError(root, f"no {kind} files found")

    tables: dict[str, pd.DataFrame] = {}
    quarantines = []
    choices = []
    for file_kind in [k for k in KINDS if k in by_kind]:
        raw = pd.concat(by_kind[file_kind], ignore_index=True)
        meta = pd.DataFrame(
            {
                "source_file": raw.pop("__source_file"),
                "source_row": raw.pop("__source_row").astype("int64"),
                "kind": file_kind,
            }
        )
        extra_fields = raw.pop("__fields").astype("int64").to_numpy()
        overflow = raw.pop("__overflow")
        # Arrow-backed strings: the string methods below run as Arrow compute kernels.
        raw = raw.fillna("").astype("string[pyarrow]")
        rej = c.Rejections(len(raw))
        c.field_count_problems(rej, extra_fields, list(raw.columns), overflow)
        source = meta["source_file"].astype("string")
        if file_kind == "street":
            canon, columns = _street(raw, rej), STREET_COLUMNS
        elif file_kind == "outcomes":
            canon, columns = _outcomes(raw, rej), OUTCOMES_COLUMNS
        else:
            canon, columns = (
                _stop_and_search(raw, rej, source),
                STOP_AND_SEARCH_COLUMNS,
            )
        canon["source_file"] = source
        canon["source_row"] = meta["source_row"].astype("int64")
        if file_kind != "stop-and-search":
            superseded, used, made = resolve(canon, source, file_kind, file_release)
            rej.add(superseded, R_SUPERSEDED, "Month", pd.Series(used, dtype="string"))
            choices += made
        if file_kind == "outcomes":
            canon["suspects"] = pd.NA
            live = ~rej.rejected
            canon.loc[live, "suspects"] = _suspects(canon.loc[live])
            canon["suspects"] = canon["suspects"].astype("Int64")
        tables[file_kind] = c.keep_accepted(canon, rej, list(columns))
        quarantines.append(c.build_quarantine(raw, rej, meta))
        logger.info(
            "%s: %d rows accepted, %d quarantined", file_kind, len(tables[file_kind]), rej.rejected.sum()
        )
    for choice in choices:
        logger.warning("month supplied twice: %s", choice.describe())

    quarantined = pd.concat(quarantines, ignore_index=True) if quarantines else c.empty_quarantine()
    summary = c.summarise(
        pd.DataFrame(file_rows),
        quarantined,
        list(tables.values()),
        missing_months=_missing_months(tables),
        releases=tuple(ch.describe() for ch in choices),
    )
    if quarantine_dir is not None and len(quarantined):
        c.write_quarantine_dir(quarantined, quarantine_dir)
    result = c.LoadResult(
        tables=tables, quarantined=quarantined, summary=summary, files=[r["file"] for r in file_rows]
    )
    result.release_choices = choices
    result.file_releases = {r["file"]: file_release.get(r["file"]) for r in file_rows}
    return result
