"""Area-month shocks and a trailblazer's own trend in the synthetic world (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.errors import ConfigError
from linkage.synth import WorldSpec, generate

MET = "Metropolitan Police Service"


def _spec(shocks: dict | None = None, oocd_pp: float = 10.0, per_month: int = 600) -> WorldSpec:
    raw = {
        "start_month": "2024-01",
        "months": 6,
        "go_live_month": "2024-04",
        "intervention": {"oocd_pp": oocd_pp},
        "areas": [
            {
                "name": "Southwark",
                "force": MET,
                "role": "trailblazer",
                "crimes_per_month": per_month,
                "geography": {"lsoa_prefix": "Southwark"},
            },
            {
                "name": "Lewisham",
                "force": MET,
                "role": "comparison",
                "crimes_per_month": per_month,
                "geography": {"lsoa_prefix": "Lewisham"},
            },
        ],
    }
    if shocks is not None:
        raw["shocks"] = shocks
    return WorldSpec.from_dict(raw)


def _monthly_oocd(world, col: str) -> pd.DataFrame:
    ct = world.crime_truth
    ct = ct[ct["suspect_identified"]]
    month = ct["recorded_date"].dt.to_period("M")
    return ct.groupby(["area", month])[col].mean().unstack("area")


def test_zero_shocks_leave_the_world_unchanged():
    plain, zero = generate(_spec(), 3), generate(_spec({"area_month_sd_pp": 0, "trailblazer_trend_pp": 0}), 3)
    pd.testing.assert_frame_equal(plain.crime_truth, zero.crime_truth)
    assert "shocks" not in _spec().to_dict()
    assert WorldSpec.from_dict(_spec({"area_month_sd_pp": 2.0}).to_dict()).shocks.area_month_sd_pp == 2.0


def test_shocks_move_outcomes_with_and_without_the_intervention_but_not_the_effect():
    plain, shocked = generate(_spec(), 3), generate(_spec({"area_month_sd_pp": 4.0}), 3)
    a, b = (
        _monthly_oocd(plain, "oocd_without_intervention"),
        _monthly_oocd(shocked, "oocd_without_intervention"),
    )
    # Same crimes and base draws; a 4 pp random walk moves area-month rates by several points.
    assert (b - a).abs().to_numpy().max() > 0.03
    ct = shocked.crime_truth
    assert ((ct["oocd"] != ct["oocd_without_intervention"]) <= ct["treated"]).all()
    assert abs(shocked.true_effect.oocd_pp - plain.true_effect.oocd_pp) < 3.0


def test_trailblazer_trend_is_only_in_the_trailblazer():
    plain = generate(_spec(oocd_pp=0.0, per_month=1500), 5)
    trend = generate(_spec({"trailblazer_trend_pp": 3.0}, oocd_pp=0.0, per_month=1500), 5)
    diff = _monthly_oocd(trend, "oocd") - _monthly_oocd(plain, "oocd")
    slope = np.polyfit(np.arange(6), diff["Southwark"].to_numpy(), 1)[0]
    assert slope == pytest.approx(0.03, abs=0.01)
    assert diff["Lewisham"].abs().max() == 0.0


def test_bad_shocks_are_named():
    with pytest.raises(ConfigError, match="area_month_sd_pp"):
        _spec({"area_month_sd_pp": -1})
    with pytest.raises(ConfigError, match="unknown field 'walk'"):
        _spec({"walk": 1})
