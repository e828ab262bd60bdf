"""The what-if arithmetic of benchmarks/bench_blocking_growth.py (nearest-dated ranks, fitted exponent)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_blocking_growth.py"
_SPEC = importlib.util.spec_from_file_location("bench_blocking_growth", _PATH)
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def test_nearest_ranks_per_outcome_by_absolute_gap_missing_last():
    # outcome 0 has crimes 0..3 at gaps 30, -2, nan, 5; outcome 1 has crimes 4, 5 at gaps 7, 7 (a tie)
    lpos = np.array([0, 1, 2, 3, 4, 5])
    rpos = np.array([0, 0, 0, 0, 1, 1])
    gap = np.array([30.0, -2.0, np.nan, 5.0, 7.0, 7.0])
    assert bench.nearest_ranks(lpos, rpos, gap).tolist() == [2, 0, 3, 1, 0, 1]


def test_nearest_ranks_input_order_does_not_matter():
    lpos = np.array([5, 3, 4, 1])
    rpos = np.array([1, 0, 1, 0])
    gap = np.array([1.0, 9.0, -3.0, 2.0])
    assert bench.nearest_ranks(lpos, rpos, gap).tolist() == [0, 1, 1, 0]


def test_fitted_exponent_recovers_a_power_law_and_refuses_zero_counts():
    crimes = [1_000, 2_000, 4_000, 8_000]
    assert bench.fitted_exponent(crimes, [int(3 * c**1.5) for c in crimes]) == pytest.approx(1.5, abs=1e-3)
    assert math.isnan(bench.fitted_exponent(crimes, [0, 1, 2, 3]))
