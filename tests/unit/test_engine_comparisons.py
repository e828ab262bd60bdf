"""Comparison levels on hand-made pairs (each expected level worked out by hand from the level rules)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from linkage.engine import (
    DateComparison,
    DateWindow,
    ExactMatch,
    GeoDistance,
    LevenshteinLevels,
    NameComparison,
    NumericDistance,
    PersonNameComparison,
)
from linkage.errors import LinkageError

NAME = NameComparison("name")  # exact / JW>=0.92 / JW>=0.85 / metaphone / different
DOB = DateComparison("dob")  # exact / day-month swapped / one digit off / same year / different
NICK = {"bill": "william", "liz": "elizabeth", "beth": "elizabeth"}
PERSON = PersonNameComparison("fn", "sn", nicknames=NICK)

# (comparison, column(s), left value(s), right value(s), expected level, why)
CASES = [
    (ExactMatch("x"), ["x"], ["a"], ["a"], 0, "equal"),
    (ExactMatch("x"), ["x"], ["a"], ["b"], 1, "different"),
    (ExactMatch("x"), ["x"], [None], ["b"], -1, "missing left"),
    (NAME, ["name"], ["Smith "], ["smith"], 0, "casefold + trim makes them equal"),
    # JW(martha, marhta) = 0.9611 (the textbook example) >= 0.92
    (NAME, ["name"], ["martha"], ["marhta"], 1, "transposition, JW 0.961"),
    # JW(dixon, dicksonx) = 0.8133 (textbook) < 0.85; metaphone TKSN == TKSNKS? no -> different
    (NAME, ["name"], ["dixon"], ["dicksonx"], 4, "JW 0.813, metaphones TKSN/TKSNKS differ"),
    # JW(jones, johnson) = 0.8323 < 0.85; metaphone JNS vs JNSN differ -> different
    (NAME, ["name"], ["jones"], ["johnson"], 4, "JW 0.832"),
    # catherine/kathryn: window 3, matches a,t,h,r,n (m=5, t=0): Jaro (5/9 + 5/7 + 1)/3 = 0.757, no common
    # prefix so JW = 0.757 < 0.85; metaphone K0RN for both.
    (NAME, ["name"], ["catherine"], ["kathryn"], 3, "JW 0.757, same metaphone K0RN"),
    # JW(shackleford, shackelford) = 0.9818 (textbook)
    (NAME, ["name"], ["shackleford"], ["shackelford"], 1, "JW 0.982"),
    # michelle/michael: m=6 (m,i,c,h,e,l), t=0: Jaro (6/8 + 6/7 + 1)/3 = 0.869; prefix 4: +0.4*0.131 = 0.921
    (NAME, ["name"], ["michelle"], ["michael"], 1, "JW 0.921 >= 0.92"),
    # smith/smyth: m=4 (s,m,t,h), t=0: Jaro (4/5 + 4/5 + 1)/3 = 0.867; prefix 2: +0.2*0.133 = 0.893
    (NAME, ["name"], ["smith"], ["smyth"], 2, "JW 0.893 in [0.85, 0.92), before the metaphone level"),
    (NAME, ["name"], [""], ["smith"], -1, "empty is missing"),
    (DOB, ["dob"], ["1980-03-04"], ["1980-03-04"], 0, "exact"),
    (DOB, ["dob"], ["1980-03-04"], ["1980-04-03"], 1, "day and month swapped"),
    (DOB, ["dob"], ["1980-03-04"], ["1980-03-07"], 2, "one digit (day units) off"),
    (DOB, ["dob"], ["1980-03-04"], ["1990-03-04"], 2, "one digit (year tens) off"),
    (DOB, ["dob"], ["1980-03-04"], ["1980-11-21"], 3, "same year only"),
    (DOB, ["dob"], ["1980-03-04"], ["1981-04-03"], 4, "two digits off and not the same year"),
    (DOB, ["dob"], ["19801304"], ["19800304"], 2, "impossible month 13 still compared digit by digit"),
    (DOB, ["dob"], [None], ["1980-03-04"], -1, "missing"),
    (DOB, ["dob"], ["04/03/1980"], ["1980-03-04"], 0, "day-first text parsed: 4 March 1980"),
    (DOB, ["dob"], ["19800304"], ["1980-03-04"], 0, "yyyymmdd digits"),
    (DOB, ["dob"], ["1980-05-05"], ["1980-05-05"], 0, "day == month: exact, not swapped"),
    (PERSON, ["fn", "sn"], [("john", "smith")], [("john", "smith")], 0, "exact both"),
    (PERSON, ["fn", "sn"], [("john", "smith")], [("smith", "john")], 1, "swapped"),
    (PERSON, ["fn", "sn"], [("bill", "smith")], [("william", "smith")], 2, "nickname -> canonical"),
    (PERSON, ["fn", "sn"], [("liz", "smith")], [("beth", "smith")], 2, "two variants of one canonical name"),
    (PERSON, ["fn", "sn"], [("j", "smith")], [("john", "smith")], 3, "initial + surname"),
    # jon/john: window 1, m=3, t=0: Jaro (3/3 + 3/4 + 1)/3 = 0.917; prefix 2: 0.933.
    # smith/smithe: m=5, t=0: Jaro (5/5 + 5/6 + 1)/3 = 0.944; prefix 4: 0.967. Both >= 0.92.
    (PERSON, ["fn", "sn"], [("jon", "smith")], [("john", "smithe")], 4, "both JW >= 0.92"),
    # JW(jon, john) = 0.933 and JW(smith, smyth) = 0.893 (above): both >= 0.85, not both >= 0.92.
    (PERSON, ["fn", "sn"], [("jon", "smith")], [("john", "smyth")], 5, "both JW >= 0.85"),
    (PERSON, ["fn", "sn"], [("john", "smith")], [("mary", "jones")], 6, "different"),
    (PERSON, ["fn", "sn"], [(None, "smith")], [("john", "smith")], -1, "missing forename"),
    (LevenshteinLevels("id"), ["id"], ["1234567"], ["1234567"], 0, "exact"),
    (LevenshteinLevels("id"), ["id"], ["1234567"], ["1234568"], 1, "one substitution"),
    (LevenshteinLevels("id"), ["id"], ["1234567"], ["2134567"], 2, "transposition = 2 edits"),
    (LevenshteinLevels("id"), ["id"], ["1234567"], ["7654321"], 3, "far"),
    (NumericDistance("n", thresholds=(1, 5)), ["n"], [10], [10], 0, "equal"),
    (NumericDistance("n", thresholds=(1, 5)), ["n"], [10], [11], 1, "within 1"),
    (NumericDistance("n", thresholds=(1, 5)), ["n"], [10], [14.5], 2, "within 5"),
    (NumericDistance("n", thresholds=(1, 5)), ["n"], [10], [16], 3, "further"),
    (DateWindow("d", windows=(0, 7)), ["d"], ["2024-01-01"], ["2024-01-01"], 0, "same day"),
    (DateWindow("d", windows=(0, 7)), ["d"], ["2024-01-01"], ["2023-12-26"], 1, "6 days before"),
    (DateWindow("d", windows=(0, 7)), ["d"], ["2024-01-01"], ["2024-01-09"], 2, "8 days after"),
    (DateWindow("d", windows=(0, 7)), ["d"], [None], ["2024-01-09"], -1, "missing"),
]


def _frame(columns: list[str], values: list) -> pd.DataFrame:
    rows = [v if isinstance(v, tuple) else (v,) for v in values]
    return pd.DataFrame(rows, columns=columns)


@pytest.mark.parametrize(("comparison", "columns", "left", "right", "expected", "why"), CASES)
def test_level_on_hand_made_pair(comparison, columns, left, right, expected, why):
    got = comparison.levels(_frame(columns, left), _frame(columns, right))
    assert got.dtype == np.int8
    assert got.tolist() == [expected], why


def test_geo_distance_bng_three_four_five():
    # EPSG:27700 points 300 m east and 400 m north of each other are 500 m apart (3-4-5 triangle).
    geo = GeoDistance("e", "n", thresholds=(499.0, 501.0, 1000.0), crs="EPSG:27700")
    left = pd.DataFrame({"e": [530000.0, 530000.0, np.nan], "n": [180000.0, 180000.0, 180000.0]})
    right = pd.DataFrame({"e": [530300.0, 530000.0, 530000.0], "n": [180400.0, 180000.0, 180000.0]})
    assert geo.levels(left, right).tolist() == [1, 0, -1]


def test_geo_distance_infinite_or_missing_points_are_missing_without_warnings():
    # EPSG:27700 is used as given, so an infinite easting used to reach np.hypot (inf - inf: invalid).
    geo = GeoDistance("e", "n", thresholds=(499.0, 501.0), crs="EPSG:27700")
    left = pd.DataFrame(
        {"e": [np.inf, 530000.0, None, 530000.0], "n": [180000.0, -np.inf, 180000.0, 180000.0]}
    )
    right = pd.DataFrame(
        {"e": [np.inf, 530000.0, 530000.0, 530300.0], "n": [180000.0, 180000.0, 1.0, 180400.0]}
    )
    with warnings.catch_warnings(), np.errstate(all="warn"):
        warnings.simplefilter("error", RuntimeWarning)
        assert geo.levels(left, right).tolist() == [-1, -1, -1, 1]  # the last pair is 500 m apart (3-4-5)
        lonlat = GeoDistance("lon", "lat", thresholds=(100.0,))
        assert lonlat.levels(
            pd.DataFrame({"lon": [181.0, np.nan], "lat": [51.5, 51.5]}),
            pd.DataFrame({"lon": [-0.1, -0.1], "lat": [51.5, 51.5]}),
        ).tolist() == [-1, -1]


def test_geo_distance_lon_lat_is_transformed_to_metres():
    # EPSG:4326: 0.001 degree of latitude is about 111 m (1 degree ~ 111.2 km), at any longitude.
    geo = GeoDistance("lon", "lat", thresholds=(100.0, 120.0))
    left = pd.DataFrame({"lon": [-0.09, -3.0], "lat": [51.515, 54.6]})
    right = pd.DataFrame({"lon": [-0.09, -3.0], "lat": [51.516, 54.6]})
    assert geo.levels(left, right).tolist() == [1, 0]


def _brute_name_levels(a: list[str], b: list[str], thresholds=(0.92, 0.85)) -> np.ndarray:
    """Reference: JW for every pair (no signature pruning), then the level rules, without metaphone."""
    jw = process.cpdist(a, b, scorer=JaroWinkler.normalized_similarity)
    conds = [np.asarray(a) == np.asarray(b)] + [jw >= t for t in thresholds]
    return np.select(conds, [0, 1, 2], default=3)


@pytest.mark.parametrize(
    ("alphabet", "shortest", "longest", "n_vocab"),
    [("aeiorstnlm", 2, 9, 400), ("abcd", 2, 40, 400), ("aei", 4, 8, 30)],
)
def test_pruned_jaro_winkler_levels_equal_brute_force(alphabet, shortest, longest, n_vocab):
    # Random strings over a small alphabet give many near pairs, so the pruning bound is exercised;
    # long strings over 4 letters repeat characters far beyond the signature's two bits per bucket;
    # a 30-word vocabulary (at most 31 x 31 value combinations for 3,000 pairs) takes the table path.
    rng = np.random.default_rng(7)
    alphabet = np.array(list(alphabet))
    vocab = ["".join(rng.choice(alphabet, size=rng.integers(shortest, longest))) for _ in range(n_vocab)]
    left = pd.DataFrame({"s": rng.choice(vocab, size=3000)})
    right = pd.DataFrame({"s": rng.choice(vocab, size=3000)})
    got = NameComparison("s", phonetic=False).levels(left, right)
    want = _brute_name_levels(left["s"].tolist(), right["s"].tolist())
    assert (got == want).all()
    assert set(np.unique(got)) == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("alphabet", "longest", "n_vocab"), [("0123456789", 8, 300), ("01", 30, 300), ("0123456789", 6, 25)]
)
def test_pruned_levenshtein_levels_equal_brute_force(alphabet, longest, n_vocab):
    rng = np.random.default_rng(11)
    vocab = ["".join(rng.choice(list(alphabet), size=rng.integers(4, longest))) for _ in range(n_vocab)]
    left = pd.DataFrame({"s": rng.choice(np.array([*vocab, None], dtype=object), size=3000)})
    right = pd.DataFrame({"s": rng.choice(np.array([*vocab, None], dtype=object), size=3000)})
    got = LevenshteinLevels("s", thresholds=(1, 2, 3)).levels(left, right)
    a, b = left["s"].fillna("").tolist(), right["s"].fillna("").tolist()
    dist = process.cpdist(a, b, scorer=Levenshtein.distance)
    want = np.where(left["s"].isna() | right["s"].isna(), -1, np.minimum(dist.astype(int), 4))
    assert (got == want).all()


def test_levels_for_pairs_matches_levels_on_aligned_frames():
    left = pd.DataFrame({"name": ["anne", "john", None, "jon"]})
    right = pd.DataFrame({"name": ["ann", "jon", "mary"]})
    lpos = np.array([0, 1, 1, 2, 3, 3])
    rpos = np.array([0, 1, 2, 0, 1, 2])
    fast = NAME.levels_for_pairs(left, right, lpos, rpos)
    aligned = NAME.levels(left.iloc[lpos].reset_index(drop=True), right.iloc[rpos].reset_index(drop=True))
    assert fast.tolist() == aligned.tolist()


@pytest.mark.parametrize(
    "make",
    [
        lambda: NameComparison("x", jw_thresholds=(0.8, 0.9)),
        lambda: NameComparison("x", phonetic_algorithm="caverphone"),
        lambda: DateWindow("d", windows=(7, 3)),
        lambda: LevenshteinLevels("x", thresholds=(0, 1)),
        lambda: GeoDistance("x", "y", thresholds=()),
    ],
)
def test_bad_arguments_raise_linkage_error(make):
    with pytest.raises(LinkageError):
        make()


def test_person_name_levels_equal_brute_force():
    """Pruned PersonNameComparison against the level rules applied with JW computed for every pair."""
    rng = np.random.default_rng(3)
    fore = ["john", "jon", "j", "william", "bill", "will", "mary", "marie", "smith", None]
    sur = ["smith", "smyth", "smithe", "john", "jones", "mary", "brown", None]
    nick = {"bill": "william", "will": "william"}
    n = 4000
    left = pd.DataFrame(
        {"fn": rng.choice(np.array(fore, dtype=object), n), "sn": rng.choice(np.array(sur, dtype=object), n)}
    )
    right = pd.DataFrame(
        {"fn": rng.choice(np.array(fore, dtype=object), n), "sn": rng.choice(np.array(sur, dtype=object), n)}
    )
    got = PersonNameComparison("fn", "sn", nicknames=nick).levels(left, right)

    lf, ls, rf, rs = (left["fn"].tolist(), left["sn"].tolist(), right["fn"].tolist(), right["sn"].tolist())
    want = []
    for a, b, c, d in zip(lf, ls, rf, rs, strict=True):
        if a is None or b is None or c is None or d is None:
            want.append(-1)
            continue
        jf = JaroWinkler.normalized_similarity(a, c)
        js = JaroWinkler.normalized_similarity(b, d)
        if a == c and b == d:
            want.append(0)
        elif a == d and b == c:
            want.append(1)
        elif a != c and nick.get(a, a) == nick.get(c, c) and js >= 0.92:
            want.append(2)
        elif a[0] == c[0] and b == d:
            want.append(3)
        elif jf >= 0.92 and js >= 0.92:
            want.append(4)
        elif jf >= 0.85 and js >= 0.85:
            want.append(5)
        else:
            want.append(6)
    assert got.tolist() == want
    assert set(want) == {-1, 0, 1, 2, 3, 4, 5, 6}


def test_geo_distance_mixes_lon_lat_and_british_national_grid():
    # The BNG true origin is 49N 2W at E 400000, N -100000 (Ordnance Survey). Those are OSGB36 degrees;
    # WGS84 degrees differ by up to about 120 m (whether pyproj applies that datum shift depends on the
    # transformation grids installed), so the two points are within 250 m and 10 km away is not.
    geo = GeoDistance(
        "lon", "lat", thresholds=(250.0, 1000.0), right_x_col="e", right_y_col="n", right_crs="EPSG:27700"
    )
    left = pd.DataFrame({"lon": [-2.0, -2.0], "lat": [49.0, 49.0]})
    right = pd.DataFrame({"e": [400000.0, 410000.0], "n": [-100000.0, -100000.0]})
    assert geo.levels(left, right).tolist() == [0, 2]


def test_person_name_groups_surname_tokens_and_published_list():
    from linkage.reference.names import nickname_groups

    groups = nickname_groups()
    assert "william" in groups["bill"] and "william" in groups["will"]
    comp = PersonNameComparison("fn", "sn", nicknames=groups)
    left = pd.DataFrame(
        {
            "fn": ["bill", "ron", "mary", "mary", "anne"],
            "sn": ["smith", "hale", "smith-jones", "jones", "baker"],
        }
    )
    right = pd.DataFrame(
        {
            "fn": ["will", "ronald", "mary", "mary", "zoe"],
            "sn": ["smith", "hale", "jones", "jones-smith", "baker"],
        }
    )
    # bill ~ will (both in william's group); ron ~ ronald; hyphenated surnames agree token-wise (same
    # forename initial + surname -> level 3); unrelated forenames with the same surname: not a nickname.
    assert comp.levels(left, right).tolist()[:4] == [2, 2, 3, 3]
    assert comp.levels(left, right).tolist()[4] not in (0, 1, 2, 3)
