"""Outcome sources as data: one :class:`OutcomeSource` per source, and the spec each one is linked with.

An :class:`OutcomeSource` says everything that differs between the outcome sources (cautions, penalty
notices, court outcome lines): the columns of its record id, its outcome date and offence, the offence
vocabulary (``cjs`` or ``pnd``), how its police.uk outcome label is read, the extra right-hand fields it
carries, the comparisons, blocking passes and deterministic rules it adds to the common ones, and the
left-hand unit of its one-to-one constraint. :data:`REGISTRY` maps source id -> object; the linkage
(:func:`source_spec`, :func:`linkage.justice.inputs.build_right`, :func:`linkage.justice.link.link_outcomes`)
reads it and has no per-source branch, so a new source is one new object in :data:`REGISTRY`.

:func:`source_spec` builds the common comparisons and blocking passes (the same for every source), then
appends the source's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from linkage.engine import (
    Comparison,
    DateWindow,
    ExactMatch,
    PersonNameComparison,
    Substr,
    Year,
    block_on,
)
from linkage.engine.blocking import BlockingRule, DateRange
from linkage.errors import LinkageError
from linkage.justice.comparisons import (
    CrimeRefComparison,
    DirectionalDate,
    DobComparison,
    ForceComparison,
    OffenceCompatibility,
    PlaceDistance,
    PncComparison,
    normalise_crime_ref,
)
from linkage.justice.geography import court_area
from linkage.justice.settings import SourceSettings
from linkage.reference import caution_outcome_label, court_outcome_label, pnd_outcome_label
from linkage.reference.names import nickname_groups
from linkage.sources.contracts import EXTRACTS

__all__ = [
    "CAUTIONS",
    "COURT_OUTCOMES",
    "PENALTY_NOTICES",
    "REGISTRY",
    "DeterministicRule",
    "OutcomeSource",
    "SourceSpec",
    "nickname_map",
    "outcome_source",
    "source_spec",
]

_OFFENCE_WINDOW_DAYS = 60  # name passes without DOB: crime committed within this many days of the offence
# Sorted neighbourhoods within each pass's key and window (DateRange.nearest, engine 17i): of the crimes a
# record pairs with, keep only this many nearest in date, so a record's candidates stop growing with the
# force. In the lag passes a crime's distance is to the nearer of the record's offence and outcome dates,
# so one mistyped date does not push the true crime out; in the shared-key passes too where the source's
# outcome typically follows within the offence-date window (penalty notices, cautions). A person key
# (PNC; date of birth with surname Soundex) holds one person's crimes: 100 is far above a person's crimes
# in any lag window.
# A date of birth alone, initials or names with a birth year, or names alone are shared by unrelated
# people, and their true crime is dated at or near the offence date: 3. Crimes as near as the last one
# kept are kept too (ties), so the candidates do not depend on the order of the rows.
_PERSON_NEAREST = 100
_BIRTH_DAY_MONTH_NEAREST = 20  # surname Soundex + day and month of birth, in the lag window
_SHARED_KEY_NEAREST = 3
# Person columns every outcome table carries (what the person keys of both sides are built from).
PERSON_COLUMNS = ("force", "forename", "surname", "date_of_birth", "sex", "pnc_id", "offence_date")


@dataclass(frozen=True)
class DeterministicRule:
    """A pair is a link on its face when every named comparison is at one of the allowed levels."""

    name: str
    require: Mapping[str, tuple[int, ...]]

    def matches(self, levels: pd.DataFrame) -> np.ndarray:
        """Boolean per row of the level frame."""
        ok = np.ones(len(levels), dtype=bool)
        for comp, allowed in self.require.items():
            if comp not in levels.columns:
                raise LinkageError(
                    f"rule {self.name!r} names comparison {comp!r}, not in {list(levels.columns)}"
                )
            ok &= np.isin(levels[comp].to_numpy(), np.asarray(allowed))
        return ok


@dataclass(frozen=True)
class OutcomeSource:
    """One outcome source, as data: what :func:`source_spec`, ``build_right`` and ``link_outcomes`` need.

    ``record_id``: the column(s) of the record id, ``:``-joined when more than one. ``outcome_date`` and
    ``offence``: the columns of the outcome date and of the offence code (read as ``off_code``), whose
    vocabulary is ``offence_kind`` (``cjs`` or ``pnd``: see
    :class:`~linkage.justice.comparisons.OffenceCompatibility`). ``outcome_label``: table -> police.uk
    outcome label per row. ``right_fields``: extra right-hand columns, ``(name, table -> values)`` in
    order. ``comparisons``, ``blocking`` and ``rules``: appended after the common ones of
    :func:`source_spec`. ``unit_within``: a right-hand column; when set, the one-to-one constraint's
    left unit is the crime-suspect *within* each value of it (court outcomes: one line per crime-suspect
    per case), else the crime-suspect (one record of the source each). ``columns``: the columns a table
    of this source must have, when the source has no contract in :data:`linkage.sources.contracts.EXTRACTS`.
    """

    id: str
    record_id: tuple[str, ...]
    outcome_date: str
    offence: str
    offence_kind: str
    outcome_label: Callable[[pd.DataFrame], pd.Series]
    right_fields: tuple[tuple[str, Callable[[pd.DataFrame], Any]], ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    blocking: tuple[BlockingRule, ...] = ()
    rules: tuple[DeterministicRule, ...] = ()
    unit_within: str | None = None
    columns: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.record_id:
            raise LinkageError(f"outcome source {self.id!r}: record_id names no column")

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The columns a table of this source must have: its contract's, else ``columns`` and the
        columns this object reads."""
        if self.id in EXTRACTS:
            return tuple(EXTRACTS[self.id].names)
        own = (*self.record_id, *PERSON_COLUMNS, self.offence, self.outcome_date, *self.columns)
        return tuple(dict.fromkeys(own))

    def record_ids(self, table: pd.DataFrame) -> pd.Series:
        """The record id of each row (string): the ``record_id`` column(s), ``:``-joined."""
        out = table[self.record_id[0]].astype("string")
        for col in self.record_id[1:]:
            out = out + ":" + table[col].astype("string")
        return out


