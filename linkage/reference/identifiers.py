"""Identifiers: PNC IDs (the one parser, formatter and check-letter rule) and police force names.

A PNC ID is ``YYYY/NNNNNNNC`` (short form ``YY/NNNNNNNC``): the year of first arrest, a serial padded to
seven digits and a check letter ``ALPHABET[int(YY + serial7) % 23]`` (DOMAIN.md section 4). Parsing
ignores case, white space and leading zeros of the serial; the short and long forms of one ID share a
``key``. Every PNC helper in the package (synthetic world, comparisons, blocking) calls these.
"""

from __future__ import annotations

import difflib
import logging
import re

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "POLICE_UK_FORCES",
    "unknown_force_problem",
    "PNC_CHECK_ALPHABET",
    "PNC_PATTERN",
    "format_pnc",
    "pnc_check_letter",
    "pnc_is_valid",
    "pnc_parts",
]

PNC_CHECK_ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"
"""Check letter alphabet of PNC IDs and CRO numbers (DOMAIN.md section 4)."""

PNC_PATTERN = r"^(?P<year>[0-9]{2}|[0-9]{4})/(?P<serial>[0-9]{1,7})(?P<check>[A-Z])$"
"""A PNC ID after upper-casing and removing white space (serial of 1 to 7 ASCII digits; other scripts'
digits, which Python's \\d would accept, are not PNC IDs)."""

_PARTS_COLUMNS = ("key", "full", "long", "yy", "serial", "check")


