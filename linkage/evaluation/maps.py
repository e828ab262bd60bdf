"""Maps in British National Grid (EPSG:27700): LSOA choropleths and map-point outcome maps.

Inputs are aggregates only - a rate per LSOA, or a count and rate per published police.uk map point -
so no record-level location is ever drawn. Cells under the disclosure threshold are drawn as
"suppressed" (hatched grey) on choropleths and left off point maps.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from linkage.errors import DataContractError
from linkage.geography import BNG, points_to_bng, to_bng

logger = logging.getLogger(__name__)

__all__ = ["BNG", "load_boundaries", "lsoa_choropleth", "point_map", "points_to_bng", "force_outline"]


def load_boundaries(path: str | Path, *, code_column: str = "LSOA21CD") -> gpd.GeoDataFrame:
    """Read an LSOA boundary file and return it in EPSG:27700 with a ``lsoa_code`` column."""
    path = Path(path)
    if not path.exists():
        raise DataContractError(path, "boundary file not found")
    frame = gpd.read_file(path)
    if frame.crs is None:
        raise DataContractError(path, "boundary file has no coordinate reference system")
    if code_column not in frame.columns:
        raise DataContractError(
            path, f"no {code_column!r} column (columns: {list(frame.columns)})", column=code_column
        )
    frame = to_bng(frame).rename(columns={code_column: "lsoa_code"})
    return frame


def force_outline(
    path: str | Path, force_name: str, *, name_column: str = "PFA20NM"
) -> gpd.GeoDataFrame | None:
    """The police force area polygon for ``force_name`` in EPSG:27700 (None when not found)."""
    frame = gpd.read_file(path)
    key = force_name.lower().replace("&", "and")
    for suffix in (" police service", " constabulary", " police"):
        key = key.removesuffix(suffix)
    names = frame[name_column].str.lower().str.replace("&", "and")
    hit = frame[names == key]
    if hit.empty:
        hit = frame[names.str.contains(key, regex=False)]
    return None if hit.empty else to_bng(hit)


def _colorbar_axes(ax):
    """A slim colour-bar axes beside ``ax``, exactly as tall as the map (maps keep an equal aspect, so a
    colour bar sized to the figure would overhang a wide map and cover the caption beneath it)."""
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    return make_axes_locatable(ax).append_axes("right", size="3%", pad=0.08)


def _finish(ax, title: str) -> None:
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")


_AREA_STYLE = {
    "trailblazer": {"edgecolor": "#000000", "linewidth": 1.8, "linestyle": "-"},
    "comparison": {"edgecolor": "#D55E00", "linewidth": 1.6, "linestyle": "--"},
}


def _area_outlines(ax, boundaries: gpd.GeoDataFrame, areas: pd.DataFrame) -> None:
    """Outline the trailblazer and comparison areas (``areas``: ``lsoa_code``, ``role``) with a legend:
    solid black for the trailblazer, dashed orange for the comparison areas."""
    from matplotlib.lines import Line2D

    geo = boundaries.merge(areas[["lsoa_code", "role"]].drop_duplicates("lsoa_code"), on="lsoa_code")
    handles = []
    for role, style in _AREA_STYLE.items():
        part = geo[geo["role"] == role]
        if part.empty:
            continue
        part.dissolve().boundary.plot(ax=ax, zorder=4, color=style["edgecolor"], linewidth=style["linewidth"],
                                      linestyle=style["linestyle"])
        handles.append(Line2D([], [], color=style["edgecolor"], linewidth=style["linewidth"],
                              linestyle=style["linestyle"], label=f"{role} area"))
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=True, framealpha=0.9)


def lsoa_choropleth(
    rates: pd.DataFrame,
    boundaries: gpd.GeoDataFrame,
    *,
    value: str = "rate",
    title: str = "",
    legend_label: str = "share of crimes",
    context: int = 1,
    areas: pd.DataFrame | None = None,
) -> Figure:
    """LSOA choropleth of ``rates[value]`` (NaN = suppressed), drawn in EPSG:27700.

    ``rates`` has a ``lsoa_code`` column. Neighbouring LSOAs within ``context`` km of the mapped area
    are drawn in light grey for orientation.
    """
    if boundaries.crs is None or boundaries.crs.to_epsg() != 27700:
        raise ValueError(f"boundaries must be in EPSG:27700, got {boundaries.crs}")
    geo = boundaries.merge(rates[["lsoa_code", value]], on="lsoa_code", how="inner")
    fig = Figure(figsize=(7.0, 6.0), dpi=110)
    ax = fig.subplots()
    if geo.empty:
        ax.text(
            0.5, 0.5, "No LSOA in the boundary file matches the data", ha="center", transform=ax.transAxes
        )
        _finish(ax, title)
        return fig
    shown = geo[geo[value].notna()]
    # Frame the map on the LSOAs with published values (stray map points far away would shrink it).
    minx, miny, maxx, maxy = (shown if not shown.empty else geo).total_bounds
    pad = context * 1000
    near = boundaries.cx[minx - pad : maxx + pad, miny - pad : maxy + pad]
    near.plot(ax=ax, color="#eeeeee", edgecolor="white", linewidth=0.3)
    hidden = geo[geo[value].isna()].cx[minx - pad : maxx + pad, miny - pad : maxy + pad]
    if not shown.empty:
        shown.plot(
            ax=ax,
            column=value,
            cmap="viridis",
            edgecolor="white",
            linewidth=0.4,
            legend=True,
            cax=_colorbar_axes(ax),
            legend_kwds={"label": legend_label, "format": PercentFormatter(xmax=1, decimals=0)},
        )
    if not hidden.empty:
        hidden.plot(ax=ax, color="#d0d0d0", hatch="///", edgecolor="white", linewidth=0.4)
    if areas is not None:
        _area_outlines(ax, boundaries, areas)
    ax.set_xlim(minx - pad / 2, maxx + pad / 2)
    ax.set_ylim(miny - pad / 2, maxy + pad / 2)
    _finish(ax, title)
    ax.text(
        0.0,
        -0.02,
        "Hatched: suppressed (crimes, or crimes with or without the outcome, under the disclosure "
        "threshold). British National Grid.",
        transform=ax.transAxes,
        fontsize=7,
        va="top",
    )
    fig.tight_layout()
    return fig


def point_map(
    points: pd.DataFrame,
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    outline: gpd.GeoDataFrame | None = None,
    value: str = "rate",
    size: str = "n",
    title: str = "",
    legend_label: str = "share of crimes",
) -> Figure:
    """Map-point outcome map: one circle per published map point, area ~ crimes, colour ~ ``value``.

    ``points`` is an aggregate (``longitude``, ``latitude`` of the published map point, ``n``,
    ``value``); rows with NaN ``value`` (suppressed) are not drawn.
    """
    geo = points_to_bng(points[points[value].notna()])
    fig = Figure(figsize=(7.0, 6.0), dpi=110)
    ax = fig.subplots()
    if outline is not None:
        # zorder keeps the outline above the LSOA layer drawn below it
        outline.plot(ax=ax, facecolor="none", edgecolor="#555555", linewidth=0.8, zorder=3)
    if geo.empty:
        ax.text(0.5, 0.5, "No map point has enough crimes to show", ha="center", transform=ax.transAxes)
        _finish(ax, title)
        return fig
    minx, miny, maxx, maxy = geo.total_bounds
    pad = max(maxx - minx, maxy - miny) * 0.08 + 100
    if boundaries is not None:
        boundaries.cx[minx - pad : maxx + pad, miny - pad : maxy + pad].plot(
            ax=ax, color="#f2f2f2", edgecolor="#bbbbbb", linewidth=0.3
        )
    sizes = 8 + 120 * np.sqrt(geo[size].to_numpy(float) / max(float(geo[size].max()), 1.0))
    geo = geo.assign(_s=sizes).sort_values(size, ascending=False, kind="stable")
    sc = ax.scatter(
        geo.geometry.x,
        geo.geometry.y,
        s=geo["_s"],
        c=geo[value],
        cmap="viridis",
        alpha=0.8,
        edgecolors="black",
        linewidths=0.3,
    )
    fig.colorbar(sc, cax=_colorbar_axes(ax), label=legend_label, format=PercentFormatter(xmax=1, decimals=0))
    top = float(geo[size].max())
    keys = sorted({int(round(v, -1)) or int(v) for v in (top / 10, top / 3, top) if v >= 1})
    handles = [
        ax.scatter([], [], s=8 + 120 * np.sqrt(k / max(top, 1.0)), facecolors="none", edgecolors="black",
                   linewidths=0.6, label=f"{k:,} crimes")
        for k in keys
    ]
    ax.legend(handles=handles, title="circle size", loc="lower left", fontsize=7, title_fontsize=7,
              frameon=True, framealpha=0.9, labelspacing=1.2)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    _finish(ax, title)
    ax.text(
        0.0,
        -0.02,
        "Circle area ~ crimes at the published map point; points under the threshold omitted.",
        transform=ax.transAxes,
        fontsize=7,
        va="top",
    )
    fig.tight_layout()
    return fig
