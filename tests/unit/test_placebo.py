"""Placebo tests in space and time, randomisation p-values and test-inversion intervals (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.evaluation.placebo import area_changes, area_month_panel, space_placebo, time_placebo


def _crimes(rng, n_areas=12, n_treated=2, effect=0.0, shock_sd=0.02, per_cell=40, months=12, go=6):
    """Crime rows with a 0/1 outcome: base 0.3, a random-walk shock per area, ``effect`` after go-live."""
    month_index = pd.date_range("2024-01-01", periods=months, freq="MS")
    walk = np.cumsum(rng.normal(0, shock_sd, (n_areas, months)), axis=1)
    treated = (np.arange(n_areas) < n_treated).astype(int)
    p = np.clip(0.3 + walk + effect * treated[:, None] * (np.arange(months) >= go)[None, :], 0, 1)
    a_idx = np.repeat(np.arange(n_areas), months * per_cell)
    m_idx = np.tile(np.repeat(np.arange(months), per_cell), n_areas)
    y = (rng.random(len(a_idx)) < p[a_idx, m_idx]).astype(float)
    names = np.array([f"A{a:02d}" for a in range(n_areas)])
    frame = pd.DataFrame(
        {"area": names[a_idx], "treated": treated[a_idx], "month": month_index[m_idx], "y": y}
    )
    return frame, month_index[go]


def test_estimate_is_difference_of_mean_area_changes():
    crimes, go = _crimes(np.random.default_rng(1), n_areas=4)
    changes = area_changes(area_month_panel(crimes, outcome="y"), go)
    res = space_placebo(crimes, outcome="y", go_live=go)
    t = changes["treated"] > 0
    assert res.estimate == pytest.approx(changes.loc[t, "change"].mean() - changes.loc[~t, "change"].mean())
    # Two trailblazers among four areas: six assignments, p never below 1/6, no finite 95% interval.
    assert res.n_placebos == 6 and res.min_p == pytest.approx(1 / 6)
    assert res.p_value >= 1 / 6 and not res.bounded
    assert res.placebos["actual"].sum() == 1


def test_randomisation_interval_has_its_nominal_coverage_and_size():
    rng = np.random.default_rng(7)
    cover, reject, widths = [], [], []
    for _ in range(120):
        crimes, go = _crimes(rng, effect=0.05, shock_sd=0.02, per_cell=30)
        res = space_placebo(crimes, outcome="y", go_live=go)
        assert res.n_placebos == 66 and res.bounded
        cover.append(res.covers(0.05))
        widths.append(res.ci_upper - res.ci_lower)
        null, _ = _crimes(rng, effect=0.0, shock_sd=0.02, per_cell=30)
        reject.append(space_placebo(null, outcome="y", go_live=go).p_value <= 0.05)
    # Exact under exchangeable areas: 95.5% with 66 assignments; 120 worlds give a Monte Carlo sd near 2%.
    assert 0.88 <= np.mean(cover) <= 1.0
    assert np.mean(reject) <= 0.10
    assert np.median(widths) < 0.3


def test_interval_excludes_zero_when_the_effect_is_large():
    crimes, go = _crimes(np.random.default_rng(3), effect=0.3, shock_sd=0.005, per_cell=200)
    res = space_placebo(crimes, outcome="y", go_live=go)
    assert res.p_value == pytest.approx(1 / 66)
    assert res.ci_lower > 0.1 and res.covers(0.3)


def test_time_placebo_uses_only_months_before_go_live():
    crimes, go = _crimes(np.random.default_rng(4), n_areas=4, effect=0.2, per_cell=100)
    res = time_placebo(crimes, outcome="y", go_live=go)
    # Six months before go-live, two needed before a pretend month: four pretend months plus the actual.
    assert res.n_placebos == 5
    assert res.placebos.loc[~res.placebos["actual"], "label"].tolist() == [
        "2024-03",
        "2024-04",
        "2024-05",
        "2024-06",
    ]
    assert res.p_value == pytest.approx(1 / 5)


def test_missing_columns_and_no_comparison_are_named():
    crimes, go = _crimes(np.random.default_rng(5), n_areas=3)
    with pytest.raises(KeyError, match="'z'"):
        space_placebo(crimes, outcome="z", go_live=go)
    with pytest.raises(ValueError, match="treated and comparison"):
        space_placebo(crimes.assign(treated=1), outcome="y", go_live=go)


def test_lead_choice_table_and_figure():
    from linkage.evaluation.placebo import lead_choice, placebo_figure, placebo_table

    few, go = _crimes(np.random.default_rng(6), n_areas=4)
    many, _ = _crimes(np.random.default_rng(6), n_areas=12)
    small, large = space_placebo(few, outcome="y", go_live=go), space_placebo(many, outcome="y", go_live=go)
    lead, why = lead_choice(small)
    assert lead == "cluster-robust DiD" and "0.17" in why
    assert lead_choice(large)[0] == "placebo in space"
    table = placebo_table([small, large, time_placebo(few, outcome="y", go_live=go)])
    assert table["ci_lower"].isna().tolist() == [True, False, True]
    assert table["placebos"].tolist() == [6, 66, 5]
    fig = placebo_figure(large, time_placebo(many, outcome="y", go_live=go), "share")
    assert len(fig.axes) == 1 and len(fig.axes[0].collections) == 4


def test_staggered_group_time_att_recovers_growing_effects_where_pooled_twfe_does_not():
    import statsmodels.formula.api as smf

    from linkage.evaluation.placebo import staggered_att, staggered_overall

    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    go = {"A": months[3], "B": months[7]}
    rows = []
    for a in ["A", "B", "C", "D"]:
        for i, m in enumerate(months):
            g = go.get(a)
            since = (i - months.get_loc(g)) if g is not None and m >= g else -1
            effect = 0.02 * (since + 1) if since >= 0 else 0.0  # grows by 2 pp a month after go-live
            y = 0.3 + 0.01 * i + (0.05 if a in "AB" else 0.0) + effect
            rows.append({"area": a, "month": m, "y": y, "post": float(since >= 0), "n": 100})
    cells = pd.DataFrame(rows)
    crimes = cells.loc[cells.index.repeat(cells["n"])].reset_index(drop=True)  # one row per crime, y its rate
    gt = staggered_att(crimes, outcome="y", go_live_by_area=go)
    truth = cells.assign(
        eff=cells["y"]
        - 0.3
        - 0.01 * cells.index.map(lambda k: k % 12)
        - np.where(cells["area"].isin(["A", "B"]), 0.05, 0.0)
    )
    true_att = truth.loc[truth["post"] > 0, "eff"].mean()
    assert staggered_overall(gt) == pytest.approx(true_att, abs=1e-9)
    twfe = smf.wls("y ~ post + C(area) + C(month)", data=cells, weights=cells["n"]).fit().params["post"]
    assert abs(twfe - true_att) > 0.02  # pooled TWFE uses the early cohort as a control for the late one
    with pytest.raises(ValueError, match="never go live"):
        staggered_att(crimes, outcome="y", go_live_by_area={a: months[3] for a in "ABCD"})
