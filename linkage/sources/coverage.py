"""What police.uk data a report was given: for each area, kind and month, whether a file supplied it and
from which release.

A report's period is what its configuration asks for; the coverage is what the files hold. The two differ
in ways that silently bias figures: months missing from a run (a gap), a period running past the data,
outcomes files for some months or some areas only, two releases of one month, 2011 and 2021 LSOA codes in
one analysis. :class:`Coverage` records what was supplied and turns each difference into words: a strip
for the data summary, a caveat per gap, an error when the period holds no crime data at all, and the
reason an estimate whose inputs lack coverage is not estimable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from linkage.errors import LinkageError

KINDS: tuple[str, ...] = ("street", "outcomes")
_LSOA_2011 = Path(__file__).resolve().parents[2] / "data" / "reference" / "PoliceforceLSOA.csv"


@lru_cache(maxsize=1)
def _lsoa_2011_codes() -> frozenset[str]:
    """Every English 2011 LSOA code (the bundled ONS lookup), or empty when it is not there."""
    if not _LSOA_2011.exists():
        return frozenset()
    return frozenset(pd.read_csv(_LSOA_2011, usecols=["LSOA Code"], dtype=str)["LSOA Code"].dropna())


def spans(months: Iterable[pd.Period]) -> str:
    """Months as runs: ``2024-01 to 2024-04, 2024-07``."""
    ordered = sorted(set(months))
    if not ordered:
        return "none"
    runs: list[list[pd.Period]] = [[ordered[0], ordered[0]]]
    for month in ordered[1:]:
        if month == runs[-1][1] + 1:
            runs[-1][1] = month
        else:
            runs.append([month, month])
    return ", ".join(str(a) if a == b else f"{a} to {b}" for a, b in runs)


@dataclass
class AreaCoverage:
    """One area's supplied months per kind (month -> release used, None when unknown)."""

    area: str
    role: str  # "trailblazer" or "comparison"
    months: dict[str, dict[pd.Period, str | None]] = field(default_factory=dict)
    forces: tuple[str, ...] = ()
    lsoa_vintage: dict[pd.Period, str] = field(default_factory=dict)  # month -> "2011" / "2021"
    lsoa_only: dict[str, int] = field(default_factory=dict)  # vintage -> codes seen only in its months


def area_coverage(
    area: str,
    role: str,
    tables: Mapping[str, pd.DataFrame],
    file_releases: Mapping[str, str | None] | None = None,
) -> AreaCoverage:
    """Coverage of one area from its accepted police.uk tables (``LoadResult.tables``): every month a
    street or outcomes row was supplied for, whatever the area's LSOA selection, and the release used."""
    releases = file_releases or {}
    out = AreaCoverage(area, role)
    forces: set[str] = set()
    for kind in KINDS:
        table = tables.get(kind)
        if table is None or table.empty:
            out.months[kind] = {}
            continue
        frame = pd.DataFrame(
            {
                "month": pd.PeriodIndex(pd.to_datetime(table["month"]), freq="M"),
                "file": table["source_file"].astype("string"),
            }
        ).drop_duplicates()
        out.months[kind] = {
            month: releases.get(str(group["file"].iloc[0]))
            for month, group in frame.groupby("month", sort=True)
        }
        forces |= set(table["falls_within"].dropna().astype(str))
    out.forces = tuple(sorted(forces))
    street = tables.get("street")
    known = _lsoa_2011_codes()
    if street is not None and len(street) and known and "lsoa_code" in street.columns:
        codes = pd.DataFrame(
            {
                "month": pd.PeriodIndex(pd.to_datetime(street["month"]), freq="M"),
                "code": street["lsoa_code"].astype("string"),
            }
        ).dropna()
        codes = codes[codes["code"].str.startswith("E01")]
        newer = ~codes["code"].isin(known)
        by_month = newer.groupby(codes["month"]).any()
        # police.uk moved to 2021 codes once: every month from the first with a 2021-only code is 2021
        first_2021 = by_month[by_month].index.min() if by_month.any() else None
        out.lsoa_vintage = {
            m: ("2021" if first_2021 is not None and m >= first_2021 else "2011") for m in by_month.index
        }
        if len(set(out.lsoa_vintage.values())) > 1:
            vintage = codes["month"].map(out.lsoa_vintage)
            sets = {v: set(codes.loc[vintage == v, "code"]) for v in ("2011", "2021")}
            out.lsoa_only = {
                "2011": len(sets["2011"] - sets["2021"]),
                "2021": len(sets["2021"] - sets["2011"]),
            }
    return out


