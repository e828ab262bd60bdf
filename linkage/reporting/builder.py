"""Build a trailblazer report from a validated configuration, and write it to ``reports/<slug>/``.

:func:`linkage.pipeline.run` (``gather`` here, its older name) loads and links the data and returns a
:class:`~linkage.pipeline.RunResult` (``ReportData`` here); :func:`build_report` turns it into a
:class:`~linkage.reporting.document.Report`, and
:func:`write_report` writes ``report.html``, ``tables/*.csv``, the published-style outcomes file,
``disclosure_log.csv`` and ``manifest.json``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from linkage import __version__
from linkage._io import atomic_directory, file_sha256, write_csv, write_text
from linkage.config import TrailblazerConfig
from linkage.evaluation.disclosure import LOG_COLUMNS, TOTAL, PublishedCells, audit_tables, protect_rates
from linkage.evaluation.linkage_error import true_links
from linkage.evaluation.maps import force_outline, load_boundaries
from linkage.evaluation.rates import NO_OUTCOME, outcome_rates
from linkage.pipeline import RunResult, true_effects
from linkage.pipeline import police_record as _police_record  # noqa: F401 - older name (benchmarks)
from linkage.pipeline import run as gather
from linkage.reporting import coverage_notes
from linkage.reporting import sections as S  # noqa: N812
from linkage.reporting.document import Report, Section, TableBlock, render_html
from linkage.reporting.findings import data_warnings, main_findings
from linkage.reporting.publish import file_log, label_log, write_published
from linkage.reporting.sections._common import prose
from linkage.reporting.sections.linkage_quality import evaluation_cell_quality
from linkage.reporting.withhold import audit_or_withhold, guard
from linkage.sources.messages import regenerate_path

logger = logging.getLogger(__name__)

__all__ = [
    "ReportData",
    "gather",
    "build_report",
    "write_report",
    "run_report",
    "git_commit",
    "true_effects",
    "cross_table_audit",
]

# The report renders a RunResult; the older names stay for callers (notebooks, benchmarks).
ReportData = RunResult

OGL = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "Contains OS data (c) Crown copyright and database right."
)


def git_commit(cwd: str | Path | None = None) -> str:
    """``git rev-parse HEAD`` of the working tree, or ``'unknown'`` outside a repository."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _boundaries(config: TrailblazerConfig):
    bounds = load_boundaries(config.area.boundary_file) if config.area.boundary_file else None
    outline = (
        force_outline(config.area.force_boundaries, config.area.force)
        if config.area.force_boundaries
        else None
    )
    return bounds, outline


def _true_links(data: ReportData) -> pd.DataFrame | None:
    """The true links with each record's outcome date when the run has a truth table (a synthetic world,
    or a world written out as extracts with its truth file): dates from the world's own source tables
    (rows the data contract quarantined included: they are outcomes too), else from the loaded ones.
    None without a truth table - real extracts - so no truth column is ever shown for real data."""
    tables = data.tables or {}
    truth = tables.get("truth")
    if truth is None:
        return None
    kinds = ("cautions", "penalty_notices", "court_outcomes")
    if data.world is not None:
        sources = {k: getattr(data.world, k, None) for k in kinds}
    else:
        sources = {k: tables.get(k) for k in kinds}
    return true_links(truth, {k: v for k, v in sources.items() if v is not None})


def report_evaluation(
    data: ReportData, crimes: pd.DataFrame | None, true_effects: dict[str, float] | None
) -> Section:
    """The trailblazer evaluation section on ``crimes`` with the configuration's evaluation and
    disclosure settings: the one call the report makes (and ``benchmarks/bench_did_coverage.py`` repeats)."""
    cfg, ev = data.config, data.config.evaluation
    return S.evaluation_section(
        crimes,
        cfg.disclosure,
        go_live=cfg.go_live,
        period_end=cfg.period_end,
        cluster=ev.cluster,
        within_days=ev.outcome_within_days,
        followup_days=ev.followup_days,
        alpha=ev.alpha,
        true_effects=true_effects,
        seed=cfg.seed,
        go_live_by_area=cfg.go_live_by_area if cfg.staggered else None,
    )


