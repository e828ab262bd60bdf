"""Property tests (hypothesis): the normalisers and parsers never crash on any input and keep their
invariants.

- PNC IDs (``linkage.reference.identifiers``): the short and long forms of one ID, in any case, padded
  or not, with white space, share a key; formatted IDs are valid and a changed check letter is not;
  parsing is idempotent; any text parses to a key or to missing.
- Names (``linkage.engine.kernels.normalise_name`` and its vectorised twin): idempotent, lower case,
  no edge or repeated white space, and the column version gives the same as the scalar one.
- Dates (``_date_ints``, the comparisons' date normaliser): any text gives yyyymmdd or -1; ISO text,
  ``dd/mm/yyyy`` text and datetime values of one date give the same integer.
- Crime references and CJS codes: normalising twice changes nothing.
- The police.uk and extract parsers: CSV text built from valid values, junk, quotes, commas, line breaks,
  blank lines, byte-order marks and mixed line ends either loads with rows in = accepted + quarantined
  (rows in counted here with the csv module) or raises a LinkageError; nothing else.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage.engine.kernels import _date_ints, _normalise_names, normalise_name
from linkage.errors import LinkageError
from linkage.justice.comparisons import normalise_crime_ref
from linkage.reference.identifiers import PNC_CHECK_ALPHABET, format_pnc, pnc_is_valid, pnc_parts
from linkage.reference.offences import normalise_cjs_code
from linkage.sources import read_extract, read_police_uk

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

years = st.integers(1900, 2099)
serials = st.integers(0, 9_999_999)
spaces = st.sampled_from(["", " ", "  ", "\t"])


# ----------------------------------------------------------------------------------------------- PNC IDs
@SETTINGS
@given(years, serials, spaces, spaces, st.booleans())
def test_pnc_forms_share_a_key_and_are_valid(year, serial, lead, trail, lower):
    long_form = format_pnc([year], [serial])[0]
    short_form = format_pnc([year], [serial], short=np.array([True]))[0]
    check = long_form[-1]
    unpadded = f"{year % 100:02d}/{serial}{check}"
    variants = [long_form, short_form, unpadded, f"{lead}{short_form}{trail}"]
    if lower:
        variants = [v.lower() for v in variants]
    parts = pnc_parts(pd.Series(variants))
    assert parts["key"].nunique() == 1 and parts["key"].notna().all()
    assert parts["key"].iloc[0] == f"{year % 100:02d}/{serial:07d}{check}"
    assert parts["long"].tolist() == [True, False, False, False]
    assert pnc_is_valid(pd.Series(variants)).all()
    # The check letter is ALPHABET[int(YY + serial7) % 23] (DOMAIN.md section 4), computed by hand here.
    assert check == PNC_CHECK_ALPHABET[int(f"{year % 100:02d}{serial:07d}") % 23]


@SETTINGS
@given(years, serials, st.sampled_from(PNC_CHECK_ALPHABET))
def test_pnc_wrong_check_letter_is_invalid(year, serial, letter):
    right = format_pnc([year], [serial])[0]
    candidate = right[:-1] + letter
    assert bool(pnc_is_valid(pd.Series([candidate])).iloc[0]) == (letter == right[-1])


@SETTINGS
@given(st.lists(st.one_of(st.none(), st.text(max_size=20), st.from_regex(r"\d{2,4}/\d{1,7}[A-Za-z]"))))
def test_pnc_parse_never_crashes_and_is_idempotent(values):
    parts = pnc_parts(pd.Series(values, dtype=object))
    assert len(parts) == len(values)
    parsed = parts["key"].notna()
    assert (parts.loc[~parsed, "full"].isna()).all()
    again = pnc_parts(parts["full"])
    assert again["key"].fillna("").tolist() == parts["key"].fillna("").tolist()
    assert pnc_parts(parts["key"])["key"].fillna("").tolist() == parts["key"].fillna("").tolist()
    assert pnc_is_valid(pd.Series(values, dtype=object)).dtype == bool


# ----------------------------------------------------------------------------------------------- names
_NAME_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
names = st.one_of(
    st.none(),
    st.text(alphabet=_NAME_CHARS, max_size=25),
    st.from_regex(r"[ \t]*[A-Za-z'’-]{1,10}( +[A-Za-z'’-]{1,10}){0,2}[ \t]*", fullmatch=True),
)


@SETTINGS
@given(st.one_of(names, st.text(max_size=25)))
def test_normalise_name_idempotent_and_tidy(value):
    once = normalise_name(value)
    assert normalise_name(once) == once
    if once is not None:
        assert once == once.strip() and "  " not in once and once == once.lower()


@SETTINGS
@given(st.lists(names, max_size=12))
def test_vectorised_names_match_scalar(values):
    """The column normaliser (pyarrow) gives what the scalar one (re, str.lower) gives, value by value."""
    vectorised = _normalise_names(pd.Series(values, dtype=object)).tolist()
    assert vectorised == [normalise_name(v) for v in values]


# Found by hypothesis: RE2 \s is ASCII only, so the column path once left Unicode spaces in place.
@pytest.mark.parametrize("value", ["0\x1f0", "a\u2003b", "x\x0by", " \u3000Ann\xa0\x85"])
def test_vectorised_names_match_scalar_unicode_space(value):
    assert _normalise_names(pd.Series([value], dtype=object)).tolist() == [normalise_name(value)]


# ----------------------------------------------------------------------------------------------- dates
@SETTINGS
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=10))
def test_date_ints_never_crash(values):
    out = _date_ints(pd.Series(values, dtype=object))
    assert out.dtype == np.int64 and len(out) == len(values)
    assert ((out == -1) | ((out >= 0) & (out <= 99_999_999))).all()


@SETTINGS
@given(
    st.lists(
        st.dates(min_value=pd.Timestamp("1900-01-01").date(), max_value=pd.Timestamp("2099-12-31").date()),
        min_size=1,
        max_size=8,
    )
)
def test_date_forms_agree(dates):
    expected = [d.year * 10000 + d.month * 100 + d.day for d in dates]
    iso = pd.Series([d.isoformat() for d in dates], dtype=object)
    uk = pd.Series([d.strftime("%d/%m/%Y") for d in dates], dtype=object)
    typed = pd.Series(pd.to_datetime([d.isoformat() for d in dates]))
    assert _date_ints(iso).tolist() == expected
    assert _date_ints(uk).tolist() == expected
    assert _date_ints(typed).tolist() == expected


# ----------------------------------------------------------------------------------------------- codes
@SETTINGS
@given(st.lists(st.one_of(st.none(), st.text(max_size=15)), max_size=10))
def test_code_normalisers_idempotent(values):
    series = pd.Series(values, dtype=object)
    ref = normalise_crime_ref(series)
    assert normalise_crime_ref(ref).fillna("").tolist() == ref.fillna("").tolist()
    cjs = normalise_cjs_code(series)
    assert normalise_cjs_code(cjs).fillna("").tolist() == cjs.fillna("").tolist()


# ----------------------------------------------------------------------------------------------- parsers
STREET = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
_VALID = {
    "Crime ID": st.one_of(st.just(""), st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
    "Month": st.sampled_from(["2024-01", "2024-02", "2011-04", "2099-01", "1899-12", "01/2024", ""]),
    "Reported by": st.sampled_from(["City of London Police", "Kent Police", ""]),
    "Falls within": st.sampled_from(["City of London Police", "Kent Police"]),
    "Longitude": st.sampled_from(["-0.091", "0", "51.5", "2.35", "", "x"]),
    "Latitude": st.sampled_from(["51.515", "0", "-0.091", "48.85", ""]),
    "Crime type": st.sampled_from(["Burglary", "Shoplifting", "Violent crime", "Shoplifitng", ""]),
    "Last outcome category": st.sampled_from(["", "Under investigation", "Unable to prosecute suspect", "?"]),
}
junk = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def _field(name: str) -> st.SearchStrategy[str]:
    return st.one_of(_VALID.get(name, st.text(alphabet="abc XYZ01,'", max_size=10)), junk)


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\n\r') else value


@st.composite
def police_uk_text(draw) -> bytes:
    header = list(STREET)
    if draw(st.booleans()):
        header = draw(st.permutations(STREET))
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 6))):
        fields = [_quote(draw(_field(h))) for h in header]
        cut = draw(st.sampled_from([None, None, None, -1, 1]))  # truncated or extra field now and then
        if cut == -1:
            fields = fields[: draw(st.integers(1, len(fields) - 1))]
        elif cut == 1:
            fields.append("extra")
        lines.append(",".join(fields))
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join(lines) + draw(st.sampled_from([end, ""]))
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8", "cp1252"])), errors="replace")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


def _records(data: bytes) -> int:
    """Data records counted with the csv module (blank lines are not records), less the header."""
    reader = csv.reader(io.StringIO(data.decode("latin-1"), newline=""))
    return max(sum(1 for r in reader if r and not (len(r) == 1 and not r[0].strip())) - 1, 0)


def _load(reader, data: bytes, name: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            return reader(path)
        except LinkageError:
            return None


@FEW
@given(police_uk_text())
def test_police_uk_parser_never_crashes_and_accounts_for_every_row(data):
    result = _load(read_police_uk, data, "2024-01-x-street.csv")
    if result is None:
        return
    summary = result.summary
    assert summary.rows_read == _records(data) == summary.accepted + summary.quarantined
    assert sorted(
        result.quarantined["source_row"].tolist() + result.accepted["source_row"].tolist()
    ) == sorted(
        set(result.quarantined["source_row"].tolist() + result.accepted["source_row"].tolist())
    )  # each row once


SUSPECTS = [
    "crime_ref",
    "force",
    "suspect_ref",
    "forename",
    "surname",
    "date_of_birth",
    "sex",
    "pnc_id",
    "postcode",
]


@st.composite
def suspects_text(draw) -> bytes:
    values = {
        "date_of_birth": st.sampled_from(
            ["1990-05-17", "17/05/1990", "2099-01-01", "1899-12-31", "1990-02-30", ""]
        ),
        "sex": st.sampled_from(["M", "f", "U", "X", ""]),
        "pnc_id": st.sampled_from(["", "1990/0012345A", "90/12345a", "junk"]),
    }
    lines = [",".join(SUSPECTS)]
    for i in range(draw(st.integers(0, 6))):
        row = [_quote(draw(st.one_of(values.get(c, st.just(f"{c}{i % 3}")), junk))) for c in SUSPECTS]
        lines.append(",".join(row))
    return ("\n".join(lines) + "\n").encode("utf-8")


@FEW
@given(suspects_text())
def test_extract_parser_never_crashes_and_accounts_for_every_row(data):
    result = _load(lambda p: read_extract("suspects", p), data, "suspects.csv")
    if result is None:
        return
    summary = result.summary
    assert summary.rows_read == _records(data) == summary.accepted + summary.quarantined


@st.composite
def plain_csv(draw) -> bytes:
    """Quote-free CSV (the shape of every police.uk file) with blank lines, CRLF or LF, short/long rows."""
    width = draw(st.integers(1, 5))
    cell = st.text(alphabet="ab 1é\t", max_size=4)
    lines = [",".join(f"h{i}" for i in range(width))]
    for _ in range(draw(st.integers(0, 8))):
        n = draw(st.sampled_from([width, width, width, max(width - 1, 1), width + 1]))
        lines.append(",".join(draw(cell) for _ in range(n)))
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(["", " ", "\t"])))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return (end.join(lines) + draw(st.sampled_from([end, ""]))).encode("utf-8")


@SETTINGS
@given(plain_csv())
def test_fast_parser_agrees_with_csv_module(data):
    """parse_csv's pandas path (taken for quote-free UTF-8) gives what the record-by-record csv-module
    path gives: the same records, start lines and field counts."""
    from linkage.sources._common import _parse_slow, parse_csv

    try:
        rows = parse_csv(data, "x.csv")
    except LinkageError:
        return
    slow = _parse_slow(data.decode("utf-8"), "x.csv")
    pd.testing.assert_frame_equal(
        rows.frame.astype(object), slow.frame.astype(object), check_index_type=False
    )
    assert rows.line.tolist() == slow.line.tolist()
    assert rows.fields.tolist() == slow.fields.tolist()
