"""Linkage error in the estimates: multiple imputation of link sets, Rubin's rules, review correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.evaluation.linkage_error import (
    corrected_for_review,
    impute_link_sets,
    imputed_linked_outcomes,
    multiply_impute,
    rubin,
)


def _candidates(seed: int, n_crimes: int = 2000, n_records: int = 1000) -> tuple[pd.DataFrame, np.ndarray]:
    """One caution candidate per record, calibrated probabilities (the pair is a match with its
    probability); a share of true matches score mid-range, so linking at 0.9 gives recall near 0.9."""
    rng = np.random.default_rng(seed)
    mid = rng.random(n_records) < 0.13
    prob = np.where(mid, rng.uniform(0.3, 0.9, n_records), rng.uniform(0.97, 1.0, n_records))
    match = rng.random(n_records) < prob
    crime = rng.choice(n_crimes, n_records, replace=False)
    cand = pd.DataFrame(
        {
            "source": "cautions",
            "record_id": [f"C{i}" for i in range(n_records)],
            "force": "F",
            "crime_ref": [f"X{c}" for c in crime],
            "suspect_ref": "1",
            "left_pos": crime,
            "right_pos": np.arange(n_records),
            "match_probability": prob,
            "rule": "",
            "r_outcome_date": pd.Timestamp("2024-03-01"),
            "r_outcome_label": "Offender given a caution",
        }
    )
    return cand, match


def _rate(links: pd.DataFrame, n_crimes: int = 2000) -> tuple[float, float]:
    p = links["crime_ref"].nunique() / n_crimes
    return p, p * (1 - p) / n_crimes


def test_rubin_rules_by_hand():
    res = rubin(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, 0.5]))
    between, total = 1.0, 0.5 + (1 + 1 / 3) * 1.0
    assert res.estimate == 2.0 and res.between == between
    assert res.std_error == pytest.approx(np.sqrt(total))
    assert res.df == pytest.approx(2 / ((4 / 3) / total) ** 2)
    assert res.linkage_share == pytest.approx((4 / 3) / total)
    with pytest.raises(ValueError, match="at least two"):
        rubin(np.array([1.0]), np.array([1.0]))


def test_imputed_link_sets_respect_one_to_one_and_keep_rule_pairs():
    cand, _ = _candidates(1, n_records=300)
    extra = cand.iloc[:50].assign(left_pos=cand["left_pos"].iloc[50:100].to_numpy(), match_probability=0.99)
    both = pd.concat(
        [cand.assign(rule=np.where(np.arange(300) < 10, "rule:pnc", "")), extra], ignore_index=True
    )
    for links in impute_link_sets(both, 5, seed=2):
        assert not links["record_id"].duplicated().any()
        assert not links["crime_ref"].duplicated().any()
        assert {f"C{i}" for i in range(10)} <= set(links["record_id"])


def test_imputed_interval_covers_the_truth_when_recall_is_near_090():
    cand, match = _candidates(3)
    true_rate = len(np.unique(cand.loc[match, "crime_ref"])) / 2000
    as_linked = cand[cand["match_probability"] >= 0.9]
    recall = match[cand["match_probability"].to_numpy() >= 0.9].sum() / match.sum()
    assert 0.88 <= recall <= 0.94
    est, var = _rate(as_linked)
    lo, hi = est - 1.96 * np.sqrt(var), est + 1.96 * np.sqrt(var)
    assert not lo <= true_rate <= hi  # the as-linked interval misses: missed links hide outcomes
    mi = multiply_impute(cand, _rate, m=20, seed=4)
    assert mi.covers(true_rate)
    assert mi.ci_upper - mi.ci_lower > hi - lo
    assert 0 < mi.linkage_share < 1


def test_review_correction_divides_by_recall_over_precision():
    adj, se, lo, hi = corrected_for_review(
        0.09, 0.01, precision=1.0, precision_interval=(1.0, 1.0), recall=0.9, recall_interval=(0.88, 0.92)
    )
    assert adj == pytest.approx(0.1)
    assert se > 0.01 / 0.9 and lo < 0.1 < hi
    with pytest.raises(ValueError, match="precision and recall"):
        corrected_for_review(
            0.1, 0.01, precision=0, precision_interval=(0, 0), recall=1, recall_interval=(1, 1)
        )


def test_linked_shares_adjust_for_recall_and_say_how_much_is_linkage():
    """20,000 crimes, 10% with a true caution; the linkage finds 90% of them and adds no false links. The
    as-linked share (9%) misses the truth with its sampling-only interval; divided by the review's recall
    (0.90, interval 0.87-0.93) it is 10% again and its wider interval covers the truth."""
    from types import SimpleNamespace

    from linkage.evaluation.linkage_error import linked_shares

    rng = np.random.default_rng(11)
    n = 20_000
    crimes = pd.DataFrame({"force": "F", "crime_ref": [f"X{i}" for i in range(n)]})
    true_ids = rng.choice(n, 2_000, replace=False)
    truth = pd.DataFrame({"source": "cautions", "force": "F", "crime_ref": [f"X{i}" for i in true_ids]})
    links = truth.iloc[:1_800]  # recall 0.90, precision 1
    review = SimpleNamespace(
        precision=1.0, precision_interval=(0.99, 1.0), recall=0.90, recall_interval=(0.87, 0.93)
    )
    row = linked_shares(crimes, links, {"cautions": review}, truth=truth).iloc[0]
    assert row["true"] == pytest.approx(0.10) and row["as_linked"] == pytest.approx(0.09)
    assert not (row["as_linked_lower"] <= 0.10 <= row["as_linked_upper"])
    assert row["adjusted"] == pytest.approx(0.10, abs=1e-3)
    assert row["adjusted_lower"] <= 0.10 <= row["adjusted_upper"]
    assert row["adjusted_upper"] - row["adjusted_lower"] > row["as_linked_upper"] - row["as_linked_lower"]
    # By hand: sampling SE sqrt(.09 x .91 / 20000) / 0.9 = 0.00225; the review's recall SE 0.06 / 3.92 moves
    # the share by .09 / .81 x 0.0153 = 0.00170 (precision's term is 0.00026): linkage 37% of the variance.
    s2, r2, p2 = 0.002248**2, (0.09 / 0.81 * 0.06 / 3.92) ** 2, (0.1 * 0.01 / 3.92) ** 2
    assert row["linkage_share"] == pytest.approx((r2 + p2) / (s2 + r2 + p2), abs=0.01)
    assert row["width_ratio"] == pytest.approx(np.sqrt(s2 + r2 + p2) / 0.002022, abs=0.05)
    # A perfect, certain review changes nothing and adds no linkage variance.
    exact = SimpleNamespace(
        precision=1.0, precision_interval=(1.0, 1.0), recall=1.0, recall_interval=(1.0, 1.0)
    )
    same = linked_shares(crimes, links, {"cautions": exact}).iloc[0]
    assert same["adjusted"] == pytest.approx(same["as_linked"]) and same["linkage_share"] == pytest.approx(
        0.0
    )


# --- issue 16d: imputed shares and days to outcome ---------------------------------------------------------


def _dated(seed: int, n_crimes: int = 2000, n_records: int = 1000):
    """Candidates as :func:`_candidates`, each outcome dated: the crimes were recorded on 1 Jan 2024, a
    confident pair's outcome comes 20 days later and a mid-range pair's 60 days later (harder matches are
    slower cases), so the links kept at 0.9 miss slow outcomes and understate the mean days."""
    cand, match = _candidates(seed, n_crimes, n_records)
    start = pd.Timestamp("2024-01-01")
    days = np.where(cand["match_probability"] < 0.9, 60, 20)
    cand["r_outcome_date"] = start + pd.to_timedelta(days, unit="D")
    crimes = pd.DataFrame(
        {"force": "F", "crime_ref": [f"X{c}" for c in range(n_crimes)], "start_date": start}
    )
    links = cand[cand["match_probability"] >= 0.9].rename(columns={"r_outcome_date": "outcome_date"})
    return crimes, cand, links, match, days


def test_imputed_outcomes_equal_the_links_when_every_pair_is_certain():
    crimes, cand, _, _, _ = _dated(5, n_records=400)
    cand = cand.assign(match_probability=1.0)
    cand["r_outcome_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(400) % 7, unit="D")
    links = cand.rename(columns={"r_outcome_date": "outcome_date"})
    res = imputed_linked_outcomes(crimes, cand, links, m=5, seed=1).iloc[0]
    assert res["imputed_share"] == res["as_linked_share"] == 400 / 2000
    assert res["imputed_days"] == pytest.approx(res["as_linked_days"]) and res[
        "as_linked_days"
    ] == pytest.approx((np.arange(400) % 7).mean())
    assert res["share_linkage"] == 0.0 and res["days_linkage"] == 0.0  # no linkage uncertainty at all
    assert res["min_linked"] == 400


def test_imputed_days_cover_the_truth_where_the_links_understate_them():
    crimes, cand, links, match, days = _dated(3)
    true_share = len(np.unique(cand.loc[match, "crime_ref"])) / 2000
    true_days = days[match].mean()
    res = imputed_linked_outcomes(crimes, cand, links, m=20, seed=4).iloc[0]
    assert not res["as_linked_days_lower"] <= true_days <= res["as_linked_days_upper"]
    assert res["imputed_days_lower"] <= true_days <= res["imputed_days_upper"]
    assert res["imputed_share_lower"] <= true_share <= res["imputed_share_upper"]
    assert res["as_linked_share"] < res["imputed_share_lower"]  # the links alone miss outcomes
    assert 0 < res["days_linkage"] < 1 and 0 < res["share_linkage"] < 1
    again = imputed_linked_outcomes(crimes, cand, links, m=20, seed=4)
    assert again.equals(imputed_linked_outcomes(crimes, cand, links, m=20, seed=4))  # same seed, same answer


# --- issue 16g: the truth beside the imputed figures; the DiD of a linkage-only outcome -------------------


def _true_links_of(cand: pd.DataFrame, match: np.ndarray) -> pd.DataFrame:
    """The true links of :func:`_candidates`-style candidates, dated as :func:`true_links` dates them."""
    true = cand.loc[match, ["source", "record_id", "force", "crime_ref", "r_outcome_date"]]
    return true.rename(columns={"r_outcome_date": "outcome_date"}).reset_index(drop=True)


def test_imputed_outcomes_show_the_true_values_and_which_intervals_cover_them():
    crimes, cand, links, match, days = _dated(3)
    truth = _true_links_of(cand, match)
    res = imputed_linked_outcomes(crimes, cand, links, m=20, seed=4, truth=truth).iloc[0]
    assert res["true_share"] == len(np.unique(cand.loc[match, "crime_ref"])) / 2000
    assert res["true_days"] == pytest.approx(days[match].mean())
    # recall about 0.9: the as-linked intervals miss both, the imputed ones cover both
    assert not res["as_linked_days_covers"] and res["imputed_days_covers"]
    assert not res["as_linked_share_covers"] and res["imputed_share_covers"]
    assert res["as_linked_share_lower"] <= res["as_linked_share"] <= res["as_linked_share_upper"]
    # without a truth (real extracts) no truth column at all, not an empty one
    plain = imputed_linked_outcomes(crimes, cand, links, m=20, seed=4)
    assert not [c for c in plain.columns if "true" in c or "covers" in c]


def _did_world(seed: int):
    """40 LSOAs (20 trailblazer, 20 comparison), 12 months, go-live month 7, 10 crimes an LSOA-month. Each
    crime has a candidate caution with chance 0.3, dated 20 days after recording, with a calibrated match
    probability (the pair is a match with that chance). After go-live half the trailblazer's cautions
    score mid-range (0.3-0.9; a new form without the crime reference), elsewhere 3%: the links kept at 0.9
    miss the trailblazer's post-go-live cautions, so the as-linked DiD is biased down."""
    rng = np.random.default_rng(seed)
    lsoa = np.repeat(np.arange(40), 12 * 10)
    month = np.tile(np.repeat(np.arange(12), 10), 40)
    treated = (lsoa < 20).astype(int)
    n = len(lsoa)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(month * 30, unit="D")
    crimes = pd.DataFrame(
        {
            "force": "F",
            "crime_ref": [f"X{i}" for i in range(n)],
            "start_date": start,
            "month": pd.to_datetime(start).to_period("M").to_timestamp(),
            "treated": treated,
            "area": np.where(treated == 1, "T", "C"),
            "lsoa_code": [f"L{i:02d}" for i in lsoa],
        }
    )
    has = rng.random(n) < 0.3
    post_t = (treated == 1) & (month >= 6)
    mid = rng.random(n) < np.where(post_t, 0.5, 0.03)
    prob = np.where(mid, rng.uniform(0.3, 0.9, n), rng.uniform(0.97, 1.0, n))[has]
    idx = np.flatnonzero(has)
    cand = pd.DataFrame(
        {
            "source": "cautions",
            "record_id": [f"C{i}" for i in range(len(idx))],
            "force": "F",
            "crime_ref": crimes["crime_ref"].to_numpy()[idx],
            "suspect_ref": "1",
            "left_pos": idx,
            "right_pos": np.arange(len(idx)),
            "match_probability": prob,
            "rule": "",
            "r_outcome_date": crimes["start_date"].to_numpy()[idx] + np.timedelta64(20, "D"),
            "r_outcome_label": "Offender given a caution",
        }
    )
    match = rng.random(len(idx)) < prob
    links = cand[cand["match_probability"] >= 0.9].rename(columns={"r_outcome_date": "outcome_date"})
    return crimes, cand, links, _true_links_of(cand, match)


