"""Inference for a handful of treated areas: placebo tests in space and in time, randomisation p-values.

With one or two trailblazer areas, an area-wide shock that happens to coincide with go-live looks exactly
like an effect, and no standard error computed from within-area variation (LSOA or area-month clusters)
can see it. The answer used here is design-based: the comparison areas show how large a change between
the before and after periods is when nothing was switched on.

Estimator (the same under every placebo). For each area ``a`` take its outcome rate over the crimes
recorded before go-live and after it; ``change_a = after_a - before_a``. The estimate is the mean change of
the treated areas minus the mean change of the comparison areas (areas weighted equally, which is what
makes the areas exchangeable under the null).

* **Placebo in space** (Abadie, Diamond & Hainmueller 2010; Conley & Taber 2011 in spirit): every way of
  choosing as many areas as there are trailblazers from all eligible areas is a pretend assignment. The
  randomisation p-value is the share of assignments whose estimate is at least as large in absolute value
  as the actual one (the actual assignment counts, so the p-value is never below ``1 / assignments``).
  Inverting the test (shift the treated areas' changes by a hypothesised effect and re-test) gives the
  interval: every effect not rejected at ``alpha``. With ``k`` trailblazers among ``n`` areas there are
  ``C(n, k)`` assignments; two trailblazers and two comparison areas give 6, a smallest p-value of 1/6,
  so no test at 5% is possible and the interval is the whole line: the report then says so.
* **Placebo in time**: pretend go-live months inside the period before the real go-live (the data after
  the real go-live is dropped), each with the same estimator. Few months give few placebos; this is a
  check that the before period shows no 'effects' as large as the real one, not an interval.

The areas must be exchangeable under the null: similar in size and in how their outcomes move. Nothing
here removes bias from linkage error (see :mod:`linkage.evaluation.linkage_error`) or from a trailblazer
whose own trend differs (the event study's pre-trend test is the check for that).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from linkage.evaluation.did import collapse_cells

__all__ = [
    "PlaceboResult",
    "area_changes",
    "area_month_panel",
    "lead_choice",
    "placebo_figure",
    "invert_test",
    "strip_chart",
    "placebo_table",
    "space_placebo",
    "staggered_att",
    "staggered_overall",
    "time_placebo",
]

MAX_ASSIGNMENTS = 20_000


@dataclass
class PlaceboResult:
    """A randomisation test of the go-live effect (proportion units) and its placebo distribution."""

    outcome: str
    kind: str  # "space" or "time"
    estimate: float
    p_value: float
    ci_lower: float  # -inf / +inf when no effect can be rejected at alpha
    ci_upper: float
    alpha: float
    placebos: pd.DataFrame = field(repr=False)  # label, estimate, actual (bool)
    n_treated: int = 0
    n_areas: int = 0

    @property
    def n_placebos(self) -> int:
        """Number of pretend assignments, the actual one included."""
        return len(self.placebos)

    @property
    def min_p(self) -> float:
        """The smallest p-value the design can give (1 / assignments)."""
        return 1.0 / max(self.n_placebos, 1)

    @property
    def bounded(self) -> bool:
        """True when the interval is finite (the design can reject at ``alpha``)."""
        return bool(np.isfinite(self.ci_lower) and np.isfinite(self.ci_upper))

    def covers(self, value: float) -> bool:
        """True when ``value`` lies inside the interval."""
        return bool(self.ci_lower <= value <= self.ci_upper)

    def as_row(self, scale: float = 100.0, unit: str = "pp") -> dict[str, object]:
        """One-row summary in display units."""
        return {
            "outcome": self.outcome,
            "placebo": self.kind,
            "unit": unit,
            "estimate": scale * self.estimate,
            "ci_lower": scale * self.ci_lower,
            "ci_upper": scale * self.ci_upper,
            "randomisation p": self.p_value,
            "placebos": self.n_placebos,
            "smallest attainable p": self.min_p,
        }


def area_month_panel(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    area: str = "area",
    treated: str = "treated",
    month: str = "month",
) -> pd.DataFrame:
    """Area x month cells: ``n`` crimes, ``y`` mean outcome, ``treated`` (max over the area's crimes)."""
    missing = [c for c in (outcome, area, treated, month) if c not in crimes.columns]
    if missing:
        raise KeyError(f"crimes lacks column(s) {missing} (columns: {list(crimes.columns)})")
    panel = collapse_cells(crimes, outcome=outcome, treated=treated, keys={area: "area", month: "month"})
    panel["treated"] = panel.groupby("area")["treated"].transform("max").astype(int)
    return panel


def area_changes(panel: pd.DataFrame, go_live: pd.Timestamp | str) -> pd.DataFrame:
    """Per area: crime-weighted outcome rate before and after ``go_live`` and the change (after - before)."""
    go_live = pd.Timestamp(go_live)
    p = panel.assign(post=panel["month"] >= go_live, total=panel["y"] * panel["n"])
    sums = p.groupby(["area", "post"])[["total", "n"]].sum()
    rate = (sums["total"] / sums["n"]).unstack("post")
    if False not in rate.columns or True not in rate.columns:
        raise ValueError(
            f"need months before and after {go_live:%Y-%m} (months: {sorted(p['month'].unique())})"
        )
    out = pd.DataFrame(
        {
            "before": rate[False],
            "after": rate[True],
            "treated": p.groupby("area")["treated"].max().astype(int),
            "crimes": p.groupby("area")["n"].sum().astype(int),
        }
    ).dropna(subset=["before", "after"])
    out["change"] = out["after"] - out["before"]
    return out.reset_index()


def _assignments(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """0/1 rows: every choice of ``k`` of ``n`` (or a random sample of them, when there are too many)."""
    total = math.comb(n, k)
    if total <= MAX_ASSIGNMENTS:
        rows = np.zeros((total, n), dtype=bool)
        for r, chosen in enumerate(itertools.combinations(range(n), k)):
            rows[r, list(chosen)] = True
        return rows
    rows = np.zeros((MAX_ASSIGNMENTS, n), dtype=bool)
    for r in range(MAX_ASSIGNMENTS):
        rows[r, rng.choice(n, k, replace=False)] = True
    return rows


def _contrast(rows: np.ndarray) -> np.ndarray:
    k = rows.sum(axis=1, keepdims=True)
    return np.where(rows, 1.0 / k, -1.0 / (rows.shape[1] - k))


def _p_values(
    W: np.ndarray, w0: np.ndarray, change: np.ndarray, t: np.ndarray, betas: np.ndarray
) -> np.ndarray:
    """Randomisation p-value of each hypothesised effect in ``betas`` (vectorised over betas)."""
    a, b = W @ change, W @ t  # stat_S(beta) = a_S - beta * b_S
    a0, b0 = w0 @ change, w0 @ t
    stat = np.abs(a[:, None] - betas[None, :] * b[:, None])
    actual = np.abs(a0 - betas * b0)
    return (stat >= actual[None, :] - 1e-12).mean(axis=0)


def space_placebo(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    go_live: pd.Timestamp | str,
    alpha: float = 0.05,
    seed: int = 0,
    area: str = "area",
    treated: str = "treated",
    month: str = "month",
) -> PlaceboResult:
    """Every eligible area as a pretend trailblazer: randomisation p-value and test-inversion interval."""
    changes = area_changes(
        area_month_panel(crimes, outcome=outcome, area=area, treated=treated, month=month), go_live
    )
    t = changes["treated"].to_numpy(float)
    n, k = len(t), int(t.sum())
    if k < 1 or k >= n:
        raise ValueError(f"space placebo: need treated and comparison areas, got {k} treated of {n}")
    change = changes["change"].to_numpy(float)
    W = _contrast(_assignments(n, k, np.random.default_rng(seed)))
    w0 = _contrast(t.astype(bool)[None, :])[0]
    estimate = float(w0 @ change)
    p = float(_p_values(W, w0, change, t, np.array([0.0]))[0])
    lo, hi = _invert(W, w0, change, t, estimate, alpha)
    actual = np.all(np.isclose(W, w0[None, :]), axis=1)
    names = changes["area"].astype(str).to_numpy()
    labels = [" + ".join(names[W[r] > 0]) for r in range(len(W))]
    placebos = pd.DataFrame({"label": labels, "estimate": W @ change, "actual": actual})
    return PlaceboResult(outcome, "space", estimate, p, lo, hi, alpha, placebos, n_treated=k, n_areas=n)


def _invert(
    W: np.ndarray, w0: np.ndarray, change: np.ndarray, t: np.ndarray, estimate: float, alpha: float
) -> tuple[float, float]:
    """The set of effects not rejected at ``alpha`` (see :func:`invert_test`)."""
    return invert_test(
        lambda betas: _p_values(W, w0, change, t, betas), estimate, float(np.ptp(change)) + 1e-6, alpha
    )


def invert_test(
    p_of: Callable[[np.ndarray], np.ndarray], estimate: float, spread: float, alpha: float
) -> tuple[float, float]:
    """The set of hypothesised effects a randomisation test does not reject at ``alpha``: ``p_of(betas)``
    gives the p-value of each; searched on a grid of +/- 6 ``spread`` around ``estimate``, each edge then
    refined by bisection. Unbounded (-inf, inf) when the grid's ends are not rejected."""
    grid = estimate + np.linspace(-6 * spread, 6 * spread, 2401)
    keep = p_of(grid) > alpha
    if not keep.any():
        return estimate, estimate
    idx = np.flatnonzero(keep)
    if idx[0] == 0 or idx[-1] == len(grid) - 1:
        return -np.inf, np.inf

    def edge(inside: float, outside: float) -> float:
        for _ in range(40):
            mid = (inside + outside) / 2
            if p_of(np.array([mid]))[0] > alpha:
                inside = mid
            else:
                outside = mid
        return inside

    return edge(grid[idx[0]], grid[idx[0] - 1]), edge(grid[idx[-1]], grid[idx[-1] + 1])


def time_placebo(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    go_live: pd.Timestamp | str,
    min_months: int = 2,
    area: str = "area",
    treated: str = "treated",
    month: str = "month",
) -> PlaceboResult:
    """Pretend go-live months before the real one (data after the real go-live dropped).

    Each pretend month needs ``min_months`` months before it; each uses the same estimator. The p-value is
    the share of the pretend estimates and the actual one at least as large in absolute value as the actual.
    The interval is not defined (the placebos are a check, not a reference distribution) and is left infinite.
    """
    go_live = pd.Timestamp(go_live)
    panel = area_month_panel(crimes, outcome=outcome, area=area, treated=treated, month=month)
    changes = area_changes(panel, go_live)
    w = changes["treated"].to_numpy(float)
    actual = _did_of(changes)
    months = sorted(m for m in panel["month"].unique() if m < go_live)
    rows = [{"label": f"{go_live:%Y-%m}", "estimate": actual, "actual": True}]
    pre = panel[panel["month"] < go_live]
    for m in months[min_months:]:
        try:
            rows.append(
                {
                    "label": f"{pd.Timestamp(m):%Y-%m}",
                    "estimate": _did_of(area_changes(pre, m)),
                    "actual": False,
                }
            )
        except ValueError:
            continue
    placebos = pd.DataFrame(rows)
    p = float((placebos["estimate"].abs() >= abs(actual) - 1e-12).mean())
    return PlaceboResult(
        outcome, "time", actual, p, -np.inf, np.inf, 0.05, placebos, n_treated=int(w.sum()), n_areas=len(w)
    )


def _did_of(changes: pd.DataFrame) -> float:
    t = changes["treated"] > 0
    if not t.any() or t.all():
        raise ValueError("need treated and comparison areas")
    return float(changes.loc[t, "change"].mean() - changes.loc[~t, "change"].mean())


def lead_choice(space: PlaceboResult) -> tuple[str, str]:
    """Which estimate a report leads with, and why (one sentence).

    The placebo-in-space interval when the design can reject at ``alpha`` (enough areas for a finite
    interval): it allows for area-wide shocks that no within-area standard error sees, and on the harder
    synthetic worlds it holds its level (docs/reports.md). Otherwise the cluster-robust DiD, with the
    randomisation p-value beside it and the limitation said.
    """
    if space.bounded:
        return (
            "placebo in space",
            "The report leads with the placebo-in-space (randomisation) interval: with "
            f"{space.n_areas} areas there are {space.n_placebos} pretend assignments, enough to test at "
            f"{100 * space.alpha:.0f}%, and unlike the cluster-robust interval it allows for shocks common "
            "to a whole area in a month (an area-wide change that coincides with go-live).",
        )
    return (
        "cluster-robust DiD",
        f"The report leads with the cluster-robust DiD interval. The randomisation test cannot reach "
        f"{100 * space.alpha:.0f}% here: {space.n_treated} trailblazer area(s) among {space.n_areas} "
        f"areas give only {space.n_placebos} pretend assignments, so its smallest possible p-value is "
        f"{space.min_p:.2f}. The cluster-robust interval does not allow for an area-wide shock that "
        "coincides with go-live; more comparison areas are needed to test for one.",
    )


def placebo_table(results: list[PlaceboResult], scale: float = 100.0, unit: str = "pp") -> pd.DataFrame:
    """One row per placebo test, in display units (intervals 'not bounded' as NaN)."""
    rows = []
    for r in results:
        row = r.as_row(scale, unit)
        if not r.bounded:
            row["ci_lower"] = row["ci_upper"] = np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def placebo_figure(
    space: PlaceboResult, time: PlaceboResult | None, label: str, scale: float = 100.0, unit: str = "pp"
):
    """A small chart: every placebo estimate (space, and time when given) with the actual one marked."""
    panels = [
        (
            f"placebo in {name}\n(p = {res.p_value:.2f})",
            res.placebos.loc[~res.placebos["actual"].to_numpy(bool), "estimate"].to_numpy(float),
            res.placebos.loc[res.placebos["actual"].to_numpy(bool), "estimate"].to_numpy(float),
        )
        for name, res in [("space", space), *([("time", time)] if time is not None else [])]
    ]
    return strip_chart(
        panels, label, scale, f"estimate ({unit}); red: actual trailblazer and go-live, blue: placebos"
    )


def strip_chart(panels: list[tuple[str, np.ndarray, np.ndarray]], label: str, scale: float, xlabel: str):
    """One row per panel (tick label, placebo estimates in blue, actual estimates in red diamonds)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 2.2 if len(panels) == 1 else 2.8), dpi=110)
    ax = fig.subplots()
    for y, (_, placebos, actual) in enumerate(panels):
        jitter = np.linspace(-0.15, 0.15, max(len(placebos), 1))[: len(placebos)]
        ax.scatter(scale * placebos, y + jitter, s=12, color="#8eb8dc", label=None)
        ax.scatter(scale * actual, [y] * len(actual), s=40, color="#d4351c", marker="D")
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_yticks(range(len(panels)), [name for name, _, _ in panels])
    ax.set_xlabel(xlabel)
    ax.set_ylim(-0.5, len(panels) - 0.5)
    ax.set_title(label[:90], fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def staggered_att(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    go_live_by_area: dict[str, pd.Timestamp | str],
    area: str = "area",
    month: str = "month",
) -> pd.DataFrame:
    """Group-time ATTs for staggered go-live months (Callaway & Sant'Anna 2021, unconditional form).

    Areas in ``go_live_by_area`` are trailblazers with their own go-live month; the rest never go live and
    are the comparison group. For each cohort ``g`` (areas going live in month g) and each month ``t`` from
    g on: ATT(g, t) = (cohort rate at t - at g-1) - (never-live rate at t - at g-1), rates crime-weighted
    over the areas of each group. Unlike pooled two-way fixed effects, an early cohort is never used as a
    comparison for a later one, so effects that grow over time do not bias the estimate (Goodman-Bacon
    2021). Returns one row per (cohort, month) with ``att`` and the crimes behind it; aggregate with
    :func:`staggered_overall`.
    """
    frame = crimes.assign(_t=0)
    panel = area_month_panel(frame, outcome=outcome, area=area, treated="_t", month=month)
    cohorts = {str(a): pd.Timestamp(g) for a, g in go_live_by_area.items()}
    unknown = sorted(set(cohorts) - set(panel["area"].astype(str)))
    if unknown:
        raise ValueError(f"staggered_att: go-live areas {unknown} have no crimes")
    panel["cohort"] = panel["area"].astype(str).map(cohorts)
    never = panel[panel["cohort"].isna()]
    if never.empty:
        raise ValueError("staggered_att: need areas that never go live as the comparison group")

    def rates(p: pd.DataFrame) -> pd.Series:
        s = p.assign(total=p["y"] * p["n"]).groupby("month")[["total", "n"]].sum()
        return s["total"] / s["n"]

    r_never = rates(never)
    rows = []
    for g, sub in panel.dropna(subset=["cohort"]).groupby("cohort"):
        r_g = rates(sub)
        before = g - pd.DateOffset(months=1)
        if before not in r_g.index or before not in r_never.index:
            raise ValueError(f"staggered_att: cohort {g:%Y-%m} has no month before go-live")
        n_g = sub.groupby("month")["n"].sum()
        for t in r_g.index[r_g.index >= g]:
            if t in r_never.index:
                att = (r_g[t] - r_g[before]) - (r_never[t] - r_never[before])
                rows.append({"cohort": g, "month": t, "att": float(att), "crimes": int(n_g[t])})
    return pd.DataFrame(rows)


def staggered_overall(group_time: pd.DataFrame) -> float:
    """The overall ATT: group-time ATTs averaged with weights equal to their treated crimes."""
    w = group_time["crimes"].to_numpy(float)
    return float(np.sum(w * group_time["att"].to_numpy(float)) / w.sum())
