"""PNC IDs: the single parser in linkage.reference.identifiers, used by synth and justice alike.

Check letters by hand: ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"; 2024/0000001 -> 24*10^7 + 1 = 240000001,
240000001 % 23 = 15 -> 'Q'; 19/0000123 -> 190000123 % 23 = 21 -> 'X'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import linkage.justice as justice
import linkage.synth as synth
from linkage.reference import format_pnc, pnc_check_letter, pnc_is_valid, pnc_parts


def test_check_letters_by_hand():
    assert list(pnc_check_letter(np.array([2024, 19]), np.array([1, 123]))) == ["Q", "X"]


def test_parts_ignore_case_spaces_and_leading_zeros():
    parts = pnc_parts(pd.Series([" 2019/123x ", "19/0000123X", "2019/0000123X", None, "x", ""]))
    assert parts["key"].tolist()[:3] == ["19/0000123X"] * 3
    assert parts["full"].tolist()[:3] == ["2019/0000123X", "19/0000123X", "2019/0000123X"]
    assert parts["long"].tolist() == [True, False, True, False, False, False]
    assert parts["yy"].tolist()[:3] == [19, 19, 19] and parts["serial"].tolist()[:3] == [123] * 3
    assert parts["key"].iloc[3:].isna().all() and parts["serial"].iloc[3:].isna().all()


@pytest.mark.parametrize(
    ("pnc", "valid"),
    [
        ("2024/0000001Q", True),  # by hand above
        ("24/0000001Q", True),  # short form, same check letter
        ("2024/1q", True),  # leading zeros, case: same ID as above once parsed
        (" 19/123 X", True),
        ("2024/0000001R", False),  # wrong check letter
        ("2024/00000001Q", False),  # eight-digit serial
        ("x", False),
        (None, False),
    ],
)
def test_validity_follows_the_parser(pnc, valid):
    assert pnc_is_valid(pd.Series([pnc])).tolist() == [valid]


def test_format_round_trips_through_the_parser():
    years, serials = np.array([2024, 1999, 2007]), np.array([1, 1234567, 42])
    ids = pd.Series(format_pnc(years, serials, np.array([False, True, False])))
    assert ids.tolist()[:2] == ["2024/0000001Q", "99/1234567B"]  # 'B' from tests/unit/test_synth_parts.py
    assert pnc_is_valid(ids).all()
    assert pnc_parts(ids)["serial"].tolist() == serials.tolist()


def test_one_parser_for_synth_and_justice():
    """Review finding: PNC parsing lived in three places (justice normalise_pnc and pnc_parts, and a
    separate regex in synth pnc_is_valid) that disagreed on case, spaces and short serials."""
    assert synth.pnc_is_valid is pnc_is_valid
    assert synth.format_pnc is format_pnc and synth.pnc_check_letter is pnc_check_letter
    assert justice.pnc_parts is pnc_parts
    assert not hasattr(justice, "normalise_pnc")


def test_digits_of_other_scripts_are_not_a_pnc_id():
    # found by hypothesis: Arabic-Indic digits matched \d, parsed to a key but no number (a NaN cast)
    parts = pnc_parts(pd.Series(["٢٤/١٢٣A", "24/0123456A"]))
    assert parts["key"].isna().tolist() == [True, False]
    assert pnc_is_valid(pd.Series(["٢٤/١٢٣A"])).tolist() == [False]
