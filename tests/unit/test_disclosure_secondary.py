"""Disclosure control on hand-made tables: secondary suppression checked by an intruder's bounds.

Complements tests/unit/test_disclosure.py (which audits with the library's own linear programme and a
brute force that assumes every total is published). Here an intruder's bounds are computed by a linear
programme written independently in this file, with hidden row, column and grand totals left out of the
equations: a hidden cell or total is recovered when its lowest and highest feasible values coincide.
Expected suppression patterns are derived by hand in each test from the rule in docs/disclosure.md
(threshold 10; no published row or column may hide exactly one cell; the complement is the smallest
non-zero cell, preferring a line that already hides one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from linkage.errors import LinkageError
from linkage.evaluation.disclosure import DisclosureSettings, protect_counts

SETTINGS = DisclosureSettings(threshold=10, rounding_base=1)


def intruder_bounds(cells: np.ndarray, suppressed: np.ndarray) -> dict[tuple, tuple[float, float]]:
    """(lowest, highest) value each hidden cell and hidden total can take given the published numbers.

    ``suppressed`` has the table's shape plus a Total row and column. The hidden interior cells are the
    unknowns (non-negative); each *published* row, column or grand total is an equation. Each bound is
    a linear programme (scipy ``linprog``), written here independently of the library's audit; count
    tables of this shape have whole-number vertices, so every whole number in a range is attainable.
    """
    n, m = cells.shape
    inner = suppressed[:n, :m]
    unknown = list(zip(*np.nonzero(inner), strict=True))
    index = {cell: k for k, cell in enumerate(unknown)}
    known = np.where(inner, 0, cells)

    def line(cells_in_line: list[tuple[int, int]]) -> tuple[np.ndarray, float]:
        coef = np.zeros(len(unknown))
        const = 0.0
        for cell in cells_in_line:
            if cell in index:
                coef[index[cell]] = 1.0
            else:
                const += known[cell]
        return coef, const

    rows = [[(i, j) for j in range(m)] for i in range(n)]
    cols = [[(i, j) for i in range(n)] for j in range(m)]
    everything = [(i, j) for i in range(n) for j in range(m)]
    equations, targets = [], []
    for i in range(n):
        if not suppressed[i, m]:
            coef, const = line(rows[i])
            equations.append(coef)
            targets.append(cells[i].sum() - const)
    for j in range(m):
        if not suppressed[n, j]:
            coef, const = line(cols[j])
            equations.append(coef)
            targets.append(cells[:, j].sum() - const)
    if not suppressed[n, m]:
        coef, const = line(everything)
        equations.append(coef)
        targets.append(cells.sum() - const)
    objectives: dict[tuple, tuple[np.ndarray, float]] = {}
    for cell in unknown:
        coef = np.zeros(len(unknown))
        coef[index[cell]] = 1.0
        objectives[("cell", int(cell[0]), int(cell[1]))] = (coef, 0.0)
    for i in range(n):
        if suppressed[i, m]:
            objectives[("row", i)] = line(rows[i])
    for j in range(m):
        if suppressed[n, j]:
            objectives[("col", j)] = line(cols[j])
    if suppressed[n, m]:
        objectives[("grand",)] = line(everything)
    a_eq = np.array(equations) if equations else None
    b_eq = np.array(targets) if targets else None
    out = {}
    for key, (coef, const) in objectives.items():
        if not coef.any():  # a hidden total with no hidden cell: fixed by the published cells
            out[key] = (const, const)
            continue
        low = linprog(coef, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-coef, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert low.status == 0, (key, low.message)
        upper = np.inf if high.status == 3 else -high.fun + const  # 3: unbounded above
        out[key] = (low.fun + const, upper)
    return out


def _protect(rows: list[list[int]]):
    table = pd.DataFrame(rows)
    protected = protect_counts(table, SETTINGS)
    return table.to_numpy(), protected, protected.suppressed.to_numpy()


def _hidden_cells(suppressed: np.ndarray, n: int, m: int) -> set[tuple[int, int]]:
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(suppressed[:n, :m]), strict=True)}


def test_two_by_two_one_small_cell():
    # (0,1) = 4 is primary. Row 0 then hides one: complement (0,0) = 12. Column 1 hides one: (1,1) = 50.
    # Column 0 hides one: (1,0) = 30. All four hidden; totals 16, 80, 42, 54, 96 stay (all >= 10).
    # By hand, x00 = t gives x01 = 16 - t, x10 = 42 - t, x11 = 38 + t, so t runs over 0..16: 17 values.
    cells, protected, sup = _protect([[12, 4], [30, 50]])
    assert _hidden_cells(sup, 2, 2) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert not sup[2, :].any() and not sup[:, 2].any()
    bounds = intruder_bounds(cells, sup)
    assert bounds[("cell", 0, 1)] == pytest.approx((0, 16))
    assert bounds[("cell", 1, 1)] == pytest.approx((38, 54))


def test_two_small_cells_complements_meet_in_the_corners():
    # Primary (0,0) = 5 and (2,2) = 2. Row 0's complement: prefer column 2, which already hides (2,2):
    # (0,2) = 30. Column 0's: prefer row 2, which already hides one: (2,0) = 25. Every line then hides two.
    # By hand x00 = t: x02 = 35 - t, x20 = 30 - t, x22 = t - 3, so t runs over 3..30.
    cells, protected, sup = _protect([[5, 12, 30], [14, 11, 40], [25, 35, 2]])
    assert _hidden_cells(sup, 3, 3) == {(0, 0), (0, 2), (2, 0), (2, 2)}
    assert not sup[3, :].any() and not sup[:, 3].any()
    bounds = intruder_bounds(cells, sup)
    assert bounds[("cell", 0, 0)] == pytest.approx((3, 30))
    assert bounds[("cell", 2, 2)] == pytest.approx((0, 27))


@pytest.mark.parametrize(
    "rows",
    [
        [[3, 40, 50]],  # one row: column totals equal the cells
        [[3], [40], [50]],  # one column
        [[0, 3, 0], [0, 0, 40], [12, 0, 0]],  # a small cell alone among zeros (no complement in its lines)
        [[3, 4], [5, 6]],  # every cell small
        [[12, 4, 25], [30, 50, 33], [0, 0, 0]],  # an all-zero row
        [[9, 10, 11], [10, 9, 10], [11, 10, 9]],  # cells at the threshold
    ],
)
def test_no_hidden_cell_or_total_recoverable(rows):
    cells, protected, sup = _protect(rows)
    n, m = cells.shape
    small = (cells > 0) & (cells < SETTINGS.threshold)
    assert sup[:n, :m][small].all(), "a cell under the threshold was published"
    line_totals = np.concatenate([cells.sum(axis=1), cells.sum(axis=0)])
    hidden_totals = np.concatenate([sup[:n, m], sup[n, :m]])
    small_totals = (line_totals > 0) & (line_totals < SETTINGS.threshold)
    assert hidden_totals[small_totals].all(), "a total under the threshold was published"
    bounds = intruder_bounds(cells, sup)
    for key, (low, high) in bounds.items():
        truth = {
            "cell": lambda k: cells[k[1], k[2]],
            "row": lambda k: cells.sum(axis=1)[k[1]],
            "col": lambda k: cells.sum(axis=0)[k[1]],
            "grand": lambda k: cells.sum(),
        }[key[0]](key)
        assert low - 1e-9 <= truth <= high + 1e-9, (key, low, high)  # the real table is feasible
        assert high - low >= 1, f"{key} recovered: only {low} fits the published numbers"
    published = protected.table.to_numpy()[~sup]
    assert not pd.isna(published).any()


def test_hidden_small_cells_cannot_be_shown_small():
    # Group disclosure: (0,0) = 3 and (0,1) = 4 are both primary; hiding only each other in row 0 would
    # publish 57 - 50 = 7 as their sum, so an intruder would know both are under the threshold.
    cells, protected, sup = _protect([[3, 4, 50], [20, 30, 40], [25, 35, 45]])
    assert intruder_bounds(cells, sup)[("cell", 0, 0)][1] >= SETTINGS.threshold


def test_intruder_detects_a_recoverable_cell():
    """Not vacuous: hide only the small cell and its row's complement while publishing every total -
    column totals then give both back - and the intruder's bounds say so. Hiding the row 0 total, the
    column 1 total and the grand total as well leaves (0,0) pinned by the column 0 total (42 - 30) and
    (0,1) free."""
    cells = np.array([[12, 4], [30, 50]])
    sup = np.zeros((3, 3), dtype=bool)
    sup[0, 0] = sup[0, 1] = True
    bounds = intruder_bounds(cells, sup)
    assert bounds[("cell", 0, 1)] == pytest.approx((4, 4)) and bounds[("cell", 0, 0)] == pytest.approx(
        (12, 12)
    )
    sup[0, 2] = sup[2, 1] = sup[2, 2] = True
    bounds = intruder_bounds(cells, sup)
    assert bounds[("cell", 0, 0)] == pytest.approx((12, 12))  # 42 - 30
    assert bounds[("cell", 0, 1)][1] == np.inf and bounds[("row", 0)][1] == np.inf


@pytest.mark.parametrize("bad", [[[1, -2], [3, 4]], [[1.5, 2], [3, 4]], [["a", 2], [3, 4]]])
def test_bad_counts_are_a_workbench_error(bad):
    with pytest.raises(LinkageError, match="table 'bad'"):
        protect_counts(pd.DataFrame(bad), SETTINGS, name="bad")