def build_report(data: ReportData) -> Report:
    """Assemble every section from gathered data (disclosure control applied inside each section)."""
    cfg = data.config
    ds = cfg.disclosure
    ev = cfg.evaluation
    public_only = cfg.public_only
    sections: list[Section] = [
        S.data_summary_section(data.loads, ds, restricted=frozenset(data.restricted_sources))
    ]
    coverage_notes.add_to_data_summary(sections[0], data.coverage)  # issue 14: coverage strip
    total = sum(getattr(s, "rows_read", 0) for s in data.loads.values())
    q = data.quality
    record_counts = None
    if data.tables is not None:
        record_counts = {
            s: len(data.tables[s])
            for s in ("cautions", "penalty_notices", "court_outcomes")
            if s in data.tables
        }
    subgroups = data.subgroups
    truth = (data.tables or {}).get("truth")
    if (
        subgroups is not None
        and truth is not None
        and cfg.go_live is not None
        and data.linked is not None
        and data.linked["treated"].nunique() > 1
    ):
        cells = evaluation_cell_quality(data.link_result.links, truth, data.linked, cfg.go_live)
        subgroups = pd.concat([subgroups, cells], ignore_index=True)
    sections.append(
        S.linkage_quality_section(
            data.link_result.links if data.link_result is not None else None,
            q,
            subgroups,
            record_counts,
            ds,
            review=data.review,
            review_simulated=cfg.clerical_review is None,
        )
    )
    compare_public = (
        data.world_public
        if data.world_public is not None
        else (data.public if data.linked is not None else None)
    )
    out_sec = guard(  # issue 14: small areas degrade, not die (withhold what cannot be protected)
        "outcomes",
        "Outcomes",
        S.outcomes_section,
        compare_public if data.linked is not None else data.public,
        data.linked,
        ds,
        alpha=ev.alpha,
    )
    if data.linked is not None and data.public is not None and data.world_public is not None:
        real = outcome_rates(data.public, by=(), alpha=ev.alpha)
        pub, log = protect_rates(real, ds, name="outcomes_real_police_uk")
        pub = pub.drop(columns="group").rename(
            columns={
                "outcome_group": "outcome",
                "count": "crimes",
                "n": "all crimes",
                "lower": "95% CI lower",
                "upper": "95% CI upper",
            }
        )
        out_sec.add_table(
            TableBlock(
                "outcomes_real_police_uk",
                "Final-outcome mix in the real published police.uk files for the area",
                pub,
                percent_columns=("rate", "95% CI lower", "95% CI upper"),
            ),
            log,
        )
    sections.append(out_sec)
    time_data = (
        data.linked if data.linked is not None else (data.public if data.public_months_complete else None)
    )
    sections.append(
        guard(
            "time",
            "Time to outcome",
            S.time_to_outcome_section,
            time_data,
            ds,
            period_end=cfg.period_end,
            alpha=ev.alpha,
            public_months=data.linked is None,
        )
    )
    bounds, outline = _boundaries(cfg)
    map_data = data.public if data.public is not None else data.linked
    sections.append(
        guard(
            "maps",
            "Maps",
            S.maps_section,
            map_data,
            ds,
            boundaries=bounds,
            outline=outline,
            view="public police.uk" if data.public is not None else "linked",
        )
    )
    refusal = coverage_notes.did_refusal(data.coverage, data.public_did) if data.linked is None else None
    ev_sec = refusal or report_evaluation(  # issue 14: a public-only DiD without full coverage is refused
        data, data.linked if data.linked is not None else data.public_did, data.true_effects
    )
    if (
        refusal is None
        and data.linked is not None
        and data.link_result is not None
        and "n_suspects" in data.linked
    ):
        named = data.linked[data.linked["n_suspects"] > 0]
        world_links = _true_links(data)  # issue 16g: a world's true links, dated (None for real data)
        S.add_linkage_adjusted(  # issue 16c: linked-only shares, as linked and linkage-adjusted
            ev_sec,
            named,
            data.link_result.links,
            data.review_by_source,
            ds,
            truth=world_links,
            alpha=ev.alpha,
        )
        S.add_linkage_imputed(  # issue 16d: multiple imputation of link sets, Rubin's rules
            ev_sec,
            named,
            data.link_result.candidates,
            data.link_result.links,
            ds,
            seed=cfg.seed,
            alpha=ev.alpha,
            truth=world_links,
        )
        if cfg.staggered:  # one go-live month per area: the two-period DiD below would misdate some areas
            ev_sec.paragraphs.append(
                prose(
                    "evaluation",
                    "linkage_did_not_run",
                    reason="the trailblazers went live in different months, and this check uses one go-live "
                    "month; the linked-only shares and imputed means above still carry the linkage error",
                )
            )
        else:
            S.add_linkage_did(  # issue 16g: DiD of a linkage-only outcome, as linked and imputed
                ev_sec,
                named,
                data.link_result.candidates,
                data.link_result.links,
                ds,
                go_live=cfg.go_live,
                period_end=cfg.period_end,
                followup_days=ev.followup_days,
                cluster=ev.cluster,
                seed=cfg.seed,
                alpha=ev.alpha,
                truth=world_links,
            )
    sections.append(ev_sec)
    logs = [s.log for s in sections if s.log is not None and len(s.log)]
    main = data.linked if data.linked is not None else data.public
    if main is not None and not main.empty:
        other = compare_public if data.linked is not None else None
        logs.append(_audit_or_raise(main, sections, cfg, time_tables=time_data is main, public=other))
    log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame(columns=LOG_COLUMNS)
    headline = [h for s in sections for h in s.headline]
    n_crimes = (
        len(data.linked) if data.linked is not None else (len(data.public) if data.public is not None else 0)
    )
    headline.insert(
        0,
        (
            "Crimes analysed",
            f"{int(np.floor(n_crimes / ds.rounding_base + 0.5) * ds.rounding_base):,}"
            + (" (rounded)" if ds.rounding_base > 1 else ""),
        ),
    )
    headline.insert(
        0,
        (
            "Period",
            f"{cfg.start:%B %Y} to {cfg.end:%B %Y}"
            + (
                "; staggered go-live "
                + ", ".join(f"{g:%B %Y}" for g in sorted(set(cfg.go_live_by_area.values())))
                if cfg.staggered
                else (f"; go-live {cfg.go_live:%B %Y}" if cfg.go_live is not None else "")
            ),
        ),
    )
    findings = main_findings(
        sections,
        view="linked" if data.linked is not None else "public police.uk",
        followup_days=ev.followup_days,
        within_days=ev.outcome_within_days,
    )
    warnings = data_warnings(
        main,
        cfg.start,
        cfg.end,
        public_months_complete=data.public_months_complete if data.linked is None else None,
    )
    caveats = _caveats(data) + (data.coverage.caveats() if data.coverage is not None else [])
    covered = coverage_notes.headline(data.coverage)
    if covered is not None:
        headline.insert(1, covered)
    methods = _methods(data)
    sources = _sources(data)
    summary = cfg.summary or ""
    if public_only:
        needs = [s.title for s in sections if s.needs]
        summary += (
            (
                " This report uses public police.uk files only. Sections these files cannot give (each "
                "says what it needs): " + ", ".join(needs) + "."
            )
            if needs
            else ""
        )
    return Report(
        title=cfg.title,
        subtitle=f"{cfg.area.name} ({cfg.area.force})",
        summary=summary.strip(),
        sections=sections,
        headline=headline,
        caveats=caveats,
        methods=methods,
        data_sources=sources,
        disclosure_log=log,
        manifest={},
        extra={"rows_read": total, "disclosure_summary": _log_summary(log), "source_line": _source_line(cfg)},
        findings=findings,
        data_warnings=warnings,
        release=release_info(cfg, synthetic=data.tables is not None and cfg.synthetic_world is not None),
    )


