"""Clerical review: draw a sample of candidate pairs stratified by match weight, write it with both
records side by side for a reviewer, read the labels back and estimate precision and recall.

Strata are match-weight bands crossed with whether the pair was linked, so the estimates reweight each
reviewed pair by its stratum's sampling fraction (a stratified estimator; with few reviewed pairs per
stratum the intervals are wide, as they should be).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from linkage._io import write_csv
from linkage.errors import DataContractError, LinkageError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_WEIGHT_EDGES",
    "ReviewEstimate",
    "assign_strata",
    "draw_review_sample",
    "estimate_from_review",
    "read_review",
    "write_review_sample",
]

DEFAULT_WEIGHT_EDGES: tuple[float, ...] = (-10.0, -5.0, 0.0, 5.0, 10.0, 20.0)
# Smallest Beta prior shape per stratum (see estimate_from_review), so the model prior cannot swamp the
# reviewed labels.
DEFAULT_MIN_PRIOR_SHAPE = 0.25
LABELS = ("Y", "N", "?")
_ID = ["source", "record_id", "force", "crime_ref", "suspect_ref"]
_REQUIRED = [*_ID, "match_weight", "linked"]


def _require(frame: pd.DataFrame, columns: Sequence[str], argument: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LinkageError(f"{argument} lacks column(s) {missing}")


def assign_strata(candidates: pd.DataFrame, edges: Sequence[float] = DEFAULT_WEIGHT_EDGES) -> pd.DataFrame:
    """``stratum``, ``stratum_low``, ``stratum_high`` for each candidate: its match-weight band (between
    consecutive ``edges``, open-ended at both ends) and whether it was linked."""
    _require(candidates, ["match_weight", "linked"], "candidates")
    e = np.asarray(sorted(float(x) for x in edges))
    if len(e) == 0 or len(np.unique(e)) != len(e):
        raise LinkageError(f"edges must be distinct numbers, got {list(edges)!r}")
    bounds = np.concatenate([[-np.inf], e, [np.inf]])
    w = candidates["match_weight"].to_numpy(float)
    band = np.searchsorted(e, w, side="right")  # 0 .. len(e)
    linked = candidates["linked"].to_numpy(bool)
    low, high = bounds[band], bounds[band + 1]
    label = np.char.add(
        np.where(linked, "linked ", "unlinked "),
        np.char.add(np.char.add(np.char.add("[", low.astype(str)), ", "), np.char.add(high.astype(str), ")")),
    )
    return pd.DataFrame({"stratum": label, "stratum_low": low, "stratum_high": high}, index=candidates.index)


def _allocate(sizes: np.ndarray, n: int) -> np.ndarray:
    """Spread ``n`` draws as evenly as possible over strata, never more than a stratum holds."""
    take = np.zeros(len(sizes), dtype=int)
    remaining = n
    open_ = sizes > 0
    while remaining > 0 and open_.any():
        share = max(remaining // int(open_.sum()), 1)
        for i in np.flatnonzero(open_):
            add = min(share, sizes[i] - take[i], remaining)
            take[i] += add
            remaining -= add
            if remaining == 0:
                break
        open_ = take < sizes
    return take


def draw_review_sample(
    candidates: pd.DataFrame,
    n: int,
    strata: Sequence[float] = DEFAULT_WEIGHT_EDGES,
    seed: int = 0,
    exclude_below: float | None = DEFAULT_WEIGHT_EDGES[0],
) -> pd.DataFrame:
    """A sample of ``n`` candidate pairs for clerical review, spread evenly over match-weight strata.

    Unlinked pairs with a match weight below ``exclude_below`` are not sampled and are assumed to be
    non-matches when estimating (the usual grey-zone design: a reviewer learns nothing from thousands of
    pairs that disagree on everything, and a handful of them cannot bound their match rate usefully).
    ``None`` samples every stratum. The threshold is recorded in the ``excluded_below`` column.

    ``candidates`` is :attr:`LinkResult.candidates` (identifiers, ``match_weight``, ``linked`` and the
    compared fields as ``l_<field>``/``r_<field>``). The result shows the crime-suspect (``crime_*``) and
    the outcome record (``outcome_*``) side by side, each stratum's size and sampling fraction, and an
    empty ``reviewer_label`` column to fill with Y (same person and crime), N (not) or ? (cannot tell).
    The same candidates, ``n`` and ``seed`` give the same sample.
    """
    _require(candidates, _REQUIRED, "candidates")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise LinkageError(f"n must be a positive integer, got {n!r}")
    frame = candidates.reset_index(drop=True)
    st = assign_strata(frame, strata)
    frame = pd.concat([frame, st], axis=1)
    if exclude_below is not None:
        excluded = ~frame["linked"].to_numpy(bool) & (frame["match_weight"].to_numpy(float) < exclude_below)
        frame = frame[~excluded].reset_index(drop=True)
    names = np.array(sorted(frame["stratum"].unique()))
    sizes = frame.groupby("stratum", sort=True).size().reindex(names).to_numpy()
    take = _allocate(sizes, int(n))
    rng = np.random.default_rng(seed)
    picked = []
    for name, k in zip(names, take, strict=True):
        if k == 0:
            continue
        rows = np.flatnonzero(frame["stratum"].to_numpy() == name)
        picked.append(np.sort(rng.choice(rows, size=int(k), replace=False)))
    idx = np.concatenate(picked) if picked else np.array([], dtype=int)
    sample = frame.iloc[idx].copy()
    size_of = dict(zip(names, sizes, strict=True))
    take_of = dict(zip(names, take, strict=True))
    sample["stratum_size"] = sample["stratum"].map(size_of).astype(int)
    sample["stratum_sampled"] = sample["stratum"].map(take_of).astype(int)
    sample["sampling_fraction"] = sample["stratum_sampled"] / sample["stratum_size"]
    side = []
    fields = [c[2:] for c in frame.columns if c.startswith("l_") and f"r_{c[2:]}" in frame.columns]
    for f in fields:
        sample[f"crime_{f}"] = sample[f"l_{f}"]
        sample[f"outcome_{f}"] = sample[f"r_{f}"]
        side += [f"crime_{f}", f"outcome_{f}"]
    extra = [c for c in ("match_probability", "rule") if c in sample.columns]
    cols = [
        "stratum",
        "stratum_low",
        "stratum_high",
        "stratum_size",
        "stratum_sampled",
        "sampling_fraction",
        "linked",
        "match_weight",
        *extra,
        *_ID,
        *side,
    ]
    sample = (
        sample[cols].sort_values(["stratum", "source", "record_id"], kind="mergesort").reset_index(drop=True)
    )
    sample.insert(0, "review_id", np.arange(1, len(sample) + 1))
    sample["excluded_below"] = np.nan if exclude_below is None else float(exclude_below)
    sample["reviewer_label"] = ""
    logger.info("review sample: %d pairs over %d strata", len(sample), int((take > 0).sum()))
    return sample


def write_review_sample(sample: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a review sample to CSV atomically (it holds personal data: keep it out of ``reports/``)."""
    return write_csv(path, sample)


