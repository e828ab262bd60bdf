"""Restricted-extract loader. Fixtures in tests/data/extracts/ are hand-written; expected rows and reasons
are read off them by hand (row 1 is the header)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from linkage.errors import DataContractError, LinkageError
from linkage.sources import EXTRACTS, read_extract

DATA = Path(__file__).resolve().parents[1] / "data"


def reasons(result) -> dict[int, str]:
    return dict(zip(result.quarantined["source_row"], result.quarantined["reason"], strict=True))


def test_crimes_every_row_rule():
    result = read_extract("crimes", DATA / "extracts" / "crimes.csv")
    crimes = result.accepted
    assert crimes["crime_ref"].tolist() == ["CR-0001", "CR-0002"]
    assert crimes["crime_type"].tolist() == ["Shoplifting", "Criminal damage and arson"]
    assert crimes["committed_date"].tolist() == [pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-05")]
    assert crimes["longitude"].iloc[0] == -2.935 and pd.isna(crimes["longitude"].iloc[1])
    assert reasons(result) == {
        4: "missing required value",
        5: "unparseable date",
        6: "coordinates outside the UK",
        7: "duplicate key",
        8: "unknown crime type",
        9: "unparseable number",
    }
    q = result.quarantined.set_index("source_row")
    assert (q.loc[4, "column"], q.loc[5, "column"], q.loc[5, "value"]) == (
        "offence_code",
        "committed_date",
        "31/01/2024",
    )
    assert q.loc[7, "value"] == "Cumbria Constabulary|CR-0001"
    assert (result.summary.rows_read, result.summary.accepted, result.summary.quarantined) == (8, 2, 6)


def test_suspects_sex_and_dates():
    result = read_extract("suspects", DATA / "extracts" / "suspects.csv")
    assert result.accepted["sex"].tolist() == ["M", "F"]  # 'f' normalised
    assert pd.isna(result.accepted["pnc_id"].iloc[1])  # optional blank
    assert reasons(result) == {4: "unparseable date", 5: "bad sex value"}  # 30 February; sex X


def test_parquet_gives_same_result(tmp_path):
    csv = read_extract("crimes", DATA / "extracts" / "crimes.csv")
    frame = pd.read_csv(DATA / "extracts" / "crimes.csv", dtype=str, keep_default_na=False)
    frame.to_parquet(tmp_path / "crimes.parquet")
    pq = read_extract("crimes", tmp_path / "crimes.parquet")
    pd.testing.assert_frame_equal(
        csv.accepted.drop(columns="source_file"), pq.accepted.drop(columns="source_file")
    )
    assert reasons(pq) == reasons(csv)


def test_wrong_header_names_missing_columns(tmp_path):
    with pytest.raises(DataContractError, match=r"missing columns \['suspect_ref'"):
        read_extract("suspects", DATA / "extracts" / "crimes.csv")
    with pytest.raises(DataContractError, match="empty"):
        read_extract("crimes", DATA / "bad" / "empty.csv")
    bad = tmp_path / "x.parquet"
    bad.write_text("not parquet")
    with pytest.raises(DataContractError, match="Parquet"):
        read_extract("crimes", bad)
    with pytest.raises(LinkageError, match="kind"):
        read_extract("victims", DATA / "extracts" / "crimes.csv")


def test_every_contract_has_a_unique_key_of_its_own_columns():
    for contract in EXTRACTS.values():
        assert set(contract.key) <= set(contract.names)
        assert len(set(contract.names)) == len(contract.names)


def test_vocabulary_columns_quarantine_unknown_values(tmp_path):
    header = ",".join(EXTRACTS["court_outcomes"].names)
    person = "Alex,Example,1990-05-17,M,"
    court = "Carlisle Magistrates,Cumbria Constabulary"
    dates = "2024-01-03,2024-03-01"
    rows = [
        f"C1,1,{court},{person},TH68010,{dates},guilty plea,fine,",
        f"C1,2,{court},{person},TH68022,{dates},Sent to Crown Court,,",
        f"C2,1,{court},{person},TH68010,{dates},acquitted,,",
        f"C3,1,{court},{person},TH68010,{dates},guilty,birching,",
    ]
    path = tmp_path / "court.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    result = read_extract("court_outcomes", path)
    # row 3's verdict differs only in case from "sent to Crown Court": accepted
    assert result.accepted["case_id"].tolist() == ["C1", "C1"]
    q = result.quarantined.set_index("source_row")
    assert q["reason"].to_dict() == {4: "unknown category", 5: "unknown category"}
    assert q["column"].to_dict() == {4: "verdict", 5: "disposal"}


def test_half_a_coordinate_pair_is_quarantined(tmp_path):
    header = ",".join(EXTRACTS["crimes"].names)
    path = tmp_path / "crimes.csv"
    path.write_text(f"{header}\nCR-1,Cumbria Constabulary,46,Shoplifting,2024-01-03,2024-01-04,-2.935,,\n")
    result = read_extract("crimes", path)
    assert reasons(result) == {2: "unparseable coordinates"}


def test_row_accounting_counts_rows_actually_kept(monkeypatch):
    """Review finding: accepted was rows_read - quarantined (a tautology). Drop one kept row after
    validation: 8 read, 2 - 1 kept, 6 quarantined must fail."""
    from linkage.sources import _common

    real = _common.keep_accepted

    def lossy(frame, rej, columns=None):
        return real(frame, rej, columns).iloc[:-1]

    monkeypatch.setattr(_common, "keep_accepted", lossy)
    with pytest.raises(LinkageError, match=r"row accounting.*crimes\.csv.*read 8.*accepted 1.*quarantined 6"):
        read_extract("crimes", DATA / "extracts" / "crimes.csv")
