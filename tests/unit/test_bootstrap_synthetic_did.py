"""Wild cluster bootstrap and synthetic DiD of the area-level DiD (issue 16c): panels with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from linkage.evaluation.bootstrap import area_design, wild_cluster_bootstrap, wild_p_value
from linkage.evaluation.synthetic_did import area_matrix, sdid_estimate, simplex_weights, synthetic_did

MONTHS = pd.date_range("2024-01-01", periods=12, freq="MS")
GO = MONTHS[6]


def _cells(values: np.ndarray, treated: np.ndarray, reps: int = 1) -> pd.DataFrame:
    """One row per area-month (``reps`` copies) whose outcome is the given cell value."""
    n_areas, n_months = values.shape
    a = np.repeat(np.arange(n_areas), n_months * reps)
    m = np.tile(np.repeat(np.arange(n_months), reps), n_areas)
    return pd.DataFrame(
        {
            "area": [f"A{i:02d}" for i in a],
            "treated": treated[a].astype(int),
            "month": MONTHS[:n_months][m],
            "y": values[a, m],
        }
    )


def _panel(rng, n_areas=40, n_treated=20, effect=0.0, noise=0.05, walk=0.0):
    treated = np.arange(n_areas) < n_treated
    post = np.arange(12) >= 6
    level = rng.normal(0.3, 0.05, n_areas)[:, None] + rng.normal(0, 0.02, 12)[None, :]
    shocks = np.cumsum(rng.normal(0, walk, (n_areas, 12)), axis=1) if walk else 0.0
    y = level + shocks + rng.normal(0, noise, (n_areas, 12)) + effect * (treated[:, None] & post[None, :])
    return _cells(y, treated), treated


# --- wild cluster bootstrap ----------------------------------------------------------------------------


def test_bootstrap_estimate_is_the_area_month_wls_did():
    crimes, _ = _panel(np.random.default_rng(1), n_areas=8, n_treated=2, effect=0.1)
    crimes = pd.concat([crimes, crimes.iloc[::3]])  # unequal cell sizes: the weights matter
    res = wild_cluster_bootstrap(crimes, outcome="y", go_live=GO, seed=1)
    cells = crimes.groupby(["area", "month"]).agg(y=("y", "mean"), n=("y", "size"), t=("treated", "max"))
    cells = cells.reset_index()
    d = cells["t"] * (cells["month"] >= GO)
    X = pd.concat(
        [
            d.rename("d"),
            pd.get_dummies(cells["area"], drop_first=True, dtype=float),
            pd.get_dummies(cells["month"].astype(str), drop_first=True, dtype=float),
        ],
        axis=1,
    )
    fit = sm.WLS(cells["y"], sm.add_constant(X), weights=cells["n"]).fit()
    assert res.estimate == pytest.approx(fit.params["d"], abs=1e-10)
    assert res.n_clusters == 8 and res.n_treated_clusters == 2


def test_bootstrap_p_value_is_the_packages():
    """The numpy denominator replaces the package's numba one: same draws, same p-value."""
    from wildboottest.wildboottest import wildboottest

    crimes, _ = _panel(np.random.default_rng(2), n_areas=12, n_treated=3, effect=0.04, walk=0.02)
    X, Y, d, clusters, _ = area_design(crimes, outcome="y", go_live=GO)
    for seed in (1, 2):
        ref = wildboottest(
            sm.OLS(Y, X),
            B=499,
            cluster=clusters,
            param="x1",
            weights_type="webb",
            seed=seed,
            show=False,
            parallel=False,
        )
        assert wild_p_value(X, Y, d, clusters, 0.0, draws=499, seed=seed) == pytest.approx(
            float(ref["p-value"].iloc[0]), abs=1e-12
        )


def test_bootstrap_interval_is_the_inverted_test():
    crimes, _ = _panel(np.random.default_rng(3), n_areas=16, n_treated=6, effect=0.08)
    res = wild_cluster_bootstrap(crimes, outcome="y", go_live=GO, seed=3)
    X, Y, d, clusters, _ = area_design(crimes, outcome="y", go_live=GO)
    assert res.bounded and res.ci_lower < res.estimate < res.ci_upper
    inside = [wild_p_value(X, Y, d, clusters, b, seed=3) for b in (res.ci_lower + 1e-4, res.ci_upper - 1e-4)]
    outside = [wild_p_value(X, Y, d, clusters, b, seed=3) for b in (res.ci_lower - 1e-3, res.ci_upper + 1e-3)]
    assert min(inside) > 0.05 and max(outside) <= 0.05


