"""Builder helpers: the data summary of in-memory synthetic extracts comes from the real contracts."""

from __future__ import annotations

import pandas as pd
import pytest

from linkage.reporting.builder import _table_summary
from linkage.synth import WorldSpec, generate

SPEC = {
    "start_month": "2024-01",
    "months": 2,
    "areas": [
        {
            "name": "Southwark",
            "force": "Metropolitan Police Service",
            "role": "comparison",
            "crimes_per_month": 60,
            "geography": {"lsoa_prefix": "Southwark"},
        }
    ],
}


@pytest.fixture(scope="module")
def world():
    return generate(WorldSpec.from_dict(SPEC), seed=7)


def test_synthetic_summary_runs_the_contracts(world):
    kinds = ["crimes", "suspects", "cautions", "penalty_notices", "court_outcomes"]
    tables = {k: getattr(world, k).copy() for k in kinds}
    n_crimes = len(tables["crimes"])
    # Two broken rows the crimes contract must quarantine: a blank crime reference, an impossible date.
    tables["crimes"].loc[tables["crimes"].index[0], "crime_ref"] = None
    tables["crimes"]["recorded_date"] = tables["crimes"]["recorded_date"].astype("string")
    tables["crimes"].loc[tables["crimes"].index[1], "recorded_date"] = "2024-13-45"
    summary = _table_summary(tables)
    crimes_row = summary.by_file.set_index("kind").loc["crimes"]
    assert crimes_row["rows_read"] == n_crimes
    assert crimes_row["quarantined"] == 2 and crimes_row["accepted"] == n_crimes - 2
    assert summary.quarantined == 2 and sum(summary.by_reason.values()) >= 2
    assert len(tables["crimes"]) == n_crimes - 2  # the quarantined rows are dropped, as for real extracts
    assert not summary.by_file["file"].str.contains("/").any()  # no temporary paths in the report
    others = summary.by_file[summary.by_file["kind"] != "crimes"]
    assert (others["quarantined"] == 0).all() and (others["accepted"] == others["rows_read"]).all()
    assert isinstance(tables["crimes"], pd.DataFrame)
