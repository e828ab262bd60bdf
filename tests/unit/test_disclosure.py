"""Disclosure control: primary suppression, secondary suppression (checked by solving back), rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.errors import ConfigError
from linkage.evaluation.disclosure import (
    DisclosureSettings,
    audit_suppression,
    protect_counts,
    protect_rates,
    round_to_base,
)


def _brute_force_values(cells: np.ndarray, hidden: np.ndarray) -> dict[tuple[int, int], set[int]]:
    """Every integer value each hidden cell can take given the published cells and row/column totals.

    Independent of the library's linear programme: enumerate every non-negative integer filling of the
    hidden cells (each at most what its row and column leave over) and keep those matching every total.
    """
    row_tot, col_tot = cells.sum(axis=1), cells.sum(axis=0)
    row_left = np.where(hidden, cells, 0).sum(axis=1)
    col_left = np.where(hidden, cells, 0).sum(axis=0)
    pos = list(zip(*np.nonzero(hidden), strict=True))
    grids = np.meshgrid(*[np.arange(min(row_left[i], col_left[j]) + 1) for i, j in pos], indexing="ij")
    combos = np.stack([g.ravel() for g in grids], axis=1)
    ok = np.ones(len(combos), bool)
    published = np.where(hidden, 0, cells)
    for i in range(cells.shape[0]):
        cols = [k for k, (r, _) in enumerate(pos) if r == i]
        ok &= combos[:, cols].sum(axis=1) + published[i].sum() == row_tot[i]
    for j in range(cells.shape[1]):
        cols = [k for k, (_, c) in enumerate(pos) if c == j]
        ok &= combos[:, cols].sum(axis=1) + published[:, j].sum() == col_tot[j]
    return {p: set(combos[ok, k].tolist()) for k, p in enumerate(pos)}


def test_hand_example_secondary_pattern():
    # One small cell (a, y) = 3. Derived by hand from the rule "no published row or column hides exactly
    # one cell; complement = smallest non-zero cell, preferring a line that already hides one":
    # row a -> (a, x) = 20; column y -> (b, y) = 25; column x then hides one -> (b, x) = 15 (row b hides).
    t = pd.DataFrame([[20, 3, 40], [15, 25, 30], [50, 60, 70]], index=list("abc"), columns=list("xyz"))
    p = protect_counts(t, DisclosureSettings(threshold=10, rounding_base=1))
    hidden = {(r, c) for r in "abc" for c in "xyz" if p.suppressed.loc[r, c]}
    assert hidden == {("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")}
    assert not p.suppressed.loc["Total"].any() and not p.suppressed["Total"].any()
    assert p.table.loc["Total", "Total"] == 313  # 63 + 70 + 180, unrounded with base 1
    actions = p.log["action"].value_counts()
    assert actions["primary suppression"] == 1
    assert actions["secondary suppression"] == 3


def test_suppressed_cells_cannot_be_solved_back_brute_force():
    t = pd.DataFrame([[4, 12, 30], [11, 2, 25], [40, 13, 16]])
    p = protect_counts(t, DisclosureSettings(threshold=10, rounding_base=1))
    hidden = p.suppressed.iloc[:3, :3].to_numpy()
    assert hidden.sum() >= 4  # two primary cells (4 and 2) plus their complements
    feasible = _brute_force_values(t.to_numpy(), hidden)
    for cell, values in feasible.items():
        assert len(values) > 1, f"cell {cell} recoverable: only {values} fit the totals"
        assert t.to_numpy()[cell] in values


@pytest.mark.parametrize("seed", range(12))
def test_random_tables_no_small_cell_survives_and_none_recoverable(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 40, size=(5, 6))
    small_mask = rng.random((5, 6)) < 0.3
    values[small_mask] = rng.integers(1, 10, size=int(small_mask.sum()))
    t = pd.DataFrame(values)
    s = DisclosureSettings(threshold=10, rounding_base=5)
    p = protect_counts(t, s)
    inner = p.suppressed.iloc[:5, :6].to_numpy()
    small = (values > 0) & (values < 10)
    assert inner[small].all(), "a cell under the threshold was published"
    published = p.table.iloc[:5, :6].to_numpy()[~inner]
    assert all(v % 5 == 0 for v in published)
    audit = audit_suppression(values, inner)
    assert not audit["exposed"].any(), audit[audit["exposed"]]


def _audit_published(t: pd.DataFrame, p) -> pd.DataFrame:
    """The intruder's LP bounds for every hidden cell AND hidden total of a protected table."""
    n, m = t.shape
    s = p.suppressed
    return audit_suppression(
        t,
        s.iloc[:n, :m].to_numpy(),
        row_totals_hidden=s.iloc[:n, m].to_numpy(),
        col_totals_hidden=s.iloc[n, :m].to_numpy(),
        grand_hidden=bool(s.iloc[n, m]),
    )


