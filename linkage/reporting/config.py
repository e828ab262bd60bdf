"""Backward-compatible name: the trailblazer configuration now lives in :mod:`linkage.config`."""

from linkage.config import (
    AreaConfig,
    ComparisonArea,
    EvaluationSettings,
    TrailblazerConfig,
    config_from_dict,
    load_config,
)

__all__ = [
    "TrailblazerConfig",
    "AreaConfig",
    "ComparisonArea",
    "EvaluationSettings",
    "load_config",
    "config_from_dict",
]
