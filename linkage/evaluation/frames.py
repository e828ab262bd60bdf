"""Crime-level analysis frames: the one shape every evaluation function reads.

Columns (missing ones are absent, never invented):

``crime_key``      identifier (police.uk Crime ID, or force + crime_ref)
``area``           area name (the trailblazer / comparison area, or the force)
``treated``        1 for crimes in a trailblazer area, 0 otherwise
``month``          first day of the crime's month
``start_date``     date the clock starts (recorded date; on public data the first day of the month)
``crime_type``     police.uk crime type (current 14 categories)
``lsoa_code``      LSOA of the map point; ``longitude``/``latitude``: the published map point
``final_outcome``  current police.uk outcome label (blank: none recorded)
``outcome_group``  :data:`~linkage.evaluation.rates.OUTCOME_GROUPS` group
``outcome_date``   date of the final outcome (restricted data) or first day of its month (public)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.evaluation.rates import outcome_group
from linkage.geography import grid_to_lonlat
from linkage.reference import canonical_outcome, final_outcome_per_group

logger = logging.getLogger(__name__)

__all__ = ["public_crimes", "linked_crimes", "add_flags", "DiDOutcome", "did_outcomes", "did_sample", "ASB"]

ASB = "Anti-social behaviour"


def _month_start(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.PeriodDtype):
        return values.dt.to_timestamp()
    return pd.to_datetime(values.astype("string").str.slice(0, 7) + "-01", errors="coerce")


def public_crimes(
    street: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    *,
    area: str = "All",
) -> pd.DataFrame:
    """The public police.uk view, one row per crime (anti-social behaviour excluded: it has no outcomes).

    ``final_outcome`` is the street file's *Last outcome category* (police.uk's own "latest outcome"
    at publication). When outcomes files are given, ``outcome_date`` is the first day of the month of
    the latest-ranked outcome row for that Crime ID (public files have months, not days); crimes with no
    outcome row have no outcome date.
    """
    need = ["crime_id", "month", "crime_type", "last_outcome"]
    missing = [c for c in need if c not in street.columns]
    if missing:
        raise KeyError(f"street table lacks column(s) {missing} (columns: {list(street.columns)})")
    s = street[street["crime_type"].astype("string") != ASB].copy()
    s["month"] = _month_start(s["month"])
    s = s.sort_values(["month", "crime_id"], kind="stable")
    # Every street row is a crime record as police.uk counts it (a Crime ID repeated with another map
    # point or outcome included); overlapping releases are resolved on load (linkage.sources.releases).
    out = pd.DataFrame(
        {
            "crime_key": s["crime_id"].astype("string"),
            "area": area,
            "treated": 0,
            "month": s["month"],
            "start_date": s["month"],
            "crime_type": s["crime_type"].astype("string"),
            "lsoa_code": s.get("lsoa_code", pd.Series(pd.NA, index=s.index)).astype("string"),
            "longitude": pd.to_numeric(s.get("longitude"), errors="coerce"),
            "latitude": pd.to_numeric(s.get("latitude"), errors="coerce"),
            "final_outcome": canonical_outcome(s["last_outcome"]).fillna(s["last_outcome"].astype("string")),
        }
    )
    if "easting" in s.columns and out["longitude"].isna().any():
        out = _from_grid(out, s["easting"], s["northing"])
    if "lsoa_name" in s.columns:
        out["lsoa_name"] = s["lsoa_name"].astype("string")
    out["outcome_group"] = outcome_group(out["final_outcome"])
    out["outcome_date"] = pd.NaT
    if outcomes is not None and len(outcomes):
        o = outcomes.dropna(subset=["crime_id"]).copy()
        o["month"] = _month_start(o["month"])
        o = final_outcome_per_group(o, "crime_id", "outcome_type", order_cols="month", keep_unknown=True)
        dates = o.set_index("crime_id")["month"]
        out["outcome_date"] = out["crime_key"].map(dates)
    out["outcome_date"] = pd.to_datetime(out["outcome_date"])
    return out.sort_values(["month", "crime_key"], kind="stable", na_position="last").reset_index(drop=True)


def _from_grid(out: pd.DataFrame, easting: pd.Series, northing: pd.Series) -> pd.DataFrame:
    """Fill missing longitude/latitude from British National Grid easting/northing (2012-era files)."""
    e = pd.to_numeric(easting, errors="coerce").to_numpy(float)
    n = pd.to_numeric(northing, errors="coerce").to_numpy(float)
    need = out["longitude"].isna().to_numpy() & ~np.isnan(e) & ~np.isnan(n)
    if not need.any():
        return out
    grid_lon, grid_lat = grid_to_lonlat(e[need], n[need])
    out = out.copy()
    lon = out["longitude"].to_numpy(float).copy()
    lat = out["latitude"].to_numpy(float).copy()
    lon[need], lat[need] = grid_lon, grid_lat
    out["longitude"], out["latitude"] = lon, lat
    return out


def linked_crimes(
    crime_outcomes: pd.DataFrame,
    *,
    areas: pd.DataFrame | None = None,
    police_outcomes: pd.DataFrame | None = None,
    default_area: str = "All",
) -> pd.DataFrame:
    """The linked view from :attr:`LinkResult.crime_outcomes` (one row per crime).

    ``areas`` (optional) maps ``force``, ``crime_ref`` to ``area`` and ``treated`` (1 = trailblazer area);
    without it every crime is in ``default_area``. ``police_outcomes`` (optional: ``force``, ``crime_ref``,
    ``police_outcome``, ``police_outcome_date``) is the outcome on the force's own crime record (local
    resolutions, no-suspect closures and the like, which no other system holds); when given, each crime's
    final outcome is the higher-ranked of the police outcome and the linked outcome records (the police.uk
    hierarchy; ties go to the linked record), and ``police_days`` (recording to police outcome) is added.
    """
    need = ["force", "crime_ref", "crime_type", "recorded_date", "final_outcome", "final_outcome_date"]
    missing = [c for c in need if c not in crime_outcomes.columns]
    if missing:
        raise KeyError(f"crime_outcomes lacks column(s) {missing} (columns: {list(crime_outcomes.columns)})")
    c = crime_outcomes
    recorded = pd.to_datetime(c["recorded_date"])
    out = pd.DataFrame(
        {
            "force": c["force"].astype("string"),
            "crime_ref": c["crime_ref"].astype("string"),
            "crime_key": c["force"].astype("string") + "|" + c["crime_ref"].astype("string"),
            "month": recorded.dt.to_period("M").dt.to_timestamp(),
            "start_date": recorded,
            "crime_type": c["crime_type"].astype("string"),
            "lsoa_code": c["lsoa_code"].astype("string") if "lsoa_code" in c else pd.NA,
            "longitude": pd.to_numeric(c["longitude"], errors="coerce") if "longitude" in c else np.nan,
            "latitude": pd.to_numeric(c["latitude"], errors="coerce") if "latitude" in c else np.nan,
            "final_outcome": c["final_outcome"].astype("string"),
            "outcome_date": pd.to_datetime(c["final_outcome_date"]),
        }
    )
    if "n_suspects" in c.columns:
        out["n_suspects"] = pd.to_numeric(c["n_suspects"], errors="coerce").fillna(0).astype("int64")
    out["final_outcome_source"] = (
        c["final_outcome_source"].astype("string") if "final_outcome_source" in c.columns else pd.NA
    )
    if police_outcomes is not None:
        pol = police_outcomes[["force", "crime_ref", "police_outcome", "police_outcome_date"]].astype(
            {"force": "string", "crime_ref": "string"}
        )
        out = out.merge(pol.drop_duplicates(["force", "crime_ref"]), on=["force", "crime_ref"], how="left")
        pol_label = canonical_outcome(out["police_outcome"])
        # the police record is given first, the linked record last, so ties go to the linked record
        both = pd.DataFrame(
            {
                "_crime": np.tile(np.arange(len(out)), 2),
                "_label": pd.concat([pol_label, out["final_outcome"]], ignore_index=True),
                "_police": np.repeat([True, False], len(out)),
            }
        )
        chosen = final_outcome_per_group(both, "_crime", "_label", keep_unknown=True).set_index("_crime")[
            "_police"
        ]
        use_pol = chosen.reindex(np.arange(len(out))).fillna(False).to_numpy(bool)
        out["final_outcome"] = out["final_outcome"].where(~use_pol, pol_label)
        out["outcome_date"] = out["outcome_date"].where(~use_pol, pd.to_datetime(out["police_outcome_date"]))
        out["final_outcome_source"] = out["final_outcome_source"].where(~use_pol, "police record")
        out["police_days"] = (pd.to_datetime(out["police_outcome_date"]) - out["start_date"]).dt.days
        out = out.drop(columns=["police_outcome", "police_outcome_date"])
    out["outcome_group"] = outcome_group(out["final_outcome"])
    if areas is not None:
        keyed = areas[["force", "crime_ref", "area", "treated"]].astype(
            {"force": "string", "crime_ref": "string"}
        )
        out = out.merge(keyed.drop_duplicates(["force", "crime_ref"]), on=["force", "crime_ref"], how="left")
        out["area"] = out["area"].fillna(default_area)
        out["treated"] = out["treated"].fillna(0).astype("int64")
    else:
        out["area"] = default_area
        out["treated"] = 0
    return out.sort_values(["month", "crime_key"], kind="stable").reset_index(drop=True)


def add_flags(
    crimes: pd.DataFrame,
    *,
    period_end: pd.Timestamp,
    within_days: int = 30,
    followup_days: int = 90,
) -> pd.DataFrame:
    """Add the outcomes the DiD uses, each NA where its follow-up window is incomplete.

    Every outcome is measured over a fixed window after recording and only for crimes recorded at least
    that long before ``period_end``, so crimes recorded late in the period (still open because they are
    recent, not because they are slow) cannot bias a before/after comparison, and every crime in a
    comparison is measured the same way whatever its month.

    ``oocd``: final outcome an out-of-court disposal dated within ``followup_days`` of recording.
    ``charged``: final outcome charged or summonsed (same window, any date). ``within_n``: a decision
    within ``within_days`` days of recording - the police outcome (``police_days``) when the frame has
    it, else a final outcome other than "under investigation" (``outcome_date``). ``days_capped``: days
    from recording to the police outcome, capped at ``followup_days`` (a restricted mean: crimes still
    open count as ``followup_days``); needs ``police_days``. ``identified``: the crime has at least one
    named suspect (``n_suspects`` > 0; all crimes when unknown).
    """
    out = crimes.copy()
    end = pd.Timestamp(period_end)
    start = pd.to_datetime(out["start_date"])
    grp = out["outcome_group"]
    full = start + pd.Timedelta(days=followup_days) <= end
    days = (pd.to_datetime(out["outcome_date"]) - start).dt.days
    in_window = days.notna() & (days <= followup_days)
    out["oocd"] = ((grp == "Out-of-court disposal") & in_window).astype("Int64").where(full, pd.NA)
    out["charged"] = (grp == "Charged or summonsed").astype("Int64").where(full, pd.NA)
    complete = start + pd.Timedelta(days=within_days) <= end
    if "police_days" in out.columns:
        pdays = pd.to_numeric(out["police_days"], errors="coerce")
        within = (pdays.notna() & (pdays <= within_days)).astype("Int64")
        seen = pdays.notna() & (start + pd.to_timedelta(pdays.fillna(0), unit="D") <= end)
        capped = pdays.where(seen, followup_days).clip(upper=followup_days)
        out["days_capped"] = capped.astype("Float64").where(full, pd.NA)
    else:
        closed = ~grp.isin(["Under investigation or no update", "No outcome recorded"])
        within = (closed & days.notna() & (days <= within_days)).astype("Int64")
    out["within_n"] = within.where(complete, pd.NA)
    out["identified"] = (out["n_suspects"] > 0) if "n_suspects" in out.columns else True
    return out


@dataclass(frozen=True)
class DiDOutcome:
    """One outcome the report's difference-in-differences estimates.

    ``key``: the :func:`add_flags` column; ``label``: what it measures; ``unit``: ``"pp"`` (a 0/1 outcome,
    shown in percentage points) or ``"days"``; ``population``: ``"named"`` (crimes with a named suspect)
    or ``"all"``. Populations are defined only by what is fixed before any outcome (never by the
    outcome itself), so the estimate is the average effect on the treated crimes of that population.
    """

    key: str
    label: str
    unit: str
    population: str


def did_outcomes(
    crimes: pd.DataFrame, *, within_days: int = 30, followup_days: int = 90
) -> tuple[DiDOutcome, ...]:
    """The DiD outcomes a flagged frame supports, in report order.

    ``days_capped`` needs ``police_days`` (the force's own record); the out-of-court disposal share is
    among crimes with a named suspect when the frame knows suspects (``n_suspects``), else among all
    crimes (public police.uk data).
    """
    police = "police_days" in crimes.columns
    named = "n_suspects" in crimes.columns  # public police.uk data does not say who had a suspect
    f, n = followup_days, within_days
    who = "crimes with a named suspect" if named else "crimes"
    out = [
        DiDOutcome(
            "oocd",
            f"share of {who} ending in an out-of-court disposal within {f} days",
            "pp",
            "named" if named else "all",
        )
    ]
    if police:
        out.append(
            DiDOutcome(
                "days_capped",
                "days from recording to the police outcome, crimes with a named suspect "
                f"(capped at {f} days)",
                "days",
                "named",
            )
        )
    what = "a police outcome" if police else "a final outcome"
    out.append(DiDOutcome("within_n", f"share of all crimes with {what} within {n} days", "pp", "all"))
    return tuple(out)


def did_sample(flagged: pd.DataFrame, outcome: DiDOutcome) -> pd.DataFrame:
    """The rows the DiD of ``outcome`` uses: its population, with a complete window and an LSOA (the model
    works on LSOA-month cells, so crimes without a map point drop out), outcome as float."""
    sub = flagged[flagged["identified"].astype(bool)] if outcome.population == "named" else flagged
    need = [outcome.key, *(["lsoa_code"] if "lsoa_code" in sub.columns else [])]
    return sub.dropna(subset=need).astype({outcome.key: "float"})


def lsoa_lookup(areas: Mapping[str, list[str]]) -> pd.DataFrame:
    """Area name -> LSOA codes mapping as a frame (``area``, ``lsoa_code``)."""
    rows = [(a, code) for a, codes in areas.items() for code in codes]
    return pd.DataFrame(rows, columns=["area", "lsoa_code"])


__all__.append("lsoa_lookup")
