"""Where crimes happen: police.uk map points, reused from published files or generated inside LSOAs.

Two kinds of geography (see :class:`~linkage.synth.spec.AreaSpec`):

* ``police_uk``: the map points of a folder of published street files, with their real, heavy-tailed
  frequency (every row counts once), their ``On or near ...`` labels, LSOA codes and names, the share of
  rows with no location, and the crime-type mix at each point.
* ``lsoa_prefix`` / ``lsoa_codes``: real London 2021 LSOA polygons (``data/boundaries``, EPSG:27700). Each
  LSOA gets a handful of generated streets (``On or near Station Road``) at uniform random points inside
  it, plus the odd high-volume public place (``On or near Shopping Area``); weights are heavy-tailed
  (log-normal streets, larger log-normal places), as police.uk points are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from linkage.errors import ConfigError
from linkage.geography import LONDON_LSOA_BOUNDARIES, bng_points_to_wgs84
from linkage.reference import CRIME_TYPES, canonical_crime_type

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
LSOA_SHAPEFILE = LONDON_LSOA_BOUNDARIES

# Generated street geography (modelling choices, documented in docs/synthetic_world.md).
STREETS_PER_LSOA = 6  # plus Poisson(6): 12 map points per LSOA on average
STREET_WEIGHT_SIGMA = 1.2  # log-normal spread of street point weights
PLACE_SHARE = 0.3  # chance an LSOA has a public place (shopping area, supermarket, ...)
PLACE_WEIGHT_MU = 2.5  # places carry about e^2.5 = 12 times a typical street
NO_LOCATION_SHARE = 0.03  # generated geographies: share of crimes with "No Location"


@dataclass(frozen=True)
class AreaGeography:
    """Map points of an area: ``points`` has longitude, latitude, location, lsoa_code, lsoa_name, weight;
    ``type_counts`` (police_uk only) counts published rows per point (rows) and crime type (columns)."""

    points: pd.DataFrame
    no_location_share: float
    type_counts: pd.DataFrame | None = None

    @property
    def observed_mix(self) -> pd.Series | None:
        """Crime-type shares of the published rows (police_uk only), ASB included."""
        if self.type_counts is None:
            return None
        total = self.type_counts.sum(axis=0)
        return total / total.sum()


def resolve_path(value: str) -> Path:
    """A data path as given, or relative to the repository root when it does not exist as given."""
    path = Path(value)
    if path.exists() or path.is_absolute():
        return path
    return REPO_ROOT / path


def load_geography(geography: dict, rng: np.random.Generator, where: str = "geography") -> AreaGeography:
    """Build the map points of one area from its ``geography`` dict."""
    kind, value = next(iter(geography.items()))
    if kind == "police_uk":
        return _police_uk_points(str(resolve_path(value)), where)
    return _generated_points(kind, value, rng, where)


@cache
def _police_uk_points(folder: str, where: str) -> AreaGeography:
    files = sorted(Path(folder).glob("**/*-street.csv"))
    if not files:
        raise ConfigError(where, [f"police_uk folder {folder!r} has no *-street.csv files"])
    cols = ["Longitude", "Latitude", "Location", "LSOA code", "LSOA name", "Crime type"]
    rows = pd.concat([pd.read_csv(f, usecols=cols, dtype=str, keep_default_na=False) for f in files])
    rows["crime_type"] = canonical_crime_type(rows["Crime type"]).fillna("Other crime")
    located = rows["Longitude"].str.strip().ne("") & rows["Latitude"].str.strip().ne("")
    no_loc = float(1.0 - located.mean())
    rows = rows[located]
    keys = ["Longitude", "Latitude", "Location", "LSOA code", "LSOA name"]
    counts = pd.crosstab([rows[k] for k in keys], rows["crime_type"]).reindex(
        columns=list(CRIME_TYPES), fill_value=0
    )
    counts = counts.sort_index(kind="stable")
    idx = counts.index.to_frame(index=False)
    points = pd.DataFrame(
        {
            "longitude": idx["Longitude"].astype(float),
            "latitude": idx["Latitude"].astype(float),
            "location": idx["Location"].astype("string"),
            "lsoa_code": idx["LSOA code"].replace("", pd.NA).astype("string"),
            "lsoa_name": idx["LSOA name"].replace("", pd.NA).astype("string"),
            "weight": counts.sum(axis=1).to_numpy(float),
        }
    )
    logger.debug("%s: %d map points from %d files", folder, len(points), len(files))
    return AreaGeography(points, no_loc, counts.reset_index(drop=True))


@cache
def _lsoa_frame():
    import geopandas as gpd

    frame = gpd.read_file(resolve_path(LSOA_SHAPEFILE))
    return frame.sort_values("LSOA21CD", kind="stable").reset_index(drop=True)


@cache
def _street_parts() -> pd.DataFrame:
    source = resources.files("linkage.synth").joinpath("data", "street_parts.csv")
    with resources.as_file(source) as path:
        return pd.read_csv(path, keep_default_na=False)


def _generated_points(kind: str, value, rng: np.random.Generator, where: str) -> AreaGeography:
    lsoas = _lsoa_frame()
    if kind == "lsoa_prefix":
        chosen = lsoas[lsoas["LSOA21NM"].str.startswith(f"{value} ")]
    else:
        chosen = lsoas[lsoas["LSOA21CD"].isin(list(value))]
        missing = sorted(set(value) - set(chosen["LSOA21CD"]))
        if missing:
            raise ConfigError(where, [f"lsoa_codes not in {LSOA_SHAPEFILE}: {missing[:5]}"])
    if chosen.empty:
        raise ConfigError(where, [f"{kind} {value!r} matches no LSOA in {LSOA_SHAPEFILE}"])
    chosen = chosen.reset_index(drop=True)
    n_lsoa = len(chosen)
    n_streets = STREETS_PER_LSOA + rng.poisson(6, n_lsoa)
    has_place = rng.random(n_lsoa) < PLACE_SHARE
    per_lsoa = n_streets + has_place
    sampled = chosen.geometry.sample_points(size=per_lsoa, rng=rng)
    pts = sampled.explode(index_parts=False)
    lsoa_idx = pts.index.to_numpy()
    order = np.argsort(lsoa_idx, kind="stable")
    pts = pts.iloc[order]
    lsoa_idx = lsoa_idx[order]
    wgs = bng_points_to_wgs84(pts)
    n = len(pts)
    # Position of each point within its LSOA: the last one is the place when the LSOA has one.
    rank = np.arange(n) - np.repeat(np.cumsum(per_lsoa) - per_lsoa, per_lsoa)
    is_place = has_place[lsoa_idx] & (rank == per_lsoa[lsoa_idx] - 1)
    parts = _street_parts()
    stems = parts.loc[parts["kind"] == "stem", "part"].to_numpy(dtype=object)
    suffixes = parts[parts["kind"] == "suffix"]
    places = parts[parts["kind"] == "place"]
    suffix = _weighted(rng, suffixes, n)
    place = _weighted(rng, places, n)
    street = stems[rng.integers(0, len(stems), n)] + " " + suffix
    location = "On or near " + np.where(is_place, place, street)
    weight = np.where(
        is_place,
        rng.lognormal(PLACE_WEIGHT_MU, 0.8, n),
        rng.lognormal(0.0, STREET_WEIGHT_SIGMA, n),
    )
    points = pd.DataFrame(
        {
            "longitude": np.round(wgs.x.to_numpy(), 6),
            "latitude": np.round(wgs.y.to_numpy(), 6),
            "location": pd.array(location, dtype="string"),
            "lsoa_code": pd.array(chosen["LSOA21CD"].to_numpy()[lsoa_idx], dtype="string"),
            "lsoa_name": pd.array(chosen["LSOA21NM"].to_numpy()[lsoa_idx], dtype="string"),
            "weight": weight,
        }
    )
    return AreaGeography(points, NO_LOCATION_SHARE, None)


def _weighted(rng: np.random.Generator, table: pd.DataFrame, n: int) -> np.ndarray:
    w = table["weight"].to_numpy(float)
    cum = np.cumsum(w)
    idx = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    return table["part"].to_numpy(dtype=object)[np.minimum(idx, len(w) - 1)]
