"""Report sections. Each function builds one :class:`~linkage.reporting.document.Section` from analysis
frames; notebooks can call them directly. Every published count or rate passes disclosure control here.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from linkage.errors import LinkageError
from linkage.evaluation.did import EventStudy, did, event_study
from linkage.evaluation.disclosure import (
    RATE_DECIMALS,
    DisclosureSettings,
    PublishedCells,
    protect_counts,
    protect_rates,
    round_to_base,
    rounded_rate,
    small_count_mask,
    widen_across_tables,
)
from linkage.evaluation.frames import add_flags, did_outcomes, did_sample
from linkage.evaluation.maps import lsoa_choropleth, point_map
from linkage.evaluation.rates import (
    GROUP_ORDER,
    NO_OUTCOME,
    compare_views,
    outcome_group,
    outcome_rates,
    outcome_table,
)
from linkage.evaluation.survival import km_by_group, km_by_outcome, km_table_at, median_table
from linkage.reporting.document import FigureBlock, Section, TableBlock, figure_png

logger = logging.getLogger(__name__)

__all__ = [
    "data_summary_section",
    "linkage_quality_section",
    "outcomes_section",
    "time_to_outcome_section",
    "maps_section",
    "evaluation_section",
]

RESTRICTED_NEEDED = (
    "This section needs restricted record-level extracts (crimes, suspects and the cautions, penalty "
    "notices and court outcomes held by other systems) or a synthetic world; this configuration names "
    "only public police.uk files."
)


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.1f}%"


# 1. Data summary -----------------------------------------------------------------------------------


def data_summary_section(
    loads: Mapping[str, object],
    settings: DisclosureSettings,
    *,
    restricted: frozenset[str] = frozenset(),
) -> Section:
    """Rows read, accepted and quarantined (and why) by source.

    ``loads`` maps a source label to a :class:`~linkage.sources.LoadSummary` (or an object with
    ``by_file``). Public police.uk files are accounted exactly (they are published row counts, and the
    identity read = accepted + quarantined should be checkable); sources named in ``restricted`` are
    rounded and small quarantine counts suppressed.
    """
    sec = Section("data", "Data summary")
    rows, reasons = [], []
    for label, summary in loads.items():
        by_file = summary.by_file
        for rec in by_file.to_dict("records"):
            rows.append(
                {
                    "source": label,
                    "file": str(rec.get("file", "")).split("/")[-1],
                    "kind": rec.get("kind", ""),
                    "rows read": int(rec["rows_read"]),
                    "accepted": int(rec["accepted"]),
                    "quarantined": int(rec["quarantined"]),
                }
            )
        for reason, count in summary.by_reason.items():
            reasons.append({"source": label, "reason": reason, "rows": int(count)})
    files = pd.DataFrame(rows, columns=["source", "file", "kind", "rows read", "accepted", "quarantined"])
    why = pd.DataFrame(reasons, columns=["source", "reason", "rows"])
    log = []
    if restricted and len(files):
        mask = files["source"].isin(restricted)
        for col in ("rows read", "accepted", "quarantined"):
            files.loc[mask, col] = round_to_base(files.loc[mask, col], settings.rounding_base)
        rmask = why["source"].isin(restricted)
        small = rmask & (why["rows"] < settings.threshold) & (why["rows"] > 0)
        why["rows"] = why["rows"].astype("Int64")
        why.loc[rmask, "rows"] = round_to_base(why.loc[rmask, "rows"].astype(float), settings.rounding_base)
        why.loc[small, "rows"] = pd.NA
        for r in why[small].itertuples():
            log.append(
                {
                    "table": "data_quarantine_reasons",
                    "row": f"{r.source} / {r.reason}",
                    "column": "rows",
                    "action": "primary suppression",
                    "reason": f"count below threshold {settings.threshold}",
                }
            )
    totals = files.groupby("source", sort=False)[["rows read", "accepted", "quarantined"]].sum()
    sec.paragraphs.append(
        "Every input file is validated on load. Rows that cannot be used (an unparseable date, coordinates "
        "outside the UK, an unknown category, a month superseded by a newer release) are quarantined with "
        "the file, row, column and reason, so that for every file rows read = accepted + quarantined."
    )
    for source, t in totals.iterrows():
        sec.paragraphs.append(
            f"{source}: {int(t['rows read']):,} rows read in {int((files['source'] == source).sum())} "
            "file(s); "
            f"{int(t['accepted']):,} accepted and {int(t['quarantined']):,} quarantined."
        )
    if restricted:
        sec.paragraphs.append(
            f"Counts for restricted sources are rounded to the nearest {settings.rounding_base}."
        )
    sec.add_table(TableBlock("data_files", "Rows read, accepted and quarantined by file", files))
    if len(why):
        sec.add_table(
            TableBlock("data_quarantine_reasons", "Quarantined rows by reason", why),
            pd.DataFrame(log, columns=["table", "row", "column", "action", "reason"]),
        )
    else:
        sec.paragraphs.append("No row was quarantined.")
    return sec


# 2. Linkage quality ------------------------------------------------------------------------------------


def _link_and_precision_tables(
    links: pd.DataFrame,
    quality_table: pd.DataFrame | None,
    record_counts: Mapping[str, int] | None,
    settings: DisclosureSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Link rates by source and precision/recall by source, protected together.

    The two tables share a cell (the number of links from a source), so a source withheld in one is
    withheld in the other; precision (tp / links) and recall (tp / true matches) are each checked on
    numerator, complement and denominator; a single withheld source is not left recoverable as
    ``all`` minus the rest (the smallest other source is withheld too, or ``all`` if there is none).
    Returns ``(link rates, log, precision table, log)``.
    """
    counts = links.groupby("source").size()
    sources = list(record_counts or {})
    rates = pd.DataFrame(
        {
            "source": sources,
            "count": [int(counts.get(s, 0)) for s in sources],
            "n": [int(v) for v in (record_counts or {}).values()],
        }
    )
    rates["rate"] = rates["count"] / rates["n"].where(rates["n"] > 0)
    link_hidden = pd.Series(small_count_mask(rates["count"], rates["n"], settings), index=sources)
    q = qlog = None
    if quality_table is not None:
        q = quality_table.reset_index() if "source" not in quality_table.columns else quality_table.copy()
        keep = ["source", "n_links", "n_true", "tp", "precision", "precision_low", "precision_high"]
        keep += ["recall", "recall_low", "recall_high"]
        q = q[[c for c in keep if c in q.columns]].reset_index(drop=True)
        carried = q["source"].isin(link_hidden.index[link_hidden.to_numpy()]).to_numpy()
        own = small_count_mask(q["tp"], q["n_links"], settings) | small_count_mask(
            q["tp"], q["n_true"], settings
        )
        is_all = (q["source"] == "all").to_numpy()
        per_source = (own | carried) & ~is_all
        if per_source.sum() == 1 and is_all.any():  # else `all` minus the others gives it back
            others = q.loc[~is_all & ~per_source, "n_links"]
            partner = (q.index == others.idxmin()) if len(others) else is_all  # a complementary row
            carried = carried | partner
        q, qlog = protect_rates(
            q,
            settings,
            name="linkage_precision_recall",
            count="tp",
            n="n_links",
            value_columns=("precision", "precision_low", "precision_high"),
            extra_mask=carried,
            ratios={"recall": ("tp", "n_true")},
        )
        # any source whose precision or recall is withheld: withhold its links (and link rate) too
        withheld = q["recall"].isna() | q["precision"].isna()
        q.loc[withheld, "n_links"] = pd.NA
        extra_link = set(q.loc[withheld, "source"])
        link_hidden = link_hidden | pd.Series([s in extra_link for s in sources], index=sources)
        q = q.rename(
            columns={
                "n_links": "links",
                "n_true": "true matches",
                "tp": "correct links",
                "precision_low": "precision lower",
                "precision_high": "precision upper",
                "recall_low": "recall lower",
                "recall_high": "recall upper",
            }
        )
    pub, log = protect_rates(
        rates,
        settings,
        name="linkage_link_rates",
        value_columns=("rate",),
        extra_mask=link_hidden.to_numpy(dtype=bool),
    )
    pub = pub.rename(columns={"count": "records linked", "n": "outcome records", "rate": "link rate"})
    return pub, log, q, qlog


