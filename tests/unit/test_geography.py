"""linkage.geography: the one module that transforms between WGS84 and British National Grid."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from linkage.geography import (
    BNG,
    bng_points_to_wgs84,
    bundled_path,
    grid_to_lonlat,
    points_to_bng,
    to_bng,
    to_british_national_grid,
)

ROOT = Path(__file__).resolve().parents[2]
# Bank junction, City of London: WGS84 and its British National Grid reference (Ordnance Survey).
BANK_LONLAT = (-0.0886, 51.5133)
BANK_EN = (532_700.0, 181_100.0)


def test_wgs84_to_grid_lands_on_the_known_reference():
    east, north = to_british_national_grid(pd.Series([BANK_LONLAT[0]]), pd.Series([BANK_LONLAT[1]]))
    assert abs(east[0] - BANK_EN[0]) < 150 and abs(north[0] - BANK_EN[1]) < 150


def test_invalid_points_are_nan_and_valid_ones_survive():
    lon = pd.Series([BANK_LONLAT[0], None, "x", 200.0, np.inf])
    lat = pd.Series([BANK_LONLAT[1], 51.5, 51.5, 51.5, 51.5])
    east, north = to_british_national_grid(lon, lat)
    assert np.isfinite(east[0]) and np.isfinite(north[0])
    assert np.isnan(east[1:]).all() and np.isnan(north[1:]).all()


def test_grid_input_passes_through_unchanged():
    east, north = to_british_national_grid(pd.Series([532_700.0]), pd.Series([181_100.0]), crs=BNG)
    assert (east[0], north[0]) == (532_700.0, 181_100.0)


def test_grid_and_lonlat_round_trip():
    east, north = to_british_national_grid(pd.Series([-0.0886, -1.5]), pd.Series([51.5133, 53.8]))
    lon, lat = grid_to_lonlat(east, north)
    np.testing.assert_allclose(lon, [-0.0886, -1.5], atol=1e-7)
    np.testing.assert_allclose(lat, [51.5133, 53.8], atol=1e-7)


def test_point_helpers_agree_with_the_column_transform():
    frame = pd.DataFrame({"longitude": [BANK_LONLAT[0], None], "latitude": [BANK_LONLAT[1], 51.0]})
    geo = points_to_bng(frame)
    assert len(geo) == 1 and geo.crs.to_epsg() == 27700
    east, north = to_british_national_grid(frame["longitude"], frame["latitude"])
    assert geo.geometry.x.iloc[0] == pytest.approx(east[0])
    assert geo.geometry.y.iloc[0] == pytest.approx(north[0])
    back = bng_points_to_wgs84(geo.geometry)
    assert back.crs.to_epsg() == 4326 and back.x.iloc[0] == pytest.approx(BANK_LONLAT[0])
    assert to_bng(back.to_frame("geometry")).crs.to_epsg() == 27700


def test_bundled_path_falls_back_to_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert bundled_path("pyproject.toml") == ROOT / "pyproject.toml"
    (tmp_path / "here.txt").write_text("x")
    assert bundled_path("here.txt") == Path("here.txt")


REPROJECTIONS = {"to_crs", "set_crs", "from_crs"}


def _transforms(tree: ast.AST) -> list[int]:
    """Lines that reproject (to_crs/set_crs/Transformer.from_crs) or spell an EPSG code as a value."""
    lines = []
    for node in ast.walk(tree):
        reprojects = isinstance(node, ast.Call) and getattr(node.func, "attr", "") in REPROJECTIONS
        names_code = isinstance(node, ast.Constant) and re.fullmatch(r"(?i)\s*epsg:\d+\s*", str(node.value))
        if reprojects or names_code:
            lines.append(node.lineno)
    return lines


def test_no_other_module_transforms_coordinates():
    """Every CRS transform and EPSG code in code goes through linkage.geography (prose may name them)."""
    offenders = []
    for path in sorted((ROOT / "linkage").rglob("*.py")):
        if path.relative_to(ROOT) == Path("linkage/geography.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{path.relative_to(ROOT)}:{line}" for line in _transforms(tree)]
    assert not offenders, offenders
    assert _transforms(ast.parse('g.to_crs("EPSG:4326")')) == [1, 1]  # the check can fail
