"""Wild cluster bootstrap of the area-level difference-in-differences (few clusters, few treated ones).

Model: the area-month panel (one cell per area and month: ``n`` crimes, ``y`` outcome rate), weighted by
``n`` (the same point estimate as the crime-level two-way fixed-effects model with area and month effects
and no LSOA detail)::

    y_{a,t} = alpha_a + gamma_t + beta * treated_a * post_t + e_{a,t}

clustered on area, so an area's shocks may be correlated over all its months (a random walk included).
With a dozen areas the cluster-robust t-test over-rejects; the restricted wild cluster bootstrap (WCR,
Cameron, Gelbach & Miller 2008) is the standard repair, and with fewer than about 12 clusters the six-point
weights of Webb (2023) replace Rademacher ones (which give only 2^G distinct draws). The p-value is the
``wildboottest`` package's (Fischer & Roodman's port of ``boottest``, WCR11 with the CRV1 t statistic);
the interval inverts the test (every ``beta0`` not rejected at ``alpha``, with the same bootstrap weights
for every ``beta0`` so the p-value is a step function of ``beta0``).

Known limitation, stated in the report and in docs/reports.md: when only one or two clusters are treated the
WCR under-rejects and its interval is very wide or unbounded (MacKinnon & Webb 2017, 2018): the bootstrap
cannot learn a treated cluster's variance from one or two clusters. It is a check beside the placebo tests,
not a replacement for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.evaluation.placebo import area_month_panel

__all__ = ["WildBootstrapResult", "area_design", "wild_cluster_bootstrap", "wild_p_value"]


@dataclass(frozen=True)
class WildBootstrapResult:
    """A wild cluster bootstrap test of the area-level DiD (proportion units)."""

    outcome: str
    estimate: float
    p_value: float
    ci_lower: float  # -inf / +inf when the test cannot reject any effect at that end of the search
    ci_upper: float
    alpha: float
    n_clusters: int
    n_treated_clusters: int
    draws: int
    weights: str

    @property
    def bounded(self) -> bool:
        """True when the interval is finite."""
        return bool(np.isfinite(self.ci_lower) and np.isfinite(self.ci_upper))

    def covers(self, value: float) -> bool:
        """True when ``value`` lies inside the interval."""
        return bool(self.ci_lower <= value <= self.ci_upper)


def area_design(
    crimes: pd.DataFrame, *, outcome: str, go_live: pd.Timestamp | str, weighted: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """The weighted area-month regression as OLS: ``X`` (DiD column first), ``Y``, the DiD column,
    the area cluster codes and the number of treated areas (rows multiplied by sqrt(crimes))."""
    panel = area_month_panel(crimes, outcome=outcome)
    go_live = pd.Timestamp(go_live)
    post = (panel["month"] >= go_live).to_numpy(float)
    d = panel["treated"].to_numpy(float) * post
    if panel["treated"].nunique() < 2 or len(np.unique(post)) < 2:
        raise ValueError(
            f"wild bootstrap needs treated and comparison areas before and after {go_live:%Y-%m}"
        )
    area_fe = pd.get_dummies(panel["area"].astype(str), drop_first=True, dtype=float).to_numpy()
    month_fe = pd.get_dummies(panel["month"].dt.strftime("%Y-%m"), drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([d, np.ones(len(panel)), area_fe, month_fe])
    w = np.sqrt(panel["n"].to_numpy(float)) if weighted else np.ones(len(panel))
    clusters = pd.factorize(panel["area"].astype(str), sort=True)[0]
    n_treated = int(panel.loc[panel["treated"] > 0, "area"].nunique())
    return X * w[:, None], panel["y"].to_numpy(float) * w, d * w, clusters, n_treated


def _boot(X: np.ndarray, Y: np.ndarray, clusters: np.ndarray, *, draws: int, weights: str, seed: int):
    """The package's WCR11 bootstrap object, run; its numba denominator (recompiled on every call) replaced
    by the same sum in numpy, which is what makes test inversion affordable."""
    from wildboottest.wildboottest import WildboottestCL

    class _NumpyDenominator(WildboottestCL):
        def get_denom(self) -> None:
            if self.crv_type != "crv1":  # pragma: no cover - only WCR11 is used here
                return super().get_denom()
            a = self.R @ self.tXXinv
            H = np.array([[a @ xg @ self.tXXinv @ s for s in self.scores_mat.T] for xg in self.tXgXg_list])
            Z = self.Cg[:, None] * self.v - H @ self.v
            self.denom = self.ssc * np.sum(Z**2, axis=0)

    R = np.zeros(X.shape[1])
    R[0] = 1.0
    boot = _NumpyDenominator(X=X, Y=Y, cluster=clusters, R=R, B=draws, seed=seed, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights(weights_type=weights)
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return boot


def wild_p_value(
    X: np.ndarray,
    Y: np.ndarray,
    d: np.ndarray,
    clusters: np.ndarray,
    beta0: float = 0.0,
    *,
    draws: int = 999,
    weights: str = "webb",
    seed: int = 0,
) -> float:
    """WCR p-value of ``beta = beta0`` for the first column of ``X`` (tested as beta = 0 on Y - beta0 d)."""
    return float(_boot(X, Y - beta0 * d, clusters, draws=draws, weights=weights, seed=seed).pvalue)


def wild_cluster_bootstrap(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    go_live: pd.Timestamp | str,
    alpha: float = 0.05,
    draws: int = 999,
    weights: str = "webb",
    seed: int = 0,
    weighted: bool = True,
) -> WildBootstrapResult:
    """Area-clustered DiD with a restricted wild cluster bootstrap p-value and test-inversion interval."""
    X, Y, d, clusters, n_treated = area_design(crimes, outcome=outcome, go_live=go_live, weighted=weighted)
    boot = _boot(X, Y, clusters, draws=draws, weights=weights, seed=seed)
    estimate = float(boot.beta_hat[0])
    se = float(np.sqrt(boot.ssc * boot.vcov[0, 0]))

    def p(b: float) -> float:
        return wild_p_value(X, Y, d, clusters, b, draws=draws, weights=weights, seed=seed)

    def edge(inside: float, step: float) -> float:
        """Walk out from ``inside`` in steps until rejected, then bisect; inf when never rejected."""
        outside = inside + step
        for _ in range(8):
            if p(outside) <= alpha:
                break
            inside, outside, step = outside, outside + 2 * step, 2 * step
        else:
            return np.inf if step > 0 else -np.inf
        for _ in range(14):
            mid = (inside + outside) / 2
            if p(mid) > alpha:
                inside = mid
            else:
                outside = mid
        return inside

    scale = max(se, 1e-6)  # at beta0 = estimate the t statistic is 0 and the p-value 1
    lo, hi = edge(estimate, -2 * scale), edge(estimate, 2 * scale)
    return WildBootstrapResult(
        outcome=outcome,
        estimate=estimate,
        p_value=float(boot.pvalue),
        ci_lower=float(lo),
        ci_upper=float(hi),
        alpha=alpha,
        n_clusters=int(len(np.unique(clusters))),
        n_treated_clusters=n_treated,
        draws=int(boot.B),
        weights=weights,
    )
