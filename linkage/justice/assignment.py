"""Assignment: which scored pairs become links under the one-to-one constraints.

:func:`resolve_conflicts` keeps a maximum-score one-to-one assignment per connected component of the pair
graph; :func:`left_units` gives the left-hand unit each source is constrained on; :func:`ambiguous_crimes`
finds the records whose person is clear but whose crime the evidence cannot separate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from linkage.errors import LinkageError

__all__ = ["ambiguous_crimes", "left_units", "resolve_conflicts"]


def resolve_conflicts(left_pos: np.ndarray, right_pos: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Boolean mask of the pairs kept by a maximum-score one-to-one assignment.

    Pairs form a bipartite graph (left rows, right rows); each connected component is solved with
    ``scipy.optimize.linear_sum_assignment`` maximising the total score, so a conflict goes to the
    assignment with the best total, never to whichever pair came first. Scores must be positive.
    Components with one pair (the vast majority) are kept without solving.
    """
    left_pos = np.asarray(left_pos, dtype=np.int64)
    right_pos = np.asarray(right_pos, dtype=np.int64)
    score = np.asarray(score, dtype=float)
    n = len(score)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    if (score <= 0).any() or not np.isfinite(score).all():
        raise LinkageError("resolve_conflicts: scores must be finite and positive")
    lc, l_inv = np.unique(left_pos, return_inverse=True)
    rc, r_inv = np.unique(right_pos, return_inverse=True)
    n_l = len(lc)
    graph = coo_matrix((np.ones(n), (l_inv, n_l + r_inv)), shape=(n_l + len(rc), n_l + len(rc)))
    _, comp_of_node = connected_components(graph, directed=False)
    comp = comp_of_node[l_inv]
    sizes = np.bincount(comp)
    single = sizes[comp] == 1
    keep[single] = True
    multi = np.flatnonzero(~single)
    if len(multi) == 0:
        return keep
    order = multi[np.argsort(comp[multi], kind="stable")]
    comps = comp[order]
    bounds = np.flatnonzero(np.diff(comps)) + 1
    for group in np.split(order, bounds):
        li, l_local = np.unique(l_inv[group], return_inverse=True)
        ri, r_local = np.unique(r_inv[group], return_inverse=True)
        matrix = np.zeros((len(li), len(ri)))
        matrix[l_local, r_local] = score[group]
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        chosen = matrix[rows, cols] > 0
        lookup = {(a, b): g for a, b, g in zip(l_local, r_local, group, strict=True)}
        for a, b in zip(rows[chosen], cols[chosen], strict=True):
            keep[lookup[(a, b)]] = True
    return keep


def left_units(
    unit_within: str | None, lpos: np.ndarray, rpos: np.ndarray, right: pd.DataFrame
) -> np.ndarray:
    """The left-hand unit of the one-to-one constraint per pair.

    ``unit_within`` None (cautions, penalty notices): the crime-suspect (one record of a source each).
    Else a right-hand column (court outcomes: ``case_id``): the crime-suspect *within* each of its values,
    so one case's lines go to different crimes, while a crime-suspect can still appear in two cases (a
    magistrates' court sending the case to the Crown Court, then the Crown Court's result). See
    :attr:`linkage.justice.outcome_sources.OutcomeSource.unit_within`.
    """
    if unit_within is None:
        return lpos
    case = pd.factorize(right[unit_within].to_numpy()[rpos])[0].astype(np.int64)
    return pd.factorize(lpos * np.int64(case.max() + 1 if len(case) else 1) + case)[0].astype(np.int64)


def ambiguous_crimes(
    lpos: np.ndarray,
    rpos: np.ndarray,
    units: np.ndarray,
    keep: np.ndarray,
    weight: np.ndarray,
    person_probability: np.ndarray,
    match_probability: np.ndarray,
    threshold: float,
    person_threshold: float = 0.5,
    margin_bits: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Records whose person is clear but whose crime is not.

    A record left unlinked whose same-person candidates (person probability >= ``person_threshold``, two
    or more) together reach ``threshold`` (the evidence splits the record between crimes of one person):
    its best candidate whose crime-suspect is free is marked in the first mask (not linked: reported with
    its candidates). The second array names, per linked or marked pair, the other same-person candidate
    positions (left rows, ``;``-joined) within ``margin_bits`` of its weight, or ``""``: a linked pair with
    such a rival is flagged ambiguous.
    """
    n = len(lpos)
    new = np.zeros(n, dtype=bool)
    tied = np.full(n, "", dtype=object)
    if n == 0:
        return new, tied
    same = person_probability >= person_threshold
    linked_rec = np.zeros(int(rpos.max()) + 1, dtype=bool)
    linked_rec[rpos[keep]] = True
    taken = set(units[keep].tolist())
    frame = pd.DataFrame({"r": rpos, "w": weight, "p": match_probability, "i": np.arange(n)})[same]
    if len(frame):
        sizes = frame.groupby("r")["i"].transform("size").to_numpy()
        total = frame.groupby("r")["p"].transform("sum").to_numpy()
        open_ = ~linked_rec[frame["r"].to_numpy()] & (sizes >= 2) & (total >= threshold)
        cands = frame[open_].sort_values(["r", "w", "i"], ascending=[True, False, True], kind="mergesort")
        for _, group in cands.groupby("r", sort=True):
            for i in group["i"].to_numpy():
                if units[i] not in taken:
                    new[i] = True
                    taken.add(units[i])
                    break
    final = keep | new
    best_w = np.full(len(linked_rec), np.nan)
    best_w[rpos[final]] = weight[final]
    new_rec = np.zeros(len(linked_rec), dtype=bool)
    new_rec[rpos[new]] = True
    # rivals: same-person candidates near the linked pair's weight; for an unlinked record, all of them
    near = same & ~final & ((weight >= best_w[rpos] - margin_bits) | new_rec[rpos])
    if near.any():
        others = pd.Series(lpos[near].astype(str)).groupby(rpos[near]).agg(";".join)
        sel = np.flatnonzero(final & np.isin(rpos, others.index.to_numpy()))
        tied[sel] = others.reindex(rpos[sel]).to_numpy()
    return new, tied


def _count(pos: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per pair, how many ``mask`` pairs share its position (0 where the pair is not in ``mask``)."""
    counts = np.bincount(pos[mask], minlength=int(pos.max()) + 1 if len(pos) else 0)
    return np.where(mask, counts[pos] if len(pos) else 0, 0)
