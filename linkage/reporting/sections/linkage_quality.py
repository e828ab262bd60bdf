"""Report section 2. Linkage quality."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from linkage.evaluation.disclosure import (
    RATE_DECIMALS,
    DisclosureSettings,
    protect_rates,
    round_to_base,
    small_count_mask,
)
from linkage.quality.metrics import mark_correct
from linkage.reporting.document import FigureBlock, Section, TableBlock, figure_png
from linkage.reporting.labels import DISPLAY_LABELS
from linkage.reporting.sections._common import RESTRICTED_NEEDED, _pct, line_style, prose

logger = logging.getLogger(__name__)



def evaluation_cell_quality(
    links: pd.DataFrame, truth: pd.DataFrame, crimes: pd.DataFrame, go_live: pd.Timestamp
) -> pd.DataFrame:
    """Precision and recall in the four cells of the difference-in-differences (trailblazer or comparison,
    before or after go-live), in the layout of :func:`linkage.quality.by_subgroup` (variable "evaluation
    group"). Linkage that changes between cells would bias the estimate, so this is the split to check.

    A link counts in the cell of the crime it points at (precision); a true match in the cell of its
    true crime (recall); a correct link is in both.
    """
    key = ["force", "crime_ref"]
    cells = crimes[[*key, "treated", "month"]].copy()
    cells[key] = cells[key].astype("string")
    role = np.where(cells["treated"].astype(int) > 0, "trailblazer", "comparison")
    when = np.where(pd.to_datetime(cells["month"]) >= go_live, "after go-live", "before go-live")
    cells["cell"] = pd.Series(role, index=cells.index) + ", " + when
    cells = cells.drop_duplicates(key)[[*key, "cell"]]
    marked = mark_correct(links, truth).merge(cells, on=key, how="left")
    true = truth[truth["crime_ref"].notna()][key].astype("string").merge(cells, on=key, how="left")
    order = [f"{r}, {w}" for r in ("trailblazer", "comparison") for w in ("before go-live", "after go-live")]
    frame = pd.DataFrame(
        {
            "n_records": true["cell"].value_counts().reindex(order, fill_value=0),
            "n_linked": marked["cell"].value_counts().reindex(order, fill_value=0),
            "tp": marked.loc[marked["correct"], "cell"].value_counts().reindex(order, fill_value=0),
        }
    )
    frame["n_true"] = frame["n_records"]
    n_linked = frame["n_linked"].where(frame["n_linked"] > 0)
    frame["link_rate"] = frame["n_linked"] / frame["n_records"].where(frame["n_records"] > 0)
    frame["precision"] = frame["tp"] / n_linked
    frame["recall"] = frame["tp"] / frame["n_true"].where(frame["n_true"] > 0)
    return frame.rename_axis("group").reset_index().assign(variable="evaluation group")


_BOUND_NA = {"link rate at least": "", "precision at least": "", "recall at least": ""}
_BOUND_NOTE = (
    "Where a rate is withheld because fewer than the threshold of links are wrong, missed or unlinked "
    "(linkage errors, not people), its lower bound is shown instead ('at least')."
)


def lower_bounds(
    raw: pd.DataFrame,
    published: pd.DataFrame,
    settings: DisclosureSettings,
    ratios: Mapping[str, tuple[str, str]],
) -> dict[str, pd.Series]:
    """``{rate: its lower bound}`` where a rate is withheld only because its *errors* are few.

    Precision, recall and link rates are withheld when the number of wrong, missed or unlinked records is
    under the threshold; those are linkage errors, not people, and "at least 99%" tells a reader the
    linkage is good without giving the small count back. A bound is given only when the numerator and
    the denominator are at least the threshold and the complement is under it (primary, on the row's own
    counts): ``1 - (threshold - 1) / denominator``, floored to a whole percent, so it follows from the
    threshold and the rounded size alone. Everything else stays NaN.
    """
    t = settings.threshold
    out = {}
    for rate, (num, den) in ratios.items():
        k = pd.to_numeric(raw[num], errors="coerce").to_numpy(dtype=float)
        n = pd.to_numeric(raw[den], errors="coerce").to_numpy(dtype=float)
        withheld = published[rate].isna().to_numpy()
        few_errors = (k >= t) & (n >= t) & ((n - k) < t) & ((n - k) >= 0)
        n_low = np.maximum(round_to_base(n, settings.rounding_base) - settings.rounding_base // 2, t)
        bound = np.floor(100 * (1 - (t - 1) / n_low)) / 100
        out[rate] = pd.Series(np.where(withheld & few_errors, bound, np.nan), index=published.index)
    return out


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
        q_raw = q.copy()
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
        bounds = lower_bounds(
            q_raw, q, settings, {"precision": ("tp", "n_links"), "recall": ("tp", "n_true")}
        )
        # any source whose precision or recall is withheld: withhold its links (and link rate) too
        withheld = q["recall"].isna() | q["precision"].isna()
        q["precision at least"] = bounds["precision"].to_numpy()
        q["recall at least"] = bounds["recall"].to_numpy()
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
    bound = lower_bounds(rates, pub, settings, {"rate": ("count", "n")})["rate"]
    pub["link rate at least"] = bound.to_numpy()
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


def match_weight_figure(links: pd.DataFrame) -> Figure:
    """Histogram of the match weights of accepted links, by source; the legend uses the display labels."""
    fig = Figure(figsize=(7.5, 3.2), dpi=110)
    ax = fig.subplots()
    w = links["match_weight"].dropna().clip(-10, 40)
    bins = np.arange(np.floor(w.min()) - 0.5, np.ceil(w.max()) + 1.5, 1.0)
    groups = links.dropna(subset=["match_weight"]).groupby("source")
    for i, (source, sub) in enumerate(groups):
        ax.hist(
            sub["match_weight"].clip(-10, 40),
            bins=bins,
            histtype="step",
            linewidth=1.5,
            label=DISPLAY_LABELS.get(str(source), str(source)),
            **line_style(i),
        )
    ax.set_xlabel("match weight (log2 Bayes factor); rule links shown at their model weight")
    ax.set_ylabel("links")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _match_weight_figure(sec: Section, links: pd.DataFrame) -> None:
    """Add the match-weight histogram to the section."""
    fig = match_weight_figure(links)
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
    bounds = lower_bounds(sg, pub_sg, settings, {"precision": ("tp", "count"), "recall": ("tp", "n_true")})
    pub_sg["precision at least"] = bounds["precision"].to_numpy()
    pub_sg["recall at least"] = bounds["recall"].to_numpy()
    pub_sg = pub_sg.drop(columns=["n_true", "tp"])
    pub_sg = pub_sg.rename(columns={"count": "linked", "n": "records", "rate": "link rate"})
    sec.add_table(
        TableBlock(
            "linkage_by_subgroup",
            "Link rate, precision and recall by subgroup",
            pub_sg,
            percent_columns=("link rate", "precision", "recall", "precision at least", "recall at least"),
            na_text=_BOUND_NA,
            note=_BOUND_NOTE,
        ),
        sglog,
    )
    sec.paragraphs.append(prose("linkage_quality", "subgroups"))


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
        sec.paragraphs.append(prose("linkage_quality", "public_only"))
        return sec
    link_pub, link_log, q, qlog = _link_and_precision_tables(links, quality_table, record_counts, settings)
    sec.add_table(
        TableBlock(
            "linkage_link_rates",
            "Outcome records linked to a crime, by source",
            link_pub,
            percent_columns=("link rate", "link rate at least"),
            na_text=_BOUND_NA,
            note=_BOUND_NOTE,
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
                    "precision at least",
                    "recall at least",
                ),
                na_text=_BOUND_NA,
                note="Rates are computed from the rounded counts shown; a rate whose count, complement or "
                "denominator is under the threshold is withheld. " + _BOUND_NOTE,
            ),
            qlog,
        )
        if "all" in set(q["source"]) and pd.notna(q.loc[q["source"] == "all", "precision"]).all():
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
        sec.paragraphs.append(prose("linkage_quality", "no_truth"))
    if "match_weight" in links.columns and links["match_weight"].notna().any():
        _match_weight_figure(sec, links)
    if subgroups is not None and len(subgroups):
        withheld = set(link_pub.loc[link_pub["link rate"].isna(), "source"])
        _subgroup_block(sec, subgroups, settings, withheld)
    sec.paragraphs.insert(0, prose("linkage_quality", "method"))
    return sec