def read_review(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a reviewed sample; every ``reviewer_label`` must be Y, N or ? (case and spaces ignored).

    Raises :class:`~linkage.errors.DataContractError` naming the first bad row (CSV line number) and
    listing every bad row.
    """
    path = Path(path)
    try:
        review = pd.read_csv(
            path, dtype={"reviewer_label": "string", "record_id": "string"}, keep_default_na=False
        )
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataContractError(path, f"cannot read review CSV: {exc}") from exc
    needed = [
        "review_id",
        "stratum",
        "stratum_low",
        "stratum_high",
        "stratum_size",
        *_REQUIRED,
        "reviewer_label",
    ]
    missing = [c for c in needed if c not in review.columns]
    if missing:
        raise DataContractError(path, f"missing column(s) {missing}")
    labels = review["reviewer_label"].fillna("").str.strip().str.upper()
    bad = np.flatnonzero(~labels.isin(LABELS).to_numpy())
    if len(bad):
        lines = [int(i) + 2 for i in bad]  # header is line 1
        shown = ", ".join(
            f"line {ln} ({review['reviewer_label'].iloc[i]!r})"
            for ln, i in zip(lines[:10], bad[:10], strict=False)
        )
        raise DataContractError(
            path,
            f"{len(bad)} row(s) with reviewer_label not in {list(LABELS)}: {shown}",
            row=lines[0],
            column="reviewer_label",
        )
    review["reviewer_label"] = labels
    review["linked"] = review["linked"].astype(str).str.strip().str.lower().isin(["true", "1", "y", "yes"])
    return review


@dataclass(frozen=True)
class ReviewEstimate:
    """Precision and recall estimated from a clerical review sample.

    ``precision``: share of linked pairs that are true matches. ``recall``: share of true matches among the
    candidate pairs that were linked (matches never proposed as candidates are invisible to review).
    Estimates are medians, and intervals equal-tailed at ``1 - alpha``, of ``n_draws`` finite-population
    simulations: each stratum's unreviewed pairs hold a binomial number of matches at a rate drawn from
    the stratum's Beta posterior (prior: the model's mean match probability in the stratum worth
    ``prior_strength`` pairs), so a full census is exact. ``strata``: per stratum N (pairs),
    n (reviewed Y/N), matches (Y), the plug-in match rate and the estimated number of matches.
    """

    precision: float
    precision_interval: tuple[float, float]
    recall: float
    recall_interval: tuple[float, float]
    n_reviewed: int
    n_unsure: int
    strata: pd.DataFrame
    alpha: float
    method: str = "stratified finite-population simulation, Beta posterior per stratum (model-mean prior)"


def estimate_from_review(
    review: pd.DataFrame,
    candidates: pd.DataFrame,
    alpha: float = 0.05,
    n_draws: int = 4000,
    seed: int = 0,
    prior_strength: float = 2.0,
    min_prior_shape: float = DEFAULT_MIN_PRIOR_SHAPE,
) -> ReviewEstimate:
    """Precision and recall of the links, with intervals, from a reviewed sample.

    Each stratum's match rate is the share of its reviewed pairs labelled Y ('?' are left out); the
    stratum's size comes from ``candidates`` (strata recomputed with the review's band edges), so each
    reviewed pair stands for stratum_size / reviewed pairs in its stratum. Unlinked pairs below the
    sample's ``excluded_below`` weight count as non-matches. Point estimates are the medians of the
    simulated precision and recall (so they always sit inside their intervals); ``strata`` also shows
    the plug-in rates.

    Each stratum's prior is Beta(a0, b0) with mean the model's mean match probability, worth
    ``prior_strength`` pairs, and both shapes at least ``min_prior_shape``. Without that floor a confident
    model (p ~ 0.999, b0 ~ 0.002) makes a prior no number of all-Y reviews can move, and the intervals
    collapse to a point. Jeffreys' 0.5 was measured to be too pessimistic with ~33 reviews per stratum
    (each all-Y stratum keeps half a pseudo-error, scaled up by N/n): see docs/linkage_method.md.
    """
    _require(review, ["stratum", "stratum_low", "stratum_high", "reviewer_label"], "review")
    if not 0 < alpha < 1:
        raise LinkageError(f"alpha must be in (0, 1), got {alpha!r}")
    if not min_prior_shape > 0:
        raise LinkageError(f"min_prior_shape must be positive, got {min_prior_shape!r}")
    edges = np.unique(
        np.concatenate([review["stratum_low"].to_numpy(float), review["stratum_high"].to_numpy(float)])
    )
    edges = edges[np.isfinite(edges)]
    below = np.nan
    if "excluded_below" in review.columns and len(review):
        below = float(pd.to_numeric(review["excluded_below"], errors="coerce").iloc[0])
    if np.isfinite(below):
        edges = np.union1d(edges, [below])
    st = assign_strata(candidates, edges if len(edges) else DEFAULT_WEIGHT_EDGES)
    assumed = ~candidates["linked"].to_numpy(bool) & (candidates["match_weight"].to_numpy(float) < below)
    st.loc[assumed, "stratum"] = f"unlinked below {below:g} (assumed non-matches)"
    big_n = st.groupby("stratum").size()
    linked_of = pd.Series(candidates["linked"].to_numpy(bool), index=st.index).groupby(st["stratum"]).first()
    labels = review["reviewer_label"].astype("string").str.strip().str.upper()
    sure = review[labels.isin(["Y", "N"])]
    yes = (labels[labels.isin(["Y", "N"])] == "Y").groupby(sure["stratum"]).sum()
    n_rev = sure.groupby("stratum").size()
    table = pd.DataFrame({"N": big_n}).join(pd.DataFrame({"n": n_rev, "matches": yes}), how="left").fillna(0)
    table["linked"] = linked_of.reindex(table.index).to_numpy(bool)
    table[["n", "matches"]] = table[["n", "matches"]].astype(int)
    table["assumed_nonmatch"] = table.index.str.contains("assumed non-matches", regex=False)
    unreviewed = table[(table["n"] == 0) & (table["N"] > 0) & ~table["assumed_nonmatch"]]
    if len(unreviewed):
        logger.warning(
            "strata with candidates but no reviewed pairs (prior mean 0.5): %s", list(unreviewed.index)
        )
    rate = np.where(table["n"] > 0, table["matches"] / np.maximum(table["n"], 1), 0.5)
    rate = np.where(table["assumed_nonmatch"], 0.0, rate)
    table["match_rate"] = rate
    table["est_matches"] = table["N"] * rate
    lk = table["linked"].to_numpy(bool)
    big = table["N"].to_numpy(float)

    def _pr(matches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        linked_matches = (matches * lk).sum(axis=-1)
        all_matches = matches.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return linked_matches / (big * lk).sum(), linked_matches / all_matches

    # Finite-population simulation: each stratum's matches are the reviewed Ys plus a binomial draw for
    # its unreviewed pairs at a rate from the stratum's Beta posterior (a full census has no uncertainty).
    rng = np.random.default_rng(seed)
    yes_h = table["matches"].to_numpy(float)
    n_h = table["n"].to_numpy(float)
    # Prior per stratum: the model's mean match probability there, worth ``prior_strength`` reviewed pairs,
    # each shape at least ``min_prior_shape`` (Jeffreys, Beta(0.5, 0.5), without match_probability).
    # Reviewed labels soon outweigh it; without it an all-Y stratum is pulled towards 0.5.
    if "match_probability" in candidates.columns:
        mean_p = (
            pd.Series(candidates["match_probability"].to_numpy(float), index=st.index)
            .groupby(st["stratum"])
            .mean()
            .reindex(table.index)
            .fillna(0.5)
            .clip(1e-3, 1 - 1e-3)
            .to_numpy()
        )
        # Floor both shapes: a confident model (p ~ 0.999) would otherwise give b0 ~ 0.002, a prior that
        # no number of all-Y reviews can widen (zero-width intervals).
        a0 = np.maximum(prior_strength * mean_p, min_prior_shape)
        b0 = np.maximum(prior_strength * (1 - mean_p), min_prior_shape)
    else:
        a0 = b0 = np.full(len(table), 0.5)
    table["prior_mean"] = a0 / (a0 + b0)
    a = yes_h + a0
    b = n_h - yes_h + b0
    rates = rng.beta(a, b, size=(n_draws, len(table)))
    unseen = rng.binomial((big - n_h).astype(np.int64), rates).astype(float)
    matches = yes_h + unseen
    matches[:, table["assumed_nonmatch"].to_numpy(bool)] = 0.0
    p_draws, r_draws = _pr(matches)
    q = [100 * alpha / 2, 50.0, 100 * (1 - alpha / 2)]
    p_lo, precision, p_hi = (float(x) for x in np.nanpercentile(p_draws, q))
    r_lo, recall, r_hi = (float(x) for x in np.nanpercentile(r_draws, q))
    p_int, r_int = (p_lo, p_hi), (r_lo, r_hi)
    return ReviewEstimate(
        precision=float(precision),
        precision_interval=p_int,  # type: ignore[arg-type]
        recall=float(recall),
        recall_interval=r_int,  # type: ignore[arg-type]
        n_reviewed=int(len(sure)),
        n_unsure=int((labels == "?").sum()),
        strata=table.reset_index(names="stratum"),
        alpha=alpha,
    )
