"""Privacy scan: no person from the restricted inputs appears in any shipped report or published file.

Every shipped configuration (``trailblazers/*.yaml``) is built once per session (``shipped_reports`` in
tests/conftest.py). Every file under every report folder - report.html, tables/*.csv, the published-style
outcomes file, the disclosure log, the manifest - is scanned for the record-level values the report was
built from (the synthetic restricted extracts and the world's people):

- names: "Forename Surname" (forename as recorded, with or without a middle name) and "Surname, Forename",
  in any letter case; CSV and HTML table cells that are a surname;
- dates of birth written as 1990-05-17, 17/05/1990, 17/5/1990, 17-05-1990, 17.05.1990, 17 May 1990 or
  19900517;
- PNC IDs in long or short form, padded or not, any case (normalised by ``pnc_parts`` and compared by key);
- CRO numbers (``NNNNNN/YYC`` with a valid check letter; the synthetic extracts carry none, so any is a hit);
- exact coordinates: longitude,latitude pairs and latitudes to 5 or 6 decimals. Points published on
  police.uk (the public files the configurations read) are public already and are not counted.

Images are embedded as base64 PNG (pixels, not text) and are left out of the text scan. The repository's
``reports/`` folder is scanned too when it holds built reports.
"""

from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from linkage.reference.identifiers import PNC_CHECK_ALPHABET, pnc_parts
from linkage.sources import read_police_uk

ROOT = Path(__file__).resolve().parents[2]
_IMAGES = re.compile(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+")
_WORD = r"[A-Z][A-Za-z'’-]+"
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
)}  # fmt: skip
_DATES = [
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), ("y", "m", "d")),
    (re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b"), ("d", "m", "y")),
    (re.compile(r"\b(\d{4})(\d{2})(\d{2})\b"), ("y", "m", "d")),
    (re.compile(r"\b(\d{1,2}) ([A-Za-z]{3})[a-z]* (\d{4})\b"), ("d", "mon", "y")),
]
_PNC = re.compile(r"\b(\d{2}|\d{4})/(\d{1,7})([A-Za-z])\b")
_CRO = re.compile(r"\b(\d{1,6})/(\d{2})([A-Za-z])\b")
_NUMBER = r"-?\d{1,3}\.\d{4,}"
_PAIR = re.compile(rf"({_NUMBER})\s*,\s*({_NUMBER})")
_DECIMAL = re.compile(r"-?\d{1,3}\.(\d{5,})")
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?) ?(\d[A-Z]{2})\b")
_TOKEN = re.compile(r"[^\s,<>\"'()|;]+")


@dataclass
class Sensitive:
    """The record-level values that must never appear in an output."""

    names: set[str] = field(default_factory=set)  # lower-case "forename surname"
    surnames: set[str] = field(default_factory=set)  # lower-case
    dobs: set[tuple[int, int, int]] = field(default_factory=set)
    pnc_keys: set[str] = field(default_factory=set)
    cro: set[str] = field(default_factory=set)  # upper-case, as recorded (none in the synthetic data)
    crime_refs: set[str] = field(default_factory=set)  # force crime references (re-identify a crime)
    postcodes: set[str] = field(default_factory=set)  # upper case, no space
    pairs: set[tuple[float, float]] = field(default_factory=set)  # (lon, lat) rounded to 6 decimals
    latitudes: dict[int, set[float]] = field(default_factory=dict)  # decimals -> rounded latitudes


