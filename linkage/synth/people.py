"""The synthetic population: names, sex, dates of birth, PNC IDs and postcodes, all vectorised.

Name tables are small CSVs under ``linkage/synth/data/`` written for this project (no download):
``surnames.csv`` (common British surnames with an approximate frequency per 100,000 people, shaped on the
published ranking where Smith is about 1.2% of people), ``surname_parts.csv`` (syllables that generate the
long tail of rarer surnames), ``forenames.csv`` (forenames by sex with relative weights) and
``nicknames.csv`` (nicknames and spelling variants).
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

# The PNC helpers live in linkage.reference.identifiers (the one parser); linkage.synth re-exports them
# from here.
from linkage.reference.identifiers import (  # noqa: F401
    PNC_CHECK_ALPHABET,
    format_pnc,
    pnc_check_letter,
    pnc_is_valid,
)

logger = logging.getLogger(__name__)

# Age of suspects at the start of the period (years): bands and shares. Modelling choice (offenders are
# young and mostly male); not a calibrated published figure.
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (10, 18, 0.12),
    (18, 25, 0.25),
    (25, 35, 0.28),
    (35, 45, 0.18),
    (45, 60, 0.13),
    (60, 80, 0.04),
)
MALE_SHARE = 0.83
MIDDLE_NAME_SHARE = 0.65
TAIL_SURNAME_EXPONENT = 0.8  # Zipf exponent of the generated rare-surname tail
TAIL_SURNAME_OFFSET = 200.0  # keeps the commonest generated surname rarer than the listed ones


def _read(name: str) -> pd.DataFrame:
    source = resources.files("linkage.synth").joinpath("data", name)
    with resources.as_file(source) as path:
        return pd.read_csv(path, dtype={"weight": float}, keep_default_na=False)


@cache
def surname_table() -> pd.DataFrame:
    """``surname, weight`` (weights sum to 1): the common list plus a generated long tail."""
    common = _read("surnames.csv")
    common_share = common["per_100k"].sum() / 100_000
    parts = _read("surname_parts.csv")
    heads = parts.loc[parts["position"] == "head", "part"].to_numpy(dtype=str)
    tails = parts.loc[parts["position"] == "tail", "part"].to_numpy(dtype=str)
    stems = np.char.add(np.repeat(heads, len(tails)), np.tile(tails, len(heads)))
    tail_names = np.concatenate([stems, np.char.add(stems, "s")])
    tail_names = pd.unique(tail_names[~np.isin(tail_names, common["surname"].to_numpy())])
    # A fixed permutation gives every generated name a Zipf rank; seed 0 is part of the table definition.
    ranks = np.random.default_rng(0).permutation(len(tail_names)) + 1
    tail_w = 1.0 / (ranks + TAIL_SURNAME_OFFSET) ** TAIL_SURNAME_EXPONENT
    tail_w *= (1.0 - common_share) / tail_w.sum()
    frame = pd.DataFrame(
        {
            "surname": np.concatenate([common["surname"].to_numpy(dtype=str), tail_names]),
            "weight": np.concatenate([common["per_100k"].to_numpy(float) / 100_000, tail_w]),
        }
    )
    frame["weight"] /= frame["weight"].sum()
    return frame


@cache
def forename_table() -> pd.DataFrame:
    """``forename, sex, weight`` with weights summing to 1 within each sex."""
    frame = _read("forenames.csv")
    frame["weight"] = frame["weight"] / frame.groupby("sex")["weight"].transform("sum")
    return frame


@cache
def nickname_table() -> pd.DataFrame:
    """``forename, variant``: nicknames and spelling variants (several per forename)."""
    return _read("nicknames.csv")


def _draw(rng: np.random.Generator, values: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(weights)
    idx = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    return values[np.minimum(idx, len(values) - 1)]


def draw_forenames(rng: np.random.Generator, sex: np.ndarray) -> np.ndarray:
    """A forename per element of ``sex`` (``'M'`` or ``'F'``), frequency-weighted."""
    table = forename_table()
    out = np.empty(len(sex), dtype=object)
    for s in ("M", "F"):
        mask = sex == s
        sub = table[table["sex"] == s]
        out[mask] = _draw(rng, sub["forename"].to_numpy(dtype=object), sub["weight"].to_numpy(), mask.sum())
    return out


def draw_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` surnames drawn by frequency (:func:`surname_table`)."""
    table = surname_table()
    return _draw(rng, table["surname"].to_numpy(dtype=object), table["weight"].to_numpy(), n)


