"""``linkage validate``: exit codes and printed accounting on the hand-written fixtures."""

from __future__ import annotations

from pathlib import Path

from linkage.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"


def test_validate_exit_codes_and_output(capsys, tmp_path):
    assert (
        main(["validate", str(DATA / "police_uk" / "2012-04" / "2012-04-avon-and-somerset-outcomes.csv")])
        == 0
    )
    assert "read 2  accepted 2  quarantined 0" in capsys.readouterr().out
    code = main(["validate", str(DATA / "police_uk"), "--quarantine-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "TOTAL  6 file(s)  read 33  accepted 23  quarantined 10" in out
    assert f"QUARANTINE  10 row(s) written to {tmp_path}/" in out
    assert len(list(tmp_path.glob("*.quarantine.csv"))) == 5  # every fixture file but the 2012 outcomes
    assert main(["validate", str(DATA / "bad" / "wrong_header.csv")]) == 2
    assert "wrong_header.csv" in capsys.readouterr().err


def test_validate_detects_extracts(capsys):
    assert main(["validate", str(DATA / "extracts" / "suspects.csv")]) == 1
    assert "[suspects]  read 4  accepted 2  quarantined 2" in capsys.readouterr().out
    assert main(["validate", "--kind", "crimes", str(DATA / "extracts" / "crimes.csv")]) == 1
