"""Builder helpers: the data summary of in-memory synthetic extracts comes from the real contracts."""

from __future__ import annotations

import pandas as pd
import pytest

from linkage.pipeline import _table_summary
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


def test_cross_table_audit_reads_published_tables_and_finds_a_differencing_leak():
    # Hand-made: crime type A has 3 charged and 40 closed, B 30 charged and 50 closed. The count table by
    # crime type withholds A's cells and its own column totals (as secondary suppression might), which is
    # safe on its own; but the outcome mix publishes 33 charged, and B's 30 is published: 33 - 30 = 3.
    from linkage.reporting.builder import cross_table_audit
    from linkage.reporting.document import Section, TableBlock

    crimes = pd.DataFrame(
        {
            "crime_type": ["A"] * 43 + ["B"] * 80,
            "outcome_group": ["Charged or summonsed"] * 3
            + ["No suspect identified"] * 40
            + ["Charged or summonsed"] * 30
            + ["No suspect identified"] * 50,
            "final_outcome": pd.NA,
            "outcome_date": pd.NaT,
        }
    )
    counts = pd.DataFrame(
        {
            "Charged or summonsed": pd.array([pd.NA, 30, pd.NA], dtype="Int64"),
            "No suspect identified": pd.array([pd.NA, 50, pd.NA], dtype="Int64"),
            "Total": pd.array([43, 80, 123], dtype="Int64"),
        },
        index=pd.Index(["A", "B", "Total"], name="crime_type"),
    )

    def mix(charged, closed=90):
        return pd.DataFrame(
            {
                "outcome": ["Charged or summonsed", "No suspect identified"],
                "crimes": pd.array([charged, closed], dtype="Int64"),
                "all crimes": [123, 123],
            }
        )

    sec = Section("outcomes", "Outcomes")
    sec.tables += [TableBlock("outcomes_by_crime_type_counts", "", counts, index=True)]
    sec.tables += [TableBlock("outcomes_mix", "", mix(33))]
    audit = cross_table_audit(crimes, [sec], period_end=pd.Timestamp("2024-12-31"))
    exposed = audit[audit["exposed"]].set_index("cell")
    assert "A / Charged or summonsed" in exposed.index
    assert exposed.loc["A / Charged or summonsed", "lower"] == pytest.approx(3)
    # (and then A closed = 43 - 3.) With the mix withholding both of its counts, A's two cells are
    # known only to add up to 43: nothing comes back.
    assert "A / No suspect identified" in exposed.index
    sec.tables[1] = TableBlock("outcomes_mix", "", mix(pd.NA, pd.NA))
    assert not cross_table_audit(crimes, [sec], period_end=pd.Timestamp("2024-12-31"))["exposed"].any()