def make_people(rng: np.random.Generator, n: int, start: pd.Timestamp, prefix: str) -> pd.DataFrame:
    """``n`` people: person_id, forename, middle_name, surname, sex, date_of_birth, pnc_year, pnc_serial,
    pnc_id, postcode.

    Dates of birth follow :data:`AGE_BANDS` at ``start``; the PNC ID year is the year of the first
    record (age 10 or more, 1995 or later, no later than ``start``).
    """
    sex = np.where(rng.random(n) < MALE_SHARE, "M", "F").astype(object)
    forename = draw_forenames(rng, sex)
    middle = draw_forenames(rng, sex)
    middle = np.where(rng.random(n) < MIDDLE_NAME_SHARE, middle, None)
    middle = np.where(middle == forename, None, middle)
    surname = draw_surnames(rng, n)
    bands = np.array([(lo, hi) for lo, hi, _ in AGE_BANDS], dtype=float)
    which = _draw(rng, np.arange(len(AGE_BANDS)), np.array([w for *_, w in AGE_BANDS]), n)
    age_days = (bands[which, 0] + rng.random(n) * (bands[which, 1] - bands[which, 0])) * 365.25
    dob = (start - pd.to_timedelta(np.round(age_days), unit="D")).to_numpy()
    dob = pd.DatetimeIndex(dob).normalize()
    first_year = np.maximum(dob.year.to_numpy() + 10, 1995)
    last_year = np.maximum(first_year, start.year)
    pnc_year = first_year + np.floor(rng.random(n) * (last_year - first_year + 1)).astype(np.int64)
    key = pnc_year * 10_000_000 + rng.integers(1, 10_000_000, n)
    for _ in range(20):  # re-draw the (rare) duplicate serials within a year
        dup = pd.Series(key).duplicated().to_numpy()
        if not dup.any():
            break
        key[dup] = pnc_year[dup] * 10_000_000 + rng.integers(1, 10_000_000, dup.sum())
    serial = key % 10_000_000
    postcode = _postcodes(rng, n)
    ids = pd.Series(np.arange(n)).astype(str).str.zfill(7).to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "person_id": prefix + ids,
            "forename": forename,
            "middle_name": pd.array(middle, dtype="string"),
            "surname": surname,
            "sex": sex,
            "date_of_birth": pd.to_datetime(dob).astype("datetime64[ns]"),
            "pnc_year": pnc_year,
            "pnc_serial": serial,
            "pnc_id": format_pnc(pnc_year, serial),
            "postcode": _postcode_strings(postcode),
        }
    ).astype({"forename": "string", "surname": "string", "sex": "string", "pnc_id": "string"})


_OUTWARD = np.array(list("ABCDEFGHKLMNPRSTW"))
_INWARD = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


def _postcodes(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [
        _OUTWARD[rng.integers(0, len(_OUTWARD), n)],
        _OUTWARD[rng.integers(0, len(_OUTWARD), n)],
        rng.integers(1, 21, n),
        rng.integers(0, 10, n),
        _INWARD[rng.integers(0, len(_INWARD), n)],
        _INWARD[rng.integers(0, len(_INWARD), n)],
    ]


def _postcode_strings(parts: list[np.ndarray]) -> pd.Series:
    a, b, d1, d2, c, e = parts
    outward = pd.Series(a.astype(object) + b.astype(object)) + pd.Series(d1).astype(str)
    inward = pd.Series(d2).astype(str) + pd.Series(c.astype(object) + e.astype(object))
    return (outward + " " + inward).astype("string")
