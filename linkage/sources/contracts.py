"""Data contracts: the columns, types and rules of every table the workbench reads.

These are the single source of truth for column names. ``docs/data_dictionary.md`` documents the same
contracts for people; the synthetic world writes them and the linkage engine reads them.

Kinds:
    ``str``    text; blank is missing
    ``date``   ISO date ``YYYY-MM-DD`` (loaded as ``datetime64[ns]``)
    ``float``  number
    ``sex``    one of ``M``, ``F``, ``U`` (unknown)
"""

from __future__ import annotations

from dataclasses import dataclass

from linkage.reference.outcomes import CAUTION_TYPES, DISPOSALS, PND_STATUSES, VERDICTS


@dataclass(frozen=True)
class Column:
    """One column of a contract."""

    name: str
    kind: str = "str"
    required: bool = True  # must be non-blank on every row
    description: str = ""
    values: tuple[str, ...] = ()  # allowed values (compared case-insensitively); empty = any


@dataclass(frozen=True)
class TableContract:
    """A restricted-extract table: its columns and the key that must be unique."""

    kind: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


_PERSON = (
    Column("forename", description="forename as recorded (may carry a middle name)"),
    Column("surname", description="surname as recorded"),
    Column(
        "date_of_birth",
        "date",
        required=False,
        description="date of birth as recorded (may be wrong or blank)",
    ),
    Column("sex", "sex", description="M, F or U"),
)
_PNC = Column("pnc_id", required=False, description="PNC ID, long YYYY/NNNNNNNC or short YY/NNNNNNNC form")

EXTRACTS: dict[str, TableContract] = {
    "crimes": TableContract(
        "crimes",
        key=("force", "crime_ref"),
        description="Police recorded crimes, one row per crime.",
        columns=(
            Column("crime_ref", description="force crime reference, unique within force"),
            Column("force", description="police force name as police.uk spells it"),
            Column("offence_code", description="Home Office offence code, e.g. 56B"),
            Column("crime_type", description="police.uk crime type (canonical 14 categories)"),
            Column("committed_date", "date", description="date the offence was committed"),
            Column("recorded_date", "date", description="date the crime was recorded"),
            Column("longitude", "float", required=False, description="WGS84 longitude of the map point"),
            Column("latitude", "float", required=False, description="WGS84 latitude of the map point"),
            Column("lsoa_code", required=False, description="LSOA code of the map point"),
        ),
    ),
    "suspects": TableContract(
        "suspects",
        key=("force", "crime_ref", "suspect_ref"),
        description="Suspects named on crimes; several per crime are allowed.",
        columns=(
            Column("crime_ref"),
            Column("force"),
            Column("suspect_ref", description="suspect reference, unique within crime"),
            *_PERSON,
            _PNC,
            Column("postcode", required=False, description="home postcode (never published)"),
        ),
    ),
    "cautions": TableContract(
        "cautions",
        key=("caution_id",),
        description="Cautions from the PNC, one row per person and offence.",
        columns=(
            Column("caution_id"),
            Column("force"),
            *_PERSON,
            _PNC,
            Column("offence_code_cjs", description="CJS offence code, e.g. TH68010"),
            Column("offence_date", "date"),
            Column("caution_date", "date"),
            Column("caution_type", description="one of reference.CAUTION_TYPES", values=CAUTION_TYPES),
            Column(
                "crime_ref", required=False, description="hand-typed crime reference: often blank or wrong"
            ),
        ),
    ),
    "penalty_notices": TableContract(
        "penalty_notices",
        key=("pnd_id",),
        description="Penalty notices for disorder; most carry no PNC ID.",
        columns=(
            Column("pnd_id"),
            Column("force"),
            *_PERSON,
            _PNC,
            Column(
                "pnd_offence",
                description="penalty notice offence label (linkage/reference/data/pnd_offences.csv)",
            ),
            Column("offence_date", "date"),
            Column("issue_date", "date"),
            Column("longitude", "float", required=False),
            Column("latitude", "float", required=False),
            Column("status", description="one of reference.PND_STATUSES", values=PND_STATUSES),
        ),
    ),
    "court_outcomes": TableContract(
        "court_outcomes",
        key=("case_id", "offence_seq"),
        description="Court outcomes, one row per offence line; a case may cover several crimes.",
        columns=(
            Column("case_id"),
            Column("offence_seq", description="offence line number within the case (1, 2, ...)"),
            Column("court", description="court name"),
            Column("force", description="prosecuting force"),
            *_PERSON,
            _PNC,
            Column("offence_code_cjs"),
            Column("offence_date", "date"),
            Column("hearing_date", "date"),
            Column("verdict", description="one of reference.VERDICTS", values=VERDICTS),
            Column(
                "disposal",
                required=False,
                description="sentence, one of reference.DISPOSALS; blank when not convicted",
                values=DISPOSALS,
            ),
            Column("tic", required=False, description="'Y' when the offence was taken into consideration"),
        ),
    ),
    "truth": TableContract(
        "truth",
        key=("source", "record_id"),
        description="Synthetic data only: which crime and suspect each outcome record belongs to.",
        columns=(
            Column(
                "source",
                description="cautions, penalty_notices or court_outcomes",
                values=("cautions", "penalty_notices", "court_outcomes"),
            ),
            Column("record_id", description="caution_id, pnd_id or case_id:offence_seq"),
            Column("crime_ref"),
            Column("force"),
            Column("suspect_ref"),
        ),
    ),
}

OUTCOME_SOURCES: tuple[str, ...] = ("cautions", "penalty_notices", "court_outcomes")
