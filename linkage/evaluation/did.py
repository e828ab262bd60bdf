"""Difference-in-differences of outcome rates: trailblazer vs comparison areas, before vs after go-live.

Model (a linear probability model with two-way fixed effects)::

    y_{i} = alpha_{area(i)} + gamma_{month(i)} + beta * treated(i) * post(i) + e_i

``y`` is a 0/1 crime-level outcome (e.g. "final outcome is an out-of-court disposal", or "an outcome
within 30 days"). ``beta`` is the DiD estimate in proportion units (x100 = percentage points).

Because every regressor is constant within an LSOA-month cell, the crime-level OLS estimate equals
weighted least squares on cell means weighted by cell size, and the cluster-robust ("CR1") covariance
with clusters made of whole cells is the same too. We therefore fit on the cell panel (statsmodels
``WLS(...).fit(cov_type="cluster")``), which is fast and never holds a person-level row.

Clustering. The intervention is assigned to whole areas, and there are only a handful of areas (two
trailblazers and two comparisons in the shipped configs). Cluster-robust standard errors with 4
clusters are badly anti-conservative (the sandwich needs many clusters; Cameron & Miller 2015,
MacKinnon & Webb 2017), so we do not cluster on area. The default clusters on LSOA: it allows any
correlation among a neighbourhood's crimes over the whole period (the serial correlation that
Bertrand, Duflo & Mullainathan 2004 showed inflates DiD t-statistics), with hundreds of clusters.
It does *not* allow for area-wide shocks common to all LSOAs of one borough in one month; the
``area-month`` alternative clusters on those cells instead and is reported as a sensitivity check.
Neither protects against a borough-level shock that coincides with go-live - that is a design
limitation of few-area evaluations and the report says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

logger = logging.getLogger(__name__)

__all__ = ["DiDResult", "EventStudy", "cell_panel", "did", "event_study", "CLUSTER_CHOICES"]

CLUSTER_CHOICES = ("lsoa", "area-month", "area")


@dataclass
class DiDResult:
    """A difference-in-differences estimate (proportion units) with its cluster-robust interval."""

    outcome: str
    estimate: float
    std_error: float
    ci_lower: float
    ci_upper: float
    p_value: float
    alpha: float
    n_crimes: int
    n_cells: int
    n_clusters: int
    cluster: str
    means: pd.DataFrame = field(repr=False)
    method: str = "two-way fixed effects linear probability model, WLS on LSOA-month cells"

    def covers(self, value: float) -> bool:
        """True when ``value`` lies inside the interval."""
        return bool(self.ci_lower <= value <= self.ci_upper)

    def as_row(self, scale: float = 100.0, unit: str = "pp") -> dict[str, object]:
        """One-row summary for tables, in display units (``scale`` x proportion; 100 -> percentage points)."""
        return {
            "outcome": self.outcome,
            "unit": unit,
            "estimate": scale * self.estimate,
            "ci_lower": scale * self.ci_lower,
            "ci_upper": scale * self.ci_upper,
            "std_error": scale * self.std_error,
            "p_value": self.p_value,
            "crimes": self.n_crimes,
            "clusters": self.n_clusters,
            "cluster_on": self.cluster,
        }


@dataclass
class EventStudy:
    """Event-study coefficients by month relative to go-live (reference month -1) and a pre-trend test."""

    outcome: str
    coefficients: pd.DataFrame  # relative_month, estimate, ci_lower, ci_upper, std_error
    pretrend_stat: float
    pretrend_df: int
    pretrend_p: float
    cluster: str
    n_clusters: int


def cell_panel(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    area: str = "area",
    treated: str = "treated",
    month: str = "month",
    lsoa: str = "lsoa_code",
) -> pd.DataFrame:
    """Collapse crime rows to LSOA x month cells: ``n`` crimes, ``y`` mean outcome, plus keys."""
    need = [outcome, area, treated, month, lsoa]
    missing = [c for c in need if c not in crimes.columns]
    if missing:
        raise KeyError(f"crimes lacks column(s) {missing} (columns: {list(crimes.columns)})")
    return collapse_cells(
        crimes, outcome=outcome, treated=treated, keys={area: "area", lsoa: "lsoa_code", month: "month"}
    )


def collapse_cells(crimes: pd.DataFrame, *, outcome: str, treated: str, keys: dict[str, str]) -> pd.DataFrame:
    """Crime rows grouped by ``keys`` (column -> output name, one of them ``month``): ``n`` crimes, ``y``
    mean outcome and ``treated`` (max); rows missing the outcome or a key are left out."""
    frame = crimes[[outcome, treated, *keys]].dropna(subset=[outcome, *keys])
    grouped = frame.groupby(list(keys), sort=True, observed=True)
    cells = grouped.agg(n=(outcome, "size"), y=(outcome, "mean"), treated=(treated, "max")).reset_index()
    cells = cells.rename(columns=keys)
    cells["month"] = pd.to_datetime(cells["month"])
    return cells


def _clusters(cells: pd.DataFrame, cluster: str) -> np.ndarray:
    if cluster == "lsoa":
        key = cells["lsoa_code"].astype(str)
    elif cluster == "area-month":
        key = cells["area"].astype(str) + "|" + cells["month"].dt.strftime("%Y-%m")
    elif cluster == "area":
        key = cells["area"].astype(str)
    else:
        raise ValueError(f"cluster must be one of {CLUSTER_CHOICES}, got {cluster!r}")
    return pd.factorize(key, sort=True)[0]


def _design(cells: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    area_fe = pd.get_dummies(cells["area"].astype(str), prefix="area", drop_first=True, dtype=float)
    month_fe = pd.get_dummies(cells["month"].dt.strftime("%Y-%m"), prefix="m", drop_first=True, dtype=float)
    X = pd.concat([extra, area_fe, month_fe], axis=1)
    return sm.add_constant(X, has_constant="add")


def did(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    go_live: pd.Timestamp | str,
    cluster: str = "lsoa",
    alpha: float = 0.05,
    area: str = "area",
    treated: str = "treated",
    month: str = "month",
    lsoa: str = "lsoa_code",
) -> DiDResult:
    """DiD estimate of the go-live effect on the 0/1 ``outcome`` with cluster-robust SEs."""
    if cluster not in CLUSTER_CHOICES:
        raise ValueError(f"cluster must be one of {CLUSTER_CHOICES}, got {cluster!r}")
    go_live = pd.Timestamp(go_live)
    cells = cell_panel(crimes, outcome=outcome, area=area, treated=treated, month=month, lsoa=lsoa)
    cells["post"] = (cells["month"] >= go_live).astype(float)
    if cells["treated"].nunique() < 2 or cells["post"].nunique() < 2:
        raise ValueError(
            f"did: need treated and comparison cells before and after go-live {go_live:%Y-%m}; "
            f"treated values {sorted(cells['treated'].unique())}, post values "
            f"{sorted(cells['post'].unique())}"
        )
    extra = pd.DataFrame({"did": cells["treated"].astype(float) * cells["post"]}, index=cells.index)
    X = _design(cells, extra)
    groups = _clusters(cells, cluster)
    fit = sm.WLS(cells["y"].to_numpy(), X, weights=cells["n"].to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    est, se = float(fit.params["did"]), float(fit.bse["did"])
    lo, hi = (float(v) for v in fit.conf_int(alpha=alpha).loc["did"])
    means = (
        cells.assign(
            total=cells["y"] * cells["n"],
            role=np.where(cells["treated"] > 0, "trailblazer", "comparison"),
            period=np.where(cells["post"] > 0, "after go-live", "before go-live"),
        )
        .groupby(["role", "period"])[["total", "n"]]
        .sum()
    )
    means["rate"] = means["total"] / means["n"]
    means = means.drop(columns="total").reset_index()
    n_clusters = int(groups.max() + 1)
    if n_clusters < 30:
        logger.warning("did(%s): only %d clusters; cluster-robust SEs are unreliable", outcome, n_clusters)
    return DiDResult(
        outcome=outcome,
        estimate=est,
        std_error=se,
        ci_lower=lo,
        ci_upper=hi,
        p_value=float(fit.pvalues["did"]),
        alpha=alpha,
        n_crimes=int(cells["n"].sum()),
        n_cells=len(cells),
        n_clusters=n_clusters,
        cluster=cluster,
        means=means,
    )


def event_study(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    go_live: pd.Timestamp | str,
    cluster: str = "lsoa",
    alpha: float = 0.05,
    window: tuple[int, int] | None = None,
    area: str = "area",
    treated: str = "treated",
    month: str = "month",
    lsoa: str = "lsoa_code",
) -> EventStudy:
    """Treated x relative-month coefficients (month -1 is the reference) and a joint pre-trend test.

    ``window`` = (first, last) relative month kept as its own coefficient; months outside are binned
    into the end points. The pre-trend test is a cluster-robust Wald test that every pre-go-live
    coefficient is zero (chi-squared, statsmodels ``wald_test``); a small p-value is evidence that
    trailblazer and comparison areas were already diverging before go-live.
    """
    go_live = pd.Timestamp(go_live)
    cells = cell_panel(crimes, outcome=outcome, area=area, treated=treated, month=month, lsoa=lsoa)
    rel = (cells["month"].dt.year - go_live.year) * 12 + (cells["month"].dt.month - go_live.month)
    if window is not None:
        rel = rel.clip(window[0], window[1])
    ks = sorted(k for k in rel.unique() if k != -1)
    if not any(k < -1 for k in ks):
        raise ValueError(f"event_study: need at least two months before go-live {go_live:%Y-%m}")
    extra = pd.DataFrame(
        {f"rel_{k}": ((rel == k) & (cells["treated"] > 0)).astype(float) for k in ks}, index=cells.index
    )
    X = _design(cells, extra)
    groups = _clusters(cells, cluster)
    fit = sm.WLS(cells["y"].to_numpy(), X, weights=cells["n"].to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    names = [f"rel_{k}" for k in ks]
    ci = fit.conf_int(alpha=alpha).loc[names]
    coefs = pd.DataFrame(
        {
            "relative_month": ks,
            "estimate": fit.params[names].to_numpy(),
            "ci_lower": ci.iloc[:, 0].to_numpy(),
            "ci_upper": ci.iloc[:, 1].to_numpy(),
            "std_error": fit.bse[names].to_numpy(),
        }
    )
    ref = pd.DataFrame(
        {"relative_month": [-1], "estimate": [0.0], "ci_lower": [0.0], "ci_upper": [0.0], "std_error": [0.0]}
    )
    coefs = pd.concat([coefs, ref]).sort_values("relative_month", kind="stable").reset_index(drop=True)
    pre = [f"rel_{k}" for k in ks if k < -1]
    R = np.zeros((len(pre), len(fit.params)))
    for r, name in enumerate(pre):
        R[r, list(fit.params.index).index(name)] = 1.0
    wald = fit.wald_test(R, scalar=True, use_f=False)
    stat = float(wald.statistic)
    dof = len(pre)
    return EventStudy(
        outcome=outcome,
        coefficients=coefs,
        pretrend_stat=stat,
        pretrend_df=dof,
        pretrend_p=float(stats.chi2.sf(stat, dof)),
        cluster=cluster,
        n_clusters=int(groups.max() + 1),
    )


def sensitivity(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    go_live: pd.Timestamp | str,
    clusters: Sequence[str] = ("lsoa", "area-month"),
) -> pd.DataFrame:
    """The same DiD under each clustering choice, one row each (for the methods note)."""
    return pd.DataFrame([did(crimes, outcome=outcome, go_live=go_live, cluster=c).as_row() for c in clusters])


__all__.append("sensitivity")