def test_small_margins_are_suppressed_and_not_recoverable():
    # r1 total 5 < 10 is withheld; before the fix it was 95 - 90 = 5 from the published r2 total and the
    # grand total, so another row total (or the grand total) must go too.
    t = pd.DataFrame([[3, 2], [40, 50]], index=["r1", "r2"], columns=["c1", "c2"])
    p = protect_counts(t, DisclosureSettings(threshold=10, rounding_base=1))
    assert p.suppressed.loc["r1", "Total"]  # 5 < 10
    assert p.suppressed.loc["r1", "c1"] and p.suppressed.loc["r1", "c2"]
    audit = _audit_published(t, p)
    assert ("r1", "Total") in set(zip(audit["row"], audit["column"], strict=True))
    assert ((audit["upper"] - audit["lower"]) > 0).all() and not audit["exposed"].any(), audit


def test_no_complement_cell_hides_totals_once_each():
    # Reviewer's demo: r1 = (0, 7). The zero cannot be a complement, so the r1 total (7 < 10) was hidden
    # yet 156 - 36 - 16 - 41 - 56 = 7 recovered it (and so r1/c1 = 7), with the same log line 8 times.
    t = pd.DataFrame({"c0": [27, 0, 7, 26, 31], "c1": [9, 7, 9, 15, 25]})
    p = protect_counts(t, DisclosureSettings(rounding_base=1), name="demo")
    audit = _audit_published(t, p)
    assert p.suppressed.iloc[1, 2] and p.suppressed.iloc[1, 1]
    assert ((audit["upper"] - audit["lower"]) > 0).all() and not audit["exposed"].any(), audit
    keys = p.log[["row", "column", "action"]].apply(tuple, axis=1)
    assert not keys.duplicated().any(), p.log[keys.duplicated(keep=False)]


@pytest.mark.parametrize("seed", range(20))
def test_random_tables_hidden_totals_not_recoverable(seed):
    # Sparse tables with small rows/columns, so row and column totals fall under the threshold too.
    rng = np.random.default_rng(100 + seed)
    shape = (int(rng.integers(2, 6)), int(rng.integers(2, 5)))
    values = rng.integers(0, 30, size=shape)
    values[rng.random(shape) < 0.35] = 0
    values[rng.random(shape) < 0.3] = rng.integers(1, 10)
    t = pd.DataFrame(values)
    p = protect_counts(t, DisclosureSettings(threshold=10, rounding_base=1))
    audit = _audit_published(t, p)
    assert not audit["exposed"].any(), (values, audit[audit["exposed"]])
    assert len(audit) == int(p.suppressed.to_numpy().sum()), "audit must cover every hidden total"
    assert ((audit["upper"] - audit["lower"]) > 0).all()


def test_zero_cells_published_unless_asked():
    t = pd.DataFrame([[0, 30], [20, 40]])
    assert not protect_counts(t).suppressed.iloc[0, 0]
    assert protect_counts(t, DisclosureSettings(suppress_zeros=True)).suppressed.iloc[0, 0]


def test_round_to_base_half_up():
    # nearest multiple, halves up: 12 -> 10, 13 -> 15, 15 -> 15; base 10: 15 -> 20, 25 -> 30, 24 -> 20
    assert round_to_base([0, 1, 2, 3, 7, 12, 13, 15], 5).tolist() == [0, 0, 0, 5, 5, 10, 15, 15]
    assert round_to_base([15, 25, 24], 10).tolist() == [20, 30, 20]