def _sensitive(built: dict) -> Sensitive:
    s = Sensitive()
    public: set[tuple[float, float]] = set()
    for path in sorted({p for report in built.values() for p in report.police_uk}):
        for table in read_police_uk(path).tables.values():
            xy = table[["longitude", "latitude"]].dropna().to_numpy(dtype=float).round(6)
            public |= set(map(tuple, xy))
    lats: list[float] = []
    for report in built.values():
        for table in report.restricted.values():
            cols = set(table.columns)
            if {"forename", "surname"} <= cols:
                fore = table["forename"].astype("string").str.strip().str.lower()
                sur = table["surname"].astype("string").str.strip().str.lower()
                ok = fore.notna() & sur.notna()
                s.names |= set(fore[ok] + " " + sur[ok])
                s.names |= set(fore[ok].str.split().str[0] + " " + sur[ok])  # without the middle name
                s.surnames |= set(sur.dropna())
            if "date_of_birth" in cols:
                dob = pd.to_datetime(table["date_of_birth"], errors="coerce").dropna()
                s.dobs |= set(zip(dob.dt.year, dob.dt.month, dob.dt.day, strict=True))
            if "pnc_id" in cols:
                s.pnc_keys |= set(pnc_parts(table["pnc_id"])["key"].dropna())
            if "crime_ref" in cols:
                s.crime_refs |= set(table["crime_ref"].dropna().astype(str).str.strip()) - {""}
            if "postcode" in cols:
                s.postcodes |= set(table["postcode"].dropna().astype(str).str.upper().str.replace(" ", ""))
            for col in ("cro", "cro_number"):
                if col in cols:
                    s.cro |= set(table[col].dropna().astype(str).str.upper().str.strip())
            if {"longitude", "latitude"} <= cols:
                xy = table[["longitude", "latitude"]].apply(pd.to_numeric, errors="coerce").dropna()
                xy = xy.to_numpy(dtype=float).round(6)
                private = [p for p in map(tuple, xy) if p not in public]
                s.pairs |= set(private)
                lats += [p[1] for p in private]
    public_lats = np.array([p[1] for p in public])
    s.latitudes = {
        d: set(np.round(lats, d).tolist()) - set(np.round(public_lats, d).tolist()) for d in (5, 6)
    }
    return s


def _cro_check_ok(serial: str, yy: str, letter: str) -> bool:
    return PNC_CHECK_ALPHABET[int(yy + serial.zfill(6)) % 23] == letter.upper()


def _dates(text: str) -> set[tuple[int, int, int]]:
    found = set()
    for pattern, order in _DATES:
        for match in pattern.finditer(text):
            parts = dict(zip(order, match.groups(), strict=True))
            month = _MONTHS.get(parts["mon"].lower()) if "mon" in parts else int(parts["m"])
            if month:
                found.add((int(parts["y"]), month, int(parts["d"])))
    return found


def _names(text: str) -> set[str]:
    """Lower-case 2- to 4-word windows of capitalised words, and "Surname, Forename" as "forename
    surname"."""
    found = set()
    for run in re.finditer(rf"{_WORD}(?: {_WORD})+", text):
        words = run.group(0).split(" ")
        for n in (2, 3, 4):
            for i in range(len(words) - n + 1):
                found.add(" ".join(words[i : i + n]).lower())
    for match in re.finditer(rf"({_WORD}), ({_WORD})", text):
        found.add(f"{match.group(2)} {match.group(1)}".lower())
    for match in re.finditer(r"\b([A-Z][A-Z'-]+) ([A-Z][A-Z'-]+)\b", text):  # SMITH JOHN / JOHN SMITH
        found.add(f"{match.group(1)} {match.group(2)}".lower())
        found.add(f"{match.group(2)} {match.group(1)}".lower())
    return found


def _read_text(path: Path) -> str:
    """A published file as text; an ODS workbook as its sheets' XML (the zip itself is compressed)."""
    if path.suffix == ".ods":
        with zipfile.ZipFile(path) as z:
            return z.read("content.xml").decode("utf-8")
    return path.read_text(encoding="utf-8", errors="replace")