def _published(q: pd.DataFrame | None, column: str) -> float:
    """The published ``all`` value of ``column`` in the protected precision table (NaN if withheld)."""
    if q is None or "all" not in set(q["source"]):
        return float("nan")
    return float(q.loc[q["source"] == "all", column].iloc[0])


def _clerical_block(
    sec: Section,
    review: object,
    quality_table: pd.DataFrame | None,
    q: pd.DataFrame | None,
    settings: DisclosureSettings,
    review_simulated: bool,
) -> None:
    """Precision and recall estimated from a clerical review, beside the truth when there is one."""
    est = review
    rows = [
        {
            "measure": "precision",
            "estimate": est.precision,
            "95% lower": est.precision_interval[0],
            "95% upper": est.precision_interval[1],
        },
        {
            "measure": "recall",
            "estimate": est.recall,
            "95% lower": est.recall_interval[0],
            "95% upper": est.recall_interval[1],
        },
    ]
    if quality_table is not None and "all" in quality_table.index:
        # as published in the precision table (from rounded counts; NaN where withheld)
        rows[0]["truth"] = _published(q, "precision")
        rows[1]["truth"] = _published(q, "recall")
    n_rev = int(round_to_base(est.n_reviewed, settings.rounding_base))
    how = (
        f"a simulated clerical review of about {n_rev} candidate pairs (drawn by match-weight "
        "stratum as for "
        "a real reviewer, labelled from the truth)"
        if review_simulated
        else f"the clerical review of about {n_rev} candidate pairs named in the configuration"
    )
    frame = pd.DataFrame(rows)
    value_cols = [c for c in frame.columns if c != "measure"]
    frame[value_cols] = frame[value_cols].astype(float).round(RATE_DECIMALS)
    sec.add_table(
        TableBlock(
            "linkage_clerical_estimate",
            f"Precision and recall estimated from {how}",
            frame,
            percent_columns=tuple(c for c in frame.columns if c != "measure"),
            note=(
                "Design-weighted stratified estimate with Korn-Graubard intervals "
                "(linkage.quality.estimate_from_review)."
            ),
        )
    )


def _match_weight_figure(sec: Section, links: pd.DataFrame) -> None:
    """Histogram of the match weights of accepted links, by source."""
    fig = Figure(figsize=(7.5, 3.2), dpi=110)
    ax = fig.subplots()
    w = links["match_weight"].dropna().clip(-10, 40)
    bins = np.arange(np.floor(w.min()) - 0.5, np.ceil(w.max()) + 1.5, 1.0)
    for source, sub in links.dropna(subset=["match_weight"]).groupby("source"):
        ax.hist(sub["match_weight"].clip(-10, 40), bins=bins, histtype="step", linewidth=1.5, label=source)
    ax.set_xlabel("match weight (log2 Bayes factor); rule links shown at their model weight")
    ax.set_ylabel("links")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    sec.figures.append(
        FigureBlock(
            "Distribution of match weights of accepted links, by source "
            "(bins with very few links are not readable at this scale).",
            figure_png(fig),
            alt="histogram of match weights",
        )
    )