def _source_line(cfg: TrailblazerConfig) -> str:
    """One line naming the data behind every figure (printed under each)."""
    parts = []
    if cfg.synthetic_world is not None:
        parts.append("synthetic record-level extracts (linkage.synth; illustrative, not real people)")
    if cfg.extracts:
        parts.append("restricted record-level extracts, linked by the workbench")
    if cfg.police_uk:
        parts.append("data.police.uk street-level crime and outcomes files")
    return "; ".join(parts) + "." if parts else ""


def release_info(cfg: TrailblazerConfig, *, synthetic: bool) -> dict[str, str]:
    """Status, owner, contact and revisions note: the optional ``release`` block of the configuration,
    with defaults. The production date is today (UTC), or ``$SOURCE_DATE_EPOCH`` for a dated rebuild."""
    given = dict(cfg.raw.get("release") or {})
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    produced = (
        _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC)
        if epoch and epoch.isdigit()
        else _dt.datetime.now(_dt.UTC)
    )
    status = given.get("status") or (
        "Illustrative, synthetic: not official statistics" if synthetic else "Management information"
    )
    return {
        "produced": f"{produced:%d %B %Y}",
        "status": str(status),
        "owner": str(given.get("owner") or "Not stated in the configuration (release.owner)"),
        "contact": str(given.get("contact") or "Not stated in the configuration (release.contact)"),
        "revisions": str(
            given.get("revisions")
            or "Figures may be revised when later police.uk files or extracts add outcomes recorded after "
            "the period end; any revision will be listed here with its date and reason."
        ),
    }


