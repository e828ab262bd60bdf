"""Synthetic difference-in-differences against the donor pool of comparison areas (Arkhangelsky et al. 2021).

The area-month panel (outcome rate per area and month, :func:`linkage.evaluation.placebo.area_month_panel`)
is an ``N x T`` matrix. The trailblazer areas are averaged into one treated series. Synthetic DiD chooses

* **unit weights** ``omega`` on the simplex over the donor areas, with a free intercept, so the weighted
  donors' pre-go-live path is parallel to the trailblazers' (ridge penalty ``zeta^2 T_pre |omega|^2`` with
  ``zeta = (N_treated T_post)^(1/4) sigma``, ``sigma`` the standard deviation of the donors' month-on-month
  changes before go-live, as in the paper);
* **time weights** ``lambda`` on the simplex over the pre-go-live months, with a free intercept, so the
  weighted pre months predict the donors' post-go-live mean (a vanishing ridge penalty);

and estimates ``tau = (treated post mean - lambda . treated pre) - sum_i omega_i (donor_i post mean -
lambda . donor_i pre)``. With uniform weights it is the plain area-level DiD; with a free intercept (unlike
classic synthetic control) it does not need the trailblazers' level to lie inside the donors' range.

Inference: placebo in space (the paper's Algorithm 4, and Abadie et al. 2010). Every choice of as many donor
areas as there are trailblazers, drawn from the donors only, is a pretend trailblazer estimated against the
remaining donors with the same procedure. The p-value is the share of placebo estimates and the actual one
at least as large in absolute value as the actual one; the interval is ``tau +/- z sd(placebos)``.

Why not a library: ``pysyncon`` (1.7) fits classic synthetic control for one treated unit, with no
intercept or time weights, which would need the trailblazers inside the donors' range of levels;
``synthdid`` is R only. The weights here are small simplex-constrained least squares problems solved with
scipy (SLSQP), checked by unit tests on panels with a known answer.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from linkage.evaluation.placebo import area_month_panel

__all__ = ["SyntheticDiDResult", "area_matrix", "sdid_estimate", "simplex_weights", "synthetic_did"]

MAX_PLACEBOS = 2_000


@dataclass
class SyntheticDiDResult:
    """A synthetic DiD estimate (proportion units), its unit and time weights and placebo inference."""

    outcome: str
    estimate: float
    p_value: float
    ci_lower: float
    ci_upper: float
    alpha: float
    unit_weights: pd.Series  # donor area -> omega
    time_weights: pd.Series  # pre-go-live month -> lambda
    placebos: np.ndarray = field(repr=False)
    n_treated: int = 0
    n_donors: int = 0

    @property
    def bounded(self) -> bool:
        """True when placebo inference gave a finite interval."""
        return bool(np.isfinite(self.ci_lower) and np.isfinite(self.ci_upper))

    def covers(self, value: float) -> bool:
        """True when ``value`` lies inside the interval."""
        return bool(self.ci_lower <= value <= self.ci_upper)


def simplex_weights(A: np.ndarray, b: np.ndarray, penalty: float, *, intercept: bool = True) -> np.ndarray:
    """``w`` on the simplex minimising ``|A w + c - b|^2 + penalty |w|^2`` (``c`` free when ``intercept``)."""
    A, b = np.asarray(A, float), np.asarray(b, float)
    if intercept:  # the free intercept is the mean residual: centre the rows' columns and target
        A, b = A - A.mean(axis=0), b - b.mean()
    k = A.shape[1]
    if k == 1:
        return np.ones(1)
    AtA, Atb = A.T @ A, A.T @ b

    def f(w: np.ndarray) -> tuple[float, np.ndarray]:
        r = A @ w - b
        return float(r @ r + penalty * w @ w), 2 * (AtA @ w - Atb + penalty * w)

    res = optimize.minimize(
        f,
        np.full(k, 1.0 / k),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * k,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones_like(w)}],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    w = np.clip(res.x, 0.0, None)
    return w / w.sum()


def sdid_estimate(
    Y: np.ndarray, treated: np.ndarray, n_pre: int, *, zeta: float | None = None
) -> tuple[float, np.ndarray, np.ndarray]:
    """Synthetic DiD on an ``areas x months`` matrix: (tau, unit weights over donors, time weights over
    the first ``n_pre`` months). ``treated`` marks the trailblazer rows; ``zeta`` overrides the paper's
    unit-weight regularisation (0 = none)."""
    Y = np.asarray(Y, float)
    treated = np.asarray(treated, bool)
    donors = Y[~treated]
    y_tr = Y[treated].mean(axis=0)
    n_post = Y.shape[1] - n_pre
    if n_pre < 1 or n_post < 1 or donors.shape[0] < 1 or not treated.any():
        raise ValueError("synthetic DiD: need months before and after go-live and treated and donor areas")
    diffs = np.diff(donors[:, :n_pre], axis=1)
    sigma = float(diffs.std(ddof=1)) if diffs.size > 1 else 0.0
    if zeta is None:
        zeta = (treated.sum() * n_post) ** 0.25 * sigma
    omega = simplex_weights(donors[:, :n_pre].T, y_tr[:n_pre], zeta**2 * n_pre)
    lam_pen = (1e-6 * sigma) ** 2 * donors.shape[0]
    lam = simplex_weights(donors[:, :n_pre], donors[:, n_pre:].mean(axis=1), lam_pen)
    tr = y_tr[n_pre:].mean() - lam @ y_tr[:n_pre]
    co = donors[:, n_pre:].mean(axis=1) - donors[:, :n_pre] @ lam
    return float(tr - omega @ co), omega, lam


def area_matrix(
    crimes: pd.DataFrame, *, outcome: str, min_crimes: int = 10
) -> tuple[pd.DataFrame, pd.Series]:
    """Areas x months matrix of outcome rates and each area's treated flag.

    Every month enters synthetic DiD with the same weight, so a month in which some area has fewer than
    ``min_crimes`` crimes (typically the last one, cut short by the follow-up window) is left out rather
    than let a rate of 0/2 steer the weights; areas still missing a month are then left out too."""
    panel = area_month_panel(crimes, outcome=outcome)
    n = panel.pivot(index="area", columns="month", values="n")
    keep = n.columns[(n.fillna(0) >= min_crimes).all(axis=0)]
    Y = panel.pivot(index="area", columns="month", values="y")[keep].dropna(axis=0, how="any")
    treated = panel.groupby("area")["treated"].max().reindex(Y.index).astype(bool)
    return Y, treated


def synthetic_did(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    go_live: pd.Timestamp | str,
    alpha: float = 0.05,
    seed: int = 0,
    zeta: float | None = None,
    min_crimes: int = 10,
) -> SyntheticDiDResult:
    """Synthetic DiD of the trailblazers against the donor areas, with placebo-in-space inference."""
    Y, treated = area_matrix(crimes, outcome=outcome, min_crimes=min_crimes)
    go_live = pd.Timestamp(go_live)
    n_pre = int((Y.columns < go_live).sum())
    M, t = Y.to_numpy(), treated.to_numpy()
    tau, omega, lam = sdid_estimate(M, t, n_pre, zeta=zeta)
    k = int(t.sum())
    donors = M[~t]
    n_d = donors.shape[0]
    placebos = []
    if n_d > k:  # each choice of k donors as pretend trailblazers, against the other donors
        combos: list[tuple[int, ...]] | itertools.combinations = itertools.combinations(range(n_d), k)
        if math.comb(n_d, k) > MAX_PLACEBOS:
            rng = np.random.default_rng(seed)
            combos = [tuple(rng.choice(n_d, k, replace=False)) for _ in range(MAX_PLACEBOS)]
        for chosen in combos:
            mask = np.zeros(n_d, dtype=bool)
            mask[list(chosen)] = True
            placebos.append(sdid_estimate(donors, mask, n_pre, zeta=zeta)[0])
    placebos_arr = np.array(placebos)
    if len(placebos_arr) >= 2:
        p = float((np.sum(np.abs(placebos_arr) >= abs(tau) - 1e-12) + 1) / (len(placebos_arr) + 1))
        half = float(stats.norm.ppf(1 - alpha / 2)) * float(placebos_arr.std(ddof=1))
        lo, hi = tau - half, tau + half
    else:
        p, lo, hi = 1.0, -np.inf, np.inf
    return SyntheticDiDResult(
        outcome=outcome,
        estimate=tau,
        p_value=p,
        ci_lower=lo,
        ci_upper=hi,
        alpha=alpha,
        unit_weights=pd.Series(omega, index=Y.index[~t], name="omega"),
        time_weights=pd.Series(lam, index=Y.columns[:n_pre], name="lambda"),
        placebos=placebos_arr,
        n_treated=k,
        n_donors=n_d,
    )
