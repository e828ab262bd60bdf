"""Coordinate systems in one place: WGS84 longitude/latitude and British National Grid (BNG) metres.

police.uk publishes WGS84 map points (EPSG:4326); older files and the boundary files give BNG eastings
and northings (EPSG:27700). Distances and maps are computed in BNG, where a metre is a metre. Every
transform between the two goes through this module:

* :func:`to_british_national_grid`: coordinate columns -> BNG arrays, invalid points NaN (linkage distances);
* :func:`grid_to_lonlat`: BNG easting/northing -> WGS84 longitude/latitude arrays (loading files);
* :func:`points_to_bng`, :func:`to_bng`, :func:`bng_points_to_wgs84`: geopandas frames and points (maps,
  the synthetic street grid).

geopandas and pyproj are imported inside the functions that need them: they are heavy, and most of the
package (the linkage engine on in-memory tables) never needs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "BNG",
    "BNG_EASTING",
    "BNG_NORTHING",
    "LONDON_LSOA_BOUNDARIES",
    "WGS84",
    "bng_points_to_wgs84",
    "bundled_path",
    "grid_to_lonlat",
    "points_to_bng",
    "to_bng",
    "to_british_national_grid",
]

WGS84 = "EPSG:4326"
"""Longitude/latitude in degrees (police.uk map points)."""
BNG = "EPSG:27700"
"""British National Grid: easting/northing in metres (distances, maps, boundary files)."""

# British National Grid extent (EPSG:27700) in metres.
BNG_EASTING = (0.0, 700_000.0)
BNG_NORTHING = (0.0, 1_300_000.0)

LONDON_LSOA_BOUNDARIES = "data/boundaries/london-2021-lsoa-gen20.shp"
"""The bundled ONS 2021 LSOA boundaries for London (generalised 20 m, BNG), relative to the repo root."""

_REPO_ROOT = Path(__file__).resolve().parents[1]
_TRANSFORMERS: dict[str, object] = {}


def bundled_path(relative: str | Path) -> Path:
    """``relative`` as given when it exists from the working directory, else under the repository root."""
    path = Path(relative)
    return path if path.exists() else _REPO_ROOT / path


def to_british_national_grid(
    x: pd.Series, y: pd.Series, crs: str = WGS84
) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise transform to British National Grid (EPSG:27700) metres.

    A point is NaN when either coordinate is missing, not a number, infinite or (in EPSG:4326) outside
    longitude -180..180 / latitude -90..90; only valid points go through the projection (pyproj turns
    NaN into inf, and arithmetic on inf is what raised RuntimeWarnings downstream).
    """
    xs = pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
    ys = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
    bad = ~np.isfinite(xs) | ~np.isfinite(ys)
    is_bng = crs.upper() == BNG
    if not is_bng and crs.upper() in (WGS84, "WGS84"):
        bad |= ~((np.abs(xs) <= 180.0) & (np.abs(ys) <= 90.0))
    xs[bad] = np.nan
    ys[bad] = np.nan
    if is_bng or bad.all():
        return xs, ys
    from pyproj import Transformer

    if crs not in _TRANSFORMERS:
        _TRANSFORMERS[crs] = Transformer.from_crs(crs, BNG, always_xy=True)
    ok = np.flatnonzero(~bad)
    ex, ny = _TRANSFORMERS[crs].transform(xs[ok], ys[ok])  # type: ignore[attr-defined]
    ex, ny = np.asarray(ex, dtype=float), np.asarray(ny, dtype=float)
    good = np.isfinite(ex) & np.isfinite(ny)
    xs[ok] = np.where(good, ex, np.nan)
    ys[ok] = np.where(good, ny, np.nan)
    return xs, ys


def grid_to_lonlat(
    easting: np.ndarray | pd.Series, northing: np.ndarray | pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """BNG easting/northing (metres, no missing values) -> WGS84 longitude and latitude arrays."""
    import geopandas as gpd

    points = gpd.GeoSeries.from_xy(np.asarray(easting, float), np.asarray(northing, float), crs=BNG)
    wgs = points.to_crs(WGS84)
    return wgs.x.to_numpy(), wgs.y.to_numpy()


def points_to_bng(points: pd.DataFrame, *, lon: str = "longitude", lat: str = "latitude") -> gpd.GeoDataFrame:
    """WGS84 longitude/latitude rows -> points in EPSG:27700 (rows without coordinates dropped)."""
    import geopandas as gpd

    ok = points[lon].notna() & points[lat].notna()
    sub = points[ok]
    geo = gpd.GeoDataFrame(sub, geometry=gpd.points_from_xy(sub[lon], sub[lat]), crs=WGS84)
    return geo.to_crs(BNG)


def to_bng(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A geopandas frame reprojected to British National Grid."""
    return frame.to_crs(BNG)


def bng_points_to_wgs84(points: gpd.GeoSeries) -> gpd.GeoSeries:
    """Points holding BNG metres (whatever CRS they are tagged with) -> WGS84 longitude/latitude."""
    return points.set_crs(BNG, allow_override=True).to_crs(WGS84)