@dataclass
class Coverage:
    """Coverage of every area of a report over its period."""

    start: pd.Period
    end: pd.Period
    areas: list[AreaCoverage] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)  # "supplied twice" descriptions

    @classmethod
    def for_period(cls, start: pd.Timestamp, end: pd.Timestamp) -> Coverage:
        """An empty coverage for the period ``start``..``end`` (month starts)."""
        return cls(pd.Period(start, freq="M"), pd.Period(end, freq="M"))

    @property
    def period(self) -> pd.PeriodIndex:
        """Every month of the period."""
        return pd.period_range(self.start, self.end, freq="M")

    def add(self, area: AreaCoverage, releases: Iterable[str] = ()) -> None:
        """Add an area (and the supplied-twice lines of its load)."""
        self.areas.append(area)
        self.releases += [r for r in releases if r not in self.releases]

    def supplied(self, area: AreaCoverage, kind: str) -> set[pd.Period]:
        """Months of the period for which ``kind`` was supplied for ``area``."""
        return set(area.months.get(kind, {})) & set(self.period)

    def missing(self, area: AreaCoverage, kind: str) -> list[pd.Period]:
        """Months of the period with no ``kind`` file for ``area``."""
        have = self.supplied(area, kind)
        return [m for m in self.period if m not in have]

    def _range(self) -> str:
        return f"{self.start} to {self.end}" if self.start != self.end else str(self.start)

    # -- report pieces ------------------------------------------------------------------------------

    def strip(self) -> pd.DataFrame:
        """One row per area and kind, one column per month of the period: the release used ("yes" when
        unknown) or "missing". Periods longer than two years get one column of supplied and one of
        missing months (as runs) instead."""
        rows = []
        if len(self.period) > 24:
            for area in self.areas:
                for kind in KINDS:
                    have = area.months.get(kind, {})
                    used = sorted({r for m, r in have.items() if r and m in set(self.period)})
                    rows.append(
                        {
                            "area": area.area,
                            "kind": kind,
                            "months supplied": spans(self.supplied(area, kind)),
                            "months missing": spans(self.missing(area, kind)),
                            "releases used": ", ".join(used) or "not known",
                        }
                    )
            return pd.DataFrame(rows)
        for area in self.areas:
            for kind in KINDS:
                have = area.months.get(kind, {})
                row = {"area": area.area, "kind": kind}
                for month in self.period:
                    row[str(month)] = (
                        ("release " + have[month] if have[month] else "yes") if month in have else "missing"
                    )
                rows.append(row)
        return pd.DataFrame(rows, columns=["area", "kind", *[str(m) for m in self.period]])

    def statement(self) -> str:
        """One sentence on what the report covers."""
        parts = []
        for area in self.areas:
            for kind in KINDS:
                have = self.supplied(area, kind)
                parts.append(
                    f"{area.area} {kind}: {len(have)} of {len(self.period)} month(s)"
                    + (f" ({spans(have)})" if have and len(have) < len(self.period) else "")
                )
        return f"Coverage of the period {self._range()}: " + "; ".join(parts) + "."

    def caveats(self) -> list[str]:
        """A caveat for every gap, every month supplied twice, and LSOA codes of two vintages."""
        out = []
        for area in self.areas:
            street_missing = self.missing(area, "street")
            if street_missing:
                outside = sorted(m for m in area.months.get("street", {}) if m not in set(self.period))
                out.append(
                    f"Coverage gap: no police.uk street file for {area.area} for {spans(street_missing)} "
                    f"(of the period {self._range()}); figures for the period cover only "
                    f"{spans(self.supplied(area, 'street'))}. Add the files "
                    "(YYYY-MM-<force>-street.csv) for those months, or shorten the period."
                    + (
                        f" Files given for months outside the period ({spans(outside)}) are not used."
                        if outside
                        else ""
                    )
                )
            have_outcomes = self.supplied(area, "outcomes")
            if have_outcomes and len(have_outcomes) < len(self.period):
                out.append(
                    f"Coverage gap: police.uk outcomes files for {area.area} cover only "
                    f"{spans(have_outcomes)}; missing {spans(self.missing(area, 'outcomes'))}. Outcome "
                    "dates (time to outcome, 'within N days' measures) need every month."
                )
            period = set(self.period)
            old_months = [m for m, v in area.lsoa_vintage.items() if v == "2011" and m in period]
            new_months = [m for m, v in area.lsoa_vintage.items() if v == "2021" and m in period]
            if area.lsoa_only and old_months and new_months:
                old, new = spans(old_months), spans(new_months)
                out.append(
                    f"LSOA vintages: {area.area}'s files use 2011 LSOA codes for "
                    f"{old} and 2021 codes for {new}. "
                    f"No 2011-to-2021 lookup is bundled, so codes are kept apart, not harmonised: "
                    f"{area.lsoa_only['2011']} code(s) appear only in the 2011-code months and "
                    f"{area.lsoa_only['2021']} only in the 2021-code months, and LSOA tables, maps and "
                    "LSOA clusters treat them as different areas."
                )
        for line in self.releases:
            out.append(f"Re-release: {line}. The newest release is used; the other is not counted.")
        out.append(
            "Crime-type vintages (the six-, eleven- and fourteen-category lists of 2010-2013) and the "
            "June 2014 outcome relabelling are mapped to the current categories on load, with coarse "
            "legacy categories flagged (docs/data_dictionary.md)."
        )
        return out

    # -- refusals -----------------------------------------------------------------------------------

    def require_crime_data(self, where: str = "sources.police_uk") -> None:
        """Raise LinkageError when the trailblazer area has no street data in any month of the period."""
        for area in self.areas:
            if area.role != "trailblazer":
                continue
            have_any = area.months.get("street", {})
            if not have_any:
                raise LinkageError(
                    f"{where}: the files for {area.area} hold no police.uk street (crime) data at all, so "
                    "there is nothing to report. Add the street files (YYYY-MM-<force>-street.csv); "
                    "stop-and-search and outcomes files alone cannot make a crime report."
                )
            if not self.supplied(area, "street"):
                raise LinkageError(
                    f"period {self._range()}: no police.uk street data for {area.area} in any month of "
                    f"the period; the files given cover {spans(have_any)}. Change period.start and "
                    "period.end to months the files cover, or add the files for the period."
                )

    def did_problem(self) -> str | None:
        """Why a public-only difference-in-differences cannot be estimated from these files, or None.

        Its outcomes are measured from outcome months (police.uk outcomes files), so every area needs
        outcomes files for every month of the period, and every area needs the same street months;
        otherwise the estimate reflects which files were supplied, not what happened.
        """
        problems = []
        for area in self.areas:
            gone = self.missing(area, "outcomes")
            if gone:
                have = self.supplied(area, "outcomes")
                problems.append(
                    f"{area.area} ({area.role}) has no police.uk outcomes file for {spans(gone)}"
                    + (" (none at all)" if not have else "")
                )
        street = {a.area: self.supplied(a, "street") for a in self.areas}
        first = self.areas[0].area if self.areas else None
        for area in self.areas[1:]:
            only_first = street[first] - street[area.area]
            only_this = street[area.area] - street[first]
            if only_first:
                problems.append(f"{area.area} has no street file for {spans(only_first)}, which {first} has")
            if only_this:
                problems.append(f"{first} has no street file for {spans(only_this)}, which {area.area} has")
        if not problems:
            return None
        return (
            "not estimable from these files: the difference-in-differences measures outcomes from "
            "police.uk outcomes files, so the trailblazer and every comparison area need outcomes files "
            f"(and street files) for every month of the period {self._range()}; "
            + "; ".join(problems)
            + ". Add the missing YYYY-MM-<force>-outcomes.csv (and street) files for those months to "
            "sources.police_uk or the comparison area's police_uk, or shorten the period to months every "
            "area covers. Publishing an estimate from unequal files would measure which files were "
            "supplied, not the trailblazer."
        )