def _cells(path: Path, text: str) -> set[str]:
    if path.suffix == ".ods":
        return {html.unescape(c).strip().lower() for c in re.findall(r"<text:p>([^<]*)</text:p>", text)}
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return set(frame.stack().str.strip().str.lower()) | {c.strip().lower() for c in frame.columns}
    return {c.strip().lower() for c in re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", text)}


def scan_file(path: Path, s: Sensitive) -> list[tuple[str, str]]:
    """(kind, value) for every sensitive value found in one output file."""
    text = html.unescape(_IMAGES.sub("", _read_text(path)))
    hits = [("name", n) for n in sorted(_names(text) & s.names)]
    hits += [("surname cell", n) for n in sorted(_cells(path, text) & s.surnames)]
    hits += [("date of birth", "-".join(map(str, d))) for d in sorted(_dates(text) & s.dobs)]
    tokens = pd.Series([m.group(0) for m in _PNC.finditer(text)], dtype="string")
    if len(tokens):
        keys = set(pnc_parts(tokens)["key"].dropna())
        hits += [("PNC ID", k) for k in sorted(keys & s.pnc_keys)]
    for serial, yy, letter in _CRO.findall(text):
        value = f"{serial}/{yy}{letter.upper()}"
        if value in s.cro or _cro_check_ok(serial, yy, letter):
            hits.append(("CRO number", value))
    hits += [("crime reference", r) for r in sorted(set(_TOKEN.findall(text)) & s.crime_refs)]
    codes = {a + b for a, b in _POSTCODE.findall(text.upper())}
    hits += [("postcode", p) for p in sorted(codes & s.postcodes)]
    for lon, lat in _PAIR.findall(text):
        pair = (round(float(lon), 6), round(float(lat), 6))
        if pair in s.pairs:
            hits.append(("coordinate pair", f"{lon},{lat}"))
    for match in _DECIMAL.finditer(text):
        places = len(match.group(1))
        value = round(float(match.group(0)), min(places, 6))
        if value in s.latitudes.get(min(places, 6), set()):
            hits.append(("latitude", match.group(0)))
    return hits


def _scan_folders(folders: list[Path], s: Sensitive) -> list[str]:
    problems = []
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            problems += [f"{path.relative_to(folder.parent)}: {k} {v!r}" for k, v in scan_file(path, s)]
    return problems


@pytest.fixture(scope="module")
def sensitive(shipped_reports) -> Sensitive:
    return _sensitive(shipped_reports)


def test_sensitive_values_collected(shipped_reports, sensitive):
    """The scan has something to look for: the synthetic worlds hold thousands of people and points."""
    assert set(shipped_reports) >= {"city-of-london", "city-of-london-public", "london-east", "london-south"}
    assert len(sensitive.names) > 1000 and len(sensitive.surnames) > 100
    assert len(sensitive.dobs) > 1000 and len(sensitive.pnc_keys) > 1000
    assert len(sensitive.pairs) > 1000 and len(sensitive.latitudes[6]) > 1000
    assert len(sensitive.crime_refs) > 1000 and len(sensitive.postcodes) > 1000


def test_no_person_in_any_shipped_report(shipped_reports, sensitive):
    folders = [r.folder for r in shipped_reports.values()]
    files = [p for f in folders for p in f.rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in files) and any(
        p.name.endswith("-outcomes.csv") for p in files
    )
    problems = _scan_folders(folders, sensitive)
    assert not problems, f"{len(problems)} hit(s), first: {problems[:5]}"


def test_no_person_in_repository_reports(sensitive):
    """Everything in the repository's own reports/ folder: the reports ``make report`` built there, if any,
    and whatever else lies there (on a fresh checkout only its README and .gitignore)."""
    folder = ROOT / "reports"
    assert any(p.is_file() for p in folder.rglob("*"))
    problems = _scan_folders([folder], sensitive)
    assert not problems, f"{len(problems)} hit(s), first: {problems[:5]}"


def test_scan_finds_planted_values(shipped_reports, sensitive, tmp_path):
    """Not vacuous: one value of each kind, planted in a copy of a real report file, is found."""
    source = shipped_reports["london-south"]
    suspects = source.restricted["suspects"].dropna(subset=["pnc_id", "postcode"]).iloc[0]
    crime = source.restricted["crimes"].dropna(subset=["longitude"]).iloc[0]
    dob = pd.Timestamp(suspects["date_of_birth"])
    pnc = pnc_parts(pd.Series([suspects["pnc_id"]])).iloc[0]
    serial = "12345"
    cro = f"{serial.zfill(6)}/19{PNC_CHECK_ALPHABET[int('19' + serial.zfill(6)) % 23]}"
    planted = {
        "crime reference": f"<td>{crime['crime_ref']}</td>",
        "postcode": f"<p>{suspects['postcode'].lower()}</p>",
        "name": f"<p>{suspects['surname'].upper()}, {suspects['forename'].split()[0].upper()}</p>",
        "date of birth": f"<p>born {dob.day} {dob.strftime('%B')} {dob.year}</p>",
        "PNC ID": f"<p>{int(pnc['yy']):02d}/{int(pnc['serial'])}{pnc['check'].lower()}</p>",
        "CRO number": f"<p>{cro}</p>",
        "coordinate pair": f"<p>{crime['longitude']:.6f},{crime['latitude']:.6f}</p>",
    }
    base = (source.folder / "report.html").read_text(encoding="utf-8")
    assert not scan_file(source.folder / "report.html", sensitive)
    for kind, snippet in planted.items():
        path = tmp_path / f"{kind.replace(' ', '_')}.html"
        path.write_text(base.replace("</body>", snippet + "</body>"), encoding="utf-8")
        kinds = {k for k, _ in scan_file(path, sensitive)}
        assert kind in kinds, (kind, snippet, kinds)
    table = tmp_path / "table.csv"
    pd.DataFrame({"group": ["a", suspects["surname"]], "n": [10, 15]}).to_csv(table, index=False)
    assert ("surname cell", suspects["surname"].strip().lower()) in scan_file(table, sensitive)


def test_published_crime_ids_are_keyed_hashes(shipped_reports):
    """Crime IDs in every shipped restricted report's outcomes file are HMAC-SHA256 under the publication
    key (for a synthetic world, the key derived from its seed), never the plain SHA-256 of force|crime_ref
    that anyone could recompute by enumerating references."""
    import hashlib
    import hmac
    import json

    from linkage.justice import synthetic_publication_key

    checked = 0
    for report in shipped_reports.values():
        crimes = report.restricted.get("crimes")
        if crimes is None:
            continue
        ids = set(pd.read_csv(report.folder / f"{report.slug}-outcomes.csv", dtype=str)["Crime ID"])
        assert ids and all(re.fullmatch(r"[0-9a-f]{64}", i) for i in ids)
        text = (crimes["force"].astype(str) + "|" + crimes["crime_ref"].astype(str)).tolist()
        plain = {hashlib.sha256(t.encode()).hexdigest() for t in text}
        seed = json.loads((report.folder / "manifest.json").read_text())["seed"]
        key = synthetic_publication_key(seed)
        keyed = {hmac.new(key, t.encode(), hashlib.sha256).hexdigest() for t in text}
        assert not ids & plain
        assert ids <= keyed
        checked += 1
    assert checked == 4  # city-of-london, london-east, london-south, london-staggered


def test_no_publication_key_stored_in_the_repository():
    """The key for real extracts comes from $LINKAGE_PUBLICATION_KEY only: no tracked file sets it."""
    import subprocess

    from linkage.justice import PUBLICATION_KEY_ENV

    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    if listed.returncode == 0:
        files = listed.stdout.split()
    else:  # not a git checkout (an unpacked archive): every file but generated folders
        skip = {".git", ".venv", "reports", "__pycache__", ".pytest_cache", ".ruff_cache", "build"}
        files = [
            p.relative_to(ROOT).as_posix()
            for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
        ]
    assignment = re.compile(rf"{PUBLICATION_KEY_ENV}\s*[:=]\s*['\"]?[^\s'\"$]{{8,}}")
    offenders = []
    for name in files:
        path = ROOT / name
        if path.suffix in {".png", ".shp", ".dbf", ".shx", ".zip", ".parquet", ".pq"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        if name.startswith("tests/"):
            continue  # tests set throw-away keys with monkeypatch
        if assignment.search(text):
            offenders.append(name)
    assert not offenders, f"publication key set in tracked file(s): {offenders}"


@pytest.mark.parametrize(("env", "problem"), [(None, "no publication key"), ("", "no publication key"),
                                              ("short", "at least 16 bytes")])  # fmt: skip
def test_missing_or_short_key_is_a_clear_error(monkeypatch, env, problem):
    """Real extracts and no usable key: a LinkageError naming the environment variable, never a default
    key (an empty variable counts as missing, not as an empty key)."""
    from linkage.errors import LinkageError
    from linkage.justice import PUBLICATION_KEY_ENV, publication_key

    if env is None:
        monkeypatch.delenv(PUBLICATION_KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(PUBLICATION_KEY_ENV, env)
    with pytest.raises(LinkageError, match=problem) as info:
        publication_key()
    assert PUBLICATION_KEY_ENV in str(info.value)
    monkeypatch.setenv(PUBLICATION_KEY_ENV, "k" * 16)
    assert publication_key() == b"k" * 16
