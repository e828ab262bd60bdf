"""Section builders on small hand-made crime frames (no linkage, no files)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.evaluation import DisclosureSettings
from linkage.reporting import evaluation_section, maps_section, outcomes_section, time_to_outcome_section

SETTINGS = DisclosureSettings(threshold=10, rounding_base=5)


def _public(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A public-view frame: months Jan-Jun 2024, outcome months 0-3 months after the crime's month."""
    rng = np.random.default_rng(seed)
    month = pd.date_range("2024-01-01", periods=6, freq="MS")[rng.integers(0, 6, n)]
    lag = rng.integers(0, 4, n)
    groups = np.array(["No suspect identified", "Charged or summonsed", "Out-of-court disposal"])
    return pd.DataFrame(
        {
            "crime_key": [f"{i:064x}" for i in range(n)],
            "month": month,
            "start_date": month,
            "outcome_date": [m + pd.DateOffset(months=int(k)) for m, k in zip(month, lag, strict=True)],
            "crime_type": rng.choice(["Burglary", "Shoplifting"], n),
            "outcome_group": rng.choice(groups, n, p=[0.6, 0.25, 0.15]),
            "final_outcome": "Suspect charged",
            "lsoa_code": rng.choice(["E01000001", "E01000002", "E01000003"], n),
            "longitude": rng.choice([-0.0975, -0.0921], n),
            "latitude": rng.choice([51.5182, 51.5155], n),
            "treated": 0,
        }
    )


def test_time_to_outcome_public_months():
    crimes = _public()
    sec = time_to_outcome_section(crimes, SETTINGS, period_end=pd.Timestamp("2024-09-30"), public_months=True)
    assert not sec.needs
    assert len(sec.figures) == 1
    med = sec.tables[0].frame
    assert "median (months)" in med.columns
    # Outcome lags are whole months 0-3 drawn uniformly among closed crimes, so every median is 0-3 months.
    assert med["median (months)"].between(0, 3.1).all()


def test_time_to_outcome_needs_dates():
    crimes = _public().assign(outcome_date=pd.NaT)
    sec = time_to_outcome_section(crimes, SETTINGS, period_end=pd.Timestamp("2024-09-30"))
    assert "outcomes files for every month" in sec.needs


def test_outcomes_section_public_only():
    sec = outcomes_section(_public(), None, SETTINGS)
    names = [t.name for t in sec.tables]
    assert names == ["outcomes_by_crime_type_counts", "outcomes_rates_by_crime_type", "outcomes_mix"]
    counts = sec.tables[0].frame
    values = counts.to_numpy(dtype=float).ravel()
    values = values[~np.isnan(values)]
    assert (values % 5 == 0).all()
    assert any("needs restricted extracts" in p for p in sec.paragraphs)


def test_maps_section_without_boundaries_pools_small_lsoas():
    crimes = _public()
    crimes.loc[:4, "lsoa_code"] = "E01009999"  # five crimes: under the threshold, pooled
    sec = maps_section(crimes, SETTINGS)
    table = sec.tables[0].frame
    assert "E01009999" not in set(table["LSOA"])
    assert any(str(v).startswith("other LSOAs") for v in table["LSOA"])
    assert len(sec.figures) == 1  # the map-point map; no choropleth without boundaries
    assert any("No LSOA boundary file" in p for p in sec.paragraphs)


def test_evaluation_section_says_what_it_needs():
    sec = evaluation_section(_public(), SETTINGS, go_live=None, period_end=pd.Timestamp("2024-06-30"))
    assert "a go-live month" in sec.needs and "comparison areas" in sec.needs
    assert not sec.tables


