"""Clerical review: draw a sample of candidate pairs stratified by match weight, write it with both
records side by side for a reviewer, read the labels back and estimate precision and recall.

Design: stratified simple random sampling without replacement. Strata are match-weight bands crossed
with whether the pair was linked; the sample is allocated to strata in proportion to their size, with a
minimum per stratum (so small grey-zone strata are seen at all), and each reviewed pair stands for
1 / (its inclusion probability) = stratum size / reviewed pairs of its stratum. Point estimates are the
design's (Horvitz-Thompson) estimates: precision is unbiased, recall is a ratio of two unbiased totals.
Intervals are Korn-Graubard intervals (Clopper-Pearson at the design's effective sample size), with no
tuned constant and no use of the model's own probabilities to judge the model.
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
    "DEFAULT_MIN_PER_STRATUM",
    "DEFAULT_WEIGHT_EDGES",
    "ReviewEstimate",
    "allocate",
    "assign_strata",
    "draw_review_sample",
    "estimate_from_review",
    "read_review",
    "write_review_sample",
]

DEFAULT_WEIGHT_EDGES: tuple[float, ...] = (-10.0, -5.0, 0.0, 5.0, 10.0, 20.0)
DEFAULT_MIN_PER_STRATUM = 5
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


def allocate(
    sizes: Sequence[int] | np.ndarray, n: int, min_per_stratum: int = DEFAULT_MIN_PER_STRATUM
) -> np.ndarray:
    """Pairs to review per stratum: ``min(size, min_per_stratum)`` each, the rest of ``n`` in proportion to
    stratum size (largest remainders, never more than a stratum holds).

    When ``n`` cannot give every non-empty stratum its minimum, the minimum drops to ``n // strata`` (a
    warning says so). Deterministic: ties go to the earlier stratum.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if (sizes < 0).any():
        raise LinkageError(f"sizes must be non-negative, got {sizes.tolist()}")
    if min_per_stratum < 0:
        raise LinkageError(f"min_per_stratum must be >= 0, got {min_per_stratum!r}")
    n = int(min(n, sizes.sum()))
    filled = int((sizes > 0).sum())
    floor = min_per_stratum
    if filled and floor * filled > n:
        floor = n // filled
        logger.warning(
            "review of %d pairs cannot give %d strata %d pairs each; minimum lowered to %d",
            n,
            filled,
            min_per_stratum,
            floor,
        )
    take = np.minimum(sizes, floor)
    remaining = n - int(take.sum())
    while remaining > 0:
        room = sizes - take
        open_ = room > 0
        share = remaining * np.where(open_, sizes, 0) / sizes[open_].sum()
        add = np.minimum(np.floor(share).astype(np.int64), room)
        left = remaining - int(add.sum())
        if left > 0:  # largest remainders first (stable: earlier stratum wins a tie)
            frac = np.where(open_ & (add < room), share - np.floor(share), -1.0)
            order = np.argsort(-frac, kind="stable")[:left]
            add[order[frac[order] >= 0]] += 1
        if add.sum() == 0:
            break
        take += add
        remaining = n - int(take.sum())
    return take


def draw_review_sample(
    candidates: pd.DataFrame,
    n: int,
    strata: Sequence[float] = DEFAULT_WEIGHT_EDGES,
    seed: int = 0,
    exclude_below: float | None = DEFAULT_WEIGHT_EDGES[0],
    min_per_stratum: int = DEFAULT_MIN_PER_STRATUM,
) -> pd.DataFrame:
    """A stratified random sample of ``n`` candidate pairs for clerical review: strata are match-weight
    bands x linked/unlinked; each gets ``min_per_stratum`` pairs (or all it has) and the rest of ``n`` is
    allocated in proportion to stratum size (:func:`allocate`). ``sampling_fraction`` is each pair's
    inclusion probability (stratum_sampled / stratum_size).

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
    take = allocate(sizes, int(n), min_per_stratum)
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
    Point estimates are the stratified (Horvitz-Thompson) estimates: each reviewed pair weighs
    stratum size / reviewed pairs in its stratum (the inverse of its inclusion probability). Intervals are
    Korn-Graubard intervals at ``1 - alpha`` (see :func:`estimate_from_review`); a full census is exact.
    ``strata``: per stratum N (pairs), n (reviewed Y/N), matches (Y), the match rate, the inclusion weight
    N/n and the estimated number of matches. ``effective_n``: the effective sample sizes behind the
    precision and recall intervals.
    """

    precision: float
    precision_interval: tuple[float, float]
    recall: float
    recall_interval: tuple[float, float]
    n_reviewed: int
    n_unsure: int
    strata: pd.DataFrame
    alpha: float
    effective_n: tuple[float, float] = (np.nan, np.nan)
    method: str = (
        "stratified Horvitz-Thompson estimate; Korn-Graubard (Clopper-Pearson at the design-effective "
        "sample size) interval"
    )


