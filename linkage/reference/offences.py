"""Offence crosswalks: Home Office offence codes, CJS offence codes and penalty notice offences.

Three shipped tables (package data under ``linkage/reference/data/``, sources in docs/reference_data.md):

* ``CrimeCatMappings.csv``: Home Office offence code -> offence group, subgroup, description and police.uk
  category (real, from the Home Office recorded-crime open data via crime-sim-toolkit).
* ``cjs_offences.csv``: CJS offence codes (``AAYYNNN``) -> Home Office offence code. ILLUSTRATIVE: built
  by hand from the act-and-section of each offence, because no official CJS standard offence list is
  bundled; the ``legislation`` column gives the act and section behind every row.
* ``pnd_offences.csv``: the penalty notice for disorder offences -> nearest Home Office offence code
  (several PND offences are not notifiable; ``notifiable`` says which).

:func:`offence_relation` compares a crime's Home Office code with an outcome's CJS code or PND offence.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from linkage.errors import DataContractError, LinkageError
from linkage.reference.outcomes import canonical_crime_type

logger = logging.getLogger(__name__)

CJS_CODE_PATTERN = r"^[A-Z]{2}\d{2}\d{3}[ABCI]?$"
"""A CJS offence code: act letters, two-digit year, three-digit serial, optional A/B/C/I suffix."""

# Offence groups a charge can move between (lesser or alternative charges). Source: DOMAIN.md section 4
# and common alternative verdicts: robbery -> theft or assault, assault <-> public order (affray,
# s.4/s.5 POA), sexual assault -> assault, weapons -> public order / assault, theft <-> fraud.
_COMPATIBLE_GROUPS: tuple[tuple[str, str], ...] = (
    ("Robbery", "Theft offences"),
    ("Robbery", "Violence against the person"),
    ("Violence against the person", "Public order offences"),
    ("Violence against the person", "Sexual offences"),
    ("Violence against the person", "Possession of weapons offences"),
    ("Possession of weapons offences", "Public order offences"),
    ("Theft offences", "Fraud offences"),
)

ALTERNATIVE_CHARGES: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in (
        # theft -> handling stolen goods (54 sits in "Miscellaneous crimes")
        *(("54", ho) for ho in ("39", "40", "41", "42", "44", "45", "46", "47", "48", "49")),
        ("54", "34A"),
        ("54", "34B"),
        # going equipped -> burglary / theft
        *(("33", ho) for ho in ("28E", "28F", "30C", "30D", "45", "49")),
        # criminal damage <-> threat or possession with intent to damage (59 is "Miscellaneous crimes")
        *(("59", ho) for ho in ("58A", "58B", "58C", "58D", "58J")),
        # dangerous driving <-> causing death / serious injury by driving
        ("802", "4.4"),
    )
)
"""Home Office code pairs in different, otherwise incompatible groups that are usual alternative charges."""


def _read(name: str) -> pd.DataFrame:
    source = resources.files("linkage.reference").joinpath("data", name)
    with resources.as_file(source) as path:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@cache
def _offence_codes() -> pd.DataFrame:
    raw = _read("CrimeCatMappings.csv")
    frame = pd.DataFrame(
        {
            "ho_code": raw["Offence_Code"].str.strip(),
            "offence_group": raw["Offence_Group"].str.strip(),
            "offence_subgroup": raw["Offence_Subgroup"].str.strip(),
            "description": raw["Offence_Description"].str.strip(),
            "police_uk_category": canonical_crime_type(raw["Police.uk_Cat"]),
        }
    )
    bad = frame["police_uk_category"].isna()
    if bad.any():
        raise DataContractError(
            "CrimeCatMappings.csv", f"unknown police.uk category {raw['Police.uk_Cat'][bad].iloc[0]!r}"
        )
    if frame["ho_code"].duplicated().any():
        raise DataContractError("CrimeCatMappings.csv", "duplicate Offence_Code")
    return frame.sort_values("ho_code", kind="stable").reset_index(drop=True)


def offence_codes() -> pd.DataFrame:
    """Home Office offence codes (ho_code, offence_group, offence_subgroup, description, police_uk_category).

    ``police_uk_category`` is one of the 14 canonical police.uk names (the source CSV capitalises them
    differently, e.g. ``Violence and Sexual Offences``).
    """
    return _offence_codes().copy()


@cache
def _cjs_offences() -> pd.DataFrame:
    raw = _read("cjs_offences.csv")
    bad = ~raw["cjs_code"].str.fullmatch(CJS_CODE_PATTERN)
    if bad.any():
        raise DataContractError("cjs_offences.csv", f"bad CJS code {raw['cjs_code'][bad].iloc[0]!r}")
    if raw["cjs_code"].duplicated().any():
        raise DataContractError("cjs_offences.csv", "duplicate cjs_code")
    groups = _offence_codes().set_index("ho_code")["offence_group"]
    frame = raw.assign(offence_group=raw["ho_code"].map(groups))
    if frame["offence_group"].isna().any():
        missing = frame.loc[frame["offence_group"].isna(), "ho_code"].iloc[0]
        raise DataContractError("cjs_offences.csv", f"ho_code {missing!r} is not in CrimeCatMappings.csv")
    return frame[["cjs_code", "description", "ho_code", "offence_group", "legislation"]]


def cjs_offences() -> pd.DataFrame:
    """CJS offence codes: ``cjs_code, description, ho_code, offence_group, legislation`` (illustrative)."""
    return _cjs_offences().copy()


@cache
def _pnd_offences() -> pd.DataFrame:
    raw = _read("pnd_offences.csv")
    codes = _offence_codes().set_index("ho_code")
    frame = raw.assign(
        offence_group=raw["ho_code"].map(codes["offence_group"]),
        police_uk_category=raw["ho_code"].map(codes["police_uk_category"]),
        notifiable=raw["notifiable"].eq("yes"),
    )
    if frame["offence_group"].isna().any():
        missing = frame.loc[frame["offence_group"].isna(), "ho_code"].iloc[0]
        raise DataContractError("pnd_offences.csv", f"ho_code {missing!r} is not in CrimeCatMappings.csv")
    cols = ["pnd_offence", "description", "ho_code", "offence_group", "police_uk_category"]
    return frame[[*cols, "legislation", "notifiable"]]


def pnd_offences() -> pd.DataFrame:
    """Penalty notice offences: ``pnd_offence, description, ho_code, offence_group, police_uk_category``.

    Extra columns: ``legislation`` and ``notifiable`` (False where the PND offence is not a notifiable
    offence and ``ho_code`` is the nearest notifiable code).
    """
    return _pnd_offences().copy()


def compatible_groups() -> frozenset[frozenset[str]]:
    """Pairs of offence groups a charge can move between (each pair a two-element frozenset)."""
    return frozenset(frozenset(pair) for pair in _COMPATIBLE_GROUPS)


def normalise_cjs_code(codes: pd.Series) -> pd.Series:
    """Upper-case, trim, and drop the optional A/B/C/I suffix (attempt, aid, conspire, incite)."""
    text = pd.Series(codes, dtype="string").str.strip().str.upper()
    return text.str.replace(r"^([A-Z]{2}\d{5})[ABCI]$", r"\1", regex=True)


def _other_to_ho(other: pd.Series, kind: str) -> pd.Series:
    if kind == "cjs":
        table = _cjs_offences().set_index("cjs_code")["ho_code"]
        return normalise_cjs_code(other).map(table)
    if kind == "pnd":
        table = _pnd_offences()
        keyed = pd.Series(table["ho_code"].to_numpy(), index=table["pnd_offence"].str.lower())
        text = pd.Series(other, dtype="string").str.strip().str.replace(r"\s+", " ", regex=True)
        return text.str.lower().map(keyed)
    raise LinkageError(f"kind must be 'cjs' or 'pnd', got {kind!r}")


@cache
def _alternative_keys() -> frozenset[str]:
    """``"a|b"`` keys of :data:`ALTERNATIVE_CHARGES`, both orders."""
    keys = set()
    for pair in ALTERNATIVE_CHARGES:
        a, b = sorted(pair)
        keys.update({f"{a}|{b}", f"{b}|{a}"})
    return frozenset(keys)


@cache
def _pair_codes() -> tuple[pd.Index, np.ndarray]:
    """Group index per group name and a boolean compatibility matrix between groups."""
    groups = pd.Index(sorted(_offence_codes()["offence_group"].unique()))
    matrix = np.zeros((len(groups), len(groups)), dtype=bool)
    for pair in compatible_groups():
        a, b = sorted(pair)
        i, j = groups.get_indexer([a, b])
        if i < 0 or j < 0:
            raise LinkageError(f"compatible group pair {sorted(pair)} names an unknown offence group")
        matrix[i, j] = matrix[j, i] = True
    return groups, matrix


def offence_relation(ho_codes: pd.Series, other_codes: pd.Series, kind: str = "cjs") -> np.ndarray:
    """How a crime's Home Office code relates to an outcome's CJS code or PND offence, element-wise.

    Returns int8: 0 same offence (the other code maps to that ho_code); 1 same offence group;
    2 compatible groups (:func:`compatible_groups`) or a listed alternative charge
    (:data:`ALTERNATIVE_CHARGES`); 3 incompatible; -1 either side missing or unknown.
    """
    ho = pd.Series(ho_codes, dtype="string").str.strip().reset_index(drop=True)
    other = pd.Series(other_codes, dtype="object").reset_index(drop=True)
    if len(ho) != len(other):
        raise LinkageError(f"ho_codes has {len(ho)} values but other_codes has {len(other)}")
    other_ho = _other_to_ho(other, kind).astype("string")
    codes = _offence_codes().set_index("ho_code")["offence_group"]
    group_a = ho.map(codes)
    group_b = other_ho.map(codes)
    groups, matrix = _pair_codes()
    ia = groups.get_indexer(group_a.fillna("\0"))
    ib = groups.get_indexer(group_b.fillna("\0"))
    known = (ia >= 0) & (ib >= 0)
    compatible = np.zeros(len(ho), dtype=bool)
    compatible[known] = matrix[ia[known], ib[known]]
    alternative = (ho.fillna("") + "|" + other_ho.fillna("")).isin(_alternative_keys()).to_numpy()
    out = np.full(len(ho), 3, dtype=np.int8)
    out[compatible | alternative] = 2
    out[known & (ia == ib)] = 1
    out[known & (ho.fillna("").to_numpy() == other_ho.fillna("").to_numpy())] = 0
    out[~known] = -1
    return out