# ---------------------------------------------------------------------------------------------- sources
def _caution_label(table: pd.DataFrame) -> pd.Series:
    return caution_outcome_label(table["caution_type"])


def _pnd_label(table: pd.DataFrame) -> pd.Series:
    return pnd_outcome_label(table["status"])


def _court_label(table: pd.DataFrame) -> pd.Series:
    return court_outcome_label(table["verdict"], table["disposal"])


def _crime_ref_key(table: pd.DataFrame) -> np.ndarray:
    return normalise_crime_ref(table["crime_ref"]).to_numpy()


def _longitude(table: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(table["longitude"], errors="coerce")


def _latitude(table: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(table["latitude"], errors="coerce")


def _case_id(table: pd.DataFrame) -> pd.Series:
    return table["case_id"].astype("string")


def _court_area(table: pd.DataFrame) -> np.ndarray:
    return court_area(table["court"]).to_numpy()


CAUTIONS = OutcomeSource(
    id="cautions",
    record_id=("caution_id",),
    outcome_date="caution_date",
    offence="offence_code_cjs",
    offence_kind="cjs",
    outcome_label=_caution_label,
    right_fields=(("crime_ref_key", _crime_ref_key),),
    # the crime reference typed on the caution
    comparisons=(CrimeRefComparison("crime_ref_key", "crime_ref_key", name="crime_ref"),),
    blocking=(block_on("crime_ref_key", name="crime_ref"),),
    rules=(
        DeterministicRule("crime_ref+name+dob", {"crime_ref": (0,), "name": (0, 1, 2, 3), "dob": (0, 1, 2)}),
    ),
)
PENALTY_NOTICES = OutcomeSource(
    id="penalty_notices",
    record_id=("pnd_id",),
    outcome_date="issue_date",
    offence="pnd_offence",
    offence_kind="pnd",
    outcome_label=_pnd_label,
    right_fields=(("longitude", _longitude), ("latitude", _latitude)),
    # where the notice was issued against where the crime was committed
    comparisons=(PlaceDistance(name="place", thresholds_m=(300.0, 1500.0, 8000.0)),),
)
COURT_OUTCOMES = OutcomeSource(
    id="court_outcomes",
    record_id=("case_id", "offence_seq"),
    outcome_date="hearing_date",
    offence="offence_code_cjs",
    offence_kind="cjs",
    outcome_label=_court_label,
    right_fields=(("case_id", _case_id), ("court_area", _court_area)),
    # court geography: the court's area against the local authority of the crime's LSOA
    comparisons=(ExactMatch("court_area", name="court_area"),),
    # one case's lines go to different crimes; a crime-suspect may still appear in two cases (a
    # magistrates' court sending the case to the Crown Court, then the Crown Court's result)
    unit_within="case_id",
)

# source id -> its OutcomeSource, in the order sources are linked (that of OUTCOME_SOURCES).
REGISTRY: dict[str, OutcomeSource] = {s.id: s for s in (CAUTIONS, PENALTY_NOTICES, COURT_OUTCOMES)}


def outcome_source(source: str) -> OutcomeSource:
    """The registered :class:`OutcomeSource` of ``source``."""
    if source not in REGISTRY:
        raise LinkageError(f"source must be one of {list(REGISTRY)}, got {source!r}")
    return REGISTRY[source]


# ---------------------------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class SourceSpec:
    """How one outcome source is linked: comparisons, blocking rules and deterministic rules."""

    source: str
    comparisons: tuple[Comparison, ...]
    blocking_rules: tuple[BlockingRule, ...]
    rules: tuple[DeterministicRule, ...] = field(default_factory=tuple)
    # Blocking passes whose pairs must also fall in the offence-date window: the crime's committed date
    # within ``window_days`` of the record's offence date, and the outcome no earlier than the offence
    # (less the source's tolerance). These passes need neither date of birth nor PNC ID.
    windowed_rules: tuple[str, ...] = ()
    window_days: int = 60  # the offence-date window of the windowed passes (_OFFENCE_WINDOW_DAYS)


def nickname_map() -> dict[str, frozenset[str]]:
    """Forename (casefolded) -> its nickname groups, from the published list bundled in
    ``linkage/reference/data/nicknames.csv`` (independent of the synthetic world's own table)."""
    return nickname_groups()


def source_spec(source: str, settings: SourceSettings) -> SourceSpec:
    """The default spec of ``source`` with the lag windows of ``settings``: the common comparisons,
    blocking passes and rules, then the source's own (its :class:`OutcomeSource` in :data:`REGISTRY`)."""
    src = outcome_source(source)
    comparisons: list[Comparison] = [
        PersonNameComparison("forename1", "surname", nicknames=nickname_map(), name="name"),
        DobComparison("dob_int", "dob_ok", name="dob"),
        PncComparison("pnc_id", name="pnc_id"),
        OffenceCompatibility("offence_code", "off_code", kind=src.offence_kind, name="offence"),
        DateWindow("committed_date", "offence_date", windows=(0, 3, 14, 60), name="offence_date"),
        DirectionalDate(
            "outcome_date",
            "committed_date",
            typical_days=settings.typical_days,
            long_days=settings.long_days,
            tolerance_days=settings.tolerance_days,
            name="outcome_lag",
        ),
        ForceComparison(name="force"),
        ExactMatch("sex", name="sex"),
    ]
    lag_days = (-int(settings.tolerance_days), int(settings.long_days))
    both_dates = ("offence_date", "outcome_date")
    lag = DateRange(
        "committed_date", "outcome_date", *lag_days, nearest=_PERSON_NEAREST, nearest_col=both_dates
    )
    near = DateRange(
        "committed_date",
        "offence_date",
        -_OFFENCE_WINDOW_DAYS,
        _OFFENCE_WINDOW_DAYS,
        nearest=_SHARED_KEY_NEAREST,
        nearest_col=both_dates if int(settings.typical_days) <= _OFFENCE_WINDOW_DAYS else None,
    )
    # Keys shared by unrelated people (a date of birth, initials and birth year) are joined within the
    # offence-date window; the person-level keys (PNC, date of birth with surname Soundex) within the
    # lag windows, so a mistyped offence date still pairs on them (engine 17). Every window keeps only
    # each record's nearest-dated crimes (engine 17i), so candidates grow about linearly with a force.
    blocking = [
        block_on("pnc_key", name="pnc", window=lag),
        block_on("dob_key", name="dob", window=near),
        block_on("dob_key", "surname_sdx", name="dob+surname_soundex", window=lag),
        block_on("surname_sdx", Year("date_of_birth"), name="surname_soundex+birth_year", window=near),
        block_on(
            Substr("forename1", 0, 1),
            Substr("surname", 0, 1),
            "force",
            Year("date_of_birth"),
            name="initials+force+birth_year",
            window=near,
        ),
        # a wrong digit in the year of birth
        block_on(
            "surname_sdx",
            "dob_mmdd",
            name="surname_soundex+birth_day_month",
            window=replace(lag, nearest=_BIRTH_DAY_MONTH_NEAREST),
        ),
        # forename and surname swapped (case- and diacritic-folded: "aMy" meets "Amy")
        block_on(
            ("forename1_fold", "surname_fold"), ("surname_fold", "forename1_fold"), name="names_swapped"
        ),
        # Passes that need neither date of birth nor PNC ID (a blank DOB on either side), joined within the
        # offence-date window (a missing date is keyed on the names alone); the outcome-after-offence test
        # of SourceSpec.windowed_rules follows blocking.
        block_on("names_sdx_force", name="names_soundex+force [window]", window=near),
        # Wider name keys for the records lacking a plausible DOB on one side (a rule for each side).
        block_on(
            ("name_key_a", "name_key_a_nodob"),
            name="forename+surname_prefix+force, no DOB right [window]",
            window=near,
        ),
        block_on(
            ("name_key_a_nodob", "name_key_a"),
            name="forename+surname_prefix+force, no DOB left [window]",
            window=near,
        ),
        block_on(
            ("name_key_b", "name_key_b_nodob"),
            name="surname_soundex+initial+force, no DOB right [window]",
            window=near,
        ),
        block_on(
            ("name_key_b_nodob", "name_key_b"),
            name="surname_soundex+initial+force, no DOB left [window]",
            window=near,
        ),
    ]
    rules = [
        DeterministicRule(
            "pnc+offence+window",
            {"pnc_id": (0, 1), "offence": (0, 1), "outcome_lag": (0,), "offence_date": (0,)},
        ),
    ]
    # the source's own comparisons, passes and rules follow the common ones
    comparisons.extend(src.comparisons)
    blocking.extend(src.blocking)
    rules.extend(src.rules)
    windowed = tuple(r.name for r in blocking if r.name.endswith("[window]"))
    return SourceSpec(
        source,
        tuple(comparisons),
        tuple(blocking),
        tuple(rules) if settings.rules else (),
        windowed_rules=windowed,
        window_days=_OFFENCE_WINDOW_DAYS,
    )