def pnc_check_letter(year: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """Check letters of PNC IDs: ``ALPHABET[int(YY + serial7) % 23]`` (two-digit year, 7-digit serial)."""
    value = (np.asarray(year, dtype=np.int64) % 100) * 10_000_000 + np.asarray(serial, dtype=np.int64)
    letters = np.array(list(PNC_CHECK_ALPHABET))
    return letters[value % 23]


def format_pnc(year: np.ndarray, serial: np.ndarray, short: np.ndarray | None = None) -> np.ndarray:
    """PNC IDs ``YYYY/NNNNNNNC`` (or ``YY/NNNNNNNC`` where ``short`` is True) as an object array."""
    year = np.asarray(year, dtype=np.int64)
    serial = np.asarray(serial, dtype=np.int64)
    check = pnc_check_letter(year, serial)
    body = pd.Series(serial).astype(str).str.zfill(7).to_numpy(dtype=object) + check.astype(object)
    long_year = pd.Series(year).astype(str).to_numpy(dtype=object)
    out = long_year + "/" + body
    if short is not None:
        short_year = pd.Series(year % 100).astype(str).str.zfill(2).to_numpy(dtype=object)
        out = np.where(short, short_year + "/" + body, out)
    return out


def pnc_parts(values: pd.Series) -> pd.DataFrame:
    """Parse PNC IDs: ``key`` (``yy/serial7check``, the same for both forms), ``full`` (with the year as
    written), ``long`` (True for the ``YYYY/`` form), ``yy`` and ``serial`` (Int64) and ``check``.

    Case, white space and leading zeros of the serial are ignored: ``' 2019/123a '``, ``'19/0000123A'``
    and ``'2019/0000123A'`` share the key ``19/0000123A``. Unparseable or blank values give missing
    fields (``long`` False). Each distinct value is parsed once, with vectorised string methods.
    """
    values = pd.Series(values)
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    text = (
        pd.Series(np.asarray(uniques, dtype=object), dtype="string")
        .str.upper()
        .str.replace(r"\s+", "", regex=True)
    )
    parts = text.str.extract(PNC_PATTERN)
    year, check = parts["year"].astype("string"), parts["check"].astype("string")
    serial7 = parts["serial"].astype("string").str.zfill(7)
    yy = year.str[-2:]
    table = pd.DataFrame(
        {
            "key": yy + "/" + serial7 + check,
            "full": year + "/" + serial7 + check,
            "long": (year.str.len() == 4).fillna(False).astype(bool),
            "yy": pd.to_numeric(yy, errors="coerce").astype("Int64"),
            "serial": pd.to_numeric(serial7, errors="coerce").astype("Int64"),
            "check": check,
        }
    )
    # One extra all-missing row for missing input values (code -1).
    missing = pd.DataFrame(
        {
            "key": pd.array([pd.NA], dtype="string"),
            "full": pd.array([pd.NA], dtype="string"),
            "long": [False],
            "yy": pd.array([pd.NA], dtype="Int64"),
            "serial": pd.array([pd.NA], dtype="Int64"),
            "check": pd.array([pd.NA], dtype="string"),
        }
    )
    table = pd.concat([table, missing], ignore_index=True)
    out = table.iloc[np.where(codes >= 0, codes, len(table) - 1)].reset_index(drop=True)
    out.index = values.index
    return out[list(_PARTS_COLUMNS)]


def pnc_is_valid(values: pd.Series) -> pd.Series:
    """True where a PNC ID (long or short form, parsed by :func:`pnc_parts`) has the right check letter;
    missing or unparseable values are False."""
    parts = pnc_parts(values)
    ok = parts["key"].notna().to_numpy()
    out = np.zeros(len(parts), dtype=bool)
    if ok.any():
        expected = pnc_check_letter(
            parts["yy"].to_numpy()[ok].astype(np.int64), parts["serial"].to_numpy()[ok].astype(np.int64)
        )
        out[ok] = expected == parts["check"].to_numpy()[ok].astype(str)
    return pd.Series(out, index=parts.index)


POLICE_UK_FORCES: tuple[str, ...] = (
    "Avon and Somerset Constabulary",
    "Bedfordshire Police",
    "British Transport Police",
    "Cambridgeshire Constabulary",
    "Cheshire Constabulary",
    "City of London Police",
    "Cleveland Police",
    "Cumbria Constabulary",
    "Derbyshire Constabulary",
    "Devon & Cornwall Police",
    "Dorset Police",
    "Durham Constabulary",
    "Dyfed-Powys Police",
    "Essex Police",
    "Gloucestershire Constabulary",
    "Greater Manchester Police",
    "Gwent Police",
    "Hampshire Constabulary",
    "Hertfordshire Constabulary",
    "Humberside Police",
    "Kent Police",
    "Lancashire Constabulary",
    "Leicestershire Police",
    "Lincolnshire Police",
    "Merseyside Police",
    "Metropolitan Police Service",
    "Norfolk Constabulary",
    "North Wales Police",
    "North Yorkshire Police",
    "Northamptonshire Police",
    "Northumbria Police",
    "Nottinghamshire Police",
    "Police Service of Northern Ireland",
    "South Wales Police",
    "South Yorkshire Police",
    "Staffordshire Police",
    "Suffolk Constabulary",
    "Surrey Police",
    "Sussex Police",
    "Thames Valley Police",
    "Warwickshire Police",
    "West Mercia Police",
    "West Midlands Police",
    "West Yorkshire Police",
    "Wiltshire Police",
)
"""Force names as data.police.uk spells them in ``Reported by`` / ``Falls within`` (the 43 territorial
forces of England and Wales, British Transport Police and the Police Service of Northern Ireland)."""

_FORCE_ALIASES = {
    # Older or newer spellings seen in published files.
    "Avon & Somerset Constabulary": "Avon and Somerset Constabulary",
    "Devon and Cornwall Police": "Devon & Cornwall Police",
    "Hampshire and Isle of Wight Constabulary": "Hampshire Constabulary",
}


_GENERIC_FORCE_WORDS = frozenset(
    {"police", "constabulary", "service", "force", "department", "city", "county", "the", "of", "and", "&"}
)
_FORCE_WORD_ALIASES = {"met": "metropolitan", "mps": "metropolitan", "btp": "transport", "psni": "ireland"}


def _distinctive(name: str) -> list[str]:
    words = re.split(r"[\s,]+", name.lower().replace("-", " "))
    return [_FORCE_WORD_ALIASES.get(w, w) for w in words if w and w not in _GENERIC_FORCE_WORDS]


def _forces_by_distinctive_word(name: str) -> list[str]:
    """Force names sharing the most distinctive words with ``name`` ('Cumbria Police' -> Cumbria
    Constabulary, not the closer string 'Northumbria Police'); a word matches exactly or as a near miss
    (a typo). Empty when no word matches."""
    words = _distinctive(name)
    scores: dict[str, float] = {}
    for force in POLICE_UK_FORCES:
        theirs = _distinctive(force)
        score = 0.0
        for word in words:
            if word in theirs:
                score += 1.0
            elif difflib.get_close_matches(word, theirs, n=1, cutoff=0.8):
                score += 0.9
        if score > 0:
            scores[force] = score
    if not scores:
        return []
    best = max(scores.values())
    return sorted(f for f, v in scores.items() if v == best)[:3]


def unknown_force_problem(name: str, where: str = "force") -> str | None:
    """None when ``name`` is a police.uk force name (or a known older/newer spelling of one); otherwise
    a problem naming ``where`` and the value, with the closest force names as suggestions."""
    if name in POLICE_UK_FORCES or name in _FORCE_ALIASES:
        return None
    close = _forces_by_distinctive_word(name)
    if not close:
        by_lower = {f.lower(): f for f in (*POLICE_UK_FORCES, *_FORCE_ALIASES)}
        near = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.8)
        close = [by_lower[m] for m in near]
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return f"{where}: unknown police force {name!r}{hint}; use the name police.uk publishes"