def estimate_from_review(
    review: pd.DataFrame,
    candidates: pd.DataFrame,
    alpha: float = 0.05,
    seed: int | None = None,
) -> ReviewEstimate:
    """Precision and recall of the links, with intervals, from a reviewed sample.

    Each stratum's match rate is the share of its reviewed pairs labelled Y ('?' are left out, i.e. taken
    to be like the stratum's other pairs); the stratum's size N comes from ``candidates`` (strata
    recomputed with the review's band edges), so each reviewed pair stands for N / n pairs: the estimated
    matches of a stratum are N x Y / n, precision is the estimated matches among linked pairs over the
    (known) number of linked pairs (design-unbiased), and recall is that over the estimated matches of
    every stratum (a ratio of two unbiased totals). Unlinked pairs below the sample's ``excluded_below``
    weight count as non-matches. A stratum with pairs but no Y/N label has no design estimate: its rate
    is taken as 1/2 (a warning names it).

    Intervals (Korn & Graubard 1998, the NCHS rule for survey proportions): the stratified variance with
    finite-population correction (linearised for recall) gives an effective sample size
    ``n* = p(1 - p) / var``, at most the number of reviewed pairs behind the estimate, and the interval is
    Clopper-Pearson's for ``n* p`` successes in ``n*``. Where every reviewed stratum is all Y or all N the
    variance is 0 and ``n*`` is that number of reviewed pairs over (1 - their share of the pairs they stand
    for), so an all-Y review of 300 links still leaves room for errors among the unreviewed ones, and a
    full census is exact. No prior and no tuned constant; the model's probabilities are not used.
    ``seed`` is accepted for old callers and unused (the estimate is deterministic).
    """
    _require(review, ["stratum", "stratum_low", "stratum_high", "reviewer_label"], "review")
    if not 0 < alpha < 1:
        raise LinkageError(f"alpha must be in (0, 1), got {alpha!r}")
    table = _review_strata(review, candidates)
    active = ~table["assumed_nonmatch"].to_numpy(bool)
    lk = table["linked"].to_numpy(bool)
    big = table["N"].to_numpy(float)
    n_h = table["n"].to_numpy(float)
    ybar = table["match_rate"].to_numpy(float)
    est = table["est_matches"].to_numpy(float)
    # Within-stratum variance of the 0/1 label (n - 1 denominator); one reviewed pair gives no estimate
    # of spread, so it is taken at its largest, 1/4. fpc: (1 - n/N), 0 for a census.
    s2 = np.where(n_h >= 2, ybar * (1 - ybar) * n_h / np.maximum(n_h - 1, 1), 0.25)
    fpc = np.where(big > 0, 1 - n_h / np.maximum(big, 1), 0.0)
    unit_var = np.where(n_h > 0, big**2 * fpc * s2 / np.maximum(n_h, 1), 0.0)  # var of N_h * ybar_h
    # Precision: p = sum_L N_h ybar_h / N_L, with N_L known.
    n_linked = float(big[lk].sum())
    precision = float(est[lk].sum() / n_linked) if n_linked else float("nan")
    var_p = float(unit_var[lk & active].sum() / n_linked**2) if n_linked else float("nan")
    n_rev_p = float(n_h[lk & active].sum())
    p_int, n_eff_p = _korn_graubard(precision, var_p, n_rev_p, float(big[lk & active].sum()), alpha)
    # Recall: r = Y_L / Y_A; linearised, each stratum's residual is (1{linked} - r) times its match count.
    y_all = float(est[active].sum())
    recall = float(est[lk].sum() / y_all) if y_all > 0 else float("nan")
    if y_all > 0:
        resid = np.where(lk, 1.0, 0.0) - recall
        var_r = float((resid**2 * unit_var)[active].sum() / y_all**2)
        yes_rev = float(table["matches"].to_numpy(float)[active].sum())
        r_int, n_eff_r = _korn_graubard(recall, var_r, yes_rev, y_all, alpha)
    else:
        r_int, n_eff_r = (float("nan"), float("nan")), float("nan")
    return ReviewEstimate(
        precision=precision,
        precision_interval=p_int,
        recall=recall,
        recall_interval=r_int,
        n_reviewed=int(table["n"].sum()),
        n_unsure=int((review["reviewer_label"].astype("string").str.strip().str.upper() == "?").sum()),
        strata=table.reset_index(names="stratum"),
        alpha=alpha,
        effective_n=(n_eff_p, n_eff_r),
    )