def test_bootstrap_holds_its_level_with_many_clusters():
    """Covering the truth is not rejecting it (the interval inverts the test): p-values at the truth."""
    rng = np.random.default_rng(4)
    p_true, p_null = [], []
    for _ in range(80):
        crimes, _ = _panel(rng, n_areas=30, n_treated=15, effect=0.05, walk=0.02)
        X, Y, d, clusters, _ = area_design(crimes, outcome="y", go_live=GO)
        p_true.append(wild_p_value(X, Y, d, clusters, 0.05, draws=399, seed=int(rng.integers(1e6))))
        null, _ = _panel(rng, n_areas=30, n_treated=15, effect=0.0, walk=0.02)
        X, Y, d, clusters, _ = area_design(null, outcome="y", go_live=GO)
        p_null.append(wild_p_value(X, Y, d, clusters, 0.0, draws=399, seed=1))
    assert np.mean(np.array(p_true) > 0.05) >= 0.85  # coverage
    assert np.mean(np.array(p_null) <= 0.05) <= 0.13  # size
    assert np.mean(np.array(p_null) <= 0.5) == pytest.approx(0.5, abs=0.2)  # p-values not piled up


# --- synthetic DiD ---------------------------------------------------------------------------------------


def test_simplex_weights_recover_an_exact_convex_combination():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(8, 4))
    w_true = np.array([0.2, 0.0, 0.5, 0.3])
    w = simplex_weights(A, A @ w_true + 3.0, 0.0)  # the intercept absorbs the 3.0
    assert w == pytest.approx(w_true, abs=1e-5)
    assert simplex_weights(A, A @ w_true, 0.0, intercept=False) == pytest.approx(w_true, abs=1e-5)


def test_sdid_recovers_the_effect_on_a_two_way_fixed_effects_panel():
    """No noise, additive area and month effects: any weights on the simplex give exactly the effect."""
    rng = np.random.default_rng(6)
    a, b = rng.normal(0.3, 0.1, 10), rng.normal(0, 0.05, 12)
    treated = np.arange(10) < 2
    Y = a[:, None] + b[None, :] + 0.07 * (treated[:, None] & (np.arange(12) >= 6)[None, :])
    tau, omega, lam = sdid_estimate(Y, treated, 6)
    assert tau == pytest.approx(0.07, abs=1e-9)
    assert omega.sum() == pytest.approx(1.0) and lam.sum() == pytest.approx(1.0)
    res = synthetic_did(_cells(Y, treated), outcome="y", go_live=GO, min_crimes=1)
    assert res.estimate == pytest.approx(0.07, abs=1e-9)
    assert np.abs(res.placebos).max() < 1e-9 and res.p_value == pytest.approx(1 / (len(res.placebos) + 1))


def test_sdid_fits_an_exact_donor_combination_where_plain_did_is_biased():
    """Donors with their own trends; the trailblazer is 0.3 x donor 0 + 0.7 x donor 1 plus a level shift.
    Synthetic DiD (no regularisation) finds those weights and the effect; the plain DiD does not."""
    rng = np.random.default_rng(7)
    t = np.arange(20)
    donors = 0.3 + np.cumsum(rng.normal(0, 0.01, (6, 20)), axis=1)  # non-parallel paths: weights identified
    donors[1] += 0.03 * t  # donor 1 trends up
    trailblazer = 0.3 * donors[0] + 0.7 * donors[1] + 0.1 + 0.05 * (t >= 14)
    Y = np.vstack([trailblazer, donors])
    treated = np.arange(7) == 0
    tau, omega, _ = sdid_estimate(Y, treated, 14, zeta=0.0)
    assert tau == pytest.approx(0.05, abs=1e-4)
    assert omega[:2] == pytest.approx([0.3, 0.7], abs=1e-3)
    plain = (Y[0, 14:].mean() - Y[0, :14].mean()) - (Y[1:, 14:].mean() - Y[1:, :14].mean())
    assert abs(plain - 0.05) > 0.03


def test_sdid_placebos_reject_a_large_effect_and_not_a_null():
    rng = np.random.default_rng(8)
    big, _ = _panel(rng, n_areas=12, n_treated=2, effect=0.3, noise=0.01)
    res = synthetic_did(big, outcome="y", go_live=GO, min_crimes=1)
    assert len(res.placebos) == 45 and res.p_value == pytest.approx(1 / 46)
    assert res.covers(0.3) and not res.covers(0.0)
    null_p = [
        synthetic_did(_panel(rng, n_areas=12, n_treated=2)[0], outcome="y", go_live=GO, min_crimes=1).p_value
        for _ in range(20)
    ]
    assert np.mean(np.array(null_p) <= 0.05) <= 0.2 and np.median(null_p) > 0.2


def test_area_matrix_leaves_out_a_thin_month():
    Y = np.full((3, 12), 0.3)
    crimes = _cells(Y, np.array([True, False, False]), reps=12)
    crimes = crimes[~((crimes["month"] == MONTHS[11]) & (crimes.index % 12 > 1))]  # last month: 2 crimes
    M, treated = area_matrix(crimes, outcome="y")
    assert list(M.columns) == list(MONTHS[:11]) and treated.tolist() == [True, False, False]
