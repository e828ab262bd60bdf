"""Justice linkage: outcome records (cautions, penalty notices, court outcomes) to crimes and suspects.

``link_outcomes(tables, settings)`` runs blocking, comparisons, deterministic rules, the EM model and
the one-to-one constraints per source and returns a :class:`LinkResult` with the crime-level result.
Each outcome source is one :class:`OutcomeSource` (``linkage.justice.outcome_sources.REGISTRY``).
"""

from linkage.justice.comparisons import (
    CrimeRefComparison,
    DirectionalDate,
    ForceComparison,
    OffenceCompatibility,
    PlaceDistance,
    PncComparison,
    normalise_crime_ref,
)
from linkage.justice.link import (
    DeterministicRule,
    FittedModels,
    LinkResult,
    SourceSpec,
    build_left,
    build_right,
    crime_outcome_table,
    link_outcomes,
    resolve_conflicts,
    source_spec,
)
from linkage.justice.model import TwoStageModel
from linkage.justice.outcome_sources import OutcomeSource, outcome_source
from linkage.justice.publication import (
    PUBLICATION_KEY_ENV,
    crime_ids,
    publication_key,
    synthetic_publication_key,
)
from linkage.justice.settings import DEFAULT_SOURCES, LinkSettings, SourceSettings
from linkage.reference.identifiers import pnc_parts

__all__ = [
    "DEFAULT_SOURCES",
    "PUBLICATION_KEY_ENV",
    "CrimeRefComparison",
    "DeterministicRule",
    "DirectionalDate",
    "FittedModels",
    "ForceComparison",
    "LinkResult",
    "LinkSettings",
    "OffenceCompatibility",
    "OutcomeSource",
    "PlaceDistance",
    "PncComparison",
    "SourceSettings",
    "SourceSpec",
    "TwoStageModel",
    "build_left",
    "build_right",
    "crime_ids",
    "crime_outcome_table",
    "link_outcomes",
    "normalise_crime_ref",
    "outcome_source",
    "pnc_parts",
    "publication_key",
    "resolve_conflicts",
    "source_spec",
    "synthetic_publication_key",
]
