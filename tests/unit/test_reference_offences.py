"""Offence crosswalks. Expected values derived by hand from data/reference/CrimeCatMappings.csv and the
shipped cjs_offences.csv / pnd_offences.csv rows named in each test."""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.reference import (
    CJS_CODE_PATTERN,
    CRIME_TYPES,
    cjs_offences,
    compatible_groups,
    offence_codes,
    offence_relation,
    pnd_offences,
)


def test_offence_codes_columns_and_categories():
    codes = offence_codes()
    assert list(codes.columns) == [
        "ho_code",
        "offence_group",
        "offence_subgroup",
        "description",
        "police_uk_category",
    ]
    assert len(codes) == 132  # 133 lines in CrimeCatMappings.csv minus the header
    assert set(codes["police_uk_category"]) <= set(CRIME_TYPES)
    row = codes.set_index("ho_code").loc["56B"]
    assert row["offence_group"] == "Criminal damage and arson"
    assert (
        row["police_uk_category"] == "Criminal damage and arson"
    )  # CSV spells it "Criminal Damage and Arson"
    assert codes.set_index("ho_code").loc["17A", "police_uk_category"] == "Violence and sexual offences"


def test_cjs_codes_cover_every_home_office_code():
    cjs = cjs_offences()
    assert list(cjs.columns[:4]) == ["cjs_code", "description", "ho_code", "offence_group"]
    assert cjs["cjs_code"].str.fullmatch(CJS_CODE_PATTERN).all()
    assert cjs["cjs_code"].is_unique
    assert set(offence_codes()["ho_code"]) <= set(cjs["ho_code"])
    by_code = cjs.set_index("cjs_code")
    # examples named in DOMAIN.md and the task brief
    assert by_code.loc["TH68010", "ho_code"] == "46"  # theft from a shop
    assert by_code.loc["OF61047", "ho_code"] == "8N"  # ABH
    assert by_code.loc["PU86004", "offence_group"] == "Public order offences"
    assert by_code.loc["CD71001", "offence_group"] == "Criminal damage and arson"
    assert by_code.loc["MD71101", "offence_group"] == "Drug offences"
    # common offences have several codes
    assert (cjs["ho_code"] == "8N").sum() >= 2
    assert (cjs["ho_code"] == "92A").sum() >= 2


def test_pnd_offences_real_list():
    pnd = pnd_offences().set_index("pnd_offence")
    assert pnd.loc["Retail theft under £100", "police_uk_category"] == "Shoplifting"
    assert pnd.loc["Possession of cannabis", "ho_code"] == "92E"
    assert pnd.loc["Causing harassment, alarm or distress", "offence_group"] == "Public order offences"
    assert not pnd.loc["Being drunk and disorderly", "notifiable"]
    assert pnd.index.is_unique


def test_compatible_groups_are_pairs_of_known_groups():
    groups = set(offence_codes()["offence_group"])
    pairs = compatible_groups()
    assert frozenset({"Robbery", "Theft offences"}) in pairs
    assert frozenset({"Violence against the person", "Public order offences"}) in pairs
    assert all(len(p) == 2 and p <= groups for p in pairs)


def test_offence_relation_cjs_hand_cases():
    ho = pd.Series(["46", "5D", "34B", "49", "46", "46", None, "46", "58D"])
    cjs = pd.Series(
        [
            "TH68010",  # theft from shop -> 46: same offence
            "OF61020",  # wounding with intent charged as s.20 wounding (8N): same group (VAP)
            "TH68001",  # robbery charged as theft (49): Robbery <-> Theft offences compatible
            "TH68022",  # theft -> handling (54, Miscellaneous crimes): listed alternative charge
            "PU86004",  # shoplifting vs s.4 public order: incompatible
            "XX99999",  # unknown code
            "TH68010",  # missing crime code
            "th68010a",  # case and attempt suffix tolerated
            "CD71002",  # criminal damage -> threat to damage (59): alternative charge
        ]
    )
    got = offence_relation(ho, cjs, "cjs")
    assert got.dtype == np.int8
    assert got.tolist() == [0, 1, 2, 2, 3, -1, -1, 0, 2]


def test_offence_relation_pnd():
    got = offence_relation(
        pd.Series(["46", "49", "92E", "8N"]),
        pd.Series(
            [
                "Retail theft under £100",
                "retail theft  under £100",
                "Possession of cannabis",
                "Possession of cannabis",
            ]
        ),
        "pnd",
    )
    # 46 same; 49 vs 46 both Theft offences; 92E same; assault vs drugs incompatible
    assert got.tolist() == [0, 1, 0, 3]


def test_offence_relation_rejects_bad_kind():
    import pytest

    from linkage.errors import LinkageError

    with pytest.raises(LinkageError, match="kind"):
        offence_relation(pd.Series(["46"]), pd.Series(["TH68010"]), "court")
    with pytest.raises(LinkageError, match="other_codes"):
        offence_relation(pd.Series(["46", "47"]), pd.Series(["TH68010"]), "cjs")
