"""Report section 6. Trailblazer evaluation."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from linkage.evaluation.bootstrap import wild_cluster_bootstrap
from linkage.evaluation.did import EventStudy, did, event_study
from linkage.evaluation.disclosure import (
    RATE_DECIMALS,
    DisclosureSettings,
    round_to_base,
    rounded_rate,
    small_count_mask,
)
from linkage.evaluation.frames import add_flags, did_outcomes, did_sample
from linkage.evaluation.linkage_error import imputed_did, imputed_linked_outcomes, linked_shares
from linkage.evaluation.method_evidence import CoverageEvidence, load_method_evidence
from linkage.evaluation.placebo import (
    lead_choice,
    placebo_figure,
    placebo_table,
    space_placebo,
    strip_chart,
    time_placebo,
)
from linkage.evaluation.staggered import StaggeredResult, staggered_estimate
from linkage.evaluation.synthetic_did import synthetic_did
from linkage.reporting.document import FigureBlock, Section, TableBlock, figure_png
from linkage.reporting.sections._common import prose
from linkage.sources.messages import plain

logger = logging.getLogger(__name__)

PRETREND_ALERT = 0.10  # a pre-trend test p below this is flagged beside the estimate


def _event_title(es: EventStudy, label: str, scale: float, unit: str) -> str:
    """The event study's finding in words: the average post-go-live difference and whether the
    pre-go-live months are flat (the pre-trend test)."""
    c = es.coefficients
    post = scale * c.loc[c["relative_month"] >= 0, "estimate"].mean()
    flat = (
        "before go-live the areas moved together"
        if es.pretrend_p >= PRETREND_ALERT
        else f"but the areas were already diverging before go-live (pre-trend p = {es.pretrend_p:.3f})"
    )
    first = label[0].upper() + label[1:]
    return f"{first}: trailblazer minus comparison averages {post:+.1f} {unit} after go-live; {flat}"


def _event_figure(es: EventStudy, label: str, scale: float = 100.0, unit: str = "pp"):
    fig = Figure(figsize=(7.5, 3.4), dpi=110)
    ax = fig.subplots()
    c = es.coefficients
    ax.axhline(0, color="black", linewidth=0.6)
    ax.axvline(-0.5, color="#d4351c", linewidth=0.8, linestyle="--")
    ax.errorbar(
        c["relative_month"],
        scale * c["estimate"],
        yerr=scale * np.vstack([c["estimate"] - c["ci_lower"], c["ci_upper"] - c["estimate"]]),
        fmt="o",
        color="#1d70b8",
        ecolor="#8eb8dc",
        capsize=2,
        markersize=4,
    )
    ax.set_xlabel("months relative to go-live (0 = go-live month; -1 = reference)")
    ax.set_ylabel(f"difference ({unit})")
    ax.set_title("\n".join(textwrap.wrap(_event_title(es, label, scale, unit), 90)), fontsize=10, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _cell_means_table(cell_means: pd.DataFrame, unit: str, settings: DisclosureSettings) -> pd.DataFrame:
    """Before/after cell means of one DiD outcome (``n``, ``rate``, ...), protected: a mean of a 0/1
    outcome is a rate."""
    t = settings.threshold
    means = cell_means.copy()
    small = (means["n"] < t).to_numpy()
    if unit == "pp":  # a cell mean of a 0/1 outcome is a rate: check and recompute it like one
        k = (means["rate"] * means["n"]).round()
        small = small | small_count_mask(k, means["n"], settings)
        means["rate"] = rounded_rate(k, means["n"], settings)[0]
    else:
        means["rate"] = means["rate"].round(1)
    means["n"] = pd.array(round_to_base(means["n"], settings.rounding_base), dtype="Int64")
    means.loc[small, ["n", "rate"]] = np.nan
    means = means.rename(columns={"n": "crimes", "rate": "mean" if unit == "days" else "rate"})
    return means


def _event_study_blocks(sec: Section, es: EventStudy, key: str, label: str, unit: str, scale: float) -> None:
    """Event-study chart (with the pre-trend test in its caption) and coefficient table."""
    sec.figures.append(
        FigureBlock(
            f"Event study: {label}, trailblazer minus comparison by month relative to go-live "
            f"({unit}), with 95% cluster-robust intervals. Pre-trend test (every pre-go-live "
            f"coefficient zero): chi-squared {es.pretrend_stat:.1f} on {es.pretrend_df} df, "
            f"p = {es.pretrend_p:.3f}.",
            figure_png(_event_figure(es, label, scale, unit)),
            alt=_event_title(es, label, scale, unit) + ". Event-study chart: one point per month relative "
            "to go-live with its 95% interval; the values are in the table below.",
        )
    )
    es_tab = es.coefficients.copy()
    es_tab[["estimate", "ci_lower", "ci_upper", "std_error"]] *= scale
    sec.add_table(
        TableBlock(
            f"evaluation_event_study_{key}",
            f"Event-study coefficients ({unit}): {label}",
            es_tab.rename(
                columns={
                    "relative_month": "month relative to go-live",
                    "estimate": f"estimate ({unit})",
                    "ci_lower": "95% CI lower",
                    "ci_upper": "95% CI upper",
                    "std_error": "SE",
                }
            ),
        )
    )


# --- Placebo tests and the randomisation p-value beside the headline effect -------------------------------
@dataclass(frozen=True)
class HeadlineOutcome:
    """The headline outcome the placebo and robustness checks run on: its DiD sample (area, treated,
    month, lsoa_code and the outcome column ``key``), how it is shown, the go-live month, the test level
    and the configuration's seed (bootstrap draws and sampled placebo assignments)."""

    sample: pd.DataFrame
    key: str
    label: str
    unit: str
    scale: float
    go_live: pd.Timestamp
    alpha: float
    seed: int = 0


