"""Report section 3. Outcomes."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from linkage.errors import LinkageError
from linkage.evaluation.disclosure import (
    DisclosureSettings,
    PublishedCells,
    protect_counts,
    protect_rates,
    round_to_base,
    rounded_rate,
    small_count_mask,
    widen_across_tables,
)
from linkage.evaluation.rates import (
    GROUP_ORDER,
    NO_OUTCOME,
    compare_views,
    outcome_group,
    outcome_rates,
    outcome_table,
)
from linkage.reporting.document import FigureBlock, Section, TableBlock, figure_png
from linkage.reporting.sections._common import _pct, prose

logger = logging.getLogger(__name__)



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


def _long_rates(pub: pd.DataFrame) -> pd.DataFrame:
    """The same protected rates for download: one row per crime type and outcome group, with the count,
    the rate and its interval each in a numeric column (blank = withheld), in the grid's order."""
    order = {g: i for i, g in enumerate((*GROUP_ORDER, "Other"))}
    crime_order = {c: i for i, c in enumerate(pub["crime_type"].drop_duplicates().sort_values())}
    out = pub.rename(columns={"crime_type": "crime type"})
    out = out.assign(
        _c=out["crime type"].map(crime_order), _g=out["outcome"].map(order).fillna(len(order))
    ).sort_values(["_c", "_g"], kind="stable")
    cols = ["crime type", "outcome", "crimes", "crimes with outcome", "rate", "95% CI lower", "95% CI upper"]
    return out[cols].reset_index(drop=True)


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


def _counts_once(cmp_pub: pd.DataFrame, sides: tuple[str, str]) -> pd.DataFrame:
    """The comparison as read: each view's total (the same on every row) shown once, in its count
    column's header, instead of an ``n`` column repeating it."""
    out = cmp_pub.copy()
    renames = {}
    for side in sides:
        totals = out[f"n {side}"].dropna().unique()
        if len(totals) != 1:
            raise LinkageError(f"outcomes_public_vs_linked: {side} view has {len(totals)} totals, expected 1")
        renames[f"count {side}"] = f"count {side}, of {int(totals[0]):,} crimes"
        out = out.drop(columns=f"n {side}")
    return out.rename(columns=renames)


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
    # Rates and intervals from the rounded counts published beside them, so they give nothing the counts
    # do not; to 6 decimals so that a rare label (35 of 107,595 crimes) is not shown as a rate of 0.
    for side in (a, b):
        rate, lo, hi = rounded_rate(cmp[f"count {side}"], cmp[f"n {side}"], settings, alpha=alpha, decimals=6)
        cmp_pub[f"rate {side}"], cmp_pub[f"lower {side}"], cmp_pub[f"upper {side}"] = rate, lo, hi
    # + 0.0 turns a rounded -0.0 into 0.0
    cmp_pub["difference_pp"] = (100 * (cmp_pub[f"rate {b}"] - cmp_pub[f"rate {a}"])).round(1) + 0.0
    value_cols = [c for c in cmp.columns if c.startswith(("rate ", "lower ", "upper "))] + ["difference_pp"]
    for col in value_cols:
        cmp_pub[col] = cmp_pub[col].astype(float).mask(hide)
    for col in (f"count {a}", f"n {a}", f"count {b}", f"n {b}"):
        rounded = pd.array(round_to_base(cmp_pub[col], settings.rounding_base), dtype="Int64")
        cmp_pub[col] = rounded if col.startswith("n ") else pd.Series(rounded, dtype="Int64").mask(hide).array
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
            _counts_once(cmp_pub, (a, b)),
            percent_columns=tuple(c for c in cmp_pub.columns if c.startswith(("rate ", "lower ", "upper "))),
            note="Difference in percentage points, linked minus public. Outcome labels, not groups, so "
            "that 'Court result unavailable' in the public view can be seen resolving into court "
            "results. Each view's total (rounded) is in its count column's header; the CSV file "
            "repeats it on every row as the rate's denominator.",
            download=cmp_pub,
        ),
        cmp_log,
    )
    sec.paragraphs.append(prose("outcomes", "public_vs_linked"))


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
        sec.needs = prose("outcomes", "no_crimes")
        return sec
    sec.paragraphs.append(prose("outcomes", "method", view=view))
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
            note="Rates from the rounded counts of the table above; [c] = withheld. The CSV file holds "
            "one row per crime type and outcome group, with the rate and its interval as numbers.",
            download=_long_rates(pub),
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
        sec.paragraphs.append(prose("outcomes", "public_only"))
    return sec