def test_imputed_did_covers_the_true_links_did_where_the_as_linked_one_misses():
    from linkage.evaluation.linkage_error import imputed_did

    crimes, cand, links, truth = _did_world(7)
    kw = {"go_live": pd.Timestamp("2024-07-01"), "period_end": pd.Timestamp("2025-06-30"), "m": 20, "seed": 3}
    row = imputed_did(crimes, cand, links, truth=truth, **kw).iloc[0]
    # the as-linked DiD is pulled well below the true-links one by the missed cautions (seeds 1-10 of this
    # world: as linked 0.06-0.09 below the truth, its interval missing it in all ten, the imputed covering)
    assert row["as_linked"] < row["true"] - 0.05
    assert not row["as_linked_covers"] and row["imputed_covers"]
    assert row["imputed_lower"] <= row["true"] <= row["imputed_upper"]
    assert 0 < row["linkage_share"] < 1 and row["width_ratio"] > 1
    plain = imputed_did(crimes, cand, links, **kw)
    assert plain.equals(imputed_did(crimes, cand, links, **kw))  # same seed, same answer
    assert not {"true", "as_linked_covers", "imputed_covers"} & set(plain.columns)
    # every pair certain: the imputed DiD is the as-linked one and none of its variance is linkage
    certain = cand.assign(match_probability=1.0)
    same = imputed_did(crimes, certain, certain.rename(columns={"r_outcome_date": "outcome_date"}), **kw)
    assert same["imputed"].iloc[0] == pytest.approx(same["as_linked"].iloc[0])
    assert same["linkage_share"].iloc[0] == pytest.approx(0.0, abs=1e-12)