def _placebo_block(sec: Section, headline: HeadlineOutcome) -> None:
    """Placebo tests in space and time for the headline outcome: chart, table, headline p-value and which
    estimate the report leads with (logic in :mod:`linkage.evaluation.placebo`). Publishes estimates and
    p-values only (no counts), each a difference of area-level rates like the DiD itself."""
    h = headline
    sub, key, label, unit, scale = h.sample, h.key, h.label, h.unit, h.scale
    go_live, alpha, seed = h.go_live, h.alpha, h.seed
    try:
        space = space_placebo(sub, outcome=key, go_live=go_live, alpha=alpha, seed=seed)
    except ValueError as exc:
        sec.paragraphs.append(prose("evaluation", "placebo_not_run", reason=exc))
        return
    try:
        time = time_placebo(sub, outcome=key, go_live=go_live)
    except ValueError:
        time = None
    lead, why = lead_choice(space)
    sec.headline.append(
        (
            "Randomisation p (placebo in space)",
            f"p = {space.p_value:.2f} ({space.n_placebos} assignments; smallest possible {space.min_p:.2f}); "
            f"leads with: {lead}",
        )
    )
    sec.paragraphs.append(
        prose("evaluation", "placebo", label=label, n_treated=space.n_treated, n_areas=space.n_areas, why=why)
    )
    sec.figures.append(
        FigureBlock(
            f"Placebo distribution: {label} ({unit}). Red: the actual trailblazer areas and go-live; blue: "
            f"every placebo. Randomisation p-value (space) {space.p_value:.2f}"
            + (f"; (time) {time.p_value:.2f}." if time is not None else "."),
            figure_png(placebo_figure(space, time, label, scale, unit)),
            alt=f"placebo distribution of {label}",
        )
    )
    table = placebo_table([space, *([time] if time is not None else [])], scale, unit)
    table.insert(
        0, "method", table.pop("placebo").map({"space": "placebo in space", "time": "placebo in time"})
    )
    extra, missing = robustness_rows(headline)
    table = pd.concat([table, pd.DataFrame(extra, columns=table.columns)], ignore_index=True)
    table["smallest attainable p"] = table["smallest attainable p"].astype(float)
    table["placebos"] = pd.array(table["placebos"], dtype="Int64")
    sec.paragraphs.append(
        prose(
            "evaluation",
            "robustness",
            lead=lead,
            missing=missing,
            n_treated=space.n_treated,
            n_areas=space.n_areas,
            evidence=evidence_words(load_method_evidence()),
        )
    )
    sec.add_table(
        TableBlock(
            f"evaluation_placebo_{key}",
            f"Placebo tests, wild cluster bootstrap and synthetic DiD ({unit}): {label}",
            table.rename(
                columns={
                    "ci_lower": "95% CI lower",
                    "ci_upper": "95% CI upper",
                    "randomisation p": "p",
                    "placebos": "placebos or draws",
                }
            ),
            na_text={
                "95% CI lower": "not bounded",
                "95% CI upper": "not bounded",
                "p": "not available",
                "estimate": "not estimable",
                "placebos or draws": "no placebos",
                "smallest attainable p": "not applicable",
            },
        )
    )


def evidence_words(evidence: CoverageEvidence | None) -> dict[str, object] | None:
    """The recorded coverage run's figures as the robustness paragraph quotes them; ``None`` when no run
    is recorded or it lacks one of the three methods the paragraph compares."""
    if evidence is None:
        return None
    space, sdid, wb = (evidence.method(k) for k in ("placebo_space", "synthetic_did", "wild_bootstrap"))
    if space is None or sdid is None or wb is None:
        return None

    def pct(x: float) -> str:
        return f"{100 * x:.1f}%"

    return {
        "worlds": space.worlds,
        "areas": evidence.areas,
        "shock": f"{evidence.shock_sd_pp:g}",
        "effect": f"{evidence.effect_pp:g}",
        "effect_worlds": space.effect_worlds,
        "null_worlds": space.null_worlds,
        "space_cov": pct(space.coverage),
        "space_size": pct(space.size),
        "sdid_cov": pct(sdid.coverage),
        "sdid_size": pct(sdid.size),
        "wb_cov": pct(wb.coverage),
        "wb_size": pct(wb.size),
        "wb_power": f"{wb.rejected_effect} worlds of {wb.effect_worlds}",
    }


