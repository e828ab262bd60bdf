"""Quality metrics on a hand-made set of links and truth; expected figures counted by hand below."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from linkage.errors import LinkageError
from linkage.quality import by_subgroup, evaluate, precision_recall_chart, threshold_sweep

F = "Testshire Police"


def _truth() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["cautions", "cautions", "penalty_notices", "penalty_notices", "court_outcomes"],
            "record_id": ["c1", "c2", "p1", "p2", "k1:1"],
            "crime_ref": ["A", "B", "C", "", "D"],  # p2 has no true crime
            "force": [F] * 5,
            "suspect_ref": ["1", "1", "1", "", "1"],
        }
    )


def _links() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["cautions", "cautions", "penalty_notices", "penalty_notices"],
            "record_id": ["c1", "c2", "p1", "p2"],
            "force": [F] * 4,
            "crime_ref": ["A", "B", "C", "E"],
            "suspect_ref": ["1", "2", "1", "1"],  # c2: right crime, wrong co-suspect
        }
    )


def test_evaluate_counts_by_hand():
    rep = evaluate(_links(), _truth())
    t = rep.table
    # cautions: 2 links, 1 fully right (c1), 2 true -> P = R = F1 = 1/2; both on the right crime.
    assert t.loc["cautions", ["n_links", "tp", "n_true", "tp_crime"]].tolist() == [2, 1, 2, 2]
    assert t.loc["cautions", "f1"] == pytest.approx(0.5)
    # penalty notices: 2 links (p2 is a false link: it has no true crime), 1 right, 1 true.
    assert t.loc["penalty_notices", "precision"] == pytest.approx(0.5)
    assert t.loc["penalty_notices", "recall"] == pytest.approx(1.0)
    assert t.loc["penalty_notices", "f1"] == pytest.approx(2 / 3)
    # court: nothing linked, one true record.
    assert t.loc["court_outcomes", "recall"] == 0.0
    assert math.isnan(t.loc["court_outcomes", "precision"])
    assert rep.f1("all") == pytest.approx(2 * 2 / (4 + 4))
    # Wilson 95% for 1/2 by hand: centre 0.5, half-width 1.96*sqrt(.125+.9604/4... ) -> [0.0945, 0.9055]
    assert t.loc["cautions", "precision_low"] == pytest.approx(0.0945, abs=5e-4)
    assert t.loc["cautions", "precision_high"] == pytest.approx(0.9055, abs=5e-4)
    assert "| cautions |" in rep.to_markdown()


def test_evaluate_rejects_missing_columns():
    with pytest.raises(LinkageError, match="suspect_ref"):
        evaluate(_links().drop(columns="suspect_ref"), _truth())


def test_threshold_sweep_by_hand():
    cand = pd.DataFrame(
        {
            "source": ["cautions", "cautions", "cautions", "penalty_notices"],
            "record_id": ["c1", "c1", "c2", "p1"],
            "force": [F] * 4,
            "crime_ref": ["A", "X", "B", "C"],
            "suspect_ref": ["1", "1", "1", "1"],
            "match_weight": [10.0, 5.0, 3.0, -2.0],
        }
    )
    truth = _truth().iloc[[0, 1, 2]]
    sweep = threshold_sweep(cand, truth, thresholds=[-5, 0, 4]).set_index(["source", "threshold"])
    # Best candidate per record: c1 -> A (10, right), c2 -> B (3, right), p1 -> C (-2, right).
    assert sweep.loc[("all", -5.0), ["n_links", "tp"]].tolist() == [3, 3]
    assert sweep.loc[("all", 0.0), ["n_links", "tp"]].tolist() == [2, 2]
    assert sweep.loc[("all", 4.0), "recall"] == pytest.approx(1 / 3)
    assert sweep.loc[("cautions", 4.0), "recall"] == pytest.approx(1 / 2)
    ax = precision_recall_chart(sweep.reset_index())
    assert ax.get_xlabel() == "recall"


def _tables() -> dict[str, pd.DataFrame]:
    cautions = pd.DataFrame(
        {
            "caution_id": ["c1", "c2"],
            "force": [F, F],
            "sex": ["M", "F"],
            "date_of_birth": pd.to_datetime(["2000-01-01", "1980-01-01"]),
            "offence_date": pd.to_datetime(["2020-06-01", "2020-06-01"]),
            "caution_date": pd.to_datetime(["2020-07-01", "2020-07-01"]),
        }
    )
    pnd = pd.DataFrame(
        {
            "pnd_id": ["p1", "p2"],
            "force": [F, F],
            "sex": ["M", "M"],
            "date_of_birth": pd.to_datetime(["2004-01-01", "1990-01-01"]),
            "offence_date": pd.to_datetime(["2020-06-01", "2020-06-01"]),
            "issue_date": pd.to_datetime(["2020-06-01", "2020-06-01"]),
        }
    )
    court = pd.DataFrame(
        {
            "case_id": ["k1"],
            "offence_seq": [1],
            "force": [F],
            "sex": ["F"],
            "date_of_birth": pd.to_datetime(["1960-01-01"]),
            "offence_date": pd.to_datetime(["2020-06-01"]),
            "hearing_date": pd.to_datetime(["2021-01-01"]),
        }
    )
    crimes = pd.DataFrame(
        {
            "force": [F] * 5,
            "crime_ref": ["A", "B", "C", "D", "E"],
            "offence_code": ["8N", "46", "46", "58D", "zz"],
            "crime_type": [
                "Violence and sexual offences",
                "Shoplifting",
                "Shoplifting",
                "Criminal damage and arson",
                "Other crime",
            ],
        }
    )
    return {"cautions": cautions, "penalty_notices": pnd, "court_outcomes": court, "crimes": crimes}


def test_by_subgroup_by_hand():
    table = by_subgroup(_links(), _truth(), _tables()).set_index(["variable", "group"])
    # sex M: records c1, p1, p2 -> all linked; true c1, p1 -> both right. recall 1.
    assert table.loc[("sex", "M"), ["n_records", "n_linked", "n_true", "tp"]].tolist() == [3, 3, 2, 2]
    # sex F: c2 (linked to the wrong suspect) and k1:1 (unlinked): recall 0 of 2, link rate 1/2.
    assert table.loc[("sex", "F"), "recall"] == 0.0
    assert table.loc[("sex", "F"), "link_rate"] == pytest.approx(0.5)
    # ages at offence 2020-06-01: c1 20 -> 18-24; c2 40 -> 35-49; p1 16 -> under 18; p2 30; k1 60 -> 50+
    assert table.loc[("age_band", "under 18"), "n_records"] == 1
    assert table.loc[("age_band", "50+"), "n_linked"] == 0
    # offence group from the true crime (A 8N -> Violence against the person; B, C 46 -> Theft offences),
    # and for p2 (no true crime) from the linked crime E, whose code is unknown -> its crime type.
    assert table.loc[("offence_group", "Theft offences"), "n_records"] == 2
    assert table.loc[("offence_group", "Other crime"), "n_records"] == 1


def test_by_subgroup_rejects_unknown_variable():
    with pytest.raises(LinkageError, match="ethnicity"):
        by_subgroup(_links(), _truth(), _tables(), by=["ethnicity"])


def test_intervals_come_from_the_one_wilson_implementation(monkeypatch):
    """Review finding: metrics had its own Wilson copy. Swap linkage.evaluation.rates.wilson_interval for
    a marker and the quality intervals must follow it."""
    import linkage.evaluation.rates as rates
    from linkage.quality.metrics import _scores

    monkeypatch.setattr(rates, "wilson_interval", lambda count, n, alpha=0.05: (n * 0 - 7.0, n * 0 + 7.0))
    out = _scores(np.array([3.0]), np.array([4.0]), np.array([5.0]), 0.05)
    assert out["precision_low"].tolist() == [-7.0] and out["recall_high"].tolist() == [7.0]
