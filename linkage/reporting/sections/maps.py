"""Report section 5. Maps."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from linkage.evaluation.disclosure import (
    DisclosureSettings,
    PublishedCells,
    protect_rates,
    rounded_rate,
    small_count_mask,
    widen_across_tables,
)
from linkage.evaluation.maps import lsoa_choropleth, point_map
from linkage.reporting.document import FigureBlock, Section, TableBlock, figure_png
from linkage.reporting.sections._common import prose

logger = logging.getLogger(__name__)



def _map_title(by_lsoa: pd.DataFrame, areas: pd.DataFrame | None = None) -> str:
    """The choropleth's finding: the spread of the published LSOA shares."""
    shown = by_lsoa.dropna(subset=["rate"])
    if shown.empty:
        return "Share of crimes with action taken, by LSOA"
    lo, hi = shown["rate"].quantile([0.1, 0.9])
    return (
        f"Action taken in {100 * lo:.0f}% to {100 * hi:.0f}% of crimes in most LSOAs "
        "(10th to 90th percentile of the published LSOA shares)"
    )


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
        sec.needs = prose("maps", "no_crimes")
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
    sec.paragraphs.append(prose("maps", "method", view=view, threshold=t))
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
        areas = None
        if "treated" in data.columns and data["treated"].nunique() > 1:
            roles = data.dropna(subset=["lsoa_code"]).groupby("lsoa_code")["treated"].mean()
            areas = pd.DataFrame(
                {"lsoa_code": roles.index, "role": np.where(roles >= 0.5, "trailblazer", "comparison")}
            )
        fig = lsoa_choropleth(
            by_lsoa,
            boundaries,
            title=_map_title(by_lsoa, areas),
            legend_label="share with action taken",
            areas=areas,
        )
        sec.figures.append(
            FigureBlock(
                "LSOA choropleth: share of crimes whose final outcome was a charge or an "
                "out-of-court disposal (2021 LSOAs, British National Grid)"
                + (
                    "; trailblazer area outlined solid black, comparison areas dashed orange."
                    if areas is not None
                    else "."
                ),
                figure_png(fig),
                alt=_map_title(by_lsoa, areas) + ". Map of LSOAs shaded by the share of crimes with action "
                "taken; the values are in the LSOA table.",
            )
        )
    else:
        sec.paragraphs.append(prose("maps", "no_boundaries"))
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
        prose("maps", "points_drawn", drawn=int((pts["n"] >= t).sum()), points=len(pts), threshold=t)
    )
    return sec