def test_rounding_logged_without_original_values():
    t = pd.DataFrame([[12, 33], [27, 48]], index=["a", "b"], columns=["x", "y"])
    p = protect_counts(t, DisclosureSettings(threshold=10, rounding_base=5), name="t")
    assert p.table.loc["a", "x"] == 10 and p.table.loc["b", "y"] == 50
    rounded = p.log[p.log["action"] == "rounded"]
    assert len(rounded) == 1 and "4 cell(s) changed" in rounded["reason"].iloc[0]
    text = p.log.to_string()
    for original in ("12", "33", "27", "48"):
        assert original not in text


def test_protect_rates_numerator_complement_and_extra_mask():
    r = pd.DataFrame(
        {
            "g": ["a", "b", "c", "d"],
            "count": [3, 50, 95, 40],
            "n": [100, 100, 100, 100],
            "rate": [0.03, 0.5, 0.95, 0.4],
        }
    )
    out, log = protect_rates(
        r, DisclosureSettings(threshold=10, rounding_base=5), extra_mask=[False, False, False, True]
    )
    assert out["rate"].isna().tolist() == [True, False, True, True]
    assert out["count"].isna().tolist() == [True, False, True, True]
    assert set(log["action"]) == {"primary suppression", "secondary suppression", "rounded"}


def test_settings_report_every_problem():
    with pytest.raises(ConfigError) as err:
        DisclosureSettings(threshold=0, rounding_base=-5, suppress_zeros="yes")
    assert len(err.value.problems) == 3
    joined = " ".join(err.value.problems)
    assert "threshold" in joined and "0" in joined and "-5" in joined and "'yes'" in joined
    with pytest.raises(ConfigError, match="colour"):
        DisclosureSettings.from_dict({"colour": 1})


def test_published_rates_come_from_rounded_counts():
    # Reviewer's case: 1407 / 1424 = 0.988062 printed to 6 figures gave both counts back although they
    # were published as 1405 / 1425. The published rate must be 1405 / 1425 = 0.98596 -> 0.986 (3 dp),
    # and its interval the Wilson interval of the rounded counts.
    r = pd.DataFrame({"g": ["cautions"], "count": [1407], "n": [1424]})
    r["rate"] = r["count"] / r["n"]
    r["lower"], r["upper"] = 0.0, 1.0
    out, _ = protect_rates(r, DisclosureSettings(threshold=10, rounding_base=5))
    assert out["count"].iloc[0] == 1405 and out["n"].iloc[0] == 1425
    assert out["rate"].iloc[0] == 0.986
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(1405, 1425, method="wilson")
    assert out["lower"].iloc[0] == round(lo, 3) and out["upper"].iloc[0] == round(hi, 3)


def test_protect_rates_checks_further_ratios_on_their_own_counts():
    # precision tp / n_links, recall tp / n_true. Row a: recall 308/310 has 2 missed (complement < 10)
    # so recall is withheld (and tp with it) but precision 308/330 (22 false links) stays. Row b:
    # precision 824/825 (1 false link) is the main rate: the whole row goes.
    q = pd.DataFrame(
        {
            "source": ["a", "b"],
            "tp": [308, 824],
            "n_links": [330, 825],
            "n_true": [310, 900],
        }
    )
    q["precision"] = q["tp"] / q["n_links"]
    q["recall"] = q["tp"] / q["n_true"]
    out, log = protect_rates(
        q,
        DisclosureSettings(threshold=10, rounding_base=5),
        count="tp",
        n="n_links",
        value_columns=("precision",),
        ratios={"recall": ("tp", "n_true")},
    )
    assert out["precision"].tolist()[0] == round(310 / 330, 3)  # rounded counts 310 / 330
    assert np.isnan(out["recall"].iloc[0]) and out["tp"].isna().all()
    assert out["precision"].isna().iloc[1] and out["recall"].isna().iloc[1]
    assert (log["action"] == "primary suppression").sum() == 2
    assert sorted(log["row"].tolist()[:2]) == ["a", "b"]  # labels only: no rate or count in the log
