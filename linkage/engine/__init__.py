"""A generic Fellegi-Sunter linkage engine: composable blocking rules and comparisons, EM, explanation.

Index -> Compare -> Classify::

    model = LinkageModel([NameComparison("surname"), DateComparison("dob")], [block_on("postcode")])
    pairs = model.candidate_pairs(left, right)
    levels = model.compare(pairs, left, right)
    model.fit_em(levels)
    predictions = model.predict(levels)

Every ``recordlinkage`` import lives in :mod:`linkage.engine.backend`.
"""

from linkage.engine.blocking import (
    BlockingKey,
    BlockingRule,
    CandidatePairs,
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
    normalise_name,
)
from linkage.engine.model import EMResult, LinkageModel

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
    "Soundex",
    "Substr",
    "Year",
    "all_pairs",
    "block_on",
    "generate_candidates",
    "normalise_name",
]
