"""Reporting: trailblazer configuration and the self-contained HTML report."""

from linkage.reporting.builder import (
    ReportData,
    build_report,
    gather,
    git_commit,
    run_report,
    true_effects,
    write_report,
)
from linkage.reporting.config import (
    AreaConfig,
    EvaluationSettings,
    TrailblazerConfig,
    config_from_dict,
    load_config,
)
from linkage.reporting.document import FigureBlock, Report, Section, TableBlock, figure_png, render_html
from linkage.reporting.sections import (
    data_summary_section,
    evaluation_section,
    linkage_quality_section,
    maps_section,
    outcomes_section,
    time_to_outcome_section,
)

__all__ = [
    "AreaConfig",
    "EvaluationSettings",
    "FigureBlock",
    "Report",
    "ReportData",
    "Section",
    "TableBlock",
    "TrailblazerConfig",
    "build_report",
    "config_from_dict",
    "data_summary_section",
    "evaluation_section",
    "figure_png",
    "gather",
    "git_commit",
    "linkage_quality_section",
    "load_config",
    "maps_section",
    "outcomes_section",
    "render_html",
    "run_report",
    "time_to_outcome_section",
    "true_effects",
    "write_report",
]
