"""Outcome and crime-type vocabulary. Expected values are written by hand from DOMAIN.md section 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.reference import (
    CAUTION_TYPES,
    CRIME_TYPES,
    DISPOSALS,
    LEGACY_CRIME_TYPES,
    LEGACY_OUTCOME_LABELS,
    OUTCOME_CATEGORIES,
    OUTCOME_RANK,
    OUTCOME_STAGE,
    PND_STATUSES,
    VERDICTS,
    canonical_crime_type,
    canonical_outcome,
    caution_outcome_label,
    court_outcome_label,
    crime_type_is_coarse,
    final_outcome,
    final_outcome_per_group,
    outcome_rank,
    pnd_outcome_label,
)


def test_vocabulary_sizes_match_domain_lists():
    # DOMAIN.md lists 14 crime types, 14 police-stage and 14 court-stage outcome strings.
    assert len(CRIME_TYPES) == 14
    assert len(OUTCOME_CATEGORIES) == 28
    assert sum(v == "police" for v in OUTCOME_STAGE.values()) == 14
    assert sum(v == "court" for v in OUTCOME_STAGE.values()) == 14
    assert set(OUTCOME_RANK) == set(OUTCOME_CATEGORIES)


def test_every_legacy_value_maps_into_the_current_vocabulary():
    assert set(LEGACY_CRIME_TYPES.values()) <= set(CRIME_TYPES)
    assert set(LEGACY_OUTCOME_LABELS.values()) <= set(OUTCOME_CATEGORIES)
    # the 2011 six and the eleven of Sep 2011 - Apr 2013: 6 + 5 additions
    assert len(LEGACY_CRIME_TYPES) == 11


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Violent crime", "Violence and sexual offences"),
        ("Violence and Sexual Offences", "Violence and sexual offences"),
        ("  other   THEFT ", "Other theft"),
        ("Public disorder and weapons", "Public order"),
        ("Anti-social behaviour", "Anti-social behaviour"),
        ("Criminal Damage and Arson", "Criminal damage and arson"),
        ("Fraud", None),
        ("", None),
    ],
)
def test_canonical_crime_type(raw, expected):
    out = canonical_crime_type(pd.Series([raw]))
    assert (pd.isna(out[0]) and expected is None) or out[0] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Offender imprisoned", "Offender sent to prison"),
        ("offender given community penalty", "Offender given community sentence"),
        ("Suspect found not guilty", "Defendant found not guilty"),
        ("Suspect sent to Crown Court", "Defendant sent to Crown Court"),
        ("Investigation complete; no suspect identified", "Investigation complete; no suspect identified"),
        ("Status update   unavailable", "Status update unavailable"),
        ("Offender shot", None),
        (None, None),
    ],
)
def test_canonical_outcome(raw, expected):
    out = canonical_outcome(pd.Series([raw], dtype="object"))
    assert (pd.isna(out[0]) and expected is None) or out[0] == expected


def test_coarse_flag_depends_on_category_and_month():
    original = pd.Series(
        ["Public disorder and weapons", "Other theft", "Other theft", "Other crime", "Other crime"]
    )
    month = pd.Series(pd.to_datetime(["2012-06-01", "2013-04-01", "2013-05-01", "2011-08-01", "2011-09-01"]))
    assert crime_type_is_coarse(original, month).tolist() == [True, True, False, True, False]


def test_final_outcome_uses_hierarchy_not_row_order():
    # court disposal beats awaiting court beats charged beats police outcomes beats under investigation
    labels = ["Offender fined", "Awaiting court outcome", "Suspect charged", "Under investigation"]
    assert final_outcome(labels) == "Offender fined"
    assert final_outcome(["Suspect charged", "Awaiting court outcome"]) == "Awaiting court outcome"
    assert (
        final_outcome(["Under investigation", "Unable to prosecute suspect"]) == "Unable to prosecute suspect"
    )
    assert final_outcome(["Unable to prosecute suspect", "Suspect charged"]) == "Suspect charged"
    # legacy label translated; ties go to the later label
    assert final_outcome(["Suspect charged", "Offender imprisoned"]) == "Offender sent to prison"
    assert final_outcome(["Offender given a caution", "Local resolution"]) == "Local resolution"
    assert final_outcome(["", None, "nonsense"]) is None
    assert final_outcome([]) is None


def test_outcome_rank_orders_stages():
    ranks = outcome_rank(
        pd.Series(["Under investigation", "Suspect charged", "Awaiting court outcome", "Offender fined"])
    )
    assert ranks.tolist() == sorted(ranks.tolist())
    assert ranks.is_unique


def test_court_outcome_label_every_verdict_and_disposal():
    expected_by_disposal = {
        "immediate custody": "Offender sent to prison",
        "suspended sentence": "Offender given suspended prison sentence",
        "community order": "Offender given community sentence",
        "fine": "Offender fined",
        "conditional discharge": "Offender given conditional discharge",
        "absolute discharge": "Offender given absolute discharge",
        "compensation": "Offender ordered to pay compensation",
        "otherwise dealt with": "Offender otherwise dealt with",
    }
    assert set(expected_by_disposal) == set(DISPOSALS)
    disposals = pd.Series(list(expected_by_disposal))
    for verdict in ("guilty", "guilty plea"):
        out = court_outcome_label(pd.Series([verdict] * len(disposals)), disposals)
        assert out.tolist() == list(expected_by_disposal.values())
    non_conviction = pd.Series(["not guilty", "dismissed", "withdrawn", "sent to Crown Court"])
    assert set(non_conviction) | {"guilty", "guilty plea"} == set(VERDICTS)
    out = court_outcome_label(non_conviction, pd.Series([None, "", None, None], dtype="object"))
    assert out.tolist() == [
        "Defendant found not guilty",
        "Defendant found not guilty",
        "Court case unable to proceed",
        "Defendant sent to Crown Court",
    ]
    # conviction without disposal and unknown verdict are NA
    assert court_outcome_label(pd.Series(["guilty", "acquitted"]), pd.Series([None, "fine"])).isna().all()


def test_caution_and_pnd_labels():
    assert caution_outcome_label(pd.Series(CAUTION_TYPES)).eq("Offender given a caution").all()
    assert pnd_outcome_label(pd.Series(PND_STATUSES)).eq("Offender given penalty notice").all()
    assert caution_outcome_label(pd.Series(["reprimand"])).isna().all()


def test_final_outcome_per_group_by_hand():
    """Review finding: justice re-implemented the hierarchy; one vectorised rule now serves every caller.
    Crime A: charged (rank of 'Suspect charged') vs caution on the same date -> by hand from OUTCOME_RANK;
    crime B: two equal-rank labels, the later date wins even though it comes first in the frame;
    crime C: only blank/unknown labels -> no row (a row, the last, with keep_unknown)."""
    frame = pd.DataFrame(
        {
            "force": ["F", "F", "F", "F", "F", "F"],
            "crime": ["A", "A", "B", "B", "C", "C"],
            "label": [
                "Suspect charged",
                "Offender given a caution",
                "Offender fined",
                "Offender fined",
                "",
                "nonsense",
            ],
            "date": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-03-01", "2024-02-01", None, None]),
            "rid": ["a1", "a2", "b1", "b2", "c1", "c2"],
        }
    )
    picked = final_outcome_per_group(frame, ["force", "crime"], "label", ["date", "rid"])
    a_best = max(["Suspect charged", "Offender given a caution"], key=OUTCOME_RANK.__getitem__)
    assert picked["crime"].tolist() == ["A", "B"]
    assert picked["label"].tolist() == [a_best, "Offender fined"]
    assert picked["rid"].tolist()[1] == "b1"  # 2024-03-01 is later than b2's 2024-02-01
    assert picked.index.tolist()[1] == 2  # original index kept
    kept = final_outcome_per_group(frame, "crime", "label", keep_unknown=True)
    assert kept["rid"].tolist() == [frame.loc[frame["label"] == a_best, "rid"].iloc[0], "b2", "c2"]


def test_final_outcome_per_group_matches_scalar_rule():
    """The scalar final_outcome (one crime) and the vectorised rule agree crime by crime on random labels
    from the vocabulary, a legacy label and blanks (ties go to the later row)."""
    rng = np.random.default_rng(11)
    vocab = [*OUTCOME_CATEGORIES, "Offender given community sentence", None, ""]
    frame = pd.DataFrame(
        {"crime": rng.integers(0, 80, size=500), "label": rng.choice(np.array(vocab, dtype=object), 500)}
    )
    picked = final_outcome_per_group(frame, "crime", "label").set_index("crime")["label"]
    for crime, rows in frame.groupby("crime", sort=True):
        labels = rows["label"].tolist()
        # Independent scalar rule written here: highest OUTCOME_RANK, last among ties.
        canon = canonical_outcome(pd.Series(labels, dtype="object"))
        ranks = canon.map(OUTCOME_RANK)
        expected = None if ranks.isna().all() else canon[ranks == ranks.max()].iloc[-1]
        got = canonical_outcome(pd.Series([picked.get(crime)], dtype="object")).iloc[0]
        assert pd.isna(got) if expected is None else got == expected, (crime, labels)
        assert final_outcome(labels) == expected


def test_crime_type_is_coarse_all_missing():
    # found by hypothesis through the police.uk loader: a file whose every crime type is blank
    out = crime_type_is_coarse(pd.Series([None, None], dtype=object), pd.Series(["2012-01", "2024-02"]))
    assert out.tolist() == [False, False]
