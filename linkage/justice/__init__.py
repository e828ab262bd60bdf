"""Justice linkage: outcome records (cautions, penalty notices, court outcomes) to crimes and suspects.

``link_outcomes(tables, settings)`` runs blocking, comparisons, deterministic rules, the EM model and
the one-to-one constraints per source and returns a :class:`LinkResult` with the crime-level result.
"""

from linkage.justice.comparisons import (
    CrimeRefComparison,
    DirectionalDate,
    ForceComparison,
    OffenceCompatibility,
    PlaceDistance,
    PncComparison,
    normalise_crime_ref,
    normalise_pnc,
    pnc_parts,
)
from linkage.justice.link import (
    DeterministicRule,
    LinkResult,
    SourceSpec,
    build_left,
    build_right,
    crime_outcome_table,
    link_outcomes,
    resolve_conflicts,
    source_spec,
)
from linkage.justice.settings import DEFAULT_SOURCES, LinkSettings, SourceSettings

__all__ = [
    "DEFAULT_SOURCES",
    "CrimeRefComparison",
    "DeterministicRule",
    "DirectionalDate",
    "ForceComparison",
    "LinkResult",
    "LinkSettings",
    "OffenceCompatibility",
    "PlaceDistance",
    "PncComparison",
    "SourceSettings",
    "SourceSpec",
    "build_left",
    "build_right",
    "crime_outcome_table",
    "link_outcomes",
    "normalise_crime_ref",
    "normalise_pnc",
    "pnc_parts",
    "resolve_conflicts",
    "source_spec",
]
