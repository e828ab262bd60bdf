"""Evaluation: outcome rates, time to outcome, difference-in-differences, maps and disclosure control."""

from linkage.evaluation.did import (
    CLUSTER_CHOICES,
    DiDResult,
    EventStudy,
    cell_panel,
    did,
    event_study,
    sensitivity,
)
from linkage.evaluation.disclosure import (
    DisclosureSettings,
    ProtectedTable,
    audit_suppression,
    protect_counts,
    protect_rates,
    round_to_base,
)
from linkage.evaluation.frames import add_flags, linked_crimes, lsoa_lookup, public_crimes
from linkage.evaluation.maps import (
    BNG,
    force_outline,
    load_boundaries,
    lsoa_choropleth,
    point_map,
    points_to_bng,
)
from linkage.evaluation.rates import (
    GROUP_ORDER,
    NO_OUTCOME,
    OUTCOME_GROUPS,
    compare_views,
    outcome_group,
    outcome_rates,
    outcome_table,
    wilson_interval,
)
from linkage.evaluation.survival import SurvivalCurve, durations, km_by_group, km_table_at, median_table

__all__ = [
    "BNG",
    "CLUSTER_CHOICES",
    "GROUP_ORDER",
    "NO_OUTCOME",
    "OUTCOME_GROUPS",
    "DiDResult",
    "DisclosureSettings",
    "EventStudy",
    "ProtectedTable",
    "SurvivalCurve",
    "add_flags",
    "audit_suppression",
    "cell_panel",
    "compare_views",
    "did",
    "durations",
    "event_study",
    "force_outline",
    "km_by_group",
    "km_table_at",
    "linked_crimes",
    "load_boundaries",
    "lsoa_choropleth",
    "lsoa_lookup",
    "median_table",
    "outcome_group",
    "outcome_rates",
    "outcome_table",
    "point_map",
    "points_to_bng",
    "protect_counts",
    "protect_rates",
    "public_crimes",
    "round_to_base",
    "sensitivity",
    "wilson_interval",
]