def _subgroup_block(
    sec: Section,
    subgroups: pd.DataFrame,
    settings: DisclosureSettings,
    withheld_sources: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Link rate, precision and recall by subgroup, each checked on its own counts.

    The ``source`` rows repeat the link-rate table's cells, so sources withheld there
    (``withheld_sources``) are withheld here too.
    """
    sg = subgroups[
        ["variable", "group", "n_records", "n_linked", "link_rate", "n_true", "tp", "precision", "recall"]
    ].copy()
    sg = sg.rename(columns={"n_linked": "count", "n_records": "n", "link_rate": "rate"})
    pub_sg, sglog = protect_rates(
        sg,
        settings,
        name="linkage_by_subgroup",
        value_columns=("rate",),
        extra_mask=((sg["variable"] == "source") & sg["group"].isin(list(withheld_sources))).to_numpy(),
        ratios={"precision": ("tp", "count"), "recall": ("tp", "n_true")},
    )
    pub_sg = pub_sg.drop(columns=["n_true", "tp"])
    pub_sg = pub_sg.rename(columns={"count": "linked", "n": "records", "rate": "link rate"})
    sec.add_table(
        TableBlock(
            "linkage_by_subgroup",
            "Link rate, precision and recall by subgroup",
            pub_sg,
            percent_columns=("link rate", "precision", "recall"),
        ),
        sglog,
    )
    sec.paragraphs.append(
        "Missed links are rarely spread evenly: a subgroup with lower recall has its outcome "
        "rates biased "
        "downwards in the linked view. Compare link rates across subgroups before comparing "
        "their outcomes."
    )


def linkage_quality_section(
    links: pd.DataFrame | None,
    quality_table: pd.DataFrame | None,
    subgroups: pd.DataFrame | None,
    record_counts: Mapping[str, int] | None,
    settings: DisclosureSettings,
    *,
    truth_label: str = "the synthetic world's truth table",
    review: object | None = None,
    review_simulated: bool = True,
) -> Section:
    """Link rates by source, precision/recall with intervals, match weights and link rates by subgroup."""
    sec = Section("linkage", "Linkage quality")
    if links is None:
        sec.needs = RESTRICTED_NEEDED
        sec.paragraphs.append(
            "Public police.uk files carry no identifiers that link an outcome to a person, so "
            "linkage quality "
            "cannot be measured from them."
        )
        return sec
    link_pub, link_log, q, qlog = _link_and_precision_tables(links, quality_table, record_counts, settings)
    sec.add_table(
        TableBlock(
            "linkage_link_rates",
            "Outcome records linked to a crime, by source",
            link_pub,
            percent_columns=("link rate",),
        ),
        link_log,
    )
    if q is not None:
        sec.add_table(
            TableBlock(
                "linkage_precision_recall",
                f"Precision and recall by source against {truth_label}, with 95% Wilson intervals",
                q,
                percent_columns=(
                    "precision",
                    "precision lower",
                    "precision upper",
                    "recall",
                    "recall lower",
                    "recall upper",
                ),
                note="Rates are computed from the rounded counts shown; a rate whose count, complement or "
                "denominator is under the threshold is withheld.",
            ),
            qlog,
        )
        if "all" in set(q["source"]):
            row = q[q["source"] == "all"].iloc[0]
            sec.headline.append(
                (
                    "Linkage precision",
                    f"{_pct(row['precision'])} "
                    f"({_pct(row['precision lower'])} to {_pct(row['precision upper'])})",
                )
            )
            sec.headline.append(
                (
                    "Linkage recall",
                    f"{_pct(row['recall'])} ({_pct(row['recall lower'])} to {_pct(row['recall upper'])})",
                )
            )
    if review is not None:
        _clerical_block(sec, review, quality_table, q, settings, review_simulated)
    if quality_table is None and review is None:
        sec.paragraphs.append(
            "There is no truth table for these extracts, so precision and recall are not shown. "
            "Estimate them "
            "from a clerical review: draw a sample stratified by match weight "
            "(linkage.quality.draw_review_sample), have reviewers label it, and read the labels back "
            "(linkage.quality.estimate_from_review), which gives precision and recall with intervals."
        )
    if "match_weight" in links.columns and links["match_weight"].notna().any():
        _match_weight_figure(sec, links)
    if subgroups is not None and len(subgroups):
        withheld = set(link_pub.loc[link_pub["link rate"].isna(), "source"])
        _subgroup_block(sec, subgroups, settings, withheld)
    sec.paragraphs.insert(
        0,
        "Each caution, penalty notice and court outcome record is linked to the crime (and suspect) it "
        "disposes of by deterministic rules and then a Fellegi-Sunter model with m and u probabilities "
        "estimated by EM. Precision is the share of links that are right; recall the share of true "
        "links found.",
    )
    return sec


# 3. Outcomes -------------------------------------------------------------------------------------------


def _rates_table(
    crimes: pd.DataFrame,
    settings: DisclosureSettings,
    name: str,
    alpha: float,
    suppressed: pd.DataFrame | None = None,
) -> tuple:
    """Rates by crime type; cells suppressed in the matching count table (``suppressed``) stay suppressed,
    so a rate and its denominator can never reveal a cell the count table withheld."""
    rates = outcome_rates(crimes, by=("crime_type",), alpha=alpha)
    extra = None
    if suppressed is not None:
        extra = np.array(
            [
                bool(suppressed.at[ct, og]) if ct in suppressed.index and og in suppressed.columns else False
                for ct, og in zip(rates["crime_type"], rates["outcome_group"], strict=True)
            ]
        )
    pub, log = protect_rates(rates, settings, name=name, extra_mask=extra, alpha=alpha)
    pub = pub.rename(
        columns={
            "outcome_group": "outcome",
            "count": "crimes with outcome",
            "n": "crimes",
            "lower": "95% CI lower",
            "upper": "95% CI upper",
        }
    )
    return pub, log


def _wide_rates(pub: pd.DataFrame) -> pd.DataFrame:
    """Crime type x outcome group grid of 'rate (lower to upper)' strings for reading; [c] where withheld."""
    text = pub["rate"].map(lambda v: "[c]" if pd.isna(v) else f"{100 * v:.1f}%") + pub.apply(
        lambda r: (
            "" if pd.isna(r["rate"]) else f" ({100 * r['95% CI lower']:.1f}-{100 * r['95% CI upper']:.1f})"
        ),
        axis=1,
    )
    grid = pub.assign(cell=text).pivot(index="crime_type", columns="outcome", values="cell")
    order = [g for g in (*GROUP_ORDER, "Other") if g in grid.columns]
    grid = grid[order]
    crimes = pub.groupby("crime_type")["crimes"].first()
    grid.insert(0, "crimes", crimes.reindex(grid.index))
    grid.index.name = "crime type"
    return grid.reset_index()


def _widen_labels(
    labels: pd.Series,
    primary: np.ndarray,
    public: pd.DataFrame,
    linked: pd.DataFrame,
    settings: DisclosureSettings,
) -> np.ndarray:
    """Rows of the label comparison to withhold so no withheld label comes back by differencing.

    Each view publishes its total (``n``), and labels add up to it; the linked view's outcome groups are
    published by the outcome mix (where the mix's own rule publishes them), and labels add up to groups.
    Both views share one row mask, so the views are widened in turn until neither exposes a label.
    """
    hide = np.asarray(primary, dtype=bool).copy()
    keys = labels.astype("string").to_numpy()
    views = []
    for frame, groups in ((public, False), (linked, True)):
        cols = {"label": frame["outcome_label"].astype("string")}
        if groups:
            cols["outcome_group"] = frame["outcome_group"].astype("string")
        finest = pd.DataFrame(cols).value_counts().rename("count").reset_index()
        # Labels shown in the table but absent from this view are zero here, yet unknown to a reader.
        absent = pd.Series(keys[~pd.Series(keys).isin(finest["label"]).to_numpy()], dtype="string")
        if len(absent):
            zero = pd.DataFrame({"label": absent, "count": 0})
            if groups:
                grp = outcome_group(absent.where(absent != NO_OUTCOME, pd.NA)).astype("string")
                zero.insert(1, "outcome_group", grp.to_numpy())
            finest = pd.concat([finest, zero], ignore_index=True)
        extra = [PublishedCells("view total", (), pd.DataFrame({"hidden": [False]}))]
        if groups:
            counts = finest.groupby("outcome_group")["count"].sum()
            shown = ~small_count_mask(counts, len(frame), settings)
            extra.append(
                PublishedCells(
                    "outcomes_mix",
                    ("outcome_group",),
                    pd.DataFrame({"outcome_group": counts.index.astype(str), "hidden": ~shown}),
                )
            )
        views.append((finest, extra))
    for _ in range(10):
        before = hide.copy()
        for finest, extra in views:
            table = PublishedCells("labels", ("label",), pd.DataFrame({"label": keys, "hidden": hide}))
            widened, _ = widen_across_tables(
                finest, [table, *extra], "labels", zeros_safe=not settings.suppress_zeros
            )
            hide = widened[0].hidden["hidden"].to_numpy(bool)
        if (hide == before).all():
            return hide
    raise LinkageError("outcomes_public_vs_linked: label suppression did not settle")


def _public_vs_linked_block(
    sec: Section,
    public: pd.DataFrame,
    linked: pd.DataFrame,
    settings: DisclosureSettings,
    alpha: float,
) -> None:
    """Final outcome by label, public police.uk view beside the linked view (rates from rounded counts)."""
    a, b = "police.uk (public)", "linked"
    label_public = public.assign(outcome_label=public["final_outcome"].fillna(NO_OUTCOME))
    label_linked = linked.assign(outcome_label=linked["final_outcome"].fillna(NO_OUTCOME))
    cmp = compare_views(label_public, label_linked, outcome="outcome_label", alpha=alpha)
    t = settings.threshold

    def _small(k: pd.Series, n: pd.Series) -> np.ndarray:
        return (((k > 0) & (k < t)) | (((n - k) > 0) & ((n - k) < t)) | (n < t)).to_numpy()

    primary = _small(cmp[f"count {a}"], cmp[f"n {a}"]) | _small(cmp[f"count {b}"], cmp[f"n {b}"])
    hide = _widen_labels(cmp["outcome_label"], primary, label_public, label_linked, settings)
    cmp_pub = cmp.copy()
    for side in (a, b):  # rates and intervals from the rounded counts, at 0.1 percentage points
        rate, lo, hi = rounded_rate(cmp[f"count {side}"], cmp[f"n {side}"], settings, alpha=alpha)
        cmp_pub[f"rate {side}"], cmp_pub[f"lower {side}"], cmp_pub[f"upper {side}"] = rate, lo, hi
    cmp_pub["difference_pp"] = (100 * (cmp_pub[f"rate {b}"] - cmp_pub[f"rate {a}"])).round(1)
    value_cols = [c for c in cmp.columns if c.startswith(("rate ", "lower ", "upper "))] + ["difference_pp"]
    for col in value_cols:
        cmp_pub[col] = cmp_pub[col].astype(float).mask(hide)
    for col in (f"count {a}", f"n {a}", f"count {b}", f"n {b}"):
        rounded = pd.array(round_to_base(cmp_pub[col], settings.rounding_base), dtype="Int64")
        cmp_pub[col] = rounded if col.startswith("n ") else pd.Series(rounded).mask(hide).to_numpy()
    cmp_log = pd.DataFrame(
        [
            {
                "table": "outcomes_public_vs_linked",
                "row": lab,
                "column": "all",
                "action": "primary suppression" if first else "secondary suppression",
                "reason": f"a count (or its complement) below threshold {t} in either view"
                if first
                else "protects a withheld label against differencing with the view's total or groups",
            }
            for lab, first in zip(cmp.loc[hide, "outcome_label"], primary[hide], strict=True)
        ]
        + [
            {
                "table": "outcomes_public_vs_linked",
                "row": "all",
                "column": "counts",
                "action": "rounded",
                "reason": f"counts rounded to the nearest {settings.rounding_base}",
            }
        ],
        columns=["table", "row", "column", "action", "reason"],
    )
    cmp_pub = cmp_pub.rename(columns={"outcome_label": "final outcome", "difference_pp": "difference (pp)"})
    sec.add_table(
        TableBlock(
            "outcomes_public_vs_linked",
            "Final outcome by label: public police.uk view against the linked view",
            cmp_pub,
            percent_columns=tuple(c for c in cmp_pub.columns if c.startswith(("rate ", "lower ", "upper "))),
            note="Difference in percentage points, linked minus public. Outcome labels, not groups, so "
            "that 'Court result unavailable' in the public view can be seen resolving into court "
            "results.",
        ),
        cmp_log,
    )
    sec.paragraphs.append(
        "The public police.uk view shows one 'last outcome' per crime as known to the police "
        "when the file "
        "was published; out-of-court disposals recorded only by other systems, and court results after "
        "mid-2019, are often missing from it. The linked view adds what the caution, penalty notice and "
        "court records say."
    )


def outcomes_section(
    public: pd.DataFrame | None,
    linked: pd.DataFrame | None,
    settings: DisclosureSettings,
    *,
    alpha: float = 0.05,
) -> Section:
    """Share of crimes reaching each outcome by crime type (Wilson), the outcome mix, public vs linked."""
    sec = Section("outcomes", "Outcomes")
    main = linked if linked is not None else public
    view = "linked" if linked is not None else "public police.uk"
    if main is None or main.empty:
        sec.needs = "No crimes to analyse."
        return sec
    sec.paragraphs.append(
        f"Outcomes are taken from the {view} view. Each crime is counted once, under its final outcome by "
        "the police.uk hierarchy (a court result outranks a charge, which outranks a police decision). "
        "Outcome labels are grouped as in the methods notes; intervals are 95% Wilson score intervals."
    )
    mix = outcome_table(main)
    protected = protect_counts(mix, settings, name="outcomes_by_crime_type_counts")
    sec.add_table(
        TableBlock(
            "outcomes_by_crime_type_counts",
            f"Crimes by crime type and final outcome group ({view} view); [c] = suppressed",
            protected.table.rename_axis("crime type"),
            index=True,
        ),
        protected.log,
    )
    pub, log = _rates_table(main, settings, "outcomes_rates_by_crime_type", alpha, protected.suppressed)
    sec.add_table(
        TableBlock(
            "outcomes_rates_by_crime_type",
            "Share of crimes reaching each outcome group, by crime type: rate (95% Wilson interval)",
            _wide_rates(pub),
            note="Rates from the rounded counts of the table above; [c] = withheld.",
        ),
        log,
    )
    overall = outcome_rates(main, by=(), alpha=alpha)
    pub_all, log_all = protect_rates(overall, settings, name="outcomes_mix", alpha=alpha)
    pub_all = pub_all.drop(columns="group").rename(
        columns={
            "outcome_group": "outcome",
            "count": "crimes",
            "n": "all crimes",
            "lower": "95% CI lower",
            "upper": "95% CI upper",
        }
    )
    sec.add_table(
        TableBlock(
            "outcomes_mix",
            f"Final-outcome mix, all crime types ({view} view)",
            pub_all,
            percent_columns=("rate", "95% CI lower", "95% CI upper"),
        ),
        log_all,
    )
    fig = Figure(figsize=(7.5, 3.4), dpi=110)
    ax = fig.subplots()
    shown = pub_all.dropna(subset=["rate"])
    ax.barh(shown["outcome"].astype(str)[::-1], shown["rate"][::-1] * 100, color="#1d70b8")
    err = np.vstack([(shown["rate"] - shown["95% CI lower"]), (shown["95% CI upper"] - shown["rate"])]) * 100
    ax.errorbar(
        shown["rate"][::-1] * 100,
        np.arange(len(shown)),
        xerr=err[:, ::-1],
        fmt="none",
        ecolor="black",
        capsize=2,
        linewidth=0.8,
    )
    ax.set_xlabel("% of crimes")
    ax.spines[["top", "right"]].set_visible(False)
    sec.figures.append(
        FigureBlock(
            f"Final-outcome mix ({view} view), with 95% Wilson intervals.",
            figure_png(fig),
            alt="bar chart of the outcome mix",
        )
    )
    for rec in pub_all.itertuples():
        if rec.outcome in ("Charged or summonsed", "Out-of-court disposal", "No suspect identified"):
            sec.headline.append(
                (f"{rec.outcome} ({view})", f"{_pct(rec.rate)} ({_pct(rec[5])} to {_pct(rec[6])})")
            )
    if public is not None and linked is not None:
        _public_vs_linked_block(sec, public, linked, settings, alpha)
    elif linked is None:
        sec.paragraphs.append(
            "Comparing the public view with a linked view needs restricted extracts; this report shows the "
            "public police.uk view only."
        )
    return sec


# 4. Time to outcome ------------------------------------------------------------------------------------


def _km_figure(
    curves, title: str, days_axis: bool = True, base: int = 1, ylabel: str = "share with a final outcome"
):
    fig = Figure(figsize=(7.5, 4.0), dpi=110)
    ax = fig.subplots()
    for c in curves:
        ax.step(
            np.r_[0, c.times],
            1 - np.r_[1.0, c.survival],
            where="post",
            label=f"{c.group} (n≈{int(round_to_base(c.n, base)):,})",
            linewidth=1.2,
        )
    ax.set_xlabel("days from recording" if days_axis else "months from the crime's month")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=7, ncol=2)
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
        sec.needs = (
            "Time to outcome needs the date of each crime's outcome: restricted extracts, or police.uk "
            "outcomes files for every month of the period (this configuration has neither)."
        )
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
        "Time runs from the date the crime was recorded to its final outcome. Crimes with no final "
        "outcome by "
        f"the end of the period ({period_end:%d %B %Y}) are censored there: the Kaplan-Meier estimate "
        "uses the "
        "knowledge that they took at least that long. Curves and medians are shown only for groups with at "
        f"least {t} outcomes."
    )
    if public_months:
        sec.paragraphs.append("Public files record months, not days, so times are whole months.")
    if by_type:
        sec.figures.append(
            FigureBlock(
                "Share of crimes with a final outcome by time since recording, by crime type (Kaplan-Meier, "
                "censored at the period end).",
                figure_png(_km_figure(by_type, "By crime type", not public_months, settings.rounding_base)),
                alt="Kaplan-Meier curves by crime type",
            )
        )
        # The number of outcomes per crime type is left out: crimes minus outcomes is the open count,
        # which the outcome table by crime type may withhold (cross-table differencing).
        med = median_table(by_type, label="crime type")
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
        if overall and not public_months:
            c = overall[0]
            sec.headline.append(
                (
                    "Median days to final outcome",
                    f"{c.median:.0f} ({c.median_lower:.0f} to {c.median_upper:.0f})"
                    if np.isfinite(c.median)
                    else "not reached",
                )
            )
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
                    "By outcome group (cumulative incidence)",
                    True,
                    settings.rounding_base,
                    ylabel="share of all crimes with this final outcome",
                )
            ),
            alt="cumulative incidence curves by outcome group",
        )
    )
    med = _round_km(median_table(by_group, label="outcome group"), settings, "days")
    sec.add_table(
        TableBlock(
            "time_to_outcome_medians_by_outcome",
            "Days from recording until half of all crimes have reached each outcome group (median of the "
            "cumulative incidence; 'not reached' when fewer than half of crimes end in that group), with "
            "95% intervals",
            med,
            na_text=_KM_NA,
            note="Every crime is at risk ('crimes'); 'outcomes' reached the group within the period. "
            "Crimes with a different final outcome, or none, are censored at the period end (a "
            "competing-risks estimate, not time to the outcome among crimes that reached it).",
        )
    )
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


# 5. Maps -------------------------------------------------------------------------------------------------


def _action_totals_published(data: pd.DataFrame, settings: DisclosureSettings) -> pd.DataFrame:
    """Whether the outcome mix of these crimes gives away the totals with and without action taken.

    The mix withholds a group under the same rule as :func:`protect_rates`; the total with action is
    known when both action groups are published, the total without when every other group is.
    """
    groups = data.groupby("outcome_group", observed=True).size()
    shown = ~pd.Series(small_count_mask(groups, len(data), settings), index=groups.index)
    act = groups.index.isin(["Charged or summonsed", "Out-of-court disposal"])
    return pd.DataFrame({"action": ["yes", "no"], "hidden": [not shown[act].all(), not shown[~act].all()]})


def _lsoa_cross_table_mask(
    data: pd.DataFrame, table: pd.DataFrame, pooled_row: bool, settings: DisclosureSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the LSOA table to withhold so no LSOA count comes back by differencing with area totals.

    The LSOA table's crimes with action add up, with the crimes that have no LSOA, to the area's crimes
    with action, which the outcome mix publishes (charged + out-of-court disposals), and its crimes add
    up to the crimes analysed. With exactly one LSOA withheld the total minus the rest gives it back, so
    :func:`~linkage.evaluation.disclosure.widen_across_tables` audits the LSOA table together with those
    totals (treated as published exactly) and withholds the smallest further LSOA count (or, when a
    withheld crimes figure is what comes back, the smallest further crimes figure with its whole row)
    until none is exposed. Returns (rows withheld beyond the primary rule, crimes cells withheld
    beyond the threshold rule).
    """
    codes = data["lsoa_code"].astype("string")
    pooled = str(table["lsoa_code"].iloc[-1]) if pooled_row else "no LSOA"
    individual = codes.isin(set(table["lsoa_code"].astype("string")))
    label = np.where(individual.fillna(False), codes.fillna(""), np.where(codes.notna(), pooled, "no LSOA"))
    finest = (
        pd.DataFrame({"lsoa_row": label, "action": np.where(data["action"], "yes", "no")})
        .groupby(["lsoa_row", "action"], observed=True)
        .size()
        .rename("count")
        .reset_index()
    )
    shown = table["lsoa_code"].astype("string").to_numpy()
    primary = small_count_mask(table["count"], table["n"], settings)
    tables = [
        PublishedCells(
            "maps_lsoa_action_rate",
            ("lsoa_row", "action"),
            pd.DataFrame({"lsoa_row": shown, "action": "yes", "hidden": primary}),
        ),
        PublishedCells(
            "maps_lsoa_crimes",
            ("lsoa_row",),
            pd.DataFrame({"lsoa_row": shown, "hidden": (table["n"] < settings.threshold).to_numpy()}),
        ),
        PublishedCells("outcomes_mix", ("action",), _action_totals_published(data, settings)),
        PublishedCells("crimes analysed", (), pd.DataFrame({"hidden": [False]})),
    ]
    widened, added = widen_across_tables(
        finest,
        tables,
        ("maps_lsoa_action_rate", "maps_lsoa_crimes"),
        zeros_safe=not settings.suppress_zeros,
    )
    if added:
        logger.info("maps_lsoa_action_rate: withheld against differencing: %s", "; ".join(added))
    crimes_hidden = widened[1].hidden["hidden"].to_numpy(bool) & (table["n"] >= settings.threshold).to_numpy()
    # A row whose crimes are withheld loses its count and rate too (count / rate would give them back).
    rows = (widened[0].hidden["hidden"].to_numpy(bool) | crimes_hidden) & ~primary
    return rows, crimes_hidden


def maps_section(
    crimes: pd.DataFrame | None,
    settings: DisclosureSettings,
    *,
    boundaries=None,
    outline=None,
    view: str = "public police.uk",
    alpha: float = 0.05,
) -> Section:
    """LSOA choropleth and map-point map of the share of crimes where action was taken (EPSG:27700)."""
    sec = Section("maps", "Maps")
    if crimes is None or crimes.empty:
        sec.needs = "No crimes to map."
        return sec
    t = settings.threshold
    data = crimes.assign(
        action=crimes["outcome_group"].isin(["Charged or summonsed", "Out-of-court disposal"])
    )
    by_lsoa = (
        data.dropna(subset=["lsoa_code"])
        .groupby("lsoa_code")
        .agg(count=("action", "sum"), n=("action", "size"))
        .reset_index()
    )
    by_lsoa["rate"] = by_lsoa["count"] / by_lsoa["n"]
    # Withhold LSOAs whose crimes, crimes with action or crimes without action are under the threshold.
    hide = small_count_mask(by_lsoa["count"], by_lsoa["n"], settings)
    by_lsoa["rate"] = pd.Series(rounded_rate(by_lsoa["count"], by_lsoa["n"], settings)[0]).mask(hide)
    sec.paragraphs.append(
        f"Maps show the share of crimes ({view} view) whose final outcome was a charge or summons or an "
        "out-of-court disposal ('action taken'). Maps are drawn in British National Grid (EPSG:27700). "
        f"LSOAs with fewer than {t} crimes, or fewer than {t} crimes with (or without) action taken, are "
        "hatched; "
        "map points "
        f"with fewer than {t} crimes are not drawn. Locations are police.uk map points (each the centre of a "
        "street or public place covering at least eight addresses), never an exact address."
    )
    # Published table: LSOAs with at least `t` crimes individually; the rest pooled into one row.
    few = by_lsoa["n"] < t
    pooled = pd.DataFrame(
        {
            "lsoa_code": [f"other LSOAs (each under {t} crimes; {int(few.sum())} LSOAs)"],
            "count": [int(by_lsoa.loc[few, "count"].sum())],
            "n": [int(by_lsoa.loc[few, "n"].sum())],
        }
    )
    table = pd.concat(
        [by_lsoa.loc[~few, ["lsoa_code", "count", "n"]], pooled if few.any() else None], ignore_index=True
    )
    table["rate"] = table["count"] / table["n"]
    extra, crimes_hidden = _lsoa_cross_table_mask(data, table, few.any(), settings)
    lsoa_pub, log = protect_rates(
        table, settings, name="maps_lsoa_action_rate", value_columns=("rate",), extra_mask=extra
    )
    lsoa_pub["n"] = lsoa_pub["n"].mask(crimes_hidden)  # a row withheld against differencing goes whole
    lsoa_pub = lsoa_pub.rename(
        columns={"lsoa_code": "LSOA", "count": "crimes with action", "n": "crimes", "rate": "action rate"}
    )
    if boundaries is not None:
        fig = lsoa_choropleth(
            by_lsoa,
            boundaries,
            title="Share of crimes with action taken, by LSOA",
            legend_label="share with action taken",
        )
        sec.figures.append(
            FigureBlock(
                "LSOA choropleth: share of crimes whose final outcome was a charge or an "
                "out-of-court disposal (2021 LSOAs, British National Grid).",
                figure_png(fig),
                alt="LSOA choropleth",
            )
        )
    else:
        sec.paragraphs.append(
            "No LSOA boundary file covers this area, so the LSOA rates are given as a table only."
        )
    sec.add_table(
        TableBlock(
            "maps_lsoa_action_rate",
            "Share of crimes with action taken, by LSOA (the 20 LSOAs with most crimes; every LSOA "
            "in the CSV)",
            lsoa_pub.sort_values("crimes", ascending=False, kind="stable", na_position="last"),
            percent_columns=("action rate",),
            max_rows=20,
        ),
        log,
    )
    pts = (
        data.dropna(subset=["longitude", "latitude"])
        .groupby(["longitude", "latitude"])
        .agg(count=("action", "sum"), n=("action", "size"))
        .reset_index()
    )
    pts["rate"] = (pts["count"] / pts["n"]).where(pts["n"] >= t)
    fig = point_map(
        pts,
        boundaries=boundaries,
        outline=outline,
        title="Share of crimes with action taken, by map point",
        legend_label="share with action taken",
    )
    sec.figures.append(
        FigureBlock(
            f"Street-level map: one circle per police.uk map point with at least {t} crimes; "
            "area proportional to crimes, colour the share with action taken.",
            figure_png(fig),
            alt="map-point outcome map",
        )
    )
    sec.paragraphs.append(
        f"{int((pts['n'] >= t).sum()):,} of {len(pts):,} map points have at least {t} crimes and are drawn."
    )
    return sec


# 6. Trailblazer evaluation ------------------------------------------------------------------------------


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
    ax.set_title("\n".join(textwrap.wrap(label, 80)), fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _cell_means_table(res, unit: str, settings: DisclosureSettings) -> pd.DataFrame:
    """Before/after cell means of one DiD outcome, protected: a mean of a 0/1 outcome is a rate."""
    t = settings.threshold
    means = res.means.copy()
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
            alt=f"event study of {label}",
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
) -> Section:
    """Difference-in-differences of outcome rates and time to outcome, event study and pre-trend test.

    ``true_effects`` (synthetic worlds) maps an outcome key (``oocd``, ``days_capped``, ``within_n``) to
    the realised effect in display units (percentage points or days); the table then shows whether each
    interval covers it.
    """
    sec = Section("evaluation", "Trailblazer evaluation")
    if crimes is None or go_live is None or crimes.empty or crimes["treated"].nunique() < 2:
        why = []
        if go_live is None:
            why.append("a go-live month")
        if crimes is None or crimes.empty or crimes["treated"].nunique() < 2:
            why.append("comparison areas alongside the trailblazer area")
        sec.needs = (
            "The difference-in-differences evaluation needs " + " and ".join(why) + ". A trailblazer "
            "evaluation is normally run on linked restricted extracts (or a synthetic world) covering the "
            "trailblazer and comparison areas before and after go-live; on public police.uk data alone, "
            "name a go-live month (period.go_live) and comparison areas with their own police.uk files "
            "(comparison_areas: name, police_uk, lsoa_codes or lsoa_name_prefix) to estimate the change "
            "in the out-of-court disposal share of all crimes (see docs/reports.md)."
        )
        return sec
    data = add_flags(crimes, period_end=period_end, within_days=within_days, followup_days=followup_days)
    cluster_label = "LSOA" if cluster == "lsoa" else cluster
    sec.paragraphs.append(
        f"Trailblazer areas are compared with comparison areas before and after go-live ({go_live:%B %Y}). "
        "The estimate is the coefficient on trailblazer x after-go-live in a model with area and month fixed "
        "effects, fitted to LSOA-month cells weighted by crimes (identical to the crime-level model). "
        f"Standard errors are cluster-robust, clustered on {cluster_label} (see methods). Each outcome is "
        f"measured over a fixed window after recording ({followup_days} days; {within_days} days for the "
        "'within' outcome), and only crimes recorded at least that long before the period end are used, so "
        "recent crimes that are still open cannot bias the comparison."
    )
    if "n_suspects" not in data.columns:
        sec.paragraphs.append(
            "This evaluation uses public police.uk data only. Public files give each crime's month and LSOA "
            "and its outcomes (with their months), not suspects or days: the out-of-court disposal share is "
            "of all crimes (an effect on crimes with a named suspect is diluted by the crimes without one), "
            "windows are counted between the first days of the crime's month and the outcome's month, and "
            "outcomes recorded after the files were published are missing. Time to the police outcome, and "
            "the share among crimes with a named suspect, need restricted extracts."
        )
    rows, sens_rows = [], []
    for spec in did_outcomes(data, within_days=within_days, followup_days=followup_days):
        key, label, unit = spec.key, spec.label, spec.unit
        sub = did_sample(data, spec)
        scale = 100.0 if unit == "pp" else 1.0
        try:
            res = did(sub, outcome=key, go_live=go_live, cluster=cluster, alpha=alpha)
            es = event_study(sub, outcome=key, go_live=go_live, cluster=cluster, alpha=alpha)
        except ValueError as exc:
            from linkage.sources.messages import plain  # issue 14: words, not numpy reprs

            sec.paragraphs.append(f"{label}: not estimable ({plain(exc)}).")
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
            r2["crimes"] = int(round_to_base(r2["crimes"], settings.rounding_base))
            sens_rows.append(r2)
        means = _cell_means_table(res, unit, settings)
        sec.add_table(
            TableBlock(
                f"evaluation_means_{key}",
                f"Before and after go-live: {label}",
                means,
                percent_columns=("rate",) if unit == "pp" else (),
            )
        )
        _event_study_blocks(sec, es, key, label, unit, scale)
        text = f"{row['estimate']:+.2f} {unit} ({row['ci_lower']:+.2f} to {row['ci_upper']:+.2f})"
        if truth is not None:
            text += f"; true {truth:+.2f}"
        short = {
            "oocd": "DiD: out-of-court disposals",
            "days_capped": "DiD: days to police outcome",
            "within_n": f"DiD: outcome within {within_days} days",
        }[key]
        sec.headline.append((short, text))
    if rows:
        names = {
            "estimate": "estimate",
            "ci_lower": "95% CI lower",
            "ci_upper": "95% CI upper",
            "std_error": "SE",
            "p_value": "p",
            "cluster_on": "clustered on",
        }
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
                    "pre-trend p": "not available",  # issue 14: NaN is not a suppressed cell
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
            sec.paragraphs.append(
                "This is a synthetic world with a known intervention effect, so each estimate is shown "
                "beside the true effect: the average, over the trailblazer crimes after go-live that the "
                "estimate uses, of each crime's outcome with the intervention minus its outcome without it "
                "(the world generates both), measured exactly as the estimate measures it. A 95% interval "
                "should cover it in about 95 worlds out of 100 (checked over many seeds: docs/reports.md)."
            )
    return sec
