"""Linkage quality: precision, recall and F1 against truth (overall, by source, by subgroup), threshold
sweeps and precision-recall curves, and the clerical review workflow."""

from linkage.quality.metrics import (
    QualityReport,
    by_subgroup,
    evaluate,
    mark_correct,
    precision_recall_chart,
    threshold_sweep,
)
from linkage.quality.review import (
    DEFAULT_MIN_PER_STRATUM,
    DEFAULT_WEIGHT_EDGES,
    ReviewEstimate,
    allocate,
    assign_strata,
    draw_review_sample,
    estimate_from_review,
    read_review,
    write_review_sample,
)

__all__ = [
    "DEFAULT_MIN_PER_STRATUM",
    "DEFAULT_WEIGHT_EDGES",
    "QualityReport",
    "ReviewEstimate",
    "allocate",
    "assign_strata",
    "by_subgroup",
    "draw_review_sample",
    "estimate_from_review",
    "evaluate",
    "mark_correct",
    "precision_recall_chart",
    "read_review",
    "threshold_sweep",
    "write_review_sample",
]
