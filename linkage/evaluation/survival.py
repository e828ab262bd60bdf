"""Time to outcome: Kaplan-Meier curves and medians (statsmodels ``SurvfuncRight``).

Time runs from a start date (recorded date, or the first day of the crime's month on public data) to
the date of the final outcome. A crime with no final outcome by the end of the period - or an outcome
dated after it - is *censored* at the period end: we know only that it took at least that long.

Two views are offered:

* :func:`km_by_group` with ``event`` = "reached any final outcome": a Kaplan-Meier estimate of time to
  outcome by crime type, censored at the period end;
* :func:`km_by_outcome`: for each outcome type ``g``, every crime is at risk and the event is "final
  outcome is ``g``". Outcome types compete (a crime that ends in a caution can never end in a charge),
  so a crime with a *different* final outcome is kept in the risk set until the period end and
  censored there, like a crime still open. Because the only censoring is then the (known) end of the
  period, ``1 - S(t)`` estimates the **cumulative incidence** of ``g``: the share of all crimes that
  have reached ``g`` by ``t`` days. Its median is the time by which half of all crimes reach ``g`` -
  "not reached" for any outcome that fewer than half of crimes end in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight

logger = logging.getLogger(__name__)

__all__ = ["SurvivalCurve", "durations", "km_by_group", "km_by_outcome", "km_table_at", "median_table"]


@dataclass
class SurvivalCurve:
    """A Kaplan-Meier curve for one group.

    ``times``/``survival`` give the step function (share of crimes still without an outcome);
    ``median`` and its ``1 - alpha`` interval are in days (NaN when not reached).
    """

    group: str
    n: int
    events: int
    median: float
    median_lower: float
    median_upper: float
    alpha: float
    times: np.ndarray = field(repr=False)
    survival: np.ndarray = field(repr=False)
    method: str = "Kaplan-Meier (statsmodels SurvfuncRight), censored at period end"

    def survival_at(self, t: float) -> float:
        """S(t): share of the group with no outcome after ``t`` days."""
        idx = np.searchsorted(self.times, t, side="right") - 1
        return 1.0 if idx < 0 else float(self.survival[idx])


def durations(
    crimes: pd.DataFrame,
    *,
    start: str,
    end: str,
    period_end: pd.Timestamp | str,
    event_mask: pd.Series | None = None,
) -> pd.DataFrame:
    """Days from ``start`` to ``end`` with censoring at ``period_end``.

    Returns ``duration`` (days, >= 0) and ``event`` (1 observed, 0 censored) aligned with ``crimes``.
    An outcome after ``period_end``, a missing ``end`` or ``event_mask`` False means censored at the
    period end. Rows whose start is after the period end or missing are dropped.
    """
    period_end = pd.Timestamp(period_end)
    s = pd.to_datetime(crimes[start])
    e = pd.to_datetime(crimes[end])
    observed = e.notna() & (e <= period_end)
    if event_mask is not None:
        observed &= event_mask.reindex(crimes.index).fillna(False).astype(bool)
    stop = e.where(observed, period_end)
    days = (stop - s).dt.days.astype("float")
    keep = s.notna() & (s <= period_end)
    out = pd.DataFrame(
        {"duration": days.clip(lower=0), "event": observed.astype("int64")}, index=crimes.index
    )
    return out[keep]


def km_by_group(
    crimes: pd.DataFrame,
    *,
    by: str | None,
    start: str = "start_date",
    end: str = "outcome_date",
    period_end: pd.Timestamp | str,
    event_mask: pd.Series | None = None,
    alpha: float = 0.05,
    min_events: int = 1,
) -> list[SurvivalCurve]:
    """One Kaplan-Meier curve per value of ``by`` (or one for all rows when ``by`` is None).

    Groups with fewer than ``min_events`` events are skipped (the report passes the disclosure
    threshold, so no curve is drawn from a handful of people).
    """
    d = durations(crimes, start=start, end=end, period_end=period_end, event_mask=event_mask)
    groups = (
        crimes.loc[d.index, by].astype("string").fillna("Unknown") if by else pd.Series("All", index=d.index)
    )
    curves = []
    for name in sorted(groups.unique()):
        sub = d[groups == name]
        n_events = int(sub["event"].sum())
        if len(sub) == 0 or n_events < max(min_events, 1):
            logger.debug("group %r skipped: %d event(s)", name, n_events)
            continue
        sf = SurvfuncRight(sub["duration"].to_numpy(), sub["event"].to_numpy())
        median = float(sf.quantile(0.5))
        with np.errstate(divide="ignore", invalid="ignore"):  # log-log transform at S = 0 or 1
            lo, hi = sf.quantile_ci(0.5, alpha=alpha)
        lo = np.nan if lo is None else float(lo)
        hi = np.nan if hi is None else float(hi)
        if np.isfinite(median) and np.isnan(lo) and np.isnan(hi):
            # Brookmeyer-Crowley finds no event time other than the median inside the confidence set: with
            # many crimes and whole-day times the interval is narrower than one day.
            lo = hi = median
        curves.append(
            SurvivalCurve(
                group=str(name),
                n=len(sub),
                events=n_events,
                median=median,
                median_lower=lo,
                median_upper=hi,
                alpha=alpha,
                times=np.asarray(sf.surv_times, dtype=float),
                survival=np.asarray(sf.surv_prob, dtype=float),
            )
        )
    return curves


CIF_METHOD = (
    "cumulative incidence as 1 - Kaplan-Meier (statsmodels SurvfuncRight): every crime at risk, event = "
    "final outcome of this type; other final outcomes and open crimes censored at the period end"
)


def km_by_outcome(
    crimes: pd.DataFrame,
    *,
    outcome: str = "outcome_group",
    groups: list[str] | tuple[str, ...] | None = None,
    start: str = "start_date",
    end: str = "outcome_date",
    period_end: pd.Timestamp | str,
    alpha: float = 0.05,
    min_events: int = 1,
) -> list[SurvivalCurve]:
    """Cumulative incidence of each outcome type over all crimes, censored only at the period end.

    For each ``g`` in ``groups`` (default: every value of ``outcome``), one Kaplan-Meier fit over *all*
    rows with event = "``outcome`` is ``g`` and dated by the period end"; rows with another outcome or
    none are censored at ``period_end`` (see the module notes: ``1 - S(t)`` is then the cumulative
    incidence of ``g``). ``n`` is every crime at risk, ``events`` those reaching ``g``. Types with fewer
    than ``min_events`` events are skipped.
    """
    if outcome not in crimes.columns:
        raise KeyError(f"outcome: column {outcome!r} not in crimes (columns: {list(crimes.columns)})")
    labels = crimes[outcome].astype("string")
    names = list(groups) if groups is not None else sorted(labels.dropna().unique())
    curves = []
    for g in names:
        fit = km_by_group(
            crimes,
            by=None,
            start=start,
            end=end,
            period_end=period_end,
            event_mask=(labels == g).fillna(False),
            alpha=alpha,
            min_events=min_events,
        )
        for c in fit:
            c.group = str(g)
            c.method = CIF_METHOD
            curves.append(c)
    return curves


def median_table(curves: list[SurvivalCurve], *, label: str = "group") -> pd.DataFrame:
    """Medians with intervals, one row per curve (days; NaN = not reached within the period)."""
    return pd.DataFrame(
        {
            label: [c.group for c in curves],
            "crimes": [c.n for c in curves],
            "outcomes": [c.events for c in curves],
            "median_days": [c.median for c in curves],
            "median_lower": [c.median_lower for c in curves],
            "median_upper": [c.median_upper for c in curves],
        }
    )


def km_table_at(
    curves: list[SurvivalCurve], days: tuple[int, ...] = (7, 14, 28, 56, 91, 182, 365)
) -> pd.DataFrame:
    """Share of crimes with an outcome by each of ``days`` (1 - S(t)), one row per curve.

    Publishing the curve at fixed points rather than every step avoids revealing single event times.
    """
    rows = {c.group: [1 - c.survival_at(t) for t in days] for c in curves}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=[f"by day {t}" for t in days])
    out.index.name = "group"
    return out.reset_index()