def cross_table_audit(
    crimes: pd.DataFrame,
    sections: list[Section],
    *,
    period_end: pd.Timestamp,
    time_tables: bool = True,
    zeros_safe: bool = True,
) -> pd.DataFrame:
    """Audit the published outcome tables of one crime frame together (:func:`audit_tables`).

    The outcome counts by crime type (cells, row and column totals), the outcome mix, the linked side of
    the public-vs-linked label table and (``time_tables``: when the time-to-outcome section used the same
    crimes) the outcome counts by outcome group all cut the same crimes; their withheld cells (read from
    the published tables: blank = withheld) are checked against every published figure of all of them at
    once. ``zeros_safe``: a withheld cell that can only be zero is not exposed (as when zeros are
    published; pass False with ``suppress_zeros``). Returns the audit (one row per withheld cell;
    ``exposed`` must be all False).
    """
    when = pd.to_datetime(crimes["outcome_date"])
    finest = (
        pd.DataFrame(
            {
                "crime_type": crimes["crime_type"].astype("string").fillna(""),
                "outcome_group": crimes["outcome_group"].astype("string"),
                "label": crimes["final_outcome"].astype("string").fillna(NO_OUTCOME),
                "event": (when.notna() & (when <= period_end)).map({True: "yes", False: "no"}),
            }
        )
        .groupby(["crime_type", "outcome_group", "label", "event"], observed=True)
        .size()
        .rename("count")
        .reset_index()
    )
    blocks = {b.name: b.frame if b.download is None else b.download for sec in sections for b in sec.tables}
    tables: list[PublishedCells] = []
    counts = blocks.get("outcomes_by_crime_type_counts")
    if counts is not None:
        inner = counts.drop(index=TOTAL, columns=TOTAL, errors="ignore")
        long = (
            inner.isna().stack().rename("hidden").rename_axis(["crime_type", "outcome_group"]).reset_index()
        )
        tables.append(PublishedCells("outcomes_by_crime_type_counts", ("crime_type", "outcome_group"), long))
        if TOTAL in counts.columns:
            rows = counts.loc[counts.index != TOTAL, TOTAL].isna()
            tables.append(
                PublishedCells(
                    "outcomes_by_crime_type_counts (row totals)",
                    ("crime_type",),
                    pd.DataFrame({"crime_type": rows.index.astype(str), "hidden": rows.to_numpy()}),
                )
            )
        if TOTAL in counts.index:
            cols = counts.loc[TOTAL].drop(TOTAL, errors="ignore").isna()
            tables.append(
                PublishedCells(
                    "outcomes_by_crime_type_counts (column totals)",
                    ("outcome_group",),
                    pd.DataFrame({"outcome_group": cols.index.astype(str), "hidden": cols.to_numpy()}),
                )
            )
            grand = counts.loc[TOTAL, TOTAL] if TOTAL in counts.columns else np.nan
            tables.append(PublishedCells("grand total", (), pd.DataFrame({"hidden": [pd.isna(grand)]})))
    mix = blocks.get("outcomes_mix")
    if mix is not None:
        tables.append(
            PublishedCells(
                "outcomes_mix",
                ("outcome_group",),
                pd.DataFrame({"outcome_group": mix["outcome"].astype(str), "hidden": mix["crimes"].isna()}),
            )
        )
    labels = blocks.get("outcomes_public_vs_linked")
    if labels is not None:
        tables.append(
            PublishedCells(
                "outcomes_public_vs_linked",
                ("label",),
                pd.DataFrame(
                    {"label": labels["final outcome"].astype(str), "hidden": labels["count linked"].isna()}
                ),
            )
        )
    by_outcome = blocks.get("time_to_outcome_medians_by_outcome")
    if time_tables and by_outcome is not None and "outcomes" in by_outcome.columns:
        tables.append(
            PublishedCells(
                "time_to_outcome_medians_by_outcome",
                ("outcome_group", "event"),
                pd.DataFrame(
                    {
                        "outcome_group": by_outcome["outcome group"].astype(str),
                        "event": "yes",
                        "hidden": by_outcome["outcomes"].isna(),
                    }
                ),
            )
        )
    if not tables:
        return pd.DataFrame(columns=["table", "cell", "lower", "upper", "exposed"])
    return audit_tables(finest, tables, zeros_safe=zeros_safe)


