"""Disclosure control: primary suppression, secondary suppression (checked by solving back), rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.errors import ConfigError
from linkage.evaluation.disclosure import (
    DisclosureSettings,
    PublishedCells,
    audit_suppression,
    audit_tables,
    protect_counts,
    protect_rates,
    round_to_base,
    widen_across_tables,
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


# ---------------------------------------------------------------------------------- across tables
def _cells(by: tuple[str, ...], rows: list[tuple], hidden: set) -> PublishedCells:
    frame = pd.DataFrame(rows, columns=list(by))
    frame["hidden"] = [tuple(r) in hidden for r in rows]
    return PublishedCells("t", by, frame)


def _lsoa_finest(unlocated: tuple[int, int] = (0, 0)) -> pd.DataFrame:
    # Crimes with and without action by LSOA (hand-made). L1 has 4 crimes with action (under 10).
    rows = [
        ("L1", "yes", 4),
        ("L1", "no", 30),
        ("L2", "yes", 25),
        ("L2", "no", 40),
        ("L3", "yes", 30),
        ("L3", "no", 35),
        ("none", "yes", unlocated[0]),
        ("none", "no", unlocated[1]),
    ]
    return pd.DataFrame(rows, columns=["lsoa", "action", "count"])


def _lsoa_tables(hidden_action: set) -> list[PublishedCells]:
    lsoas = [("L1",), ("L2",), ("L3",)]
    action = PublishedCells(
        "lsoa_action",
        ("lsoa", "action"),
        pd.DataFrame(
            {"lsoa": ["L1", "L2", "L3"], "action": "yes", "hidden": [s in hidden_action for s in lsoas]}
        ),
    )
    crimes = PublishedCells(
        "lsoa_crimes", ("lsoa",), pd.DataFrame({"lsoa": ["L1", "L2", "L3"], "hidden": False})
    )
    mix = PublishedCells("mix", ("action",), pd.DataFrame({"action": ["yes", "no"], "hidden": False}))
    grand = PublishedCells("headline", (), pd.DataFrame({"hidden": [False]}))
    return [action, crimes, mix, grand]


def test_audit_tables_lsoa_cell_recovered_from_the_area_total():
    # The LSOA table withholds L1's 4 crimes with action, but the outcome mix publishes 59 crimes with
    # action in the area and L2, L3 show 25 and 30: 59 - 25 - 30 = 4. Each table alone is safe.
    audit = audit_tables(_lsoa_finest(), _lsoa_tables({("L1",)}))
    row = audit.set_index("cell").loc["L1 / yes"]
    assert bool(row["exposed"]) and row["lower"] == pytest.approx(4) and row["upper"] == pytest.approx(4)
    # Withholding L2 as well: L1 + L2 = 29 with L1 <= 34 crimes, so L1 could be anything from 0 to 29.
    safe = audit_tables(_lsoa_finest(), _lsoa_tables({("L1",), ("L2",)})).set_index("cell")
    assert not safe["exposed"].any()
    assert (safe.loc["L1 / yes", "lower"], safe.loc["L1 / yes", "upper"]) == pytest.approx((0, 29))
    # Crimes with no LSOA (6 with action, 10 without; in the totals but in no LSOA row) blur the
    # difference: L1 + unlocated = 10, so L1 lies in [0, 10].
    blurred = audit_tables(_lsoa_finest((6, 10)), _lsoa_tables({("L1",)})).set_index("cell")
    assert not blurred["exposed"].any()
    assert (blurred.loc["L1 / yes", "lower"], blurred.loc["L1 / yes", "upper"]) == pytest.approx((0, 10))


def test_widen_across_tables_withholds_the_smallest_complement():
    tables = _lsoa_tables({("L1",)})
    widened, added = widen_across_tables(_lsoa_finest(), tables, "lsoa_action")
    # L2 (25) is smaller than L3 (30), so it is the one withheld; then nothing is exposed.
    assert added == ["lsoa_action: L2 / yes"]
    assert widened[0].hidden["hidden"].tolist() == [True, True, False]
    assert not audit_tables(_lsoa_finest(), widened)["exposed"].any()


def test_widen_across_tables_withholds_whole_rows_when_a_denominator_is_exposed():
    # Every crime here has an LSOA (no "none" row, so the intruder knows there are no others). L1's
    # crimes are withheld as well as its count, but the headline total (164) minus L2 (65) and L3 (65)
    # gives them back: 34 (and then L1's 4 with action as well). Withholding another action count
    # protects the 4 but not the 34: a second crimes figure has to go too.
    finest = _lsoa_finest().query("lsoa != 'none'")
    tables = _lsoa_tables({("L1",)})
    tables[1] = PublishedCells(
        "lsoa_crimes", ("lsoa",), pd.DataFrame({"lsoa": ["L1", "L2", "L3"], "hidden": [True, False, False]})
    )
    audit = audit_tables(finest, tables).set_index("cell")
    assert audit.loc["L1", "exposed"] and audit.loc["L1", "lower"] == pytest.approx(34)
    widened, added = widen_across_tables(finest, tables, ("lsoa_action", "lsoa_crimes"))
    assert added == ["lsoa_action: L2 / yes", "lsoa_crimes: L2"]  # L2 (65 crimes) ties L3; first wins
    assert widened[1].hidden["hidden"].tolist() == [True, True, False]
    assert not audit_tables(finest, widened)["exposed"].any()


def test_audit_tables_outcome_labels_against_group_totals():
    # Labels within the out-of-court disposal group: cautions 40, penalty notices 30, drugs warnings 3.
    # The label table withholds the drugs warnings; the outcome mix publishes the group (73): exposed.
    finest = pd.DataFrame(
        {
            "label": ["caution", "pnd", "drugs warning", "charged"],
            "group": ["oocd", "oocd", "oocd", "charged"],
            "count": [40, 30, 3, 200],
        }
    )
    labels = PublishedCells(
        "labels",
        ("label",),
        pd.DataFrame({"label": ["caution", "pnd", "drugs warning", "charged"], "hidden": [0, 0, 1, 0]}),
    )
    groups = PublishedCells("mix", ("group",), pd.DataFrame({"group": ["oocd", "charged"], "hidden": False}))
    audit = audit_tables(finest, [labels, groups])
    assert audit["cell"].tolist() == ["drugs warning"] and audit["exposed"].all()
    # The label table alone (with its grand total, as the public-vs-linked table shows) exposes it too:
    grand = PublishedCells("n", (), pd.DataFrame({"hidden": [False]}))
    assert audit_tables(finest, [labels, grand])["exposed"].all()
    # Without either total, nothing links the withheld label to the published ones.
    assert not audit_tables(finest, [labels])["exposed"].any()


def test_audit_tables_crime_type_table_and_outcome_mix_agree():
    # A crime type x outcome table protected on its own, then its published pattern audited together
    # with an outcome mix that publishes the same column totals: the mix adds nothing, so nothing the
    # count table withheld is exposed. If the mix published a column total the count table withheld,
    # the audit would say so (second half).
    counts = pd.DataFrame(
        {"charged": [3, 40, 25], "oocd": [30, 2, 41], "closed": [50, 60, 7]}, index=["A", "B", "C"]
    )
    prot = protect_counts(counts, DisclosureSettings(threshold=10, rounding_base=1))
    long = counts.stack().rename("count").rename_axis(["type", "group"]).reset_index()
    sup = prot.suppressed
    cell_rows = [(t, g) for t in counts.index for g in counts.columns]
    cells = _cells(("type", "group"), cell_rows, {(t, g) for t, g in cell_rows if sup.at[t, g]})
    rows = PublishedCells(
        "rows", ("type",), pd.DataFrame({"type": counts.index, "hidden": sup["Total"].iloc[:-1].to_numpy()})
    )
    cols_hidden = sup.loc["Total"].iloc[:-1].to_numpy()
    cols = PublishedCells("cols", ("group",), pd.DataFrame({"group": counts.columns, "hidden": cols_hidden}))
    mix = PublishedCells("mix", ("group",), pd.DataFrame({"group": counts.columns, "hidden": False}))
    assert sup.to_numpy()[:3, :3].sum() >= 4  # primary (3, 2, 7) and their complements
    assert not audit_tables(long, [cells, rows, cols, mix])["exposed"].any()
    # Hand-made leak: a table that withholds all of row A and B's charged cell but publishes B's row
    # total (102), B's other cells (2, 60) and all of row C, next to a mix publishing every column total
    # (68, 73, 117). B charged = 102 - 2 - 60 = 40, then A charged = 68 - 40 - 25 = 3, A oocd =
    # 73 - 2 - 41 = 30 and A closed = 117 - 60 - 7 = 50: every withheld cell comes back.
    hide = {("A", "charged"), ("A", "oocd"), ("A", "closed"), ("B", "charged")}
    b_row = PublishedCells("rows", ("type",), pd.DataFrame({"type": ["B"], "hidden": [False]}))
    leak = audit_tables(long, [_cells(("type", "group"), cell_rows, hide), b_row, mix])
    exposed = leak[leak["exposed"]]
    assert set(exposed["cell"]) == {" / ".join(c) for c in hide}
    assert exposed.set_index("cell").loc["A / charged", "lower"] == pytest.approx(3)


def test_audit_tables_a_withheld_zero_is_exposed_only_when_zeros_are_sensitive():
    # Labels 40 and 0 (the 0 withheld because the other view had a small count there) with the total
    # 40 published: the withheld label can only be 0. That is exposed in the strict sense, but no more
    # than publishing the zero, which the default settings do (suppress_zeros false).
    finest = pd.DataFrame({"label": ["caution", "fine"], "count": [40, 0]})
    labels = PublishedCells(
        "labels", ("label",), pd.DataFrame({"label": ["caution", "fine"], "hidden": [0, 1]})
    )
    total = PublishedCells("n", (), pd.DataFrame({"hidden": [False]}))
    assert audit_tables(finest, [labels, total])["exposed"].all()
    assert not audit_tables(finest, [labels, total], zeros_safe=True)["exposed"].any()
