"""Compiled (numba) per-pair kernels of the scoring, fused so each pair is read once.

Only sums, table lookups and float32 stores happen here: the transcendental steps (``log2`` of term
frequencies, ``exp2``, ``logaddexp2``) stay in numpy, whose (SIMD) implementations the outputs were
fixed with, so the results are bit-identical to the numpy path (same additions in the same order).
Every kernel is ``nogil``: the chunks of :func:`linkage.engine.kernels.run_chunks` run in parallel.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "emit_join_pairs",
    "padded_tables",
    "pairs_increasing",
    "score_levels",
    "sum_lookups",
]


def padded_tables(tables: list[np.ndarray]) -> np.ndarray:
    """Weight tables as one float64 ``(k, 1 + longest)`` array; column 0 (read by level -1, missing)
    is 0.0, so ``out[j, level + 1]`` is comparison ``j``'s weight."""
    width = 1 + max((len(t) for t in tables), default=0)
    out = np.zeros((len(tables), width), dtype=np.float64)
    for j, t in enumerate(tables):
        out[j, 1 : 1 + len(t)] = t
    return out


@numba.njit(nogil=True, cache=True)
def score_levels(
    codes: np.ndarray,
    tables: np.ndarray,
    prior: float,
    tf_row: np.ndarray,
    tf_mask: np.ndarray,
    tf_bits: np.ndarray,
    bf: np.ndarray,
    total: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Per pair ``i`` (columns of the ``(k, n)`` int8 ``codes``): comparison ``j``'s weight
    ``tables[j, codes[j, i] + 1]``, less ``tf_bits[r, i]`` where ``r = tf_row[j] >= 0`` and
    ``tf_mask[r, i]`` (the term-frequency adjustment), stored as float32 in ``bf[j, i]``; ``total[i]`` =
    ``prior`` plus the float64 weights, added in comparison order."""
    k, n = codes.shape
    for i in range(n):
        acc = prior
        for j in range(k):
            w = tables[j, codes[j, i] + 1]
            r = tf_row[j]
            if r >= 0 and tf_mask[r, i]:
                w -= tf_bits[r, i]
            acc += w
            bf[j, i] = np.float32(w)
        total[i] = acc


@numba.njit(nogil=True, cache=True)
def sum_lookups(codes: np.ndarray, tables: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """``out[i]`` = 0.0 plus ``tables[j, codes[j, i] + 1]`` over comparisons ``j``, in order."""
    k, n = codes.shape
    for i in range(n):
        acc = 0.0
        for j in range(k):
            acc += tables[j, codes[j, i] + 1]
        out[i] = acc


@numba.njit(nogil=True, cache=True)
def emit_join_pairs(
    order: np.ndarray,
    start: np.ndarray,
    counts: np.ndarray,
    first: np.ndarray,
    lo: int,
    hi: int,
    left_pos: np.ndarray,
    right_pos: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """For left rows ``i`` in ``[lo, hi)``: ``counts[i]`` pairs written from ``first[i]`` on, left
    ``i`` and right ``order[start[i] + k]`` for ``k < counts[i]`` (a sort join's output, written into
    preallocated arrays with no temporaries)."""
    for i in range(lo, hi):
        p = first[i]
        s = start[i]
        for k in range(counts[i]):
            left_pos[p + k] = i
            right_pos[p + k] = order[s + k]


@numba.njit(nogil=True, cache=True)
def pairs_increasing(left_pos: np.ndarray, right_pos: np.ndarray) -> bool:  # pragma: no cover - compiled
    """Whether the pairs are strictly increasing in (left, right) order (sorted and distinct)."""
    for i in range(1, len(left_pos)):
        a, b = left_pos[i - 1], left_pos[i]
        if b < a or (b == a and right_pos[i] <= right_pos[i - 1]):
            return False
    return True


@numba.njit(nogil=True, cache=True)
def nearest_bounds(
    day: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    rank_a: np.ndarray,
    rank_b: np.ndarray,
    capped: np.ndarray,
    k: int,
    lo_a: np.ndarray,
    hi_a: np.ndarray,
    lo_b: np.ndarray,
    hi_b: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """For each right row ``j`` with a sorted ``day[seg_start[j]:seg_end[j]]``: the whole segment unless
    ``capped[j]``, else the rows whose distance to the nearer of ``rank_a[j]`` and ``rank_b[j]`` is no more
    than the ``k``-th nearest's (ties at that distance all kept; one anchor: give it twice). Written as
    two runs of the sorted days, ``[lo_a, hi_a)`` and ``[lo_b, hi_b)``, the second empty when they
    overlap (the first is then their union). The ``k`` nearest lie within ``k`` places of where either
    anchor sorts in, so only those distances are sorted."""
    for j in range(len(seg_start)):
        s, e = seg_start[j], seg_end[j]
        lo_b[j], hi_b[j] = s, s
        if not capped[j] or e - s <= k:
            lo_a[j], hi_a[j] = s, e
            continue
        ta, tb = rank_a[j], rank_b[j]
        seg = day[s:e]
        ia, ib = np.searchsorted(seg, ta), np.searchsorted(seg, tb)
        a0, a1 = max(0, ia - k), min(e - s, ia + k)
        b0, b1 = max(0, ib - k), min(e - s, ib + k)
        n = (a1 - a0) + (b1 - b0)
        gaps = np.empty(n, dtype=np.int64)
        m = 0
        for i in range(a0, a1):
            gaps[m] = min(abs(seg[i] - ta), abs(seg[i] - tb))
            m += 1
        for i in range(b0, b1):
            if a0 <= i < a1:
                continue  # the same row once
            gaps[m] = min(abs(seg[i] - ta), abs(seg[i] - tb))
            m += 1
        gaps = gaps[:m]
        gaps.sort()
        kth = gaps[k - 1]
        la = np.searchsorted(seg, ta - kth, side="left")
        ha = np.searchsorted(seg, ta + kth, side="right")
        lb = np.searchsorted(seg, tb - kth, side="left")
        hb = np.searchsorted(seg, tb + kth, side="right")
        if lb < la:
            la, ha, lb, hb = lb, hb, la, ha
        if lb <= ha:  # overlapping or touching: one run
            lo_a[j], hi_a[j] = s + la, s + max(ha, hb)
        else:
            lo_a[j], hi_a[j] = s + la, s + ha
            lo_b[j], hi_b[j] = s + lb, s + hb
