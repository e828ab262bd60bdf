"""Clerical review workflow: sampling, reading labels back, and the stratified estimates."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from linkage.errors import DataContractError, LinkageError
from linkage.quality import (
    allocate,
    assign_strata,
    draw_review_sample,
    estimate_from_review,
    read_review,
    write_review_sample,
)


def _candidates() -> pd.DataFrame:
    """60 pairs: weights -12..17.5 in steps of 0.5; linked when weight >= 5; true match when weight >= 3
    (so 10 unlinked true matches with weight 3..4.5 lower recall) except at weights 5 and 6 (false links)."""
    w = np.arange(-12.0, 18.0, 0.5)
    truth = (w >= 3) & ~np.isin(w, [5.0, 6.0])
    return pd.DataFrame(
        {
            "source": "cautions",
            "record_id": [f"c{i}" for i in range(len(w))],
            "force": "Testshire Police",
            "crime_ref": [f"R{i}" for i in range(len(w))],
            "suspect_ref": "1",
            "match_weight": w,
            "match_probability": 1 / (1 + 2.0**-w),
            "linked": w >= 5,
            "l_surname": "Smith",
            "r_surname": np.where(truth, "Smith", "Jones"),
            "is_match": truth,
        }
    )


def _label(sample: pd.DataFrame, cand: pd.DataFrame) -> pd.DataFrame:
    truth = cand.set_index("record_id")["is_match"]
    return sample.assign(reviewer_label=np.where(sample["record_id"].map(truth), "Y", "N"))


def test_strata_bands():
    st = assign_strata(
        pd.DataFrame({"match_weight": [-20.0, 0.0, 7.0], "linked": [False, False, True]}), [-5, 0, 5]
    )
    assert st["stratum"].tolist() == ["unlinked [-inf, -5.0)", "unlinked [0.0, 5.0)", "linked [5.0, inf)"]


def test_sample_is_deterministic_and_side_by_side(tmp_path):
    cand = _candidates()
    a = draw_review_sample(cand, 12, seed=3)
    b = draw_review_sample(cand, 12, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 12
    assert {"crime_surname", "outcome_surname", "reviewer_label", "sampling_fraction"} <= set(a.columns)
    assert (a["reviewer_label"] == "").all()
    # Every stratum that holds pairs is sampled (12 draws), except unlinked pairs below weight -10
    # (the default exclude_below): weights -12..-10.5 here, 4 pairs, assumed non-matches.
    assert a["stratum"].nunique() == assign_strata(cand)["stratum"].nunique() - 1
    assert (a["match_weight"] >= -10).all()
    path = write_review_sample(a, tmp_path / "review.csv")
    with pytest.raises(DataContractError, match="line 2"):
        read_review(path)  # unlabelled


def test_full_census_estimates_equal_truth(tmp_path):
    cand = _candidates()
    sample = _label(draw_review_sample(cand, len(cand), seed=0, exclude_below=None), cand)
    path = write_review_sample(sample, tmp_path / "review.csv")
    review = read_review(path)
    est = estimate_from_review(review, cand)
    # By hand: linked pairs weight 5..17.5 -> 26 pairs, of which 2 false -> precision 24/26.
    # True matches: weights 3..17.5 (30 values) minus 2 -> 28; linked true 24 -> recall 24/28.
    assert est.precision == pytest.approx(24 / 26)
    assert est.recall == pytest.approx(24 / 28)
    assert est.precision_interval[0] <= est.precision <= est.precision_interval[1]
    assert est.n_reviewed == len(cand)
    assert est.precision_interval == pytest.approx((24 / 26, 24 / 26))  # a census has no sampling error


def test_excluded_pairs_count_as_non_matches():
    cand = _candidates()
    sample = _label(draw_review_sample(cand, len(cand), seed=0), cand)
    assert len(sample) == len(cand) - 4  # weights -12, -11.5, -11, -10.5 not sampled
    est = estimate_from_review(sample, cand)
    # They are non-matches in truth too, so the census of the rest gives the same figures as above.
    assert est.precision == pytest.approx(24 / 26)
    assert est.recall == pytest.approx(24 / 28)
    assert "unlinked below -10 (assumed non-matches)" in set(est.strata["stratum"])


def test_subsample_estimate_reweights_strata():
    cand = _candidates()
    sample = _label(draw_review_sample(cand, 24, seed=1), cand)
    est = estimate_from_review(sample, cand)
    # Each stratum's rate times its size: strata sizes are unequal, so the unweighted share differs.
    table = est.strata.set_index("stratum")
    assert table["N"].sum() == len(cand)
    assert table["n"].sum() == 24
    assert 0.0 <= est.recall_interval[0] <= est.recall <= est.recall_interval[1] <= 1.0


def test_read_review_names_bad_rows(tmp_path):
    cand = _candidates()
    sample = _label(draw_review_sample(cand, 5, seed=0), cand)
    sample.loc[3, "reviewer_label"] = "maybe"
    sample.loc[1, "reviewer_label"] = " y "  # accepted: case and spaces ignored
    path = write_review_sample(sample, tmp_path / "r.csv")
    with pytest.raises(DataContractError, match=r"line 5 \('maybe'\)") as err:
        read_review(path)
    assert err.value.row == 5


def test_bad_n():
    with pytest.raises(LinkageError, match="n must be"):
        draw_review_sample(_candidates(), 0)


def test_all_y_review_of_confident_links_still_has_an_interval():
    """Review finding: with match probabilities ~0.999 the old model-centred prior gave a zero-width
    precision interval from an all-Y review. 980 links, one stratum, 300 reviewed, all Y.

    By hand: the stratum is pure, so the design variance is 0 and the effective sample size is
    300 / (1 - 300/980) = 432.35; Clopper-Pearson for 432.35 successes in 432.35 has lower bound
    0.025 ** (1 / 432.35) = exp(-3.6889 / 432.35) = 0.99150, upper bound 1.
    """
    n = 980
    cand = pd.DataFrame(
        {
            "source": "cautions",
            "record_id": [f"c{i}" for i in range(n)],
            "force": "Testshire Police",
            "crime_ref": [f"R{i}" for i in range(n)],
            "suspect_ref": "1",
            "match_weight": 15.0,
            "match_probability": 0.999,
            "linked": True,
        }
    )
    sample = draw_review_sample(cand, 300, seed=0).assign(reviewer_label="Y")
    est = estimate_from_review(sample, cand)
    assert est.precision == 1.0
    assert est.effective_n[0] == pytest.approx(300 / (1 - 300 / 980))
    assert est.precision_interval == pytest.approx((0.025 ** (1 / 432.3529), 1.0), abs=1e-5)


def test_allocation_is_proportional_with_a_minimum():
    # By hand: sizes 100, 50, 7, 3, 0 and n = 40, minimum 5: first min(size, 5) = 5, 5, 5, 3, 0 (18).
    # The other 22 go by size among strata with room (100, 50, 7): 22 x (100, 50, 7) / 157 = 14.01, 7.01,
    # 0.98 -> floors 14, 7, 0 (21) and the largest remainder (0.98) takes the last: 19, 12, 6, 3, 0.
    assert allocate([100, 50, 7, 3, 0], 40, 5).tolist() == [19, 12, 6, 3, 0]
    assert allocate([100, 50, 7, 3, 0], 500, 5).tolist() == [100, 50, 7, 3, 0]  # capped at the sizes
    # Too few pairs for every stratum's minimum: the minimum drops to n // strata = 6 // 4 = 1, then the
    # other 2 go by size (100, 50 -> 1.33, 0.67 -> 1, 0 and the largest remainder 0.67): 2, 2, 1, 1.
    assert allocate([100, 50, 7, 3], 6, 5).tolist() == [2, 2, 1, 1]


def test_sample_follows_the_allocation():
    cand = _candidates()
    sample = draw_review_sample(cand, 30, seed=2)
    sizes = sample.groupby("stratum")["stratum_size"].first()
    taken = sample.groupby("stratum").size()
    expected = allocate(sizes.to_numpy(), 30, 5)
    assert taken.reindex(sizes.index).tolist() == expected.tolist()
    np.testing.assert_allclose(
        sample["sampling_fraction"], sample["stratum_sampled"] / sample["stratum_size"]
    )


def _tiny_population() -> pd.DataFrame:
    """10 pairs in three strata: linked at weight 25 (labels Y Y Y N), linked at weight 7 (Y N N), unlinked
    at weight -3 (Y N N). True precision 4/7 (4 of 7 links right), true matches 5, true recall 4/5."""
    weights = [25.0] * 4 + [7.0] * 3 + [-3.0] * 3
    truth = [True, True, True, False, True, False, False, True, False, False]
    return pd.DataFrame(
        {
            "source": "cautions",
            "record_id": [f"c{i}" for i in range(10)],
            "force": "Testshire Police",
            "crime_ref": [f"R{i}" for i in range(10)],
            "suspect_ref": "1",
            "match_weight": weights,
            "linked": [w > 0 for w in weights],
            "is_match": truth,
        }
    )


def test_estimates_are_unbiased_under_the_design():
    """Every possible sample of 2 of the 4, 1 of the 3 and 1 of the 3 (6 x 3 x 3 = 54, equally likely
    under stratified simple random sampling): the average precision estimate is the true 4/7 and the
    average estimated number of matches the true 5 (Horvitz-Thompson is unbiased). One sample by hand:
    (Y, N) from the first stratum and Y from the second estimate 4 x 1/2 + 3 x 1 = 5 matches among the 7
    links, precision 5/7."""
    cand = _tiny_population()
    census = _label(draw_review_sample(cand, 10, seed=0, exclude_below=None), cand)
    by_band = [census.index[census["match_weight"] == w] for w in (25.0, 7.0, -3.0)]
    precisions, totals = [], []
    for a in itertools.combinations(by_band[0], 2):
        for b in by_band[1]:
            for c in by_band[2]:
                est = estimate_from_review(census.loc[[*a, b, c]], cand)
                precisions.append(est.precision)
                totals.append(est.strata["est_matches"].sum())
    assert len(precisions) == 54
    assert np.mean(precisions) == pytest.approx(4 / 7, abs=1e-12)
    assert np.mean(totals) == pytest.approx(5.0, abs=1e-12)
    one = census.loc[[by_band[0][0], by_band[0][3], by_band[1][0], by_band[2][1]]]  # Y, N | Y | N
    assert estimate_from_review(one, cand).precision == pytest.approx(5 / 7)


@pytest.fixture(scope="module")
def small_linked():
    """The 'small' synthetic world (seed 1) linked, candidates marked correct from its truth (~3 s)."""
    from linkage.justice import link_outcomes
    from linkage.quality import mark_correct
    from linkage.synth import generate, preset

    world = generate(preset("small"), seed=1)
    names = ("crimes", "suspects", "cautions", "penalty_notices", "court_outcomes")
    result = link_outcomes({n: world.table(n) for n in names})
    return mark_correct(result.candidates, world.truth)


@pytest.mark.parametrize("seed", [0, 1])
def test_interval_covers_the_truth_on_a_small_world(small_linked, seed):
    cand = small_linked
    true_precision = cand.loc[cand["linked"], "correct"].mean()
    true_recall = cand.loc[cand["linked"], "correct"].sum() / cand["correct"].sum()
    sample = draw_review_sample(cand.drop(columns="correct"), 150, seed=seed)
    key = ["source", "record_id", "crime_ref", "suspect_ref"]
    truth_of = cand.set_index(key)["correct"]
    correct = truth_of.reindex(pd.MultiIndex.from_frame(sample[key])).to_numpy(bool)
    sample["reviewer_label"] = np.where(correct, "Y", "N")
    est = estimate_from_review(sample, cand)
    low, high = est.precision_interval
    assert low <= true_precision <= high and high - low > 1e-3
    assert est.recall_interval[0] <= true_recall <= est.recall_interval[1]
