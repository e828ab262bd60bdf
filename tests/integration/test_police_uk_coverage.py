"""Reports on police.uk data as it comes: incomplete or unequal outcomes coverage refuses the public-only
DiD (naming area and months), re-releases give the same report whatever their order, and the report
states its coverage."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from linkage.errors import LinkageError
from linkage.reporting import load_config, run_report

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
CITY = DATA / "police-uk" / "city-of-london"

WORLD = {
    "start_month": "2024-01",
    "months": 8,
    "go_live_month": "2024-05",
    "noise": "typical",
    "intervention": {"oocd_pp": 10.0, "days_to_outcome": -5.0},
    "areas": [
        {
            "name": "Southwark",
            "force": "Metropolitan Police Service",
            "role": "trailblazer",
            "crimes_per_month": 250,
            "geography": {"lsoa_prefix": "Southwark"},
        },
        {
            "name": "Lewisham",
            "force": "Metropolitan Police Service",
            "role": "comparison",
            "crimes_per_month": 250,
            "geography": {"lsoa_prefix": "Lewisham"},
        },
    ],
}


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A small synthetic world's published police.uk files (street and outcomes, every month)."""
    from linkage.synth import WorldSpec, generate
    from linkage.synth.world import write_police_uk

    folder = tmp_path_factory.mktemp("world") / "police-uk"
    world = generate(WorldSpec.from_dict(WORLD), seed=3)
    write_police_uk(folder, world.street, world.outcomes)
    return folder


def _report(tmp: Path, trailblazer: Path, comparison: Path) -> tuple[str, Path]:
    cfg = {
        "slug": "southwark-public",
        "title": "Southwark: public police.uk evaluation",
        "area": {
            "name": "Southwark",
            "force": "Metropolitan Police Service",
            "lsoa_name_prefix": "Southwark",
        },
        "period": {"start": "2024-01", "end": "2024-08", "go_live": "2024-05"},
        "comparison_areas": [
            {"name": "Lewisham", "police_uk": [str(comparison)], "lsoa_name_prefix": "Lewisham"}
        ],
        "sources": {"police_uk": [str(trailblazer)]},
    }
    path = tmp / "southwark-public.yaml"
    path.write_text(yaml.safe_dump(cfg))
    html = run_report(load_config(path), tmp / "reports")
    return html.read_text(), html.parent


def _copy_without(src: Path, dst: Path, drop: re.Pattern[str]) -> Path:
    shutil.copytree(src, dst)
    for f in dst.rglob("*.csv"):
        if drop.search(f.name):
            f.unlink()
    return dst


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_complete_coverage_is_estimated(published, tmp_path):
    html, folder = _report(tmp_path, published, published)
    did = pd.read_csv(folder / "tables" / "evaluation_did.csv")
    assert len(did) == 2 and did["estimate"].notna().all()
    assert "not estimable" not in html
    strip = pd.read_csv(folder / "tables" / "data_coverage.csv")
    assert (strip.drop(columns=["area", "kind"]) != "missing").all().all()


def test_comparison_missing_outcome_months_is_not_estimable(published, tmp_path):
    comparison = _copy_without(published, tmp_path / "comparison", re.compile(r"2024-0[678]-.*-outcomes"))
    html, folder = _report(tmp_path, published, comparison)
    text = _text(html)
    assert not (folder / "tables" / "evaluation_did.csv").exists()
    assert "Difference-in-differences not estimable" in text
    assert "Lewisham (comparison) has no police.uk outcomes file for 2024-06 to 2024-08" in text
    assert "Southwark" not in text.split("Difference-in-differences not estimable")[1].split(";")[1]
    assert "DiD not estimable" in text  # headline
    strip = pd.read_csv(folder / "tables" / "data_coverage.csv").set_index(["area", "kind"])
    assert strip.loc[("Lewisham", "outcomes"), "2024-07"] == "missing"
    assert strip.loc[("Southwark", "outcomes"), "2024-07"] == "yes"
    assert "Coverage gap: police.uk outcomes files for Lewisham cover only 2024-01 to 2024-05" in text


def test_no_outcomes_files_is_not_estimable_not_a_precise_null(published, tmp_path):
    street_only = _copy_without(published, tmp_path / "street-only", re.compile(r"-outcomes\.csv$"))
    html, folder = _report(tmp_path, street_only, street_only)
    text = _text(html)
    assert not (folder / "tables" / "evaluation_did.csv").exists()
    assert "+0.00 pp" not in text
    for area in ("Southwark (trailblazer)", "Lewisham (comparison)"):
        assert f"{area} has no police.uk outcomes file for 2024-01 to 2024-08 (none at all)" in text