def _public_labels_audit(public: pd.DataFrame, sections: list[Section], zeros_safe: bool) -> pd.DataFrame:
    """The public side of the public-vs-linked label table: its withheld labels against its own total."""
    blocks = {b.name: b.frame if b.download is None else b.download for sec in sections for b in sec.tables}
    table = blocks.get("outcomes_public_vs_linked")
    if table is None or public is None or public.empty:
        return pd.DataFrame(columns=["table", "cell", "lower", "upper", "exposed"])
    a = "police.uk (public)"
    finest = (
        (public["final_outcome"].astype("string").fillna(NO_OUTCOME).value_counts().rename("count"))
        .rename_axis("label")
        .reset_index()
    )
    labels = PublishedCells(
        "outcomes_public_vs_linked (public side)",
        ("label",),
        pd.DataFrame({"label": table["final outcome"].astype(str), "hidden": table[f"count {a}"].isna()}),
    )
    n_hidden = bool(table[f"n {a}"].isna().all())
    total = PublishedCells("public crimes", (), pd.DataFrame({"hidden": [n_hidden]}))
    shown = set(finest["label"])
    absent = [x for x in labels.hidden["label"] if x not in shown]  # zero in this view, unknown to a reader
    if absent:
        finest = pd.concat([finest, pd.DataFrame({"label": absent, "count": 0})], ignore_index=True)
    return audit_tables(finest, [labels, total], zeros_safe=zeros_safe)


