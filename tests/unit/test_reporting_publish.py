"""The disclosure gate (reporting/publish.py), linkage-quality bounds and the main findings, on small
hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.evaluation.disclosure import DisclosureSettings
from linkage.reporting.document import Section, TableBlock
from linkage.reporting.findings import main_findings
from linkage.reporting.publish import csv_frame, display_frame, gate_record_file, withheld_values
from linkage.reporting.sections.linkage_quality import lower_bounds


def _outcomes_file() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Crime ID": ["a", "b", "c", "d"],
            "LSOA code": ["E01", "E02", "E02", "E03"],
            "Longitude": [0.1, 0.2, 0.2, 0.3],
            "Latitude": [51.1, 51.2, 51.2, 51.3],
            "Outcome type": [
                "Offender given absolute discharge",
                "Offender given a caution",
                "Offender fined",
                "Investigation complete; no suspect identified",
            ],
        }
    )


def test_gate_recodes_every_withheld_category():
    tables = {
        "outcomes_public_vs_linked": pd.DataFrame(
            {
                "final outcome": ["Offender given absolute discharge", "Offender fined"],
                "count linked": [np.nan, 40.0],
                "count police.uk (public)": [np.nan, 10.0],
            }
        ),
        "outcomes_mix": pd.DataFrame(
            {"outcome": ["Out-of-court disposal", "Charged or summonsed"], "crimes": [np.nan, 50.0]}
        ),
        "maps_lsoa_action_rate": pd.DataFrame(
            {"LSOA": ["E01", "E03"], "crimes with action": [20.0, np.nan], "crimes": [100, 100]}
        ),
    }
    withheld = withheld_values(tables)
    assert withheld["outcome"] == {"Offender given absolute discharge"}
    assert withheld["outcome_group"] == {"Out-of-court disposal"}
    assert withheld["lsoa"] == {"E03"}
    gated, log = gate_record_file(_outcomes_file(), withheld, "x-outcomes.csv")
    assert list(gated["Outcome type"]) == ["[c]", "[c]", "Offender fined", gated["Outcome type"][3]]
    assert gated.loc[3, "LSOA code"] == "[c]" and pd.isna(gated.loc[3, "Longitude"])
    assert gated.loc[0, "LSOA code"] == "E01"  # only withheld LSOAs lose their code
    assert {"recoded"} == set(log["action"]) and len(log) == 3  # two outcomes, one LSOA block
    assert not log["reason"].str.contains(r"\b[0-9]+ rows?\b").any()  # the log never gives the count


def test_csv_frame_marks_withheld_cells_and_keeps_numbers():
    block = TableBlock(
        "t",
        "caption",
        pd.DataFrame(
            {
                "variable": ["sex", "sex", "source"],
                "group": ["F", "U", "court_outcomes"],
                "records": [100, 15, 900],
                "rate": [0.5, np.nan, 0.98],
                "median (days)": [np.nan, 3.0, 4.0],
            }
        ),
        na_text={"median (days)": "not reached"},
    )
    out = csv_frame(block)
    assert list(out.columns) == ["breakdown", "group", "records", "rate", "median (days)"]
    assert list(out["group"]) == ["Female", "Not recorded", "Court outcomes"]
    assert list(out["breakdown"]) == ["Sex", "Sex", "Source"]
    assert out.loc[1, "rate"] == "[c]" and out.loc[0, "median (days)"] == "not reached"
    assert isinstance(out.loc[0, "rate"], float) and isinstance(out.loc[0, "records"], int | np.integer)
    assert display_frame(block)["rate"].isna().sum() == 1  # the display frame keeps NaN for the HTML


def test_bounds_only_where_errors_are_few():
    settings = DisclosureSettings(threshold=10, rounding_base=5)
    raw = pd.DataFrame({"tp": [1421, 500, 5, 900], "n": [1425, 520, 8, 905]})
    published = pd.DataFrame({"rate": [np.nan, np.nan, np.nan, 0.994]})
    bound = lower_bounds(raw, published, settings, {"rate": ("tp", "n")})["rate"]
    assert bound[0] == 0.99  # 1 - 9/1423, floored to a whole percent
    assert np.isnan(bound[1])  # 20 errors: withheld for another reason, no bound
    assert np.isnan(bound[2])  # a small numerator: no bound
    assert np.isnan(bound[3])  # published: no bound
    assert (raw["tp"] / raw["n"])[0] >= bound[0]


def _effect_section(pretrend_p: float) -> Section:
    sec = Section("evaluation", "Trailblazer evaluation")
    means = pd.DataFrame(
        {
            "role": ["comparison", "comparison", "trailblazer", "trailblazer"],
            "period": ["after go-live", "before go-live", "after go-live", "before go-live"],
            "crimes": [6000, 12000, 7700, 15200],
            "rate": [0.129, 0.125, 0.182, 0.125],
        }
    )
    sec.results.append(
        {
            "kind": "effect",
            "key": "oocd",
            "label": "share",
            "unit": "pp",
            "estimate": 5.3,
            "ci_lower": 3.9,
            "ci_upper": 6.7,
            "p": 1e-9,
            "pretrend_p": pretrend_p,
            "clusters": 649,
            "cluster_on": "LSOA",
            "true_effect": None,
            "means": means,
            "table": "evaluation_means_oocd",
        }
    )
    return sec


def test_finding_states_baseline_and_pretrend_warning():
    (flagged,) = main_findings([_effect_section(0.042)], view="linked", followup_days=90, within_days=30)
    assert flagged.kind == "effect"
    assert "rose from 12.5% to 18.2% in the trailblazer, against 12.5% to 12.9% in the comparison" in (
        flagged.text
    )
    assert "+5.3 percentage points (95% CI +3.9 to +6.7)" in flagged.text
    assert len(flagged.warnings) == 1 and "p = 0.042" in flagged.warnings[0]
    (clean,) = main_findings([_effect_section(0.32)], view="linked", followup_days=90, within_days=30)
    assert clean.warnings == []


def test_release_block_is_optional_and_checked(tmp_path):
    import pytest

    from linkage.config import config_from_dict
    from linkage.errors import ConfigError
    from linkage.reporting.builder import release_info

    (tmp_path / "street.csv").write_text("x\n")
    d = {
        "title": "Test",
        "area": {"name": "Somewhere", "force": "Cumbria Constabulary"},
        "period": {"start": "2013-01", "end": "2013-06"},
        "sources": {"police_uk": ["street.csv"]},
    }
    plain = release_info(config_from_dict(d, base=tmp_path, default_slug="x"), synthetic=False)
    assert plain["status"] == "Management information" and "release.contact" in plain["contact"]
    given = {**d, "release": {"owner": "Team A", "contact": "team.a@example.org"}}
    info = release_info(config_from_dict(given, base=tmp_path, default_slug="x"), synthetic=True)
    assert info["owner"] == "Team A" and info["status"].startswith("Illustrative, synthetic")
    with pytest.raises(ConfigError, match="release"):
        config_from_dict({**d, "release": {"phone": 1}}, base=tmp_path, default_slug="x")
