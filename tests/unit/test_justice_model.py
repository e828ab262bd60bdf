"""The two-stage model's arithmetic, checked against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from linkage.justice.model import combine_weights, record_posterior


def test_record_posterior_by_hand():
    # One record, two candidates with summed log2 Bayes factors 1 and 0 (BF 2 and 1), pi = 0.5:
    # weights (pi/2)*2 = 0.5 and (pi/2)*1 = 0.25 against "none" (1 - pi) = 0.5; total 1.25.
    post, logit = record_posterior(np.array([1.0, 0.0]), np.array(["r1", "r1"]), 0.5)
    assert post.tolist() == pytest.approx([0.4, 0.2])
    # log2 odds of 0.4 = log2(0.5 / 0.75)
    assert logit[0] == pytest.approx(math.log2(0.5 / 0.75))


def test_record_posterior_records_are_independent():
    # r2's single candidate with BF 8 (3 bits), pi = 0.5: 0.5*8 / (0.5 + 0.5*8) = 8/9, whatever r1 holds.
    post, _ = record_posterior(np.array([1.0, 0.0, 3.0]), np.array(["r1", "r1", "r2"]), 0.5)
    assert post[2] == pytest.approx(8 / 9)


def test_combine_weights_by_hand():
    # sigmoid(0) * sigmoid(0) = 1/4 -> log2 odds log2(1/3); large weights stay finite and ordered.
    assert combine_weights(np.array([0.0]), np.array([0.0]))[0] == pytest.approx(math.log2(1 / 3))
    big = combine_weights(np.array([60.0, 60.0]), np.array([60.0, 70.0]))
    assert np.isfinite(big).all() and big[1] > big[0]
    # One certain stage leaves the other's weight: sigmoid(50)*sigmoid(2) ~ sigmoid(2).
    assert combine_weights(np.array([50.0]), np.array([2.0]))[0] == pytest.approx(2.0, abs=1e-6)