def test_true_links_read_each_records_date_from_its_own_source_table():
    from linkage.evaluation.linkage_error import true_links

    truth = pd.DataFrame(
        {
            "source": ["cautions", "court_outcomes", "court_outcomes", "unknown_source"],
            "record_id": ["K1", "CASE9:1", "CASE9:2", "Z"],
            "force": "F",
            "crime_ref": ["A", "B", "C", "D"],
            "suspect_ref": "1",
        }
    )
    cautions = pd.DataFrame({"caution_id": ["K1"], "caution_date": ["2024-02-03"], "caution_type": ["?"]})
    courts = pd.DataFrame(
        {
            "case_id": ["CASE9"],
            "offence_seq": [1],
            "hearing_date": ["2024-05-06"],
            "verdict": ["?"],
            "disposal": ["?"],
        }
    )
    out = true_links(truth, {"cautions": cautions, "court_outcomes": courts}).set_index("record_id")
    assert list(out.index) == ["K1", "CASE9:1", "CASE9:2"]  # an unknown source is left out
    assert out.loc["K1", "outcome_date"] == pd.Timestamp("2024-02-03")
    assert out.loc["CASE9:1", "outcome_date"] == pd.Timestamp("2024-05-06")
    assert pd.isna(out.loc["CASE9:2", "outcome_date"])  # not in its table: kept, undated


