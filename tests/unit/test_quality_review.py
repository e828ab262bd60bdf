"""Clerical review workflow: sampling, reading labels back, and the stratified estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.errors import DataContractError, LinkageError
from linkage.quality import (
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


def test_confident_model_prior_cannot_swamp_the_review():
    """Review finding: with match probabilities ~0.999 the old prior Beta(2p, 2(1-p)) had b ~ 0.002, so
    all-Y reviews gave a zero-width precision interval. 980 links, one stratum, 300 reviewed, all Y.

    By hand: the posterior is Beta(300 + 1.998, 0.25) (b floored at min_prior_shape 0.25); its unseen
    error rate has a 97.5% point near Gamma(0.25).ppf(0.975) / 302 = 1.717 / 302 ~ 0.0057 (scipy), so the
    680 unreviewed links could hold ~4 errors and the lower precision bound is ~1 - 3.9 / 980 ~ 0.996
    (0.994 with Jeffreys' 0.5): clearly below 1, and not far below.
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
    est = estimate_from_review(sample, cand, seed=0)
    low, high = est.precision_interval
    assert high == pytest.approx(1.0)
    assert 0.985 < low < 0.998, low


def test_min_prior_shape_must_be_positive():
    cand = _candidates()
    sample = _label(draw_review_sample(cand, 12, seed=0), cand)
    with pytest.raises(LinkageError, match="min_prior_shape"):
        estimate_from_review(sample, cand, min_prior_shape=0.0)