def test_maps_lsoa_table_withholds_a_second_lsoa_against_differencing():
    # LSOA E01000001 gets exactly 4 crimes with action (primary suppression). The other two LSOAs are
    # published, and the outcome mix of the same crimes publishes the area's crimes with action, so
    # total - the two others = 4. The section must withhold a second LSOA row (the one with fewer crimes
    # with action): its count and rate (its crimes stay, as for a primary suppression), and log it.
    crimes = _public()
    first = crimes.index[crimes["lsoa_code"] == "E01000001"]
    crimes.loc[first, "outcome_group"] = "No suspect identified"
    crimes.loc[first[:4], "outcome_group"] = "Charged or summonsed"
    action = crimes["outcome_group"].isin(["Charged or summonsed", "Out-of-court disposal"])
    per = action.groupby(crimes["lsoa_code"]).sum()
    smaller = per.drop("E01000001").idxmin()
    sec = maps_section(crimes, SETTINGS)
    table = sec.tables[0].frame.set_index("LSOA")
    withheld = set(table.index[table["crimes with action"].isna()])
    assert withheld == {"E01000001", smaller}
    assert pd.isna(table.loc[smaller, "action rate"]) and pd.notna(table.loc[smaller, "crimes"])
    log = sec.log[sec.log["table"] == "maps_lsoa_action_rate"]
    assert (log["action"] == "secondary suppression").sum() == 1


def test_rates_download_holds_numbers_as_numbers():
    """The rates grid reads "21.3% (19.4-23.4)" in the HTML; its CSV holds rate, lower and upper as
    numbers, one row per crime type and outcome group, withheld cells as [c]."""
    from linkage.reporting.publish import csv_frame

    sec = outcomes_section(_public(), None, SETTINGS)
    block = next(t for t in sec.tables if t.name == "outcomes_rates_by_crime_type")
    assert block.frame["Charged or summonsed"].astype(str).str.contains("%").all()  # HTML: combined text
    out = csv_frame(block)
    assert list(out.columns[:2]) == ["crime type", "outcome"]
    for col in ("crimes", "crimes with outcome", "rate", "95% CI lower", "95% CI upper"):
        values = out[col][out[col] != "[c]"]
        assert len(values) and all(isinstance(v, int | float | np.integer | np.floating) for v in values), col
    shown = out[out["rate"] != "[c]"]
    assert (shown["rate"].astype(float) > 0).all()  # no rate rounded to 0 (every group is common here)
    assert ("Burglary", "Charged or summonsed") in set(zip(out["crime type"], out["outcome"], strict=True))


def test_match_weight_legend_uses_display_labels():
    from linkage.reporting.sections.linkage_quality import match_weight_figure

    links = pd.DataFrame(
        {
            "source": ["court_outcomes"] * 5 + ["penalty_notices"] * 5,
            "match_weight": [10.0, 12.0, 14.0, 9.0, 11.0, 20.0, 22.0, 21.0, 19.0, 23.0],
        }
    )
    legend = match_weight_figure(links).axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["Court outcomes", "Penalty notices"]


def test_public_vs_linked_shows_each_total_once():
    """The comparison table's HTML shows each view's total once (in the count header), not an ``n``
    column repeating it on every row; the CSV keeps numerator and denominator on each row."""
    from linkage.reporting.document import format_table
    from linkage.reporting.publish import csv_frame

    public = _public()
    caution = np.where(public["outcome_group"] == "Out-of-court disposal", "Offender given a caution", None)
    linked = public.assign(final_outcome=caution)
    sec = outcomes_section(public, linked, SETTINGS)
    block = next(t for t in sec.tables if t.name == "outcomes_public_vs_linked")
    assert not [c for c in block.frame.columns if str(c).startswith("n ")]
    assert "count linked, of 600 crimes" in block.frame.columns
    assert "of 600 crimes" in str(format_table(block))
    download = csv_frame(block)
    assert set(download["n linked"]) == {600} and "count linked" in download.columns


def test_rare_label_rate_is_not_rounded_to_zero():
    """A label held by 10 of 600 crimes (after rounding) has a rate of 1/60, published to 6 decimals
    (the counts are beside it), and a percentage under 0.05% prints as "<0.1%", never "0.0%"."""
    from linkage.reporting.document import _fmt_value

    public = _public()
    rare = np.arange(len(public)) < 10
    linked = public.assign(final_outcome=np.where(rare, "Offender given a caution", "Suspect charged"))
    sec = outcomes_section(public, linked, SETTINGS)
    frame = next(t for t in sec.tables if t.name == "outcomes_public_vs_linked").download
    row = frame.set_index("final outcome").loc["Offender given a caution"]
    assert row["count linked"] == 10 and abs(row["rate linked"] - round(10 / 600, 6)) < 1e-12
    assert _fmt_value(0.0003, True) == "<0.1%" and _fmt_value(0.0, True) == "0.0%"