def test_outcomes_for_one_area_only_is_refused(published, tmp_path):
    street_only = _copy_without(published, tmp_path / "street-only", re.compile(r"-outcomes\.csv$"))
    html, folder = _report(tmp_path, street_only, published)
    assert not (folder / "tables" / "evaluation_did.csv").exists()
    assert "Southwark (trailblazer) has no police.uk outcomes file" in _text(html)


def _release(tmp: Path, release: str, charged: bool) -> Path:
    """A police.uk archive folder ``<release>/2024-03/`` holding City of London's March 2024 street file;
    the later release updates every "Status update unavailable" to "Suspect charged"."""
    folder = tmp / release / "2024-03"
    folder.mkdir(parents=True)
    text = (CITY / "2024-03-city-of-london-street.csv").read_text()
    if charged:
        text = text.replace(",Status update unavailable,", ",Suspect charged,")
    (folder / "2024-03-city-of-london-street.csv").write_text(text)
    return tmp / release


def test_two_releases_give_the_same_report_whatever_their_order(tmp_path):
    old, new = _release(tmp_path, "2024-04", False), _release(tmp_path, "2024-06", True)
    mixes = []
    for order, paths in (("a", [old, new]), ("b", [new, old])):
        cfg = {
            "slug": f"city-march-{order}",
            "title": "City of London, March 2024",
            "area": {"name": "City of London", "force": "City of London Police"},
            "period": {"start": "2024-03", "end": "2024-03"},
            "sources": {"police_uk": [str(p) for p in paths]},
        }
        path = tmp_path / f"city-{order}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        html = run_report(load_config(path), tmp_path / "reports").read_text()
        text = _text(html)
        assert "used 2024-06/2024-03/2024-03-city-of-london-street.csv (release 2024-06)" in text
        folder = tmp_path / "reports" / f"city-march-{order}"
        mixes.append(pd.read_csv(folder / "tables" / "outcomes_mix.csv"))
        strip = pd.read_csv(folder / "tables" / "data_coverage.csv").set_index("kind")
        assert strip.loc["street", "2024-03"] == "release 2024-06"
    pd.testing.assert_frame_equal(mixes[0], mixes[1])
    charged = mixes[0].set_index("outcome").loc["Charged or summonsed", "crimes"]
    assert float(charged) > 150  # the newer release (about 195), not the older (about 60); CSVs may hold [c]


def test_period_beyond_the_data_is_an_error(tmp_path):
    cfg = {
        "slug": "city-2019",
        "title": "City of London, 2019",
        "area": {"name": "City of London", "force": "City of London Police"},
        "period": {"start": "2019-01", "end": "2019-06"},
        "sources": {"police_uk": [str(CITY / "2024-01-city-of-london-street.csv")]},
    }
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(
        LinkageError, match=r"no police.uk street data for City of London in any month.*2024-01"
    ):
        run_report(load_config(path), tmp_path / "reports")


@pytest.mark.slow  # twelve small reports: about 30 s on an idle machine
def test_single_month_city_of_london_every_month_of_2024(tmp_path):
    """A single-month City of London configuration builds a report for every month of 2024 (public-only,
    the bundled real files), withholding what disclosure control cannot protect."""
    withheld = {}
    for month in pd.period_range("2024-01", "2024-12", freq="M"):
        cfg = {
            "slug": f"city-{month}",
            "title": f"City of London, {month}",
            "area": {"name": "City of London", "force": "City of London Police"},
            "period": {"start": str(month), "end": str(month)},
            "sources": {"police_uk": [str(CITY / f"{month}-city-of-london-street.csv")]},
        }
        path = tmp_path / f"city-{month}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        html = run_report(load_config(path), tmp_path / "reports").read_text()
        assert "Trailblazer evaluation" in html and "Data summary" in html
        log = pd.read_csv(tmp_path / "reports" / f"city-{month}" / "disclosure_log.csv")
        withheld[str(month)] = log.loc[log["action"] == "table withheld", "table"].tolist()
        for table in withheld[str(month)]:
            assert not (tmp_path / "reports" / f"city-{month}" / "tables" / f"{table}.csv").exists()
        if withheld[str(month)]:
            assert "withheld: too few crimes to publish safely" in html
    assert len(withheld) == 12
