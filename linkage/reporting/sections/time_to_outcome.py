"""Report section 4. Time to outcome."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from linkage.evaluation.disclosure import (
    RATE_DECIMALS,
    DisclosureSettings,
    round_to_base,
)
from linkage.evaluation.rates import (
    GROUP_ORDER,
)
from linkage.evaluation.survival import km_by_group, km_by_outcome, km_table_at, median_table
from linkage.reporting.document import FigureBlock, Section, TableBlock, figure_png
from linkage.reporting.sections._common import line_style, prose

logger = logging.getLogger(__name__)



def _share_at(curve, day: float) -> float:
    """1 - S(day) of a Kaplan-Meier curve."""
    i = np.searchsorted(np.asarray(curve.times), day, side="right")
    return float(1 - np.r_[1.0, curve.survival][i])


def _fastest(curves, months: bool) -> str:
    """A title that states the finding: the crime types with the largest and smallest share with a
    final outcome four weeks (public data: one month) after recording."""
    if len(curves) < 2:
        return "Share of crimes with a final outcome by time since recording"
    at, when = (1.0, "one month") if months else (28.0, "28 days")
    ranked = sorted(curves, key=lambda c: _share_at(c, at))
    return (
        f"{ranked[-1].group}: most often resolved within {when} "
        f"({100 * _share_at(ranked[-1], at):.0f}%); {ranked[0].group}: least often "
        f"({100 * _share_at(ranked[0], at):.0f}%)"
    )


def _largest(curves) -> str:
    """A title that states the finding for the competing outcome groups: the most common one."""
    if not curves:
        return "Cumulative incidence by outcome group"
    end = max(curves, key=lambda c: float(1 - c.survival[-1]) if len(c.survival) else 0.0)
    return f"'{end.group}' is the most common final outcome by the end of the period"


def _km_figure(
    curves, title: str, days_axis: bool = True, base: int = 1, ylabel: str = "share with a final outcome"
):
    from matplotlib.ticker import PercentFormatter

    fig = Figure(figsize=(9.0, 4.2), dpi=110)
    ax = fig.subplots()
    for i, c in enumerate(curves):
        ax.step(
            np.r_[0, c.times],
            1 - np.r_[1.0, c.survival],
            where="post",
            label=f"{c.group} (n≈{int(round_to_base(c.n, base)):,})",
            linewidth=1.4,
            **line_style(i),
        )
    ax.set_xlabel("days from recording" if days_axis else "months from the crime's month")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def time_to_outcome_section(
    crimes: pd.DataFrame | None,
    settings: DisclosureSettings,
    *,
    period_end: pd.Timestamp,
    alpha: float = 0.05,
    public_months: bool = False,
) -> Section:
    """Kaplan-Meier curves by crime type (censored at period end) and by outcome group, medians with CIs."""
    sec = Section("time", "Time to outcome")
    if crimes is None or crimes.empty or crimes["outcome_date"].isna().all():
        sec.needs = prose("time_to_outcome", "needs")
        return sec
    unit = "months" if public_months else "days"
    closed = ~crimes["outcome_group"].isin(["Under investigation or no update", "No outcome recorded"])
    data = crimes.copy()
    t = settings.threshold
    by_type = km_by_group(
        data,
        by="crime_type",
        start="start_date",
        end="outcome_date",
        period_end=period_end,
        event_mask=closed,
        alpha=alpha,
        min_events=t,
    )
    by_type = [c for c in by_type if c.n >= t]
    if public_months:
        for c in by_type:
            c.times = c.times / 30.4375
            c.median, c.median_lower, c.median_upper = (
                v / 30.4375 for v in (c.median, c.median_lower, c.median_upper)
            )
    sec.paragraphs.append(
        prose("time_to_outcome", "method", period_end=f"{period_end:%d %B %Y}", threshold=t)
    )
    if public_months:
        sec.paragraphs.append(prose("time_to_outcome", "public_months"))
    if by_type:
        finding = _fastest(by_type, public_months)
        sec.figures.append(
            FigureBlock(
                "Share of crimes with a final outcome by time since recording, by crime type (Kaplan-Meier, "
                "censored at the period end).",
                figure_png(_km_figure(by_type, finding, not public_months, settings.rounding_base)),
                alt=finding + ". Kaplan-Meier curves of the share of crimes with a final outcome by time "
                "since recording, one line per crime type; the values are in the table below.",
            )
        )
        # The number of outcomes per crime type is left out: crimes minus outcomes is the open count,
        # which the outcome table by crime type may withhold (cross-table differencing).
        overall = km_by_group(
            data,
            by=None,
            start="start_date",
            end="outcome_date",
            period_end=period_end,
            event_mask=closed,
            alpha=alpha,
            min_events=t,
        )
        if public_months:
            for c in overall:
                c.times = c.times / 30.4375
                c.median, c.median_lower, c.median_upper = (
                    v / 30.4375 for v in (c.median, c.median_lower, c.median_upper)
                )
        med = median_table(by_type, label="crime type")
        if overall:  # the all-crimes median is a row of the same table (the headline quotes that row)
            every = median_table(overall, label="crime type").assign(**{"crime type": ALL_CRIMES})
            med = pd.concat([med, every], ignore_index=True)
        med = _round_km(med, settings, unit).drop(columns="outcomes")
        sec.add_table(
            TableBlock(
                "time_to_outcome_medians_by_crime_type",
                f"Median time to final outcome by crime type ({unit}), with 95% intervals",
                med,
                na_text=_KM_NA,
            )
        )
        at = km_table_at(by_type, days=(7, 14, 28, 91, 182) if not public_months else (1, 2, 3, 6))
        at = at.rename(columns={"group": "crime type"})
        share_cols = [c for c in at.columns if c.startswith("by ")]
        at[share_cols] = at[share_cols].round(RATE_DECIMALS)
        if public_months:
            at.columns = [c.replace("by day", "by month") for c in at.columns]
        sec.add_table(
            TableBlock(
                "time_to_outcome_share_by_time",
                "Share of crimes with a final outcome by each time point (1 - Kaplan-Meier survival)",
                at,
                percent_columns=tuple(c for c in at.columns if c.startswith("by ")),
            )
        )
        if overall and ALL_CRIMES in set(med["crime type"]):
            row = med[med["crime type"] == ALL_CRIMES].iloc[0]
            sec.headline.append((f"Median time to final outcome ({unit})", median_text(row, unit)))
    if not public_months:
        _cumulative_incidence_blocks(sec, data, closed, settings, period_end=period_end, alpha=alpha)
    return sec


def _cumulative_incidence_blocks(
    sec: Section,
    data: pd.DataFrame,
    closed: pd.Series,
    settings: DisclosureSettings,
    *,
    period_end: pd.Timestamp,
    alpha: float,
) -> None:
    """Cumulative incidence of each outcome group over all crimes (competing outcomes censored at the
    period end), as curves, medians and shares at fixed days."""
    t = settings.threshold
    groups = [g for g in GROUP_ORDER if g in set(data.loc[closed, "outcome_group"])]
    by_group = km_by_outcome(
        data,
        outcome="outcome_group",
        groups=groups,
        period_end=period_end,
        alpha=alpha,
        min_events=t,
    )
    if not by_group:
        return
    sec.figures.append(
        FigureBlock(
            "Cumulative incidence of each outcome group: share of all crimes whose final outcome is of "
            "that group by each time since recording (1 - Kaplan-Meier with every crime at risk; crimes "
            "with another outcome or none are censored at the period end). Outcomes compete: the curves "
            "add up to at most the share with any outcome.",
            figure_png(
                _km_figure(
                    by_group,
                    _largest(by_group),
                    True,
                    settings.rounding_base,
                    ylabel="share of all crimes with this final outcome",
                )
            ),
            alt=_largest(by_group) + ". Cumulative incidence curves by outcome group; the values are in "
            "the table of shares by time point.",
        )
    )
    med = _round_km(median_table(by_group, label="outcome group"), settings, "days")
    med = med.drop(columns=["crimes", "outcomes"])  # counts: one place only (the outcome mix table)
    if med["median (days)"].notna().any():  # a table of 'not reached' only says nothing: leave it out
        sec.add_table(
            TableBlock(
                "time_to_outcome_medians_by_outcome",
                "Days from recording until half of all crimes have reached each outcome group (median of "
                "the cumulative incidence; 'not reached' when fewer than half of crimes end in that "
                "group), with 95% intervals",
                med,
                na_text=_KM_NA,
                note="Every crime is at risk. Crimes with a different final outcome, or none, are censored "
                "at the period end (a competing-risks estimate, not time to the outcome among crimes that "
                "reached it). Counts by outcome group are in the outcome mix table.",
            )
        )
    else:
        sec.paragraphs.append(prose("time_to_outcome", "no_group_median"))
    at = km_table_at(by_group, days=(7, 14, 28, 91, 182)).rename(columns={"group": "outcome group"})
    cols = [c for c in at.columns if c.startswith("by ")]
    at[cols] = at[cols].round(RATE_DECIMALS)
    sec.add_table(
        TableBlock(
            "time_to_outcome_incidence_by_outcome",
            "Share of all crimes whose final outcome is each group by each time point (cumulative incidence)",
            at,
            percent_columns=tuple(cols),
        )
    )


ALL_CRIMES = "All crimes"


def median_text(row: pd.Series, unit: str) -> str:
    """'16 days (95% CI 15 to 17)'; an interval narrower than the rounding is not shown as 'x to x'."""
    med, lo, hi = row[f"median ({unit})"], row["95% CI lower"], row["95% CI upper"]
    if pd.isna(med):
        return "not reached within the period"
    text = f"{med:,.0f} {unit}"
    if pd.notna(lo) and pd.notna(hi) and hi > lo:
        return text + f" (95% CI {lo:,.0f} to {hi:,.0f})"
    return text + " (95% interval within a day)" if unit == "days" else text


_KM_NA = {
    "median (days)": "not reached",
    "median (months)": "not reached",
    "95% CI lower": "n/a",
    "95% CI upper": "n/a",
}


def _round_km(med: pd.DataFrame, settings: DisclosureSettings, unit: str) -> pd.DataFrame:
    med = med.copy()
    for col in ("crimes", "outcomes"):
        med[col] = pd.array(round_to_base(med[col], settings.rounding_base), dtype="Int64")
    for col in ("median_days", "median_lower", "median_upper"):
        med[col] = med[col].round(1 if unit == "months" else 0)
    return med.rename(
        columns={
            "median_days": f"median ({unit})",
            "median_lower": "95% CI lower",
            "median_upper": "95% CI upper",
        }
    )