def _section_tables(*, with_truth: bool):
    """The report's imputed and DiD linkage-error tables on the :func:`_did_world` world."""
    from linkage.evaluation import DisclosureSettings
    from linkage.reporting.document import Section
    from linkage.reporting.sections import add_linkage_did, add_linkage_imputed

    crimes, cand, links, true = _did_world(7)
    sec = Section("evaluation", "Trailblazer evaluation")
    settings = DisclosureSettings(threshold=10, rounding_base=5)
    use = true if with_truth else None
    add_linkage_imputed(sec, crimes, cand, links, settings, m=10, seed=1, truth=use)
    add_linkage_did(
        sec,
        crimes,
        cand,
        links,
        settings,
        go_live=pd.Timestamp("2024-07-01"),
        period_end=pd.Timestamp("2025-06-30"),
        m=10,
        seed=1,
        truth=use,
    )
    return sec, {t.name: t.frame for t in sec.tables}, true, crimes


def test_report_tables_show_the_truth_on_a_synthetic_world_only():
    """Issue 16g: with a world's true links the imputed-share and linkage DiD tables show the true value and
    whether each interval covers it; without them (real extracts) there is no truth column at all."""
    sec, tables, true, crimes = _section_tables(with_truth=True)
    imputed, did_table = (
        tables["evaluation_linkage_imputed"].iloc[0],
        tables["evaluation_linkage_did"].iloc[0],
    )
    true_share = true["crime_ref"].nunique() / 4800  # from counts rounded to base 5, published to 0.1 pp
    assert imputed["true share"] == pytest.approx(true_share, abs=0.0011)
    assert imputed["true mean days"] == 20.0  # every caution comes 20 days after recording
    assert imputed["imputed share covers truth"] and not imputed["as linked share covers truth"]
    assert did_table["imputed covers truth"] and not did_table["as linked covers truth"]
    lo, hi = did_table["imputed, 95% CI lower"], did_table["imputed, 95% CI upper"]
    assert lo <= did_table["true (pp, on the true links)"] <= hi
    assert not any(
        "crimes" in str(c) or c == "linked" for t in tables.values() for c in t.columns
    )  # no counts
    assert any("this is a synthetic world, so the table also shows" in p for p in sec.paragraphs)
    assert any("The report leads with the imputed DiD" in p for p in sec.paragraphs)

    sec, tables, _, _ = _section_tables(with_truth=False)
    assert {"evaluation_linkage_imputed", "evaluation_linkage_did"} <= set(tables)
    for frame in tables.values():
        assert not [c for c in frame.columns if "true" in str(c) or "covers" in str(c)]
    assert not any("this is a synthetic world, so the table also shows" in p for p in sec.paragraphs)