def _audit_or_raise(
    crimes: pd.DataFrame,
    sections: list[Section],
    cfg: TrailblazerConfig,
    *,
    time_tables: bool,
    public: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Run :func:`cross_table_audit` (and the public side of the label comparison); withhold any table
    whose withheld cells come back (:func:`linkage.reporting.withhold.audit_or_withhold`)."""
    zeros_safe = not cfg.disclosure.suppress_zeros

    def audit(current: list[Section]) -> pd.DataFrame:
        found = cross_table_audit(
            crimes, current, period_end=cfg.period_end, time_tables=time_tables, zeros_safe=zeros_safe
        )
        if public is not None:
            found = pd.concat([found, _public_labels_audit(public, current, zeros_safe)], ignore_index=True)
        return found

    # issue 14: a table whose withheld cells stay recoverable is withheld with a note, not the report
    return audit_or_withhold(audit, sections, cfg.slug)


def _log_summary(log: pd.DataFrame) -> pd.DataFrame:
    """Cells suppressed (primary, secondary) and tables rounded, one row per table, in report order."""
    log = log[log["action"].isin(["primary suppression", "secondary suppression", "rounded"])]
    if log.empty:
        return pd.DataFrame(columns=["table", "primary suppression", "secondary suppression", "rounded"])
    counts = pd.crosstab(log["table"], log["action"]).reindex(
        columns=["primary suppression", "secondary suppression", "rounded"], fill_value=0
    )
    order = list(dict.fromkeys(log["table"]))
    counts = counts.reindex(order)
    counts["rounded"] = np.where(counts["rounded"] > 0, "yes", "no")
    return counts.reset_index()


def _caveats(data: ReportData) -> list[str]:
    cfg = data.config
    out = []
    if data.tables is not None and cfg.synthetic_world is not None:
        out.append(
            "The record-level layer of this report is SYNTHETIC: people, cautions, penalty notices and "
            "court outcomes are generated, not real. Figures from it illustrate the method and must not "
            "be quoted as statistics about any real area. " + data.world_note
        )
    if cfg.extracts:
        out.append(
            "The restricted crimes extract carries no police outcome, so the linked view holds only what the "
            "caution, penalty notice and court records say: crimes with none of these show 'No outcome "
            "recorded', and local resolutions, drugs warnings and police closures are not visible in it."
        )
    if data.public is not None:
        out.append(
            "police.uk 'last outcome' is a snapshot at publication: outcomes recorded later, outcomes "
            "recorded only outside the police system, and most court results after mid-2019 are missing "
            "from it. Anti-social behaviour is excluded (it has no outcomes)."
        )
        out.append(
            "police.uk locations are anonymised map points and months, not addresses and dates; crimes "
            "are snapped to the nearest map point, so busy points (stations, shopping centres) stand "
            "for many nearby places."
        )
    out.append(
        "Time to outcome by outcome group is a competing-risks estimate: the cumulative incidence of "
        "each group over all crimes (1 - Kaplan-Meier, crimes with another outcome or none censored at "
        "the period end). It answers 'what share of crimes had ended in this outcome by day t', not "
        "'how long did crimes that ended in it take'; outcomes are final outcomes, so a crime charged "
        "and then convicted counts only under its court result."
    )
    if data.outcomes_file_skipped is not None:
        out.append(
            "No published-style outcomes file was written: its Crime IDs are keyed hashes and no "
            "publication key was given (set LINKAGE_PUBLICATION_KEY)."
        )
    if cfg.staggered and data.linked is not None and data.linked["treated"].nunique() > 1:
        out.append(
            "With few trailblazer and comparison areas, a shock that hits one area at its go-live cannot be "
            "told apart from the intervention. The go-live months are staggered, so each cohort is compared "
            "with the areas that never go live only (not pooled two-way fixed effects), against the month "
            "before its go-live: a shock in that one month moves the whole cohort's estimate."
        )
    elif cfg.go_live is not None and data.linked is not None and data.linked["treated"].nunique() > 1:
        out.append(
            "With few trailblazer and comparison areas, a shock that hits one area at go-live cannot be "
            "told apart from the intervention; the event study and pre-trend test help but cannot rule it "
            "out. Cluster-robust standard errors assume many clusters (LSOAs here) and ignore area-wide "
            "shocks; the area-month sensitivity shows how much that matters."
        )
    if data.link_result is not None:
        out.append(
            "Linked outcome rates are only as good as the linkage: missed links lower outcome rates, false "
            "links raise them, and both vary by subgroup (see the linkage quality section)."
        )
    out.append(
        f"Disclosure control: person-based cells under {cfg.disclosure.threshold} are suppressed ([c]), "
        f"with secondary suppression so they cannot be recovered from totals; counts are rounded to the "
        f"nearest {cfg.disclosure.rounding_base}, so totals may not equal the sum of their parts."
    )
    return out


def _methods(data: ReportData) -> list[str]:
    cfg = data.config
    ev = cfg.evaluation
    cluster = {"lsoa": "LSOA", "area-month": "area-month", "area": "area"}[ev.cluster]
    return [
        "Outcome groups: charged or summonsed (including every court result); out-of-court disposal "
        "(caution, "
        "penalty notice, drugs possession warning, local resolution); unable to prosecute; not in the public "
        "interest or action by another body; no suspect identified; under investigation or no update.",
        "Final outcome: the highest-ranked outcome in the police.uk hierarchy among the police "
        "record and the "
        "linked caution, penalty notice and court records (a court result outranks a charge, which "
        "outranks an "
        "out-of-court disposal, which outranks a police closure).",
        "Rates: share of crimes, with 95% Wilson score intervals (statsmodels proportion_confint).",
        f"Time to outcome: Kaplan-Meier (statsmodels SurvfuncRight), censored at {cfg.period_end:%d %B %Y}; "
        "medians with 95% Brookmeyer-Crowley intervals from the same function (quantile_ci).",
        "Difference-in-differences: area and month fixed effects plus a trailblazer x after-go-live term, "
        "fitted by weighted least squares on LSOA-month cells (weights = crimes), which reproduces the "
        "crime-level estimate. Outcomes: (1) the share of crimes with a named suspect (all crimes on "
        f"public data) ending in an out-of-court disposal within {ev.followup_days} days of recording; (2) "
        f"days from recording to the police outcome, capped at {ev.followup_days} days, for crimes with a "
        "named suspect (all of them, whatever their outcome: it includes the speed-up from moving cases to "
        "faster disposals); (3) the share of all crimes with a police outcome (public or real extracts: a "
        f"final outcome) within {ev.outcome_within_days} days. Each uses only crimes recorded at least its "
        f"window ({ev.followup_days} or {ev.outcome_within_days} days) before the period end, so every "
        "window is complete, and each population is fixed before any outcome: selecting crimes by an "
        "outcome the intervention changes (say, those not ending in an out-of-court disposal) would compare "
        "different crimes before and after go-live.",
        f"Standard errors: cluster-robust, clustered on {cluster}. With only a handful of areas, "
        "clustering on "
        "area would give a handful of clusters and unreliable (too small) standard errors; "
        "clustering on LSOA "
        "allows any correlation within a neighbourhood over time (serial correlation, the main threat in DiD "
        "panels) with hundreds of clusters. Area-month clustering is shown as a sensitivity.",
        "Event study: the same model with trailblazer x month-relative-to-go-live terms (month -1 the "
        "reference); the pre-trend test is a cluster-robust Wald test that every pre-go-live term is zero.",
        "Linkage quality: precision and recall against the truth table with Wilson intervals; and estimated "
        "from a clerical review sample stratified by match weight (linkage.quality.estimate_from_review).",
        "Maps: geopandas, British National Grid (EPSG:27700); 2021 LSOA boundaries (generalised 20 m).",
    ]


def _sources(data: ReportData) -> list[str]:
    cfg = data.config
    out = []
    if cfg.police_uk:
        out.append(
            "Street-level crime and outcomes files from data.police.uk: "
            + ", ".join(p.name for p in cfg.police_uk)
            + "."
        )
    if cfg.synthetic_world is not None:
        out.append(
            "Synthetic restricted extracts (crimes, suspects, cautions, penalty notices, court outcomes) "
            "generated by linkage.synth with the specification in the configuration."
        )
    if cfg.extracts:
        out.append("Restricted record-level extracts: " + ", ".join(sorted(cfg.extracts)) + ".")
    if cfg.area.boundary_file:
        out.append(f"LSOA boundaries: ONS {cfg.area.boundary_file.name}.")
    if cfg.area.force_boundaries:
        out.append(f"Police force areas: ONS {cfg.area.force_boundaries.name}.")
    out.append(OGL)
    return out


def _manifest(
    config: TrailblazerConfig, started: float, elapsed: float, outputs: list[str]
) -> dict[str, Any]:
    root = (config.source.parent if config.source is not None else Path.cwd()).resolve()
    # Keys are paths relative to the configuration's folder (as the configuration names them).
    inputs = {Path(os.path.relpath(p, root)).as_posix(): file_sha256(p) for p in config.input_files()}
    return {
        "slug": config.slug,
        "config_file": config.source.name if config.source is not None else None,
        "config_path": regenerate_path(config.source),  # issue 14: the footer's regenerate line
        "config_sha256": config.config_hash,
        "package": "justice-linkage",
        "package_version": __version__,
        "git_commit": git_commit(Path(__file__).resolve().parent),  # the workbench code that ran
        "seed": config.seed,
        "python": platform.python_version(),
        "input_files": dict(sorted(inputs.items())),
        "outputs": sorted(outputs),
        "run": {
            "started_utc": _dt.datetime.fromtimestamp(started, tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds": round(elapsed, 2),
        },
    }


def write_report(report: Report, data: ReportData, out_dir: str | Path, *, started: float) -> Path:
    """Write the report folder; returns the path of report.html."""
    with atomic_directory(out_dir) as out:  # all or nothing: a killed run leaves the previous folder
        _write_report_files(report, data, out, started=started)
    return Path(out_dir) / "report.html"


def _write_report_files(report: Report, data: ReportData, out: Path, *, started: float) -> None:
    """Every data file goes through the disclosure gate (:mod:`linkage.reporting.publish`), which adds
    one disclosure-log row per file; then the log, the HTML and the manifest."""
    cfg = data.config
    record_files: dict[str, pd.DataFrame] = {}
    name = f"{cfg.slug}-outcomes.csv"
    if data.published_outcomes is not None:
        record_files[name] = data.published_outcomes
    elif data.public is not None and data.outcomes_file_skipped is None:
        record_files[name] = _public_outcomes_file(data)
    written, gate_log = write_published(report, record_files, out)
    own = file_log(
        [
            ("disclosure_log.csv", "this log: actions and file list, never an original value"),
            ("report.html", "the tables above, as protected; figures drawn from protected or model values"),
            ("manifest.json", "input hashes, settings and the list of outputs"),
        ]
    )
    report.disclosure_log = label_log(pd.concat([report.disclosure_log, gate_log, own], ignore_index=True))
    report.extra["files"] = written
    write_csv(out / "disclosure_log.csv", report.disclosure_log)
    written = [*written, "disclosure_log.csv", "report.html"]
    manifest = _manifest(cfg, started, time.time() - started, written + ["manifest.json"])
    report.manifest = manifest
    write_text(out / "report.html", render_html(report))
    write_text(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _public_outcomes_file(data: ReportData) -> pd.DataFrame:
    """Published-style outcomes file from the public view: one row per crime with its last outcome."""
    c = data.public[data.public["final_outcome"].notna() & data.public["crime_key"].notna()]
    month = pd.to_datetime(c["outcome_date"]).fillna(pd.to_datetime(c["month"]))
    return pd.DataFrame(
        {
            "Crime ID": c["crime_key"].to_numpy(),
            "Month": month.dt.strftime("%Y-%m").to_numpy(),
            "Reported by": data.config.area.force,
            "Falls within": data.config.area.force,
            "Longitude": c["longitude"].to_numpy(),
            "Latitude": c["latitude"].to_numpy(),
            "LSOA code": c["lsoa_code"].to_numpy(),
            "Outcome type": c["final_outcome"].to_numpy(),
        }
    ).reset_index(drop=True)


def run_report(config: TrailblazerConfig, out_root: str | Path = "reports") -> Path:
    """Gather, build and write one report; returns the path of its report.html."""
    started = time.time()
    logger.info("%s: loading and linking", config.slug)
    data = gather(config)
    logger.info("%s: building sections", config.slug)
    report = build_report(data)
    path = write_report(report, data, Path(out_root) / config.slug, started=started)
    logger.info("%s: wrote %s in %.1fs", config.slug, path, time.time() - started)
    return path
