"""Coverage, releases and messages on real police.uk excerpts (tests/data/police_uk_real) and small frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from linkage.reference.identifiers import unknown_force_problem
from linkage.sources import read_police_uk
from linkage.sources.coverage import Coverage, area_coverage, spans
from linkage.sources.messages import plain, police_uk_problems
from linkage.sources.releases import release_of

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "data" / "police_uk_real"
TWO_RELEASES = ROOT / "tests" / "cases" / "puk_two_releases"


def test_spans_collapse_runs():
    months = pd.period_range("2018-10", "2019-02", freq="M").append(
        pd.period_range("2024-01", "2024-02", freq="M")
    )
    assert spans(months) == "2018-10 to 2019-02, 2024-01 to 2024-02"
    assert spans([pd.Period("2024-03", freq="M")]) == "2024-03"
    assert spans([]) == "none"


@pytest.mark.parametrize(
    ("name", "release"),
    [
        ("archives/2024-06.zip!2024-03/2024-03-durham-street.csv", "2024-06"),
        ("data/2024-06/2024-03/2024-03-durham-street.csv", "2024-06"),
        ("data/2024-06/2024-06/2024-06-durham-street.csv", "2024-06"),
        ("data/2024-03/2024-03-durham-street.csv", None),  # a month folder alone says no release
        ("data/durham/2024-03-durham-street.csv", None),
    ],
)
def test_release_of_path(name, release):
    assert release_of(name) == release
    assert release_of(name, "2025-01") == "2025-01"  # a release given in the configuration wins


def test_two_releases_same_result_whatever_the_order(tmp_path):
    old, new = TWO_RELEASES / "2024-04", TWO_RELEASES / "2024-06"
    a = read_police_uk([old, new])
    b = read_police_uk([new, old])
    cols = ["crime_id", "month", "last_outcome", "crime_type"]
    pd.testing.assert_frame_equal(a.tables["street"][cols], b.tables["street"][cols])
    assert a.tables["street"]["source_file"].str.contains("2024-06").all()
    assert len(a.tables["street"]) == 5  # anti-social behaviour rows of the old release not counted again
    assert a.summary.releases == b.summary.releases and len(a.summary.releases) == 1
    assert "(release 2024-06)" in a.summary.releases[0]


def test_releases_unknown_or_given_in_configuration(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(TWO_RELEASES / "2024-04" / "2024-03", first)
    shutil.copytree(TWO_RELEASES / "2024-06" / "2024-03", second)
    guessed = read_police_uk([first, second])
    assert "chose by file name" in guessed.summary.releases[0]
    given = read_police_uk([second, first], releases={str(first): "2024-09", str(second): "2024-05"})
    assert given.tables["street"]["source_file"].str.startswith(str(first)).all()
    assert (
        "(release 2024-09)" in given.summary.releases[0]
        and "chose by file name" not in given.summary.releases[0]
    )


def test_real_excerpts_load_and_lsoa_vintages_are_flagged():
    durham = read_police_uk([REAL / "2019-01-durham-street.csv", REAL / "2024-01-durham-street.csv"])
    assert durham.summary.rows_read == durham.summary.accepted == 60
    area = area_coverage("Durham", "trailblazer", durham.tables, durham.file_releases)
    assert area.lsoa_vintage == {
        pd.Period("2019-01", freq="M"): "2011",
        pd.Period("2024-01", freq="M"): "2021",
    }
    cov = Coverage.for_period(pd.Timestamp("2019-01-01"), pd.Timestamp("2024-01-01"))
    cov.add(area)
    caveats = " ".join(cov.caveats())
    assert "2011 LSOA codes for 2019-01 and 2021 codes for 2024-01" in caveats
    assert "kept apart, not harmonised" in caveats
    assert "Coverage gap: no police.uk street file for Durham for 2019-02 to 2023-12" in caveats
    assert "Crime-type vintages" in caveats
    assert cov.strip().shape == (2, 5)  # a 61-month period: runs, not one column per month


def test_quoted_lsoa_names_parse():
    dorset = read_police_uk(REAL / "2024-01-dorset-street.csv")
    assert dorset.summary.quarantined == 0
    names = dorset.accepted["lsoa_name"].dropna()
    assert names.str.startswith("Bournemouth, Christchurch and Poole ").sum() == 15


def _cov(street: dict[str, list[str]], outcomes: dict[str, list[str]]) -> Coverage:
    cov = Coverage.for_period(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01"))
    for i, name in enumerate(street):
        tables = {
            kind: pd.DataFrame(
                {
                    "month": pd.to_datetime([m + "-01" for m in months[name]]),
                    "source_file": [f"{name}-{m}.csv" for m in months[name]],
                    "falls_within": "X Police",
                }
            )
            for kind, months in (("street", street), ("outcomes", outcomes))
        }
        cov.add(area_coverage(name, "trailblazer" if i == 0 else "comparison", tables))
    return cov


ALL = ["2024-01", "2024-02", "2024-03", "2024-04"]


def test_did_problem_none_with_full_symmetric_coverage():
    assert _cov({"A": ALL, "B": ALL}, {"A": ALL, "B": ALL}).did_problem() is None


def test_did_problem_names_area_and_months():
    text = _cov({"A": ALL, "B": ALL}, {"A": ALL, "B": ["2024-01", "2024-02"]}).did_problem()
    assert text.startswith("not estimable from these files")
    assert "B (comparison) has no police.uk outcomes file for 2024-03 to 2024-04. Add the missing" in text
    assert "A (trailblazer)" not in text
    asym = _cov({"A": ALL, "B": ALL[:3]}, {"A": ALL, "B": ALL}).did_problem()
    assert "B has no street file for 2024-04, which A has" in asym


def test_force_suggestions_use_the_distinctive_word():
    assert "'Cumbria Constabulary'" in unknown_force_problem("Cumbria Police", "area.force")
    assert "Northumbria" not in unknown_force_problem("Cumbria Police", "area.force")
    assert "'Metropolitan Police Service'" in unknown_force_problem("Met Police", "area.force")
    assert unknown_force_problem("Durham Constabulary") is None


def test_files_checked_against_area_force_and_for_crime_data():
    (problem,) = police_uk_problems([REAL / "2024-01-dorset-street.csv"], "Durham Constabulary")
    assert "fall within 'Dorset Police'" in problem and "set area.force to 'Dorset Police'" in problem
    assert police_uk_problems([REAL / "2024-01-dorset-street.csv"], "Dorset Police") == []


def test_plain_messages_have_no_numpy_reprs():
    raw = (
        "did: need treated and comparison cells before and after go-live 2024-07; treated values "
        "[np.int64(0), np.int64(1)], post values [np.float64(0.0)]"
    )
    text = plain(raw)
    assert "np." not in text and "no crimes from go-live 2024-07 on" in text
    assert plain("bad value np.float64(1.5) here") == "bad value 1.5 here"


def test_release_entries_in_configuration(tmp_path):
    from linkage.reporting import load_config

    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(TWO_RELEASES / "2024-04" / "2024-03", first)
    shutil.copytree(TWO_RELEASES / "2024-06" / "2024-03", second)
    (tmp_path / "c.yaml").write_text(
        "slug: c\ntitle: C\narea: {name: City of London, force: City of London Police}\n"
        "period: {start: 2024-02, end: 2024-03, go_live: 2024-03}\n"
        "sources:\n  police_uk:\n    - {path: first, release: 2024-09}\n"
        "    - {path: second, release: 2024-05}\n"
        "comparison_areas:\n  - name: Same\n    police_uk: [{path: first, release: 2024-09}, second]\n"
    )
    config = load_config(tmp_path / "c.yaml")
    assert config.police_uk_releases == {
        str(tmp_path / "first"): "2024-09",
        str(tmp_path / "second"): "2024-05",
    }
    assert config.public_comparisons[0].releases == ((str((tmp_path / "first").resolve()), "2024-09"),)
    result = read_police_uk(list(config.police_uk), releases=dict(config.police_uk_releases))
    assert result.tables["street"]["source_file"].str.startswith(str(first)).all()
    bad = tmp_path / "bad.yaml"
    bad.write_text((tmp_path / "c.yaml").read_text().replace("release: 2024-05", "release: May 2024"))
    from linkage.errors import ConfigError

    with pytest.raises(ConfigError, match=r"sources.police_uk\[1\].release: must be the release month"):
        load_config(bad)
