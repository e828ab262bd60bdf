"""Justice comparisons on hand-made pair-aligned frames; every expected level is worked out by hand
from the comparison's definition (and, for offences, from linkage/reference/data/cjs_offences.csv)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from linkage.errors import LinkageError
from linkage.justice.comparisons import (
    CrimeRefComparison,
    DirectionalDate,
    ForceComparison,
    OffenceCompatibility,
    PlaceDistance,
    PncComparison,
    _statute_families,
    statute_family_levels,
)


def _pairs(left: dict, right: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame(left), pd.DataFrame(right)


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("2019/0012345Z", "2019/0012345Z", 0),  # identical
        ("2019/12345z", " 2019/0012345Z ", 0),  # case, spaces, leading zeros
        ("19/0012345Z", "2019/12345Z", 1),  # same year, serial and check, short vs long form
        ("19/0012345Z", "19/0012346Z", 2),  # different serial
        ("2019/0012345Z", "2018/0012345Z", 2),  # different year
        ("2019/0012345Z", "1919/0012345Z", 2),  # both long forms: different century is a different ID
        ("2019/0012345Z", None, -1),
        ("", "2019/0012345Z", -1),
        ("not a pnc", "2019/0012345Z", -1),  # unparseable is missing, not disagreement
    ],
)
def test_pnc_levels(a, b, level):
    left, right = _pairs({"pnc_id": [a]}, {"pnc_id": [b]})
    assert PncComparison().levels(left, right).tolist() == [level]


def test_directional_date_levels():
    # typical 14, long 90, tolerance 3 (penalty notice style windows)
    comp = DirectionalDate("issue_date", "committed_date", typical_days=14, long_days=90, tolerance_days=3)
    offence = pd.to_datetime(["2020-01-10"] * 7 + [None])
    issued = pd.to_datetime(
        [
            "2020-01-10",  # lag 0 -> typical
            "2020-01-07",  # lag -3 -> within tolerance -> typical
            "2020-01-06",  # lag -4 -> before offence
            "2020-01-24",  # lag 14 -> typical (inclusive)
            "2020-01-25",  # lag 15 -> long window
            "2020-04-09",  # lag 90 -> long window (inclusive)
            "2020-04-10",  # lag 91 -> beyond
            "2020-01-10",  # offence missing
        ]
    )
    left, right = _pairs({"committed_date": offence}, {"issue_date": issued})
    assert comp.levels(left, right).tolist() == [0, 0, 2, 0, 1, 1, 3, -1]
    assert comp.lag_days(left, right)[:3].tolist() == [0.0, -3.0, -4.0]


def test_directional_date_rejects_bad_windows():
    with pytest.raises(LinkageError, match="long_days"):
        DirectionalDate("a", "b", typical_days=30, long_days=10)


def test_offence_compatibility_levels():
    # From cjs_offences.csv: OF61047 -> 8N, CJ88039 -> 105A (both Violence against the person),
    # PU86005 -> 9A (Public order; compatible with violence), TH68018 -> 34B (Robbery).
    left = pd.DataFrame({"offence_code": ["8N", "8N", "8N", "58D", "34B", "8N", None]})
    right = pd.DataFrame(
        {"offence_code_cjs": ["OF61047", "CJ88039", "PU86005", "OF61047", "TH68018", None, "OF61047"]}
    )
    comp = OffenceCompatibility("offence_code", "offence_code_cjs", kind="cjs")
    assert comp.levels(left, right).tolist() == [0, 1, 2, 5, 0, -1, -1]


def test_offence_compatibility_pnd():
    # pnd_offences.csv: "Retail theft under £100" -> 46 (Shoplifting, Theft offences)
    left = pd.DataFrame({"offence_code": ["46", "49", "58D"]})
    right = pd.DataFrame({"pnd_offence": ["Retail theft under £100"] * 3})
    comp = OffenceCompatibility("offence_code", "pnd_offence", kind="pnd")
    # 46 same offence; 49 Other theft is the same group; 58D criminal damage is incompatible.
    assert comp.levels(left, right).tolist() == [0, 1, 5]


def test_place_distance_levels():
    # Points in central London, EPSG:4326. 0.001 deg latitude is about 111 m; 0.01 about 1.1 km.
    base_lon, base_lat = -0.0900, 51.5150
    left = pd.DataFrame({"longitude": [base_lon] * 5, "latitude": [base_lat] * 5})
    right = pd.DataFrame(
        {
            "longitude": [base_lon, base_lon, base_lon, base_lon, np.nan],
            "latitude": [base_lat + 0.001, base_lat + 0.01, base_lat + 0.05, base_lat + 0.2, base_lat],
        }
    )
    comp = PlaceDistance(thresholds_m=(300, 1500, 8000))
    dist = comp.distance_m(left, right)
    assert dist[0] == pytest.approx(111, rel=0.02)
    assert comp.levels(left, right).tolist() == [0, 1, 2, 3, -1]


def test_place_distance_bad_points_are_missing_without_runtime_warnings():
    # Each left point is compared with a good right point (and the reverse): missing, text, infinite and
    # out-of-range coordinates (longitude beyond 180, latitude beyond 90) are all "missing" (-1), never
    # a distance; the pyproj projection of NaN is inf, and inf - inf was the hypot RuntimeWarning.
    bad = {
        "longitude": [np.nan, "x", np.inf, 200.0, -0.09, -0.09, None],
        "latitude": [51.515, 51.515, 51.515, 51.515, 95.0, -np.inf, 51.515],
    }
    good = {"longitude": [-0.09] * 7, "latitude": [51.515] * 7}
    comp = PlaceDistance()
    with warnings.catch_warnings(), np.errstate(all="warn"):
        warnings.simplefilter("error", RuntimeWarning)  # pytest -W error::RuntimeWarning semantics
        for left, right in ((bad, good), (good, bad)):
            assert comp.levels(pd.DataFrame(left), pd.DataFrame(right)).tolist() == [-1] * 7
            assert np.isnan(comp.distance_m(pd.DataFrame(left), pd.DataFrame(right))).all()
        # Good points still get a distance: 0.001 degree of latitude ~ 111 m.
        near = pd.DataFrame({"longitude": [-0.09], "latitude": [51.516]})
        assert comp.distance_m(pd.DataFrame(good).iloc[:1], near)[0] == pytest.approx(111, rel=0.02)


def test_force_comparison():
    left = pd.DataFrame(
        {"force": ["Cumbria Constabulary", "Cumbria Constabulary", "Cumbria Constabulary", None]}
    )
    right = pd.DataFrame(
        {"force": ["cumbria constabulary ", "Lancashire Constabulary", "Kent Police", "Kent Police"]}
    )
    assert ForceComparison().levels(left, right).tolist() == [0, 1, 1, -1]
    comp = ForceComparison(neighbours={"Cumbria Constabulary": ["Lancashire Constabulary"]})
    assert comp.levels(left, right).tolist() == [0, 1, 2, -1]


def test_crime_ref_levels():
    left = pd.DataFrame(
        {"crime_ref": ["CU/2020/001234", "CU2020001234", "CU2020001234", "CU2020001234", "X1", "A"]}
    )
    right = pd.DataFrame(
        {
            "crime_ref": [
                "cu-2020-001234",  # exact after normalising
                "CU2020002134",  # adjacent digits transposed (12 -> 21)
                "CU2020001299",  # two substitutions
                "CU2020987654",  # different
                "",  # absent
                None,
            ]
        }
    )
    assert CrimeRefComparison().levels(left, right).tolist() == [0, 1, 1, 2, -1, -1]


def test_pair_alignment_is_checked():
    with pytest.raises(LinkageError, match="pair-aligned"):
        PncComparison().levels(pd.DataFrame({"pnc_id": ["a"]}), pd.DataFrame({"pnc_id": ["a", "b"]}))


@pytest.mark.parametrize(
    "comparison",
    [
        PncComparison(),
        CrimeRefComparison(),
        ForceComparison(),
        PlaceDistance(),
        DirectionalDate("issue_date", "committed_date", typical_days=14, long_days=90),
        OffenceCompatibility("offence_code", "offence_code_cjs", kind="cjs"),
    ],
    ids=lambda c: c.name,
)
def test_positions_match_pair_aligned_frames(comparison):
    """levels_for_pairs (whole frames + positions, the engine's fast path) gives what levels gives on
    the same pairs laid out row by row."""
    left = pd.DataFrame(
        {
            "pnc_id": ["2019/0012345Z", "19/12345Z", None],
            "crime_ref": ["AB/1", "AB2", None],
            "force": ["Kent Police", "kent police", None],
            "longitude": [-0.09, -0.1, np.nan],
            "latitude": [51.51, 51.52, np.nan],
            "committed_date": pd.to_datetime(["2020-01-01", "2020-02-01", None]),
            "offence_code": ["8N", "46", None],
        }
    )
    right = pd.DataFrame(
        {
            "pnc_id": ["2019/12345Z", "2018/0000001A"],
            "crime_ref": ["ab1", "AB 2"],
            "force": ["Kent Police", "Essex Police"],
            "longitude": [-0.0901, -0.2],
            "latitude": [51.5101, 51.6],
            "issue_date": pd.to_datetime(["2020-01-03", "2019-12-01"]),
            "offence_code_cjs": ["OF61047", "TH68010"],
        }
    )
    lp = np.array([0, 0, 1, 1, 2, 2])
    rp = np.array([0, 1, 0, 1, 0, 1])
    fast = comparison.levels_for_pairs(left, right, lp, rp)
    slow = comparison.levels(left.iloc[lp].reset_index(drop=True), right.iloc[rp].reset_index(drop=True))
    assert fast.tolist() == slow.tolist()
    assert fast.dtype == np.int8


def test_court_geography():
    from linkage.justice.geography import court_area, lsoa_area

    courts = pd.Series(
        ["Southwark Magistrates' Court", "Lambeth Crown Court", "Inner London Crown Court", None]
    )
    assert court_area(courts).tolist()[:3] == ["southwark", "lambeth", "inner london"]
    # E01003992 is a Southwark LSOA in the bundled ONS 2021 boundaries (field LAD22NM); codes outside
    # the bundled London boundaries have no area (neutral).
    assert lsoa_area(pd.Series(["E01003992", "W01000001"])).tolist()[0] == "southwark"
    assert pd.isna(lsoa_area(pd.Series(["W01000001"])).iloc[0])


def test_offence_backs_off_to_statute_family_then_category():
    # TH68999 and OF61999 are not in the crosswalk; their families TH68 (Theft Act 1968) and OF61 are.
    # 34B robbery is a TH68 offence; 8N is an OF61 offence; 58D criminal damage is in neither family nor
    # in their police.uk categories. ZZ99 is an unknown family: missing, never evidence against.
    left = pd.DataFrame({"offence_code": ["34B", "58D", "8N", "34B"]})
    right = pd.DataFrame({"offence_code_cjs": ["TH68999", "TH68999", "OF61999", "ZZ99001"]})
    comp = OffenceCompatibility("offence_code", "offence_code_cjs", kind="cjs")
    assert comp.levels(left, right).tolist() == [3, 5, 3, -1]
    # a category-level agreement: an OF61 code against another 'Violence and sexual offences' HO code
    families = _statute_families()
    other_violence = next(
        h
        for h, c in families[2].items()
        if c == "Violence and sexual offences" and h not in families[0]["OF61"]
    )
    assert statute_family_levels(pd.Series([other_violence]), pd.Series(["OF61999"])).tolist() == [4]


def test_dob_levels_partial_credit():
    from linkage.justice.comparisons import dob_levels

    pairs = [
        (19850312, 19850312, 0),  # exact
        (19850312, 19851203, 1),  # day and month swapped
        (19850312, 19850317, 2),  # one digit of the day
        (20020517, 20720517, 2),  # tens digit of the year (2072 for 2002)
        (19850312, 19853012, 2),  # adjacent digits transposed
        (19890312, 19900312, 3),  # year off by one across a decade (two digits differ)
        (19850312, 20850312, 3),  # century slip
        (19850312, 19850101, 4),  # same year only
        (19850312, 19601120, 5),  # different
        (-1, 19850312, -1),  # missing
    ]
    a, b, want = (np.array(x) for x in zip(*pairs, strict=True))
    assert dob_levels(a, b).tolist() == want.tolist()


def test_dob_typo_level_matches_a_digit_by_digit_reference():
    # dob_levels only compares digits where |a - b| could come from a typo; check it against the plain
    # definition on near misses of every kind.
    from linkage.justice.comparisons import dob_levels

    def typo(x: int, y: int) -> bool:
        sx, sy = str(x), str(y)
        diff = [i for i in range(8) if sx[i] != sy[i]]
        swap = (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and sx[diff[0]] == sy[diff[1]]
            and sx[diff[1]] == sy[diff[0]]
        )
        return len(diff) == 1 or swap

    rng = np.random.default_rng(5)
    a = rng.integers(19000101, 20251231, 3000)
    b = a.copy()
    for i in range(len(a)):
        digits = list(str(a[i]))
        for _ in range(rng.integers(0, 3)):
            j = int(rng.integers(0, 8))
            if rng.random() < 0.5 and j < 7:
                digits[j], digits[j + 1] = digits[j + 1], digits[j]
            else:
                digits[j] = str(rng.integers(0, 10))
        b[i] = int("".join(digits)) if digits[0] != "0" else a[i]
    got = dob_levels(a, b)
    for x, y, level in zip(a.tolist(), b.tolist(), got.tolist(), strict=True):
        if x != y and level in (2, 3, 4, 5) and str(x)[4:] != str(y)[6:] + str(y)[4:6]:
            assert (level == 2) == typo(x, y), (x, y, level)
    assert (got == 2).sum() > 500 and (got >= 3).sum() > 500  # both outcomes exercised


def test_implausible_dob_is_not_evidence_against():
    from linkage.justice.comparisons import DobComparison, dob_digits, dob_plausible

    dob_l = pd.Series(["1990-01-01", "1990-01-01", "1990-01-01"])
    dob_r = pd.Series(["2030-06-01", "1970-06-01", "1985-13-02"])
    offence = pd.Series(pd.to_datetime(["2024-05-01"] * 3))
    left = pd.DataFrame({"dob_int": dob_digits(dob_l), "dob_ok": dob_plausible(dob_digits(dob_l), offence)})
    right = pd.DataFrame({"dob_int": dob_digits(dob_r), "dob_ok": dob_plausible(dob_digits(dob_r), offence)})
    assert right["dob_ok"].tolist() == [False, True, False]  # future; fine; not a calendar date
    # future DOB: missing (not different); plausible but different: different; month 13 compares by digits
    assert DobComparison().levels(left, right).tolist() == [-1, 5, -1]


def _dob_levels_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """dob_levels as first written (np.select over whole-array digit arithmetic): the reference the
    faster version must equal level for level."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    missing = (a <= 0) | (b <= 0)
    typo = np.zeros(len(a), dtype=bool)
    q = np.abs(a - b)
    for _ in range(8):
        q = np.where((q > 0) & (q % 10 == 0), q // 10, q)
    near = np.flatnonzero((q > 0) & ((q <= 9) | ((q % 9 == 0) & (q <= 81))))
    if len(near):
        powers = 10 ** np.arange(7, -1, -1, dtype=np.int64)
        da = (a[near, None] // powers) % 10
        db = (b[near, None] // powers) % 10
        diff = da != db
        n_diff = diff.sum(axis=1)
        swap_adj = np.zeros(len(near), dtype=bool)
        for k in range(7):
            swap_adj |= diff[:, k] & diff[:, k + 1] & (da[:, k] == db[:, k + 1]) & (da[:, k + 1] == db[:, k])
        typo[near] = (n_diff == 1) | (swap_adj & (n_diff == 2))
    ya, yb = a // 10000, b // 10000
    mda, mdb = a % 10000, b % 10000
    ma, mb, d_a, d_b = mda // 100, mdb // 100, mda % 100, mdb % 100
    dm_swap = (ya == yb) & (ma == d_b) & (d_a == mb) & (ma != d_a)
    year_slip = (mda == mdb) & np.isin(np.abs(ya - yb), (1, 100))
    out = np.select([a == b, dm_swap, typo, year_slip, ya == yb], [0, 1, 2, 3, 4], default=5).astype(np.int8)
    out[missing] = -1
    return out


def test_dob_levels_equal_the_reference_on_every_kind_of_pair():
    from linkage.justice.comparisons import dob_levels

    rng = np.random.default_rng(17)
    n = 200_000
    a = rng.integers(19000101, 20251231, n)
    kind = rng.integers(0, 8, n)
    b = rng.integers(19000101, 20251231, n)
    same_year = a // 10000 * 10000 + rng.integers(101, 1231, n)
    digit = a + rng.integers(-9, 10, n) * 10 ** rng.integers(0, 8, n)
    swap_dm = a // 10000 * 10000 + (a % 100) * 100 + (a % 10000) // 100
    slip = a + rng.choice([-1, 1, -100, 100], n) * 10000
    # a neighbour swap: |a - b| = 9 * (x - y) * 10^k
    k = rng.integers(0, 7, n)
    hi, lo = (a // 10 ** (k + 1)) % 10, (a // 10**k) % 10
    neighbour = a + (lo - hi) * 10 ** (k + 1) + (hi - lo) * 10**k
    odd = rng.choice([-5, 0, 1, 10**8, 5 * 10**8, 10**9, 99999999, 123456789], n)
    b = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4, kind == 5, kind == 6],
        [a, same_year, digit, swap_dm, slip, neighbour, odd],
        default=b,
    )
    a[rng.random(n) < 0.02] = rng.choice([-1, 0, 10**8, 2 * 10**9], 1)[0]
    got, want = dob_levels(a, b), _dob_levels_reference(a, b)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)
    assert set(np.unique(got).tolist()) == {-1, 0, 1, 2, 3, 4, 5}


def test_dob_comparison_compiled_chunks_equal_the_array_formula(monkeypatch):
    """DobComparison's compiled per-chunk pass (threads, many chunks) gives dob_levels on the gathered
    pairs with the implausible-date rule applied, and handles no pairs and missing values."""
    import linkage.engine.kernels as kernels
    import linkage.justice.comparisons as jc

    rng = np.random.default_rng(11)
    a = rng.integers(19400101, 20101231, 400)
    a[:20] = -1  # missing
    b = np.where(rng.random(400) < 0.5, a, rng.integers(19400101, 20101231, 400))
    left = pd.DataFrame({"dob_int": a, "dob_ok": rng.random(400) < 0.9})
    right = pd.DataFrame({"dob_int": b, "dob_ok": rng.random(400) < 0.9})
    lp = rng.integers(0, 400, 5000)
    rp = np.where(rng.random(5000) < 0.5, lp, rng.integers(0, 400, 5000))
    want = jc.dob_levels(a[lp], b[rp])
    want[(want >= 4) & ~(left["dob_ok"].to_numpy()[lp] & right["dob_ok"].to_numpy()[rp])] = -1
    monkeypatch.setattr(kernels, "THREADS", 2)
    monkeypatch.setattr(jc, "_DOB_CHUNK", 77)
    got = jc.DobComparison().levels_for_pairs(left, right, lp, rp)
    assert got.tolist() == want.tolist() and {-1, 0, 5} <= set(got.tolist())
    no_valid = jc.DobComparison(valid_column=None).levels_for_pairs(left, right, lp, rp)
    assert no_valid.tolist() == jc.dob_levels(a[lp], b[rp]).tolist()
    assert len(jc.DobComparison().levels_for_pairs(left, right, lp[:0], rp[:0])) == 0


def test_pnc_compiled_pass_equals_the_array_formula_on_threads(monkeypatch):
    """PncComparison's compiled per-chunk pass against its former whole-array formula, with missing and
    short/long forms, on many small chunks over two threads; no pairs gives no levels."""
    import linkage.engine.kernels as kernels
    from linkage.reference.identifiers import pnc_parts

    rng = np.random.default_rng(4)
    ids = [f"{y}/{s}{c}" for y in ("98", "1998", "05", "2005") for s in ("123456", "7") for c in "AZ"]
    left = pd.DataFrame({"pnc_id": rng.choice([*ids, None], 300)})
    right = pd.DataFrame({"pnc_id": rng.choice([*ids, None], 200)})
    lp, rp = rng.integers(0, 300, 4000), rng.integers(0, 200, 4000)
    a, b = pnc_parts(left["pnc_id"]), pnc_parts(right["pnc_id"])
    key = pd.factorize(pd.concat([a["key"], b["key"]], ignore_index=True), use_na_sentinel=True)[0]
    full = pd.factorize(pd.concat([a["full"], b["full"]], ignore_index=True), use_na_sentinel=True)[0]
    lg = np.concatenate([a["long"].to_numpy(bool), b["long"].to_numpy(bool)])
    ka, kb, fa, fb = key[:300][lp], key[300:][rp], full[:300][lp], full[300:][rp]
    la, lb = lg[:300][lp], lg[300:][rp]
    want = np.full(4000, 2, dtype=np.int8)
    want[(ka == kb) & (la != lb)] = 1
    want[fa == fb] = 0
    want[(ka < 0) | (kb < 0)] = -1
    monkeypatch.setattr(kernels, "THREADS", 2)
    monkeypatch.setattr(kernels, "RUN_CHUNK", 101)
    got = PncComparison().levels_for_pairs(left, right, lp, rp)
    assert got.tolist() == want.tolist() and set(got.tolist()) == {-1, 0, 1, 2}
    assert len(PncComparison().levels_for_pairs(left, right, lp[:0], rp[:0])) == 0