def robustness_rows(headline: HeadlineOutcome) -> tuple[list[dict[str, object]], list[str]]:
    """Rows for the wild cluster bootstrap and the synthetic DiD beside the placebo tests (display units),
    in the placebo table's columns, and the methods that could not be run, each with its reason in words.

    A synthetic DiD without donor placebos (no more donor areas than trailblazers) keeps its estimate and
    has no interval or p-value (NaN, shown in words); a wild bootstrap interval that never rejects is
    unbounded (NaN, 'not bounded'). Deterministic given the headline's ``seed``."""
    h = headline
    sub, key, unit, scale, go_live, alpha, seed = h.sample, h.key, h.unit, h.scale, h.go_live, h.alpha, h.seed
    rows: list[dict[str, object]] = []
    missing: list[str] = []
    try:
        wb = wild_cluster_bootstrap(sub, outcome=key, go_live=go_live, alpha=alpha, seed=seed)
    except (ValueError, np.linalg.LinAlgError) as exc:
        missing.append(f"wild cluster bootstrap: not estimable ({plain(exc)})")
    else:
        rows.append(
            {
                "method": f"wild cluster bootstrap (area clusters, {wb.weights.capitalize()} weights)",
                "outcome": key,
                "unit": unit,
                "estimate": scale * wb.estimate,
                "ci_lower": scale * wb.ci_lower if np.isfinite(wb.ci_lower) else np.nan,
                "ci_upper": scale * wb.ci_upper if np.isfinite(wb.ci_upper) else np.nan,
                "randomisation p": wb.p_value,
                "placebos": wb.draws,
                "smallest attainable p": np.nan,
            }
        )
    try:
        sd = synthetic_did(sub, outcome=key, go_live=go_live, alpha=alpha, seed=seed)
    except (ValueError, KeyError) as exc:
        missing.append(f"synthetic DiD: not estimable ({plain(exc)})")
    else:
        has_placebos = len(sd.placebos) >= 2
        if not has_placebos:
            missing.append(
                f"synthetic DiD: no placebo interval or p-value ({sd.n_donors} donor area(s) for "
                f"{sd.n_treated} trailblazer(s); placebo inference needs more donors than trailblazers)"
            )
        rows.append(
            {
                "method": "synthetic DiD (placebo variance)",
                "outcome": key,
                "unit": unit,
                "estimate": scale * sd.estimate if np.isfinite(sd.estimate) else np.nan,
                "ci_lower": scale * sd.ci_lower if has_placebos else np.nan,
                "ci_upper": scale * sd.ci_upper if has_placebos else np.nan,
                "randomisation p": sd.p_value if has_placebos else np.nan,
                "placebos": len(sd.placebos) if has_placebos else pd.NA,
                "smallest attainable p": 1.0 / (len(sd.placebos) + 1) if has_placebos else np.nan,
            }
        )
    return rows, missing


# --- Linkage error: linked-only outcomes as linked, adjusted and imputed ----------------------------------
SOURCE_LABELS = {
    "cautions": "a caution",
    "penalty_notices": "a penalty notice",
    "court_outcomes": "a court outcome",
}


