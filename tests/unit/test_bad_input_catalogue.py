"""The bad-input catalogue: every folder under tests/cases/ is one case, kept as data.

Each case folder holds its input file(s) and an ``expected.yaml`` (written by hand from the input):

``load``   which loader reads it (``police_uk`` / ``extract`` with ``kind`` / ``config`` / ``report``: a
           whole report built from the configuration) and the path;
``cli``    the ``linkage`` command line a user would type (paths relative to the case folder);
``expect`` the exit code and either ``error`` (message fragments, and the row and column the error must
           name), ``problems`` (configuration problems, each a fragment of one reported problem, all
           reported at once), or ``accepted`` plus the exact ``quarantined`` rows (row, column, reason and
           value) with optional ``values`` / ``accepted_rows`` / ``missing_months`` checks; for a report,
           ``html`` / ``html_not`` (fragments of report.html's text) and ``logged_once`` (warnings said
           exactly once). ``{tmp}`` in ``cli`` is a fresh output folder.

Each case runs through the loader and through the command line (``linkage.cli.main``, output captured),
and must give the stated outcome with no traceback. On every case that loads, the rows in (counted here
independently with the ``csv`` module) equal accepted + quarantined, and the command line prints the
same accounting. docs/bad_input.md lists the cases and what each gets.
"""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from linkage.cli import main
from linkage.errors import ConfigError, DataContractError
from linkage.reporting.config import load_config
from linkage.sources import read_extract, read_police_uk

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = ROOT / "tests" / "cases"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "expected.yaml").is_file())


def _spec(case: Path) -> dict:
    return yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))


def _csv_records(data: bytes) -> int:
    """Data records in CSV bytes, counted with the csv module: records that are not blank lines (no
    field, or one white-space-only field), less the header. Decoded as Latin-1, which maps every byte to
    one character, so the count does not depend on the loader's decoding."""
    reader = csv.reader(io.StringIO(data.decode("latin-1"), newline=""))
    records = [r for r in reader if r and not (len(r) == 1 and not r[0].strip())]
    return max(len(records) - 1, 0)


def _rows_in(path: Path) -> int:
    if path.is_dir():
        return sum(_rows_in(p) for p in sorted(path.rglob("*")) if p.suffix in (".csv", ".zip"))
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return sum(_csv_records(archive.read(n)) for n in archive.namelist() if n.endswith(".csv"))
    return _csv_records(path.read_bytes())


def _load(case: Path, load: dict):
    path = case / load["path"]
    if load["reader"] == "police_uk":
        return read_police_uk(path, kind=load.get("kind"))
    if load["reader"] == "extract":
        return read_extract(load["kind"], path)
    return load_config(path)


def _cli(case: Path, args: list[str], capsys, tmp: Path | None = None) -> tuple[int, str, str]:
    argv = [str(case / a) if (case / a).exists() else a for a in args]
    argv = [str(tmp) if a == "{tmp}" and tmp is not None else a for a in argv]
    capsys.readouterr()
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _same(actual: object, expected: object) -> bool:
    if isinstance(expected, float):
        return isinstance(actual, float) and math.isclose(actual, expected)
    return actual == expected