def _korn_graubard(
    p: float, var: float, n_reviewed: float, n_population: float, alpha: float
) -> tuple[tuple[float, float], float]:
    """Clopper-Pearson interval for proportion ``p`` at the effective sample size ``p(1-p)/var``, capped
    at ``n_reviewed``; with zero variance, ``n_reviewed / (1 - n_reviewed / n_population)`` (infinite,
    i.e. an exact interval, for a census)."""
    from scipy.stats import beta

    if not np.isfinite(p) or n_reviewed <= 0:
        return (float("nan"), float("nan")), float("nan")
    if var > 0:
        n_eff = min(p * (1 - p) / var, n_reviewed)
    else:
        share = n_reviewed / n_population if n_population > 0 else 1.0
        n_eff = n_reviewed / (1 - share) if share < 1 else np.inf
    if not np.isfinite(n_eff):
        return (p, p), float(n_eff)
    x = p * n_eff
    low = 0.0 if x <= 0 else float(beta.ppf(alpha / 2, x, n_eff - x + 1))
    high = 1.0 if x >= n_eff else float(beta.ppf(1 - alpha / 2, x + 1, n_eff - x))
    return (min(low, p), max(high, p)), float(n_eff)


def _review_strata(review: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """Per stratum: N (candidates), n (reviewed Y/N), matches (Y), linked, assumed_nonmatch, match_rate,
    weight (N / n, the inverse inclusion probability) and est_matches (the design estimate N x Y / n)."""
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
    unknown = sorted(set(sure["stratum"]) - set(big_n.index))
    if unknown:
        raise LinkageError(
            f"review strata {unknown} hold no candidates: was the review drawn from these candidates?"
        )
    yes = (labels[labels.isin(["Y", "N"])] == "Y").groupby(sure["stratum"]).sum()
    n_rev = sure.groupby("stratum").size()
    table = pd.DataFrame({"N": big_n}).join(pd.DataFrame({"n": n_rev, "matches": yes}), how="left").fillna(0)
    table["linked"] = linked_of.reindex(table.index).to_numpy(bool)
    table[["n", "matches"]] = table[["n", "matches"]].astype(int)
    table["assumed_nonmatch"] = table.index.str.contains("assumed non-matches", regex=False)
    unreviewed = table[(table["n"] == 0) & (table["N"] > 0) & ~table["assumed_nonmatch"]]
    if len(unreviewed):
        logger.warning(
            "strata with candidates but no Y/N label (rate taken as 1/2): %s", list(unreviewed.index)
        )
    n = table["n"].to_numpy(float)
    rate = np.where(n > 0, table["matches"] / np.maximum(n, 1), 0.5)
    rate = np.where(table["assumed_nonmatch"], 0.0, rate)
    table["match_rate"] = rate
    table["weight"] = np.where(n > 0, table["N"] / np.maximum(n, 1), np.nan)
    table["est_matches"] = table["N"] * rate
    return table