def add_linkage_adjusted(
    sec: Section,
    named: pd.DataFrame,
    links: pd.DataFrame,
    reviews: Mapping[str, object],
    settings: DisclosureSettings,
    *,
    truth: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> None:
    """Per source, the share of crimes with a named suspect that have a linked record of it: as linked,
    and adjusted by that source's clerical-review precision and recall, with the part of the adjusted
    interval that is linkage (logic in :func:`linkage.evaluation.linkage_error.linked_shares`). Publishes
    rates only (no counts); a source whose linked records number fewer than the disclosure threshold is
    left out."""
    if named is None or named.empty or links is None or not reviews:
        return
    shares = linked_shares(
        named, links, dict(reviews), truth=truth, alpha=alpha, rounding_base=settings.rounding_base
    )  # every rate from rounded counts
    shares = shares[shares["linked"] >= settings.threshold]
    if shares.empty:
        return
    table = pd.DataFrame(
        {
            "linked record": shares["source"].map(SOURCE_LABELS).fillna(shares["source"]),
            "as linked": shares["as_linked"],
            "as linked, 95% CI lower": shares["as_linked_lower"],
            "as linked, 95% CI upper": shares["as_linked_upper"],
            "review precision": shares["precision"],
            "review recall": shares["recall"],
            "linkage-adjusted": shares["adjusted"],
            "adjusted, 95% CI lower": shares["adjusted_lower"],
            "adjusted, 95% CI upper": shares["adjusted_upper"],
            "share of adjusted variance from linkage": shares["linkage_share"],
        }
    )
    pct = [c for c in table.columns if c not in ("linked record",)]
    if truth is not None and "true" in shares:
        table["true share"] = shares["true"].to_numpy()
        table["as linked covers truth"] = (
            (shares["as_linked_lower"] <= shares["true"]) & (shares["true"] <= shares["as_linked_upper"])
        ).to_numpy()
        table["adjusted covers truth"] = (
            (shares["adjusted_lower"] <= shares["true"]) & (shares["true"] <= shares["adjusted_upper"])
        ).to_numpy()
        pct.append("true share")
    table[pct] = table[pct].astype(float).round(RATE_DECIMALS)
    widest = shares.loc[shares["linkage_share"].idxmax()]
    sec.paragraphs.append(
        prose(
            "evaluation",
            "linkage_adjusted",
            source=SOURCE_LABELS.get(str(widest["source"]), str(widest["source"])),
            share=f"{100 * widest['linkage_share']:.0f}%",
            ratio=f"{widest['width_ratio']:.1f}",
        )
    )
    if truth is not None and "true" in shares:
        _truth_paragraph(sec, table, "linked-only shares", "adjusted")
    sec.add_table(
        TableBlock(
            "evaluation_linkage_adjusted",
            "Crimes with a named suspect that have a linked record: as linked and linkage-adjusted",
            table.reset_index(drop=True),
            percent_columns=tuple(pct),
        )
    )


MI_IMPUTATIONS = 10  # link sets drawn for the report's multiple imputation (issue 16d)


# candidate columns multiple imputation of link sets reads
_IMPUTATION_COLUMNS = frozenset({"match_probability", "rule", "r_outcome_date", "left_pos", "right_pos"})


def add_linkage_imputed(
    sec: Section,
    named: pd.DataFrame,
    candidates: pd.DataFrame | None,
    links: pd.DataFrame,
    settings: DisclosureSettings,
    *,
    m: int = MI_IMPUTATIONS,
    seed: int = 0,
    alpha: float = 0.05,
    truth: pd.DataFrame | None = None,
) -> None:
    """Per source, the linked-only share and the mean days from recording to the linked outcome, as linked
    and by multiple imputation of link sets from the candidates' match probabilities (one-to-one, Rubin's
    rules), with the part of each imputed variance that is linkage (logic in
    :func:`linkage.evaluation.linkage_error.imputed_linked_outcomes`). Publishes rates and means only; a
    source where any mean rests on fewer crimes than the disclosure threshold is left out. ``truth`` (a
    synthetic world's true links with dates, :func:`linkage.evaluation.linkage_error.true_links`) adds the
    true share and mean and whether each interval covers them; real extracts have no such columns."""
    if named is None or named.empty or candidates is None or candidates.empty or links is None:
        return
    if not set(candidates.columns) >= _IMPUTATION_COLUMNS or "start_date" not in named.columns:
        sec.paragraphs.append(prose("evaluation", "linkage_imputed_not_run"))
        return
    res = imputed_linked_outcomes(
        named,
        candidates,
        links,
        m=m,
        seed=seed,
        alpha=alpha,
        rounding_base=settings.rounding_base,
        truth=truth,
    )
    if res.empty:
        return
    res = res[res["min_linked"] >= settings.threshold].reset_index(drop=True)
    if res.empty:
        return
    pct = [
        "as linked share",
        "as linked share, 95% CI lower",
        "as linked share, 95% CI upper",
        "imputed share",
        "imputed share, 95% CI lower",
        "imputed share, 95% CI upper",
        "share: variance from linkage",
        "days: variance from linkage",
    ]
    table = pd.DataFrame(
        {
            "linked record": res["source"].map(SOURCE_LABELS).fillna(res["source"]),
            "as linked share": res["as_linked_share"],
            "as linked share, 95% CI lower": res["as_linked_share_lower"],
            "as linked share, 95% CI upper": res["as_linked_share_upper"],
            "imputed share": res["imputed_share"],
            "imputed share, 95% CI lower": res["imputed_share_lower"],
            "imputed share, 95% CI upper": res["imputed_share_upper"],
            "share: variance from linkage": res["share_linkage"],
            "mean days as linked": res["as_linked_days"],
            "as linked, 95% CI lower (days)": res["as_linked_days_lower"],
            "as linked, 95% CI upper (days)": res["as_linked_days_upper"],
            "mean days imputed": res["imputed_days"],
            "imputed, 95% CI lower (days)": res["imputed_days_lower"],
            "imputed, 95% CI upper (days)": res["imputed_days_upper"],
            "days: variance from linkage": res["days_linkage"],
        }
    ).reset_index(drop=True)
    days = [c for c in table.columns if "days" in c and c not in pct]
    na_text = {c: "not estimable" for c in days}
    if truth is not None and "true_share" in res:
        table["true share"] = res["true_share"]
        pct.append("true share")
        table["true mean days"] = res["true_days"]
        days.append("true mean days")
        na_text["true mean days"] = "no true record"
        for what, label in (("share", "share"), ("days", "mean days")):
            for how, name in (("as_linked", "as linked"), ("imputed", "imputed")):
                col = f"{name} {label} covers truth"
                table[col] = _covers(res, f"{how}_{what}", f"true_{what}")
                na_text[col] = "not estimable"
    table[pct] = table[pct].astype(float).round(RATE_DECIMALS)
    table[days] = table[days].astype(float).round(1)
    sec.paragraphs.append(
        prose(
            "evaluation",
            "linkage_imputed",
            m=m,
            share=f"{100 * float(res['share_linkage'].max()):.0f}%",
            days=f"{100 * float(res['days_linkage'].max()):.0f}%",
        )
    )
    if truth is not None and "true_share" in res:
        _truth_paragraph(sec, table, "imputed shares and mean days", "imputed")
    sec.add_table(
        TableBlock(
            "evaluation_linkage_imputed",
            f"Linked-only share and mean days to the linked outcome, crimes with a named suspect: as linked "
            f"and by multiple imputation of link sets ({m} imputations)",
            table,
            percent_columns=tuple(pct),
            na_text=na_text,
        )
    )


def _percent(share: float) -> str:
    """A share of variance in words: whole percent, 'under 1%' for a small non-zero share."""
    return "under 1%" if 0 < share < 0.005 else f"{100 * share:.0f}%"


def _covers(res: pd.DataFrame, interval: str, true: str) -> pd.Series:
    """Whether ``res``'s ``{interval}_lower``-``{interval}_upper`` covers ``res[true]`` (NA where either
    is missing: a mean that could not be estimated covers nothing)."""
    lo, hi, value = res[f"{interval}_lower"], res[f"{interval}_upper"], res[true]
    known = lo.notna() & hi.notna() & value.notna()
    return pd.Series(((lo <= value) & (value <= hi)).where(known), dtype="boolean").reset_index(drop=True)


def _truth_paragraph(sec: Section, table: pd.DataFrame, what: str, method: str) -> None:
    """The synthetic world's sentence: how many of the table's intervals cover the truth."""
    sec.paragraphs.append(
        prose("evaluation", "linkage_truth", what=what, method=method, **_coverage_counts(table))
    )


def _coverage_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many of a linkage-error table's intervals cover the truth: as linked, and adjusted or imputed."""
    cols = [c for c in table.columns if str(c).endswith("covers truth")]
    first = [c for c in cols if str(c).startswith("as linked")]
    other = [c for c in cols if c not in first]

    def count(cs: list[str]) -> int:
        return int(table[cs].fillna(False).to_numpy(bool).sum())

    def known(cs: list[str]) -> int:
        return int(table[cs].notna().to_numpy().sum())

    return {
        "linked": count(first),
        "linked_of": known(first),
        "other": count(other),
        "other_of": known(other),
    }


def add_linkage_did(
    sec: Section,
    named: pd.DataFrame,
    candidates: pd.DataFrame | None,
    links: pd.DataFrame,
    settings: DisclosureSettings,
    *,
    go_live: pd.Timestamp | None,
    period_end: pd.Timestamp,
    followup_days: int = 90,
    cluster: str = "lsoa",
    m: int = MI_IMPUTATIONS,
    seed: int = 0,
    alpha: float = 0.05,
    truth: pd.DataFrame | None = None,
) -> None:
    """Per source, the DiD of an outcome only linkage gives (a linked record of the source within
    ``followup_days`` of recording, crimes with a named suspect): as linked and by multiple imputation of
    link sets, with the part of the imputed variance that is linkage (logic in
    :func:`linkage.evaluation.linkage_error.imputed_did`). Publishes estimates in percentage points only
    (no counts); a source with fewer crimes with the outcome than the disclosure threshold, in any link
    set, is left out. ``truth`` (synthetic worlds) adds the same DiD on the true links and whether each
    interval covers it."""
    if go_live is None or named is None or named.empty or candidates is None or candidates.empty:
        return
    if links is None or not set(candidates.columns) >= _IMPUTATION_COLUMNS:
        return
    if not {"start_date", "treated", "month"} <= set(named.columns) or named["treated"].nunique() < 2:
        return
    try:
        res = imputed_did(
            named,
            candidates,
            links,
            go_live=go_live,
            period_end=period_end,
            followup_days=followup_days,
            cluster=cluster,
            m=m,
            seed=seed,
            alpha=alpha,
            truth=truth,
        )
    except ValueError as exc:
        sec.paragraphs.append(prose("evaluation", "linkage_did_not_run", reason=plain(exc)))
        return
    if res.empty:
        return
    res = res[res["min_flagged"] >= settings.threshold].reset_index(drop=True)
    if res.empty:
        return
    pp = ["as_linked", "as_linked_lower", "as_linked_upper", "imputed", "imputed_lower", "imputed_upper"]
    scaled = res[pp].astype(float) * 100
    table = pd.DataFrame(
        {
            "linked record": res["source"].map(SOURCE_LABELS).fillna(res["source"]),
            "as linked (pp)": scaled["as_linked"],
            "as linked, 95% CI lower": scaled["as_linked_lower"],
            "as linked, 95% CI upper": scaled["as_linked_upper"],
            "imputed (pp)": scaled["imputed"],
            "imputed, 95% CI lower": scaled["imputed_lower"],
            "imputed, 95% CI upper": scaled["imputed_upper"],
            "share of imputed variance from linkage": res["linkage_share"].astype(float).round(RATE_DECIMALS),
        }
    )
    if truth is not None and "true" in res:
        table["true (pp, on the true links)"] = 100 * res["true"].astype(float)
        table["as linked covers truth"] = _covers(res, "as_linked", "true")
        table["imputed covers truth"] = _covers(res, "imputed", "true")
    num = [c for c in table.columns if "(pp" in c or "CI" in c]
    table[num] = table[num].astype(float).round(2)
    top = res.loc[res["linkage_share"].idxmax()]
    sec.paragraphs.append(
        prose(
            "evaluation",
            "linkage_did",
            m=m,
            followup_days=followup_days,
            source=SOURCE_LABELS.get(str(top["source"]), str(top["source"])),
            share=_percent(float(top["linkage_share"])),
            ratio=f"{float(top['width_ratio']):.2f}",
        )
    )
    if truth is not None and "true" in res:
        _truth_paragraph(sec, table, "the DiD of a linked record", "imputed")
    sec.add_table(
        TableBlock(
            "evaluation_linkage_did",
            f"Difference-in-differences of a linked record within {followup_days} days, crimes with a "
            f"named suspect (pp): as linked and by multiple imputation of link sets ({m} imputations)",
            table,
            na_text={
                "as linked covers truth": "not estimable",
                "imputed covers truth": "not estimable",
            },
        )
    )


# --- Staggered go-live months ------------------------------------------------------------------------------
def _staggered_means(
    sub: pd.DataFrame, key: str, go_live_by_area: Mapping[str, pd.Timestamp]
) -> pd.DataFrame:
    """Before/after cell means in the DiD means layout: trailblazer crimes before and from their own
    area's go-live month; comparison crimes before and from the first go-live month (unprotected)."""
    first = min(go_live_by_area.values())
    own = pd.to_datetime(sub["area"].astype(str).map(go_live_by_area)).fillna(first)
    frame = pd.DataFrame(
        {
            "role": np.where(sub["treated"] > 0, "trailblazer", "comparison"),
            "period": np.where(sub["month"] >= own, "after go-live", "before go-live"),
            "y": sub[key].astype(float),
        }
    ).dropna()
    means = frame.groupby(["role", "period"])["y"].agg(n="size", rate="mean").reset_index()
    return means[["role", "period", "n", "rate"]]


def _group_time_table(
    res: StaggeredResult, unit: str, scale: float, settings: DisclosureSettings
) -> pd.DataFrame:
    """Cohort x month ATTs in display units, crimes rounded; a cell resting on fewer crimes than the
    disclosure threshold is withheld (NaN)."""
    gt = res.group_time.copy()
    small = (gt["crimes"] < settings.threshold).to_numpy()
    areas = {
        g: ", ".join(sorted(a for a, m in res.cohorts.items() if m == g)) for g in set(res.cohorts.values())
    }
    table = pd.DataFrame(
        {
            "cohort (go-live)": [f"{g:%Y-%m}" for g in gt["cohort"]],
            "areas": [areas.get(g, "") for g in gt["cohort"]],
            "month": [f"{m:%Y-%m}" for m in gt["month"]],
            "months since go-live": [
                (m.year - g.year) * 12 + m.month - g.month
                for g, m in zip(gt["cohort"], gt["month"], strict=True)
            ],
            f"ATT ({unit})": (scale * gt["att"]).round(1),
            "trailblazer crimes": pd.array(
                round_to_base(gt["crimes"], settings.rounding_base), dtype="Int64"
            ),
        }
    )
    table.loc[small, [f"ATT ({unit})", "trailblazer crimes"]] = np.nan
    return table


def _group_time_figure(table: pd.DataFrame, res: StaggeredResult, label: str, unit: str, scale: float):
    """Group-time ATTs by months since go-live, one line per cohort, the overall ATT dashed."""
    fig = Figure(figsize=(7.5, 3.2), dpi=110)
    ax = fig.subplots()
    ax.axhline(0, color="black", linewidth=0.6)
    colours = ("#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92")
    for i, (cohort, sub) in enumerate(table.groupby("cohort (go-live)", sort=True)):
        ax.plot(
            sub["months since go-live"],
            sub[f"ATT ({unit})"],
            marker="o",
            markersize=4,
            color=colours[i % len(colours)],
            label=f"go-live {cohort}",
        )
    ax.axhline(scale * res.estimate, color="#505a5f", linestyle="--", linewidth=0.8, label="overall ATT")
    ax.set_xlabel("months since the cohort's go-live (0 = go-live month)")
    ax.set_ylabel(f"ATT ({unit})")
    ax.set_title(
        "\n".join(
            textwrap.wrap(f"{label[0].upper() + label[1:]}: effect by cohort and month since go-live", 90)
        ),
        fontsize=10,
        loc="left",
    )
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _staggered_blocks(
    sec: Section,
    data: pd.DataFrame,
    settings: DisclosureSettings,
    go_live_by_area: Mapping[str, pd.Timestamp],
    *,
    within_days: int,
    followup_days: int,
    alpha: float,
    true_effects: Mapping[str, float] | None,
    seed: int,
) -> list[dict[str, object]]:
    """The evaluation with staggered go-live months: per outcome the overall group-time ATT with its
    interval (rows of the DiD table), before/after means; for the headline outcome the cohort x month table
    and chart. Pooled two-way fixed effects, the single-go-live event study and the placebo tests that
    assume one go-live month are not run. Returns the DiD table rows."""
    cohorts = sorted(set(go_live_by_area.values()))
    sec.paragraphs.append(
        prose(
            "evaluation",
            "staggered_design",
            cohorts=[
                f"{g:%B %Y} ({', '.join(sorted(a for a, m in go_live_by_area.items() if m == g))})"
                for g in cohorts
            ],
            followup_days=followup_days,
            within_days=within_days,
        )
    )
    rows: list[dict[str, object]] = []
    specs = did_outcomes(data, within_days=within_days, followup_days=followup_days)
    for i, spec in enumerate(specs):
        key, label, unit = spec.key, spec.label, spec.unit
        sub = did_sample(data, spec)
        scale = 100.0 if unit == "pp" else 1.0
        try:
            res = staggered_estimate(
                sub, outcome=key, go_live_by_area=dict(go_live_by_area), alpha=alpha, seed=seed
            )
        except (ValueError, KeyError) as exc:
            sec.paragraphs.append(prose("evaluation", "not_estimable", label=label, reason=plain(exc)))
            continue
        lo, hi = res.interval
        truth = (true_effects or {}).get(key)
        row: dict[str, object] = {
            "outcome": label,
            "unit": unit,
            "estimate": scale * res.estimate,
            "ci_lower": scale * lo,
            "ci_upper": scale * hi,
            "interval": res.lead,
            "p_value": res.p_value,
            "assignments": res.n_assignments,
            "smallest attainable p": res.min_p,
            "crimes": int(round_to_base(len(sub), settings.rounding_base)),
            "areas": res.n_areas,
        }
        if truth is not None:
            row["true effect"] = truth
            row["interval covers truth"] = bool(scale * lo <= truth <= scale * hi)
        rows.append(row)
        means = _cell_means_table(_staggered_means(sub, key, go_live_by_area), unit, settings)
        sec.add_table(
            TableBlock(
                f"evaluation_means_{key}",
                f"Before and after go-live (each trailblazer from its own go-live month; comparison areas "
                f"from the first, {cohorts[0]:%B %Y}): {label}",
                means,
                percent_columns=("rate",) if unit == "pp" else (),
            )
        )
        sec.results.append(
            {
                "kind": "effect",
                "key": key,
                "label": label,
                "unit": unit,
                "estimate": row["estimate"],
                "ci_lower": row["ci_lower"],
                "ci_upper": row["ci_upper"],
                "p": res.p_value,
                "pretrend_p": None,
                "clusters": None,
                "cluster_on": res.lead,
                "true_effect": truth,
                "means": means,
                "table": f"evaluation_means_{key}",
            }
        )
        text = (
            f"{row['estimate']:+.1f} {unit} (95% CI {row['ci_lower']:+.1f} to {row['ci_upper']:+.1f}, "
            f"{res.lead})"
        )
        if truth is not None:
            text += f"; true effect {truth:+.1f}"
        short = {
            "oocd": "Staggered DiD: out-of-court disposals",
            "days_capped": "Staggered DiD: days to police outcome",
            "within_n": f"Staggered DiD: outcome within {within_days} days",
        }[key]
        sec.headline.append((short, text))
        if i == 0:
            sec.headline.append(
                (
                    "Randomisation p (go-live months reassigned)",
                    f"p = {res.p_value:.2f} ({res.n_assignments} assignments; smallest possible "
                    f"{res.min_p:.2f}); leads with: {res.lead}",
                )
            )
            sec.paragraphs.append(
                prose(
                    "evaluation",
                    "staggered_inference",
                    label=label,
                    n_areas=res.n_areas,
                    n_treated=res.n_treated,
                    n_assignments=res.n_assignments,
                    min_p=f"{res.min_p:.3f}",
                    bounded=res.bounded,
                    alpha=f"{100 * alpha:.0f}%",
                    draws=res.boot_draws,
                )
            )
            if len(res.placebos):
                sec.figures.append(
                    FigureBlock(
                        f"Placebo distribution: {label} ({unit}), the overall effect under every "
                        "reassignment "
                        "of the go-live months to the areas. Red: the actual one; blue: every placebo. "
                        f"Randomisation p-value {res.p_value:.2f}.",
                        figure_png(
                            strip_chart(
                                [
                                    (
                                        f"go-live months\nreassigned\n(p = {res.p_value:.2f})",
                                        np.asarray(res.placebos, dtype=float),
                                        np.array([res.estimate]),
                                    )
                                ],
                                label,
                                scale,
                                f"estimate ({unit}); red: actual go-live months, blue: placebos",
                            )
                        ),
                        alt=f"placebo distribution of {label} over go-live reassignments",
                    )
                )
            gt = _group_time_table(res, unit, scale, settings)
            sec.figures.append(
                FigureBlock(
                    f"Staggered go-live: {label} ({unit}), the effect of each cohort (areas going live in "
                    "the same month) by month since its go-live, against the never-live comparison areas; "
                    f"dashed: the overall ATT ({row['estimate']:+.1f} {unit}). The last months rest on few "
                    "crimes (cut short by the follow-up window; crimes in the table). Cells with fewer than "
                    f"{settings.threshold} trailblazer crimes are withheld.",
                    figure_png(_group_time_figure(gt, res, label, unit, scale)),
                    alt=f"group-time effects of {label} by cohort; the values are in the table below",
                )
            )
            sec.add_table(
                TableBlock(
                    f"evaluation_staggered_{key}",
                    f"Group-time ATTs ({unit}), cohort x month: {label}",
                    gt,
                )
            )
    return rows


def evaluation_section(
    crimes: pd.DataFrame | None,
    settings: DisclosureSettings,
    *,
    go_live: pd.Timestamp | None,
    period_end: pd.Timestamp,
    cluster: str = "lsoa",
    within_days: int = 30,
    followup_days: int = 90,
    alpha: float = 0.05,
    true_effects: Mapping[str, float] | None = None,
    seed: int = 0,
    go_live_by_area: Mapping[str, pd.Timestamp] | None = None,
) -> Section:
    """Difference-in-differences of outcome rates and time to outcome, event study and pre-trend test.

    ``true_effects`` (synthetic worlds) maps an outcome key (``oocd``, ``days_capped``, ``within_n``) to
    the realised effect in display units (percentage points or days); the table then shows whether each
    interval covers it. ``seed`` fixes the placebo sampling (when there are too many assignments to list)
    and the wild bootstrap draws. ``go_live_by_area`` (trailblazer area -> its go-live month) with more
    than one month switches to the staggered estimator (:mod:`linkage.evaluation.staggered`); with one
    month, or None, the section is the single-go-live DiD.
    """
    sec = Section("evaluation", "Trailblazer evaluation")
    if crimes is None or go_live is None or crimes.empty or crimes["treated"].nunique() < 2:
        why = []
        if go_live is None:
            why.append("a go-live month")
        if crimes is None or crimes.empty or crimes["treated"].nunique() < 2:
            why.append("comparison areas alongside the trailblazer area")
        sec.needs = prose("evaluation", "needs", why=why)
        return sec
    data = add_flags(crimes, period_end=period_end, within_days=within_days, followup_days=followup_days)
    if go_live_by_area and len(set(go_live_by_area.values())) > 1:
        return _staggered_section(
            sec,
            data,
            settings,
            go_live_by_area,
            within_days=within_days,
            followup_days=followup_days,
            alpha=alpha,
            true_effects=true_effects,
            seed=seed,
        )
    cluster_label = "LSOA" if cluster == "lsoa" else cluster
    sec.paragraphs.append(
        prose(
            "evaluation",
            "design",
            go_live=f"{go_live:%B %Y}",
            cluster_label=cluster_label,
            followup_days=followup_days,
            within_days=within_days,
        )
    )
    if "n_suspects" not in data.columns:
        sec.paragraphs.append(prose("evaluation", "public_only"))
    rows, sens_rows = [], []
    spec_first_key = did_outcomes(data, within_days=within_days, followup_days=followup_days)[0].key
    for spec in did_outcomes(data, within_days=within_days, followup_days=followup_days):
        key, label, unit = spec.key, spec.label, spec.unit
        sub = did_sample(data, spec)
        scale = 100.0 if unit == "pp" else 1.0
        try:
            res = did(sub, outcome=key, go_live=go_live, cluster=cluster, alpha=alpha)
            es = event_study(sub, outcome=key, go_live=go_live, cluster=cluster, alpha=alpha)
        except ValueError as exc:
            sec.paragraphs.append(prose("evaluation", "not_estimable", label=label, reason=plain(exc)))
            continue
        row = res.as_row(scale, unit)
        row["crimes"] = int(round_to_base(row["crimes"], settings.rounding_base))
        row["outcome"] = label
        row["pre-trend p"] = es.pretrend_p
        truth = (true_effects or {}).get(key)
        if truth is not None:
            row["true effect"] = truth
            row["interval covers truth"] = bool(row["ci_lower"] <= truth <= row["ci_upper"])
        rows.append(row)
        for alt in ("lsoa", "area-month"):
            r2 = did(sub, outcome=key, go_live=go_live, cluster=alt, alpha=alpha).as_row(scale, unit)
            r2["outcome"] = label
            r2["cluster_on"] = "LSOA" if alt == "lsoa" else alt
            r2["crimes"] = int(round_to_base(r2["crimes"], settings.rounding_base))
            sens_rows.append(r2)
        means = _cell_means_table(res.means, unit, settings)
        sec.add_table(
            TableBlock(
                f"evaluation_means_{key}",
                f"Before and after go-live: {label}",
                means,
                percent_columns=("rate",) if unit == "pp" else (),
            )
        )
        _event_study_blocks(sec, es, key, label, unit, scale)
        sec.results.append(
            {
                "kind": "effect",
                "key": key,
                "label": label,
                "unit": unit,
                "estimate": row["estimate"],
                "ci_lower": row["ci_lower"],
                "ci_upper": row["ci_upper"],
                "p": row["p_value"],
                "pretrend_p": es.pretrend_p,
                "clusters": row["clusters"],
                "cluster_on": cluster_label,
                "true_effect": truth,
                "means": means,
                "table": f"evaluation_means_{key}",
            }
        )
        text = f"{row['estimate']:+.1f} {unit} (95% CI {row['ci_lower']:+.1f} to {row['ci_upper']:+.1f})"
        if es.pretrend_p < PRETREND_ALERT:
            text += f"; pre-trend test p = {es.pretrend_p:.3f}"
        if truth is not None:
            text += f"; true effect {truth:+.1f}"
        short = {
            "oocd": "DiD: out-of-court disposals",
            "days_capped": "DiD: days to police outcome",
            "within_n": f"DiD: outcome within {within_days} days",
        }[key]
        sec.headline.append((short, text))
        if key == spec_first_key:
            headline = HeadlineOutcome(sub, key, label, unit, scale, go_live, alpha, seed)
            _placebo_block(sec, headline)  # issue 16
    if rows:
        names = {
            "estimate": "estimate",
            "ci_lower": "95% CI lower",
            "ci_upper": "95% CI upper",
            "std_error": "SE",
            "p_value": "p",
            "cluster_on": "clustered on",
        }
        for r in rows:
            r["cluster_on"] = cluster_label if r["cluster_on"] == cluster else r["cluster_on"]
        table = pd.DataFrame(rows).rename(columns=names)
        sec.tables.insert(
            0,
            TableBlock(
                "evaluation_did",
                "Difference-in-differences estimates",
                table,
                na_text={
                    "true effect": "not set",
                    "interval covers truth": "n/a",
                    "pre-trend p": "not available",  # NaN is not a suppressed cell
                    "p": "not available",
                },
            ),
        )
        sens = pd.DataFrame(sens_rows).rename(columns=names)
        sec.add_table(
            TableBlock(
                "evaluation_cluster_sensitivity",
                "Sensitivity: the same estimates clustered on LSOA and on area-month",
                sens,
            )
        )
        if true_effects:
            sec.paragraphs.append(prose("evaluation", "synthetic_truth"))
    return sec


def _staggered_section(
    sec: Section,
    data: pd.DataFrame,
    settings: DisclosureSettings,
    go_live_by_area: Mapping[str, pd.Timestamp],
    **kw,
) -> Section:
    """The evaluation section with staggered go-lives: the DiD table from the staggered rows."""
    rows = _staggered_blocks(sec, data, settings, go_live_by_area, **kw)
    if "n_suspects" not in data.columns:
        sec.paragraphs.append(prose("evaluation", "public_only"))
    if rows:
        table = pd.DataFrame(rows).rename(
            columns={
                "ci_lower": "95% CI lower",
                "ci_upper": "95% CI upper",
                "p_value": "randomisation p",
                "interval": "interval from",
            }
        )
        sec.tables.insert(
            0,
            TableBlock(
                "evaluation_did",
                "Difference-in-differences estimates, staggered go-live: group-time ATTs against the "
                "never-live comparison areas (Callaway and Sant'Anna), not pooled two-way fixed effects",
                table,
                na_text={
                    "true effect": "not set",
                    "interval covers truth": "n/a",
                    "randomisation p": "not available",
                },
            ),
        )
        if kw.get("true_effects"):
            sec.paragraphs.append(prose("evaluation", "synthetic_truth"))
    return sec
