"""Staggered go-live months: the group-time estimator with design-based and LSOA-bootstrap inference.

When trailblazer areas go live in different months, a pooled two-way fixed effects DiD (one
trailblazer x after-go-live coefficient) uses areas that went live early as comparisons for areas that go
live later; when the effect grows with time since go-live those comparisons carry the early areas' growing
effect into the later areas' counterfactual and bias the estimate, even its sign (Goodman-Bacon 2021). The
estimate here is the unconditional Callaway & Sant'Anna (2021) one: group-time ATTs of each cohort (areas
going live in the same month) against the never-live comparison areas only, from the month before the
cohort's go-live (:func:`linkage.evaluation.placebo.staggered_att`), averaged with weights equal to the
treated crimes (:func:`~linkage.evaluation.placebo.staggered_overall`).

Inference, two kinds, for the same reasons as :mod:`linkage.evaluation.placebo`:

* **Placebo in space over cohort reassignments** (randomisation): every way of giving the cohorts'
  go-live months (as many areas to each month as actually went live in it) to the trailblazer and
  comparison areas is a pretend assignment, each estimated with the same estimator. With ``k_g`` areas in
  cohort ``g`` among ``n`` areas there are ``n! / (k_1! ... k_m! (n - k)!)`` assignments. The p-value is
  the share of assignments whose estimate is at least as large in absolute value as the actual one; the
  interval inverts the test under a constant effect (the estimator is linear in the outcomes, so the
  statistic under a hypothesised effect ``beta`` is ``a_S - beta * b_S`` with ``b_S`` the assignment's
  estimate on the actual treatment indicator). It allows for area-wide shocks, which is why it leads when
  it can reject at ``alpha``.
* **LSOA bootstrap within areas**: LSOAs resampled with replacement within each area (the areas and their
  go-live months held fixed), percentile interval. It captures sampling variation of crimes and LSOAs but
  not a shock common to a whole area in a month; it leads only when there are too few areas for the
  randomisation test to reach ``alpha`` (as the cluster-robust DiD does for a single go-live month).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from linkage.evaluation.placebo import MAX_ASSIGNMENTS, invert_test, staggered_att, staggered_overall

__all__ = ["StaggeredResult", "staggered_estimate", "overall_from_arrays"]

BOOT_DRAWS = 499


@dataclass
class StaggeredResult:
    """The staggered overall ATT (proportion or outcome units), its group-time ATTs and both intervals."""

    outcome: str
    estimate: float
    group_time: pd.DataFrame = field(repr=False)  # cohort, month, att, crimes
    p_value: float  # randomisation (placebo in space over cohort reassignments)
    ci_lower: float  # -inf / +inf when no effect can be rejected at alpha
    ci_upper: float
    boot_lower: float  # LSOA bootstrap within areas (percentile)
    boot_upper: float
    alpha: float
    n_assignments: int
    n_areas: int
    n_treated: int
    cohorts: dict[str, pd.Timestamp] = field(default_factory=dict)  # trailblazer area -> go-live month
    boot_draws: int = BOOT_DRAWS
    placebos: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)  # one per reassignment

    @property
    def min_p(self) -> float:
        """The smallest p-value the design can give (1 / assignments)."""
        return 1.0 / max(self.n_assignments, 1)

    @property
    def bounded(self) -> bool:
        """True when the randomisation interval is finite (the design can reject at ``alpha``)."""
        return bool(np.isfinite(self.ci_lower) and np.isfinite(self.ci_upper))

    @property
    def lead(self) -> str:
        """Which interval a report leads with: the randomisation one when bounded, else the bootstrap."""
        return "placebo in space" if self.bounded else "LSOA bootstrap"

    @property
    def interval(self) -> tuple[float, float]:
        """The leading interval."""
        return (self.ci_lower, self.ci_upper) if self.bounded else (self.boot_lower, self.boot_upper)


def _arrays(
    crimes: pd.DataFrame, outcome: str, area: str, month: str, lsoa: str | None
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str], pd.DatetimeIndex]:
    """Unit x month totals ``T`` and counts ``N`` (units: LSOAs within areas, or areas) and unit keys."""
    keys = [area] + ([lsoa] if lsoa else [])
    frame = crimes[[outcome, month, *keys]].dropna()
    frame = frame.assign(_m=pd.to_datetime(frame[month]), _a=frame[area].astype(str))
    units = frame.groupby(["_a", *([lsoa] if lsoa else [])], sort=True, observed=True).ngroup()
    months = pd.DatetimeIndex(sorted(frame["_m"].unique()))
    m_idx = months.get_indexer(frame["_m"])
    n_units = int(units.max()) + 1
    T = np.zeros((n_units, len(months)))
    N = np.zeros((n_units, len(months)))
    np.add.at(T, (units.to_numpy(), m_idx), frame[outcome].to_numpy(float))
    np.add.at(N, (units.to_numpy(), m_idx), 1.0)
    unit_area = frame.groupby(units.to_numpy())["_a"].first().sort_index()
    areas = sorted(unit_area.unique())
    return unit_area.to_frame("area"), T, N, areas, months


def overall_from_arrays(T: np.ndarray, N: np.ndarray, cohort: np.ndarray) -> float:
    """The crime-weighted overall ATT from area x month totals ``T`` and counts ``N``; ``cohort[a]`` is the
    month index of area ``a``'s go-live, -1 for never. The same numbers as
    :func:`~linkage.evaluation.placebo.staggered_att` + :func:`~linkage.evaluation.placebo.staggered_overall`
    (a unit test checks), fast enough to repeat for every pretend assignment and bootstrap draw."""
    never = cohort < 0
    tn, nn = T[never].sum(0), N[never].sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_never = tn / nn
    num = den = 0.0
    for g in np.unique(cohort[~never]):
        sel = cohort == g
        tg, ng = T[sel].sum(0), N[sel].sum(0)
        if g < 1 or ng[g - 1] == 0 or nn[g - 1] == 0:
            return float("nan")
        with np.errstate(invalid="ignore", divide="ignore"):
            r_g = tg / ng
        t = np.arange(g, T.shape[1])
        ok = (ng[t] > 0) & (nn[t] > 0)
        t = t[ok]
        att = (r_g[t] - r_g[g - 1]) - (r_never[t] - r_never[g - 1])
        num += float(np.sum(ng[t] * att))
        den += float(np.sum(ng[t]))
    return num / den if den > 0 else float("nan")


def _reassignments(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows: every distinct arrangement of the cohort ``labels`` (-1 never) over the areas (or a random
    sample of them, the actual one first, when there are more than MAX_ASSIGNMENTS)."""
    n = len(labels)
    values, counts = np.unique(labels[labels >= 0], return_counts=True)
    total = math.factorial(n) // math.prod(math.factorial(int(c)) for c in (*counts, n - counts.sum()))
    if total > MAX_ASSIGNMENTS:
        rows = [labels] + [rng.permutation(labels) for _ in range(MAX_ASSIGNMENTS - 1)]
        return np.array(rows)
    rows: list[np.ndarray] = []

    def place(free: tuple[int, ...], k: int, current: np.ndarray) -> None:
        if k == len(values):
            rows.append(current.copy())
            return
        for chosen in itertools.combinations(free, int(counts[k])):
            current[list(chosen)] = values[k]
            place(tuple(i for i in free if i not in chosen), k + 1, current)
            current[list(chosen)] = -1

    place(tuple(range(n)), 0, np.full(n, -1))
    return np.array(rows)


