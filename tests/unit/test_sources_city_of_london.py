"""Integration: the 13 bundled City of London files (real police.uk data) load with exact accounting.

Expected figures were counted outside the loader: rows per file are the file's line count minus the
header (`wc -l`); duplicates were counted with plain pandas on the raw text (first occurrence kept), and
are recounted the same way below so the test does not trust the loader's own logic.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from linkage.sources import read_police_uk

CITY = Path(__file__).resolve().parents[2] / "data" / "police-uk" / "city-of-london"


@pytest.fixture(scope="module")
def result():
    return read_police_uk(CITY)


@pytest.fixture(scope="module")
def raw():
    files = sorted(CITY.glob("*.csv"))
    return {f.name: pd.read_csv(f, dtype=str, keep_default_na=False) for f in files}


def test_rows_read_per_file_equals_line_count(result):
    by_file = result.summary.by_file.set_index("file")
    assert len(by_file) == 13
    for f in sorted(CITY.glob("*.csv")):
        with open(f, encoding="utf-8") as handle:
            lines = sum(1 for _ in handle) - 1
        assert by_file.loc[str(f), "rows_read"] == lines
    assert result.summary.rows_read == 9992 + 628  # 12 street files + 1 outcomes file, by wc -l


def test_accounting_matches_independent_duplicate_count(result, raw):
    street = pd.concat([d for n, d in raw.items() if n.endswith("street.csv")], ignore_index=True)
    outcomes = raw["2024-03-city-of-london-outcomes.csv"]
    with_id = street[street["Crime ID"] != ""]
    exact = with_id.duplicated(keep="first")
    repeated_id = with_id["Crime ID"].duplicated(keep="first")
    assert (int(repeated_id.sum()), int(exact.sum())) == (208, 6)
    assert int(outcomes.duplicated().sum()) == 11
    s = result.summary
    # police.uk counts every row: repeated Crime IDs (street) and one row per suspect (outcomes) are kept
    assert s.by_reason == {}
    assert (s.accepted, s.quarantined) == (9992 + 628, 0)
    suspects = result.tables["outcomes"]["suspects"]
    assert int((suspects > 1).sum()) == int(outcomes.duplicated(keep=False).sum())


def test_published_quirks_are_kept(result):
    street = result.tables["street"]
    # ASB rows: blank Crime ID and blank outcome, accepted
    asb = street[street["crime_type"] == "Anti-social behaviour"]
    assert asb["crime_id"].isna().all() and asb["last_outcome"].isna().all() and len(asb) > 0
    # "No location" rows accepted with blank coordinates
    unlocated = street[street["location"].str.lower() == "no location"]
    assert len(unlocated) > 0 and unlocated["longitude"].isna().all()
    # LSOAs outside the force area are accepted as published (first row of January is Camden 027B)
    assert street["lsoa_name"].iloc[0] == "Camden 027B"
    outcomes = result.tables["outcomes"]
    assert outcomes["outcome_type"].notna().all()
    assert (outcomes["month"] == pd.Timestamp("2024-03-01")).all()
