"""The report's robustness rows (issue 16d): wild cluster bootstrap and synthetic DiD beside the placebo
tests, on area-month panels with a known effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.reporting.sections.evaluation import HeadlineOutcome, robustness_rows

MONTHS = pd.date_range("2024-01-01", periods=12, freq="MS")
GO = MONTHS[6]


def _crimes(n_areas: int, n_treated: int, effect: float, seed: int = 0, per_cell: int = 20) -> pd.DataFrame:
    """Crimes whose 0/1 outcome averages exactly area level + month level + effect (treated, post) in
    every cell: an additive panel, so every DiD-type estimator recovers ``effect`` exactly."""
    rng = np.random.default_rng(seed)
    area_level = rng.uniform(0.2, 0.4, n_areas)
    month_level = rng.uniform(0.0, 0.1, 12)
    rows = []
    for a in range(n_areas):
        for m in range(12):
            rate = area_level[a] + month_level[m] + effect * (a < n_treated and m >= 6)
            rows.append({"area": f"A{a:02d}", "treated": int(a < n_treated), "month": MONTHS[m], "y": rate})
    cells = pd.DataFrame(rows)
    return cells.loc[cells.index.repeat(per_cell)].reset_index(drop=True)


def test_rows_recover_a_known_effect_with_twelve_areas():
    crimes = _crimes(12, 2, effect=0.08)
    rows, missing = robustness_rows(HeadlineOutcome(crimes, "y", "y", "pp", 100.0, GO, 0.05, seed=3))
    assert missing == []
    by = {r["method"].split(" (")[0]: r for r in rows}
    assert set(by) == {"wild cluster bootstrap", "synthetic DiD"}
    assert by["wild cluster bootstrap"]["estimate"] == pytest.approx(8.0, abs=1e-6)
    assert by["synthetic DiD"]["estimate"] == pytest.approx(8.0, abs=1e-4)
    sd = by["synthetic DiD"]
    assert sd["placebos"] == 45  # C(10 donors, 2)
    assert sd["smallest attainable p"] == pytest.approx(1 / 46)
    assert sd["randomisation p"] == pytest.approx(1 / 46)  # every placebo is exactly zero
    assert sd["ci_lower"] <= 8.0 <= sd["ci_upper"]


def test_rows_are_deterministic_given_the_seed():
    crimes = _crimes(6, 2, effect=0.05, seed=1)
    crimes["y"] = crimes["y"] + np.random.default_rng(5).normal(0, 0.05, len(crimes))  # noisy
    a, _ = robustness_rows(HeadlineOutcome(crimes, "y", "y", "pp", 100.0, GO, 0.05, seed=7))
    b, _ = robustness_rows(HeadlineOutcome(crimes, "y", "y", "pp", 100.0, GO, 0.05, seed=7))
    assert pd.DataFrame(a).equals(pd.DataFrame(b))


def test_synthetic_did_without_enough_donors_says_so_in_words():
    """Two trailblazers and two comparison areas (the shipped design): synthetic DiD has an estimate but no
    placebo among the donors, so no interval and no p-value (blank, said in words), not a made-up number."""
    crimes = _crimes(4, 2, effect=0.05)
    rows, missing = robustness_rows(HeadlineOutcome(crimes, "y", "y", "pp", 100.0, GO, 0.05, seed=0))
    sd = next(r for r in rows if r["method"].startswith("synthetic DiD"))
    assert sd["estimate"] == pytest.approx(5.0, abs=1e-4)
    assert all(np.isnan(sd[c]) for c in ("ci_lower", "ci_upper", "randomisation p"))
    assert any("2 donor area(s) for 2 trailblazer(s)" in m for m in missing)


def test_a_design_with_one_area_is_not_estimable_in_words():
    crimes = _crimes(2, 1, effect=0.05)
    crimes["treated"] = 1  # no comparison area at all
    rows, missing = robustness_rows(HeadlineOutcome(crimes, "y", "y", "pp", 100.0, GO, 0.05, seed=0))
    assert rows == []  # no number for an estimate that cannot be made
    assert [m.split(":")[0] for m in missing] == ["wild cluster bootstrap", "synthetic DiD"]
    assert all("not estimable" in m for m in missing)