def _invert(a: np.ndarray, b: np.ndarray, a0: float, estimate: float, alpha: float) -> tuple[float, float]:
    """Effects not rejected at ``alpha`` by the randomisation test (statistic ``|a_S - beta b_S|``; the actual
    assignment's ``b`` is 1), by :func:`linkage.evaluation.placebo.invert_test`."""

    def p(betas: np.ndarray) -> np.ndarray:
        stat = np.abs(a[:, None] - betas[None, :] * b[:, None])
        return (stat >= np.abs(a0 - betas)[None, :] - 1e-12).mean(axis=0)

    return invert_test(p, estimate, float(np.nanmax(a) - np.nanmin(a)) + 1e-6, alpha)


def staggered_estimate(
    crimes: pd.DataFrame,
    *,
    outcome: str,
    go_live_by_area: dict[str, pd.Timestamp | str],
    alpha: float = 0.05,
    seed: int = 0,
    boot_draws: int = BOOT_DRAWS,
    area: str = "area",
    month: str = "month",
    lsoa: str = "lsoa_code",
) -> StaggeredResult:
    """Overall ATT and group-time ATTs for staggered go-lives, with the randomisation interval over cohort
    reassignments and the LSOA-within-area bootstrap interval. Deterministic given ``seed``."""
    group_time = staggered_att(
        crimes, outcome=outcome, go_live_by_area=go_live_by_area, area=area, month=month
    )
    if group_time.empty:
        raise ValueError("staggered: no cohort month has crimes in both the cohort and the never-live areas")
    estimate = staggered_overall(group_time)
    cohorts = {str(a): pd.Timestamp(g) for a, g in go_live_by_area.items()}
    unit_area, T_l, N_l, areas, months = _arrays(
        crimes, outcome, area, month, lsoa if lsoa in crimes else None
    )
    a_idx = pd.Index(areas).get_indexer(unit_area["area"])
    A = np.zeros((len(areas), len(unit_area)))
    A[a_idx, np.arange(len(unit_area))] = 1.0
    T, N = A @ T_l, A @ N_l
    labels = np.array([months.get_loc(cohorts[a]) if a in cohorts else -1 for a in areas])
    # Randomisation over cohort reassignments, and test inversion (statistic linear in the outcome).
    D = np.zeros_like(T)
    for i, g in enumerate(labels):
        if g >= 0:
            D[i, g:] = 1.0
    rng = np.random.default_rng(seed)
    rows = _reassignments(labels, rng)
    a = np.array([overall_from_arrays(T, N, r) for r in rows])
    b = np.array([overall_from_arrays(D * N, N, r) for r in rows])
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    a0 = overall_from_arrays(T, N, labels)
    p_value = float((np.abs(a) >= abs(a0) - 1e-12).mean())
    lo, hi = _invert(a, b, a0, estimate, alpha)
    # LSOA bootstrap within areas: multinomial weights on each area's LSOAs.
    draws = []
    for _ in range(boot_draws):
        w = np.zeros(len(unit_area))
        for i in range(len(areas)):
            members = np.flatnonzero(a_idx == i)
            w[members] = rng.multinomial(len(members), np.full(len(members), 1.0 / len(members)))
        draws.append(overall_from_arrays(A @ (w[:, None] * T_l), A @ (w[:, None] * N_l), labels))
    draws_arr = np.array(draws)
    draws_arr = draws_arr[np.isfinite(draws_arr)]
    b_lo, b_hi = (float(q) for q in np.quantile(draws_arr, [alpha / 2, 1 - alpha / 2]))
    return StaggeredResult(
        outcome=outcome,
        estimate=estimate,
        group_time=group_time,
        p_value=p_value,
        ci_lower=lo,
        ci_upper=hi,
        boot_lower=b_lo,
        boot_upper=b_hi,
        alpha=alpha,
        n_assignments=len(a),
        n_areas=len(areas),
        n_treated=int((labels >= 0).sum()),
        cohorts=cohorts,
        boot_draws=len(draws_arr),
        placebos=a,
    )