def _html_text(path: Path) -> str:
    """report.html as text: tags and embedded images out, white space collapsed, entities decoded."""
    import html as html_lib
    import re

    text = re.sub(r"<img[^>]*>", " ", path.read_text(encoding="utf-8"))
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_case(case: Path, capsys, caplog, tmp_path):
    spec = _spec(case)
    load, expect = spec["load"], spec["expect"]

    code, out, err = _cli(case, spec["cli"], capsys, tmp_path)
    assert "Traceback" not in out + err
    assert code == expect["exit"], f"exit {code}, expected {expect['exit']}\n{out}\n{err}"

    if load["reader"] == "report":  # a whole report: what report.html says, and each warning once
        config = load_config(case / load["path"])
        text = _html_text(tmp_path / config.slug / "report.html")
        for fragment in expect.get("html", []):
            assert fragment in text, (fragment, text[:2000])
        for fragment in expect.get("html_not", []):
            assert fragment not in text, fragment
        logged = [r.getMessage() for r in caplog.records]
        for fragment in expect.get("logged_once", []):
            assert sum(fragment in m for m in logged) == 1, (fragment, logged)
        return

    if "problems" in expect:  # configuration: every problem at once, named by field
        with pytest.raises(ConfigError) as info:
            _load(case, load)
        problems = info.value.problems
        assert len(problems) == len(expect["problems"]), problems
        for fragment in expect["problems"]:
            assert any(fragment in p for p in problems), (fragment, problems)
            assert fragment in err
        return

    if "error" in expect:  # the file cannot be read at all: one clear error naming file, row, column
        want = expect["error"]
        with pytest.raises(DataContractError) as info:
            _load(case, load)
        exc = info.value
        assert Path(exc.path).name == Path(load["path"]).name
        assert (exc.row, exc.column) == (want["row"], want["column"])
        for fragment in want["message"]:
            assert fragment in str(exc)
            assert fragment in err
        assert load["path"] in err
        if want["row"] is not None:
            assert f"row {want['row']}" in err and f"column {want['column']!r}" in err
        return

    result = _load(case, load)
    summary = result.summary
    rows_in = _rows_in(case / load["path"])
    assert summary.rows_read == rows_in == summary.accepted + summary.quarantined
    assert summary.accepted == expect["accepted"]
    assert f"read {rows_in}  accepted {summary.accepted}  quarantined {summary.quarantined}" in out

    got = result.quarantined.sort_values("source_row")
    wanted = expect["quarantined"]
    assert got["source_row"].tolist() == [q["row"] for q in wanted]
    assert got["column"].tolist() == [q["column"] for q in wanted]
    assert got["reason"].tolist() == [q["reason"] for q in wanted]
    for q, value in zip(wanted, got["value"], strict=True):
        if "value" in q:
            assert value == q["value"], (q, value)
    for q in wanted:
        assert f"{q['reason']}: " in out  # the command line counts every reason

    accepted = pd.concat(list(result.tables.values()), ignore_index=True)
    if "accepted_rows" in expect:
        assert accepted["source_row"].tolist() == expect["accepted_rows"]
    for check in expect.get("values", []):
        row = accepted[accepted["source_row"] == check["row"]]
        assert len(row) == 1, check
        assert _same(row[check["column"]].iloc[0], check["value"]), (check, row[check["column"]].iloc[0])
    assert list(summary.missing_months) == expect.get("missing_months", [])
    for fragment in expect.get("output", []):
        assert fragment in out


def test_catalogue_covers_the_issue_list():
    """At least 30 cases across police.uk files, extracts and configurations, each with an 'about'."""
    specs = {p.name: _spec(p) for p in CASES}
    readers = pd.Series([s["load"]["reader"] for s in specs.values()]).value_counts()
    assert len(specs) >= 30 and set(readers.index) == {"police_uk", "extract", "config", "report"}
    assert all(s.get("about") for s in specs.values())
    listed = (ROOT / "docs" / "bad_input.md").read_text(encoding="utf-8")
    missing = [name for name in specs if f"`{name}`" not in listed]
    assert not missing, f"cases not listed in docs/bad_input.md: {missing}"


def test_real_command_line_no_traceback():
    """The real entry point (``python -m linkage``) in a subprocess on one error case: the same exit code
    and error line as in-process, no traceback (one subprocess only: each costs several seconds)."""
    case = CASES_DIR / "puk_wrong_header_case"
    spec = _spec(case)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "linkage", *spec["cli"]],
        cwd=case,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == spec["expect"]["exit"], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "street.csv, row 1, column 'Crime Type'" in done.stderr


def test_internal_error_is_one_line_without_traceback(monkeypatch, capsys):
    """A bug (any non-workbench exception) reaches the user as one line and exit code 3."""
    from linkage.sources import commands

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(commands, "run_validate", broken)
    code = main(["validate", str(CASES_DIR / "puk_header_only" / "2024-01-city-of-london-street.csv")])
    err = capsys.readouterr().err
    assert code == 3 and "internal error: KeyError" in err and "Traceback" not in err
