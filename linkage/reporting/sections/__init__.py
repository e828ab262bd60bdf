"""Report sections, one module per section. Each ``*_section`` function builds one
:class:`~linkage.reporting.document.Section` from analysis frames; notebooks can call them directly.
Every published count or rate passes disclosure control (see :mod:`linkage.reporting.publish`).

To add a block to a section, add a function to that section's module and call it from the section
function; to add a section, add a module here and one call in :func:`linkage.reporting.builder.build_report`.
"""

from linkage.reporting.sections._common import RESTRICTED_NEEDED
from linkage.reporting.sections.data_summary import data_summary_section
from linkage.reporting.sections.evaluation import (
    add_linkage_adjusted,
    add_linkage_did,
    add_linkage_imputed,
    evaluation_section,
)
from linkage.reporting.sections.linkage_quality import linkage_quality_section
from linkage.reporting.sections.maps import maps_section
from linkage.reporting.sections.outcomes import outcomes_section
from linkage.reporting.sections.time_to_outcome import time_to_outcome_section

__all__ = [
    "RESTRICTED_NEEDED",
    "data_summary_section",
    "linkage_quality_section",
    "outcomes_section",
    "time_to_outcome_section",
    "maps_section",
    "evaluation_section",
    "add_linkage_adjusted",
    "add_linkage_did",
    "add_linkage_imputed",
]
