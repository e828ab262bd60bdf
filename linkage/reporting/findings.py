"""Main findings: plain sentences written from the published (disclosure-controlled) results.

Every figure a sentence quotes is read from a published table or a section's published results, so a
finding and the table behind it cannot disagree. Causal estimates (difference-in-differences) and
descriptive figures are kept apart, and each causal finding carries its robustness warnings: a pre-trend
test with p < 0.10, few clusters, a partly recorded last month, months missing from the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from linkage.reporting.document import Section
from linkage.reporting.labels import DISPLAY_LABELS
from linkage.reporting.sections.evaluation import PRETREND_ALERT
from linkage.reporting.sections.time_to_outcome import median_text

__all__ = ["Finding", "main_findings", "data_warnings", "PRETREND_ALERT", "FEW_CLUSTERS"]

FEW_CLUSTERS = 30  # cluster-robust standard errors are unreliable below this many clusters
PARTIAL_MONTH = 0.8  # a last month with under this share of a typical month's crimes is flagged

_SHORT = {
    "oocd": (
        "out-of-court disposals",
        "the share of crimes with a named suspect ending in an out-of-court disposal within {f} days",
    ),
    "days_capped": (
        "days to the police outcome",
        "the average days from recording to the police outcome "
        "for crimes with a named suspect (capped at {f} days)",
    ),
    "within_n": ("outcomes within {n} days", "the share of all crimes with a police outcome within {n} days"),
}


@dataclass
class Finding:
    """One sentence of the main findings; ``kind`` is "effect" (causal) or "descriptive"."""

    kind: str
    text: str
    warnings: list[str] = field(default_factory=list)
    source: str = ""  # the published table it is read from


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _val(x: Any, unit: str) -> str | None:
    if x is None or pd.isna(x):
        return None
    return _pct(float(x)) if unit == "pp" else f"{float(x):.1f} days"


def _means(means: pd.DataFrame, unit: str) -> dict[tuple[str, str], str | None]:
    col = "rate" if "rate" in means.columns else "mean"
    return {(r["role"], r["period"]): _val(r[col], unit) for _, r in means.iterrows()}


def _effect(result: dict[str, Any], *, followup_days: int, within_days: int) -> Finding:
    key, unit = result["key"], result["unit"]
    short, long = _SHORT.get(key, (result["label"], result["label"]))
    short = short.format(f=followup_days, n=within_days)
    long = long.format(f=followup_days, n=within_days)
    m = _means(result["means"], unit)
    tb = (m.get(("trailblazer", "before go-live")), m.get(("trailblazer", "after go-live")))
    cb = (m.get(("comparison", "before go-live")), m.get(("comparison", "after go-live")))
    est, lo, hi = result["estimate"], result["ci_lower"], result["ci_upper"]
    u = "percentage points" if unit == "pp" else "days"
    verdict = "rose" if lo > 0 else "fell"
    if None in tb or None in cb:
        baseline = "(the before and after figures are withheld for disclosure control)"
    else:
        baseline = (
            f"from {tb[0]} to {tb[1]} in the trailblazer, against {cb[0]} to {cb[1]} in the comparison areas"
        )
    first = short[0].upper() + short[1:]
    if lo <= 0 <= hi:
        text = (
            f"{first} {baseline}. The estimated effect of the trailblazer, {est:+.1f} {u} (95% CI "
            f"{lo:+.1f} to {hi:+.1f}), is not distinguishable from no effect."
        )
    else:
        text = (
            f"{first} {verdict} {baseline}: an estimated effect of the trailblazer of {est:+.1f} {u} "
            f"(95% CI {lo:+.1f} to {hi:+.1f})."
        )
    text += f" Measured as {long}."
    if result.get("true_effect") is not None:
        text += f" (Synthetic world: the true effect is {result['true_effect']:+.1f} {u}.)"
    warnings = []
    pre = result.get("pretrend_p")
    if pre is not None and np.isfinite(pre) and pre < PRETREND_ALERT:
        strength, how = (
            ("fails", "were already moving apart")
            if pre < 0.05
            else ("is borderline on", "may already have been moving apart")
        )
        warnings.append(
            f"Robustness: this estimate {strength} the pre-trend test (p = {pre:.3f}): before go-live the "
            f"trailblazer and comparison areas {how}, so part of the estimated effect may not be caused "
            "by the trailblazer. See the event study in the evaluation section."
        )
    clusters = result.get("clusters")
    if clusters is not None and clusters < FEW_CLUSTERS:
        warnings.append(
            f"Robustness: only {clusters} clusters ({result.get('cluster_on', '')}); cluster-robust "
            "intervals are too narrow with fewer than about 30."
        )
    return Finding("effect", text, warnings, result.get("table", ""))


def _table(sections: Sequence[Section], name: str) -> pd.DataFrame | None:
    for sec in sections:
        for block in sec.tables:
            if block.name == name:
                return block.frame
    return None


def _descriptive(sections: Sequence[Section], view: str) -> list[Finding]:
    out = []
    mix = _table(sections, "outcomes_mix")
    if mix is not None and len(mix):
        shown = mix.dropna(subset=["rate"])
        parts = [f"{_pct(r['rate'])} {str(r['outcome']).lower()}" for _, r in shown.iterrows()]
        total = mix["all crimes"].dropna()
        n = f"{int(total.iloc[0]):,} crimes (rounded)" if len(total) else "the crimes analysed"
        if parts:
            out.append(
                Finding(
                    "descriptive",
                    f"Of {n} in the {view} view, the final outcome was: " + "; ".join(parts) + ".",
                    source="outcomes_mix",
                )
            )
    med = _table(sections, "time_to_outcome_medians_by_crime_type")
    if med is not None and "crime type" in med.columns and "All crimes" in set(med["crime type"]):
        unit = "days" if "median (days)" in med.columns else "months"
        row = med[med["crime type"] == "All crimes"].iloc[0]
        out.append(
            Finding(
                "descriptive",
                f"Half of all crimes had a final outcome within {median_text(row, unit)} of recording "
                "(Kaplan-Meier median).",
                source="time_to_outcome_medians_by_crime_type",
            )
        )
    pr = _table(sections, "linkage_precision_recall")
    if pr is not None and "all" in set(pr["source"]):
        row = pr[pr["source"] == "all"].iloc[0]
        if pd.notna(row["precision"]) and pd.notna(row["recall"]):
            out.append(
                Finding(
                    "descriptive",
                    f"Linkage of outcome records to crimes: precision {_pct(row['precision'])} (share of "
                    f"links that are right), recall {_pct(row['recall'])} (share of true links found).",
                    source="linkage_precision_recall",
                )
            )
    if pr is not None and "precision at least" in pr.columns:
        bounded = [
            f"{_label(r['source'])}: precision at least {100 * r['precision at least']:.0f}%"
            + (
                f", recall at least {100 * r['recall at least']:.0f}%"
                if pd.notna(r["recall at least"])
                else ""
            )
            for _, r in pr.iterrows()
            if pd.isna(r["precision"]) and pd.notna(r["precision at least"])
        ]
        if bounded:
            out.append(
                Finding(
                    "descriptive",
                    "Where too few links are wrong to publish the rate, its bound is given: "
                    + "; ".join(bounded)
                    + ".",
                    source="linkage_precision_recall",
                )
            )
    sub = _table(sections, "linkage_by_subgroup")
    if sub is not None:
        cells = sub[sub["variable"] == "evaluation group"].dropna(subset=["precision", "recall"])
        if len(cells) == 4:
            out.append(
                Finding(
                    "descriptive",
                    "Linkage quality is similar in the four evaluation cells (trailblazer or comparison, "
                    f"before or after go-live): precision {_pct(cells['precision'].min())} to "
                    f"{_pct(cells['precision'].max())}, recall {_pct(cells['recall'].min())} to "
                    f"{_pct(cells['recall'].max())}."
                    if cells["recall"].max() - cells["recall"].min() < 0.02
                    and cells["precision"].max() - cells["precision"].min() < 0.02
                    else "Linkage quality differs between the evaluation cells (trailblazer or comparison, "
                    f"before or after go-live): precision {_pct(cells['precision'].min())} to "
                    f"{_pct(cells['precision'].max())}, recall {_pct(cells['recall'].min())} to "
                    f"{_pct(cells['recall'].max())}; the difference-in-differences may be biased by it.",
                    source="linkage_by_subgroup",
                )
            )
    return out


def _label(code: str) -> str:
    return DISPLAY_LABELS.get(code, code).lower()


def data_warnings(
    crimes: pd.DataFrame | None,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    public_months_complete: bool | None,
) -> list[str]:
    """Warnings about the data behind every finding: a partly recorded last month, months with no crimes."""
    out: list[str] = []
    if crimes is not None and len(crimes) and "month" in crimes.columns:
        months = pd.to_datetime(crimes["month"]).dt.to_period("M")
        wanted = pd.period_range(start, end, freq="M")
        counts = months.value_counts().reindex(wanted, fill_value=0)
        missing = [p for p, c in counts.items() if c == 0]
        if missing:
            out.append(
                "Coverage gap: no crimes in "
                + ", ".join(p.strftime("%B %Y") for p in missing)
                + "; figures for "
                "the period leave those months out."
            )
        typical = float(counts.iloc[:-1][counts.iloc[:-1] > 0].median()) if len(counts) > 1 else 0.0
        last = float(counts.iloc[-1])
        if typical > 0 and 0 < last < PARTIAL_MONTH * typical:
            out.append(
                f"Partial last month: {wanted[-1].strftime('%B %Y')} holds {100 * last / typical:.0f}% of a "
                "typical month's crimes, so it is probably only partly recorded."
            )
    if public_months_complete is False:
        out.append(
            "Coverage gap: the police.uk outcomes files do not cover every month of the period, so outcomes "
            "recorded in the missing months are absent."
        )
    return out


def main_findings(
    sections: Sequence[Section], *, view: str, followup_days: int, within_days: int
) -> list[Finding]:
    """Causal findings first (each with its baseline and robustness warnings), then descriptive ones."""
    effects = [
        _effect(r, followup_days=followup_days, within_days=within_days)
        for sec in sections
        for r in sec.results
        if r.get("kind") == "effect"
    ]
    return effects + _descriptive(sections, view)
