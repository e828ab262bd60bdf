"""police.uk loader. Fixtures under tests/data/police_uk/ are hand-written; every expected value below is
read off those files by hand (row numbers count the header as row 1)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from linkage.errors import DataContractError, LinkageError
from linkage.sources import OUTCOMES_COLUMNS, STREET_COLUMNS, read_police_uk

DATA = Path(__file__).resolve().parents[1] / "data"
TREE = DATA / "police_uk"
A = "0123456789abcdef" * 4
C = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"


def reasons(result) -> dict[int, str]:
    return dict(zip(result.quarantined["source_row"], result.quarantined["reason"], strict=True))


def test_2011_six_category_bng_street():
    result = read_police_uk(TREE / "2011-04" / "2011-04-avon-and-somerset-street.csv")
    street = result.accepted
    assert list(street.columns) == list(STREET_COLUMNS)
    assert street["source_row"].tolist() == [2, 3, 4, 5]
    assert street["crime_type"].tolist() == [
        "Burglary",
        "Violence and sexual offences",  # "Violent crime"
        "Other crime",
        "Anti-social behaviour",
    ]
    assert street["crime_type_original"].tolist() == [
        "Burglary",
        "Violent crime",
        "Other crime",
        "Anti-social behaviour",
    ]
    assert street["crime_type_coarse"].tolist() == [False, False, True, False]  # Other crime before Sep 2011
    assert set(street["vintage"]) == {"six-category"}
    assert street["crime_id"].isna().all()
    assert street["month"].iloc[0] == pd.Timestamp("2011-04-01")
    # BNG kept and converted: E 360667 N 169714 (Hengrove, south Bristol) is about 51.42 N, 2.57 W.
    assert street["easting"].iloc[0] == 360667 and street["northing"].iloc[0] == 169714
    assert street["latitude"].iloc[0] == pytest.approx(51.42, abs=0.02)
    assert street["longitude"].iloc[0] == pytest.approx(-2.57, abs=0.02)
    # "No Location" row accepted with blank coordinates
    assert np.isnan(street["longitude"].iloc[3]) and street["location"].iloc[3] == "No Location"
    assert reasons(result) == {6: "unknown crime type", 7: "coordinates outside the UK"}
    q = result.quarantined.set_index("source_row")
    assert q.loc[6, "column"] == "Crime type" and q.loc[6, "value"] == "Fraud"
    assert q.loc[6, "Crime type"] == "Fraud"  # raw row kept under its original header


def test_2012_eleven_category_bng_street():
    result = read_police_uk(TREE / "2012-04" / "2012-04-avon-and-somerset-street.csv")
    street = result.accepted
    assert street["crime_type"].tolist() == ["Public order", "Other theft", "Shoplifting"]
    assert street["crime_type_original"].iloc[0] == "Public disorder and weapons"
    assert street["crime_type_coarse"].tolist() == [True, True, False]
    assert set(street["vintage"]) == {"eleven-category"}
    assert street["reported_by"].iloc[0] == "Avon & Somerset Constabulary"  # older spelling kept as published
    assert reasons(result) == {5: "unparseable month", 6: "unparseable coordinates"}


def test_2013_plus_street_every_row_rule():
    result = read_police_uk(TREE / "2024-01" / "2024-01-cumbria-street.csv")
    street = result.accepted
    # rows 5 and 6 repeat row 2's Crime ID (an exact copy, then another map point): police.uk counts
    # every row, so all are kept
    assert street["source_row"].tolist() == [2, 3, 4, 5, 6, 9, 11]
    assert reasons(result) == {
        7: "bad crime id",
        8: "coordinates outside the UK",
        10: "unknown outcome",
    }
    assert street["crime_id"].iloc[0] == A
    # two identical ASB rows without a Crime ID are separate incidents: both kept
    assert street["crime_type"].iloc[1:3].tolist() == ["Anti-social behaviour"] * 2
    assert street["last_outcome"].iloc[1:3].isna().all()
    assert street["crime_id"].iloc[3:5].tolist() == [A, A]
    assert street["crime_id"].iloc[5] == C and np.isnan(street["latitude"].iloc[5])
    assert street["last_outcome"].iloc[6] == "Offender sent to prison"
    assert street["last_outcome_original"].iloc[6] == "Offender imprisoned"
    assert set(street["vintage"]) == {"fourteen-category"}
    s = result.summary
    assert (s.rows_read, s.accepted, s.quarantined) == (10, 7, 3)


def test_pre_2014_outcome_labels():
    result = read_police_uk(TREE / "2013-06" / "2013-06-cumbria-outcomes.csv")
    out = result.accepted
    assert list(out.columns) == list(OUTCOMES_COLUMNS)
    assert out["outcome_type"].tolist() == [
        "Offender sent to prison",
        "Defendant found not guilty",
        "Investigation complete; no suspect identified",
        "Offender sent to prison",
        "Offender given community sentence",
    ]
    assert out["outcome_type_original"].iloc[0] == "Offender imprisoned"
    assert set(out["vintage"]) == {"pre-June-2014 labels"}
    # same crime, different outcome: kept; identical row: a second suspect's outcome, kept and counted
    assert reasons(result) == {7: "unknown outcome"}
    assert out["suspects"].tolist() == [2, 1, 1, 2, 1]


def test_2012_bng_outcomes_without_crime_id_keep_identical_rows():
    result = read_police_uk(TREE / "2012-04" / "2012-04-avon-and-somerset-outcomes.csv")
    assert len(result.accepted) == 2 and result.summary.quarantined == 0
    assert result.accepted["outcome_type"].tolist() == ["Offender sent to prison"] * 2


def test_stop_and_search():
    result = read_police_uk(TREE / "2024-01" / "2024-01-cumbria-stop-and-search.csv")
    sas = result.accepted
    assert sas["source_row"].tolist() == [2, 5]
    assert sas["date"].iloc[0] == pd.Timestamp("2024-01-05 14:30", tz="UTC")
    assert sas["part_of_a_policing_operation"].tolist() == [False, True]
    assert sas["force"].tolist() == ["cumbria", "cumbria"]
    assert reasons(result) == {3: "unparseable date", 4: "unknown category"}


def test_archive_tree_mixes_kinds_and_accounts_for_every_row():
    result = read_police_uk(TREE)
    assert result.kinds == ["street", "outcomes", "stop-and-search"]
    # street 6+5+10 rows, accepted 4+3+7; outcomes 2+6, accepted 2+5; stop and search 4, accepted 2
    assert len(result.tables["street"]) == 14
    assert len(result.tables["outcomes"]) == 7
    assert len(result.tables["stop-and-search"]) == 2
    s = result.summary
    assert (s.rows_read, s.accepted, s.quarantined) == (33, 23, 10)
    assert len(s.by_file) == 6
    with pytest.raises(LinkageError, match="kinds"):
        _ = result.accepted
    only_street = read_police_uk(TREE, kind="street")
    assert only_street.kinds == ["street"] and only_street.summary.rows_read == 21


def test_month_folder_and_zip(tmp_path):
    month = read_police_uk(TREE / "2024-01")
    assert month.summary.rows_read == 14
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(TREE.rglob("*.csv")):
            zf.write(f, f.relative_to(TREE).as_posix())
    zipped = read_police_uk(archive)
    assert (zipped.summary.rows_read, zipped.summary.accepted) == (33, 23)
    assert zipped.quarantined["source_file"].str.contains(r"archive\.zip!").all()
    pd.testing.assert_frame_equal(
        zipped.tables["street"].drop(columns="source_file"),
        read_police_uk(TREE).tables["street"].drop(columns="source_file"),
    )


def test_quarantine_files_written(tmp_path):
    result = read_police_uk(TREE / "2024-01" / "2024-01-cumbria-street.csv", quarantine_dir=tmp_path / "q")
    written = sorted((tmp_path / "q").glob("*.quarantine.csv"))
    assert [p.name for p in written] == ["2024-01-cumbria-street.csv.quarantine.csv"]
    back = pd.read_csv(written[0], dtype=str)
    assert back["source_row"].tolist() == ["7", "8", "10"]
    result.write_quarantine(tmp_path / "all.csv")
    assert len(pd.read_csv(tmp_path / "all.csv")) == 3


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("wrong_header.csv", "matches no police.uk file kind"),
        ("empty.csv", "empty file"),
    ],
)
def test_unreadable_files_raise(name, problem):
    with pytest.raises(DataContractError, match=problem) as info:
        read_police_uk(DATA / "bad" / name)
    assert name in str(info.value)


def test_binary_and_wrong_kind_and_missing(tmp_path):
    binary = tmp_path / "picture.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DataContractError, match="binary"):
        read_police_uk(binary)
    with pytest.raises(DataContractError, match="not street"):
        read_police_uk(TREE / "2013-06" / "2013-06-cumbria-outcomes.csv", kind="street")
    with pytest.raises(DataContractError, match="no such file"):
        read_police_uk(tmp_path / "absent.csv")
    bad_zip = tmp_path / "broken.zip"
    bad_zip.write_text("not a zip")
    with pytest.raises(DataContractError, match="not a zip"):
        read_police_uk(bad_zip)
    partial = tmp_path / "partial.csv"
    partial.write_text("Month,Reported by,Crime type\n2024-01,X,Drugs\n")
    with pytest.raises(DataContractError, match="missing"):
        read_police_uk(partial)


def test_header_only_file_loads_with_no_rows():
    result = read_police_uk(DATA / "bad" / "header_only_street.csv")
    assert result.summary.rows_read == 0 and len(result.accepted) == 0


def test_kind_comes_from_header_not_name_and_missing_force(tmp_path):
    # A street file misnamed as outcomes; row 3 has no "Reported by" (hand-written).
    header = "Month,Reported by,Falls within,Longitude,Latitude,Location,Crime type"
    misnamed = tmp_path / "2024-01-x-outcomes.csv"
    misnamed.write_text(
        f"{header}\n2024-01,X Police,X Police,-2.9,54.9,On or near A Road,Drugs\n"
        "2024-01,,X Police,-2.9,54.9,On or near A Road,Drugs\n"
    )
    result = read_police_uk(misnamed)
    assert result.kinds == ["street"]
    assert reasons(result) == {3: "missing required value"}
    assert result.quarantined["column"].tolist() == ["Reported by"]


def test_quarantine_outputs_inside_the_tree_are_not_reread(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    src = TREE / "2024-01" / "2024-01-cumbria-street.csv"
    (tree / src.name).write_bytes(src.read_bytes())
    first = read_police_uk(tree, quarantine_dir=tree / "quarantine")
    again = read_police_uk(tree)
    assert first.summary.rows_read == again.summary.rows_read == 10


def test_row_accounting_catches_a_lost_quarantine_row(monkeypatch):
    """Review finding: accepted was rows_read - quarantined, so the check could never fail. Losing one
    quarantined row (rows read 33, accepted 20, quarantined 13 - 1) must now be an error."""
    from linkage.sources import _common

    real = _common.build_quarantine

    def lossy(raw, rej, meta):
        return real(raw, rej, meta).iloc[1:]

    monkeypatch.setattr(_common, "build_quarantine", lossy)
    with pytest.raises(LinkageError, match="row accounting"):
        read_police_uk(TREE)


def test_row_accounting_catches_a_dropped_accepted_row(monkeypatch):
    """A row dropped between validation and the output table (accepted 20 - 1) must be an error that
    names the file."""
    from linkage.sources import _common

    real = _common.keep_accepted

    def lossy(frame, rej, columns=None):
        return real(frame, rej, columns).iloc[:-1]

    monkeypatch.setattr(_common, "keep_accepted", lossy)
    with pytest.raises(LinkageError, match=r"row accounting.*\.csv"):
        read_police_uk(TREE)
