"""Outcome rates with Wilson intervals, the final-outcome mix, and the public-vs-linked comparison.

Every function takes a *crime-level* frame: one row per crime with at least ``crime_type`` and an
outcome column (``final_outcome``: a current police.uk outcome label, blank when no outcome is
recorded). :func:`outcome_group` collapses the 28 labels into the groups the report discusses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from linkage.reference import OUTCOME_CATEGORIES, OUTCOME_GROUP, outcome_rank

logger = logging.getLogger(__name__)

__all__ = [
    "OUTCOME_GROUPS",
    "GROUP_ORDER",
    "NO_OUTCOME",
    "outcome_group",
    "outcome_rates",
    "outcome_table",
    "compare_views",
    "outcome_order",
    "wilson_interval",
]

NO_OUTCOME = "No outcome recorded"

OUTCOME_GROUPS: dict[str, str] = dict(OUTCOME_GROUP)
"""Current police.uk outcome label -> reporting group (the ``group`` column of the outcome vocabulary,
``linkage/reference/data/outcomes.csv``; court results count as charged or summonsed)."""

GROUP_ORDER: tuple[str, ...] = (
    "Charged or summonsed",
    "Out-of-court disposal",
    "Unable to prosecute suspect",
    "Not in the public interest or other body",
    "No suspect identified",
    "Under investigation or no update",
    NO_OUTCOME,
)


def outcome_group(labels: pd.Series) -> pd.Series:
    """Outcome labels -> :data:`OUTCOME_GROUPS`; blank -> ``No outcome recorded``; unknown -> ``Other``."""
    labels = pd.Series(labels)
    grouped = labels.map(OUTCOME_GROUPS)
    blank = labels.isna() | (labels.astype("string").str.strip() == "")
    grouped = grouped.where(~blank, NO_OUTCOME).fillna("Other")
    unknown = int((grouped == "Other").sum())
    if unknown:
        logger.warning("%d outcome label(s) not in the current vocabulary grouped as 'Other'", unknown)
    return grouped.astype("string")


def wilson_interval(count: np.ndarray, n: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``count / n`` (statsmodels ``proportion_confint``); n = 0 -> NaN."""
    count = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    safe = np.where(n > 0, n, 1.0)
    lo, hi = proportion_confint(count, safe, alpha=alpha, method="wilson")
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def outcome_table(
    crimes: pd.DataFrame, *, rows: str = "crime_type", columns: str = "outcome_group"
) -> pd.DataFrame:
    """Counts of crimes, ``rows`` x ``columns`` (a crosstab, categories in a stable order)."""
    for col in (rows, columns):
        if col not in crimes.columns:
            raise KeyError(f"column {col!r} not in crimes (columns: {list(crimes.columns)})")
    table = pd.crosstab(crimes[rows], crimes[columns])
    if columns == "outcome_group":
        order = [g for g in (*GROUP_ORDER, "Other") if g in table.columns]
        table = table[order]
    table = table.sort_index()
    table.index.name = rows
    table.columns.name = columns
    return table


def outcome_rates(
    crimes: pd.DataFrame,
    *,
    by: Sequence[str] = ("crime_type",),
    outcome: str = "outcome_group",
    alpha: float = 0.05,
    categories: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Share of crimes reaching each outcome, within each ``by`` group, with Wilson intervals.

    Returns a long frame: the ``by`` columns, ``outcome``, ``count`` (crimes with that outcome),
    ``n`` (crimes in the group), ``rate`` and the ``lower``/``upper`` bounds of the
    ``1 - alpha`` Wilson interval. Every outcome category appears in every group (zero counts kept).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    by = list(by)
    for col in [*by, outcome]:
        if col not in crimes.columns:
            raise KeyError(f"column {col!r} not in crimes (columns: {list(crimes.columns)})")
    cats = list(categories) if categories is not None else sorted(crimes[outcome].dropna().unique(), key=str)
    if outcome == "outcome_group" and categories is None:
        cats = [g for g in (*GROUP_ORDER, "Other") if g in set(cats)]
    keyed = crimes.assign(_one=1)
    if by:
        counts = keyed.pivot_table(index=by, columns=outcome, values="_one", aggfunc="sum", fill_value=0)
    else:
        counts = keyed.groupby(outcome)["_one"].sum().to_frame().T
        counts.index = pd.Index(["All crimes"], name="group")
    counts = counts.reindex(columns=cats, fill_value=0)
    n = (
        crimes.groupby(by).size().reindex(counts.index)
        if by
        else pd.Series([len(crimes)], index=counts.index)
    )
    long = counts.stack().rename("count").reset_index()
    long.columns = [*counts.index.names, outcome, "count"]
    long["n"] = np.repeat(n.to_numpy(), len(cats))
    long["count"] = long["count"].astype("int64")
    long["n"] = long["n"].astype("int64")
    long["rate"] = long["count"] / long["n"].where(long["n"] > 0)
    long["lower"], long["upper"] = wilson_interval(long["count"].to_numpy(), long["n"].to_numpy(), alpha)
    return long.reset_index(drop=True)


def compare_views(
    public: pd.DataFrame,
    linked: pd.DataFrame,
    *,
    outcome: str = "outcome_group",
    alpha: float = 0.05,
    labels: tuple[str, str] = ("police.uk (public)", "linked"),
) -> pd.DataFrame:
    """Final-outcome mix in the public police.uk view beside the linked view, with Wilson intervals.

    One row per outcome category: for each view its ``count``, ``n``, ``rate``, interval, and the
    difference in percentage points (linked minus public).
    """
    a = outcome_rates(public, by=(), outcome=outcome, alpha=alpha)
    b = outcome_rates(linked, by=(), outcome=outcome, alpha=alpha)
    merged = a.drop(columns="group").merge(
        b.drop(columns="group"), on=outcome, how="outer", suffixes=(f" {labels[0]}", f" {labels[1]}")
    )
    for side in labels:
        merged[f"count {side}"] = merged[f"count {side}"].fillna(0).astype("int64")
        merged[f"n {side}"] = merged[f"n {side}"].ffill().bfill().astype("int64")
    merged["difference_pp"] = 100 * (
        merged[f"rate {labels[1]}"].fillna(0) - merged[f"rate {labels[0]}"].fillna(0)
    )
    merged = merged.sort_values(outcome, key=outcome_order, kind="stable")
    return merged.reset_index(drop=True)


def outcome_order(values: pd.Series) -> pd.Series:
    """Sort key putting outcome groups or outcome labels in reading order (for ``sort_values(key=...)``).

    Groups (every value a :data:`GROUP_ORDER` group or ``Other``) follow :data:`GROUP_ORDER`. Labels
    follow the police.uk last-outcome hierarchy from the top (final court results, then charges,
    out-of-court disposals, police closures, open), ties in the published vocabulary order; unknown
    labels come next and ``No outcome recorded`` last. Some strings are both a group and a label
    ("Unable to prosecute suspect"), so the mode is decided from the whole column.
    """
    values = pd.Series(values)
    text = values.astype("string")
    groups = (*GROUP_ORDER, "Other")
    if text.dropna().isin(groups).all():
        return text.map({g: i for i, g in enumerate(groups)}).astype("Float64")
    vocab = text.map({label: i for i, label in enumerate(OUTCOME_CATEGORIES)}).astype("Float64")
    rank = outcome_rank(text).astype("Float64")
    known = rank.notna()
    key = (-rank * 100 + vocab.fillna(99)).where(known, 10_000.0)
    return key.where(text != NO_OUTCOME, 20_000.0).astype(float)