def test_report_true_links_only_with_a_truth_table():
    """The builder hands the sections true links only when the run has a truth table (a synthetic world, or
    one written out as extracts with its truth file): real extracts have none, so they get None and no
    truth column can appear. A world's records are dated from its own tables."""
    from types import SimpleNamespace

    from linkage.reporting.builder import _true_links

    truth = pd.DataFrame({"source": ["cautions"], "record_id": ["K1"], "force": ["F"], "crime_ref": ["A"]})
    cautions = pd.DataFrame({"caution_id": ["K1"], "caution_date": ["2024-02-03"], "caution_type": ["?"]})
    assert _true_links(SimpleNamespace(tables={"cautions": cautions}, world=None)) is None
    assert _true_links(SimpleNamespace(tables=None, world=None)) is None
    extracts = _true_links(SimpleNamespace(tables={"truth": truth, "cautions": cautions}, world=None))
    assert extracts["outcome_date"].iloc[0] == pd.Timestamp("2024-02-03")
    world = SimpleNamespace(cautions=cautions.assign(caution_date="2024-02-04"))
    out = _true_links(SimpleNamespace(tables={"truth": truth, "cautions": cautions}, world=world))
    assert list(out["record_id"]) == ["K1"] and out["outcome_date"].iloc[0] == pd.Timestamp("2024-02-04")
