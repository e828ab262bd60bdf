"""Evaluation functions on small hand-made frames: rates, Kaplan-Meier, DiD, event study, maps, frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from linkage.evaluation import (
    GROUP_ORDER,
    add_flags,
    compare_views,
    did,
    did_outcomes,
    did_sample,
    event_study,
    km_by_group,
    linked_crimes,
    lsoa_choropleth,
    outcome_group,
    outcome_rates,
    points_to_bng,
    public_crimes,
    wilson_interval,
)


def _wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(5, 10), (0, 20), (37, 120), (120, 120)])
def test_wilson_matches_formula(k, n):
    lo, hi = wilson_interval(np.array([k]), np.array([n]))
    exp_lo, exp_hi = _wilson_by_hand(k, n)
    assert lo[0] == pytest.approx(max(exp_lo, 0.0), abs=1e-9)
    assert hi[0] == pytest.approx(min(exp_hi, 1.0), abs=1e-9)


def test_outcome_rates_counts_and_zero_cells():
    crimes = pd.DataFrame(
        {
            "crime_type": ["Burglary"] * 4 + ["Drugs"] * 2,
            "outcome_group": ["No suspect identified"] * 3
            + ["Charged or summonsed"]
            + ["Out-of-court disposal"] * 2,
        }
    )
    r = outcome_rates(crimes).set_index(["crime_type", "outcome_group"])
    assert r.loc[("Burglary", "No suspect identified"), "count"] == 3
    assert r.loc[("Burglary", "No suspect identified"), "n"] == 4
    assert r.loc[("Burglary", "No suspect identified"), "rate"] == pytest.approx(0.75)
    assert r.loc[("Drugs", "Charged or summonsed"), "count"] == 0  # zero cell kept
    assert len(r) == 2 * 3


def test_outcome_group_blank_and_legacy():
    g = outcome_group(pd.Series(["Offender given a caution", None, "", "Suspect charged", "Nonsense"]))
    assert g.tolist() == [
        "Out-of-court disposal",
        "No outcome recorded",
        "No outcome recorded",
        "Charged or summonsed",
        "Other",
    ]


def test_kaplan_meier_hand_example_and_censoring():
    # By hand: outcomes after 2, 4 and 6 days; crime 3 is still open (not closed) so it is censored at the
    # period end (8 days); crime 5's outcome falls after the period end, so it is censored there (7 days).
    # At risk 5, 4, 3: S(2) = 4/5 = 0.8, S(4) = 0.8 * 3/4 = 0.6, S(6) = 0.6 * 2/3 = 0.4; median 6 days.
    start = pd.Timestamp("2024-01-01")
    end = pd.Timestamp("2024-01-09")
    crimes = pd.DataFrame(
        {
            "start_date": [start] * 4 + [start + pd.Timedelta(days=1)],
            "outcome_date": [start + pd.Timedelta(days=d) for d in (2, 4, 4, 6)]
            + [pd.Timestamp("2024-02-01")],
            "closed": [True, True, False, True, True],
        }
    )
    curves = km_by_group(crimes, by=None, period_end=end, event_mask=crimes["closed"])
    c = curves[0]
    assert c.events == 3 and c.n == 5
    assert c.survival_at(2) == pytest.approx(0.8)
    assert c.survival_at(4) == pytest.approx(0.6)
    assert c.survival_at(6) == pytest.approx(0.4)
    assert c.median == pytest.approx(6)


def _panel(seed: int, effect: float, pre_trend: float = 0.0, n: int = 60_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    area = rng.choice(["A", "B", "C", "D"], n)
    treated = np.isin(area, ["A", "B"]).astype(int)
    m = rng.integers(0, 12, n)
    month = pd.date_range("2024-01-01", periods=12, freq="MS")[m]
    post = m >= 6
    lsoa = np.char.add(area.astype(str), rng.integers(0, 80, n).astype(str))
    trend = pre_trend * treated * np.minimum(m - 6, 0)  # treated drift before go-live only
    p = 0.12 + 0.03 * (area == "B") + 0.002 * m + effect * treated * post + trend
    return pd.DataFrame(
        {
            "area": area,
            "treated": treated,
            "month": month,
            "lsoa_code": lsoa,
            "y": (rng.random(n) < p).astype(float),
        }
    )


def test_did_exact_on_noise_free_cells():
    # y = area effect + month effect + 0.1 * treated * post exactly, so the estimate must be 0.1.
    rows = []
    for a, tr, base in (("A", 1, 0.2), ("B", 0, 0.3)):
        for i, month in enumerate(pd.date_range("2024-01-01", periods=6, freq="MS")):
            for lsoa in range(5):
                rows.append((a, tr, month, f"{a}{lsoa}", base + 0.01 * i + (0.1 if tr and i >= 3 else 0.0)))
    panel = pd.DataFrame(rows, columns=["area", "treated", "month", "lsoa_code", "y"])
    res = did(panel, outcome="y", go_live="2024-04")
    assert res.estimate == pytest.approx(0.1, abs=1e-10)


def test_did_cells_equal_crime_level_ols():
    panel = _panel(3, effect=0.03, n=20_000)
    res = did(panel, outcome="y", go_live="2024-07")
    crime = smf.ols("y ~ C(area) + C(month) + I(treated * (month >= '2024-07-01'))", panel).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["lsoa_code"])[0]}
    )
    assert res.estimate == pytest.approx(crime.params.iloc[-1], abs=1e-10)
    # same sandwich up to the small-sample factor (cells vs crimes in (N-1)/(N-K))
    assert res.std_error == pytest.approx(crime.bse.iloc[-1], rel=0.01)
    assert res.n_clusters == panel["lsoa_code"].nunique()


def test_did_interval_covers_known_effect_and_cluster_choices():
    panel = _panel(11, effect=0.04)
    for cluster in ("lsoa", "area-month"):
        res = did(panel, outcome="y", go_live="2024-07", cluster=cluster)
        assert res.covers(0.04), (cluster, res)
    with pytest.raises(ValueError, match="cluster must be one of"):
        did(panel, outcome="y", go_live="2024-07", cluster="street")


def test_event_study_pretrend_test_detects_a_trend():
    flat = event_study(_panel(5, effect=0.03), outcome="y", go_live="2024-07")
    trending = event_study(_panel(5, effect=0.03, pre_trend=0.01), outcome="y", go_live="2024-07")
    assert flat.pretrend_df == 5  # months -6..-2 (month -1 is the reference)
    assert trending.pretrend_p < 0.001
    assert flat.pretrend_p > trending.pretrend_p
    ref = flat.coefficients.set_index("relative_month").loc[-1]
    assert ref["estimate"] == 0.0


def test_points_to_bng_known_point():
    # Bank junction, City of London: about E 532,700 N 181,200 in British National Grid (OS grid reference
    # TQ 327 812); a 100 m tolerance is ample.
    geo = points_to_bng(pd.DataFrame({"longitude": [-0.0886], "latitude": [51.5133]}))
    assert geo.crs.to_epsg() == 27700
    assert geo.geometry.x.iloc[0] == pytest.approx(532_700, abs=100)
    assert geo.geometry.y.iloc[0] == pytest.approx(181_200, abs=100)


def test_choropleth_rejects_wrong_crs():
    import geopandas as gpd
    from shapely.geometry import box

    wgs = gpd.GeoDataFrame(
        {"lsoa_code": ["E01000001"]}, geometry=[box(-0.1, 51.5, -0.09, 51.51)], crs="EPSG:4326"
    )
    with pytest.raises(ValueError, match="EPSG:27700"):
        lsoa_choropleth(pd.DataFrame({"lsoa_code": ["E01000001"], "rate": [0.5]}), wgs)


def test_public_crimes_drops_asb_and_keeps_every_street_row():
    """police.uk counts every street row as a crime record, a repeated Crime ID included
    (docs/data_dictionary.md); overlapping releases are resolved on load, not here."""
    street = pd.DataFrame(
        {
            "crime_id": ["a" * 64, "a" * 64, None, "b" * 64],
            "month": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01", "2024-02-01"]),
            "crime_type": ["Burglary", "Burglary", "Anti-social behaviour", "Drugs"],
            "last_outcome": ["Under investigation", "Under investigation", None, "Offender given a caution"],
            "lsoa_code": ["E01000001"] * 4,
            "longitude": [-0.09] * 4,
            "latitude": [51.51] * 4,
        }
    )
    crimes = public_crimes(street)
    assert len(crimes) == 3
    assert crimes["outcome_group"].tolist() == ["Under investigation or no update"] * 2 + [
        "Out-of-court disposal"
    ]


def test_linked_crimes_police_record_outranks_or_yields():
    co = pd.DataFrame(
        {
            "force": ["F", "F", "F"],
            "crime_ref": ["1", "2", "3"],
            "crime_type": ["Drugs"] * 3,
            "recorded_date": pd.to_datetime(["2024-01-05"] * 3),
            "final_outcome": ["Offender fined", None, "Offender given a caution"],
            "final_outcome_date": pd.to_datetime(["2024-03-01", None, "2024-01-20"]),
            "n_suspects": [1, 1, 1],
        }
    )
    police = pd.DataFrame(
        {
            "force": ["F", "F", "F"],
            "crime_ref": ["1", "2", "3"],
            "police_outcome": ["Suspect charged", "Local resolution", "Suspect charged"],
            "police_outcome_date": pd.to_datetime(["2024-01-15", "2024-01-10", "2024-01-25"]),
        }
    )
    out = linked_crimes(co, police_outcomes=police).set_index("crime_ref")
    # court result (rank 7) beats the police charge (4); local resolution fills a crime with no record;
    # a charge (4) beats a caution (3).
    assert out.loc["1", "final_outcome"] == "Offender fined"
    assert out.loc["2", "final_outcome"] == "Local resolution"
    assert out.loc["2", "final_outcome_source"] == "police record"
    assert out.loc["3", "final_outcome"] == "Suspect charged"
    assert out.loc["2", "police_days"] == 5


def test_add_flags_incomplete_windows_are_missing():
    crimes = pd.DataFrame(
        {
            "start_date": pd.to_datetime(["2024-01-01", "2024-12-20"]),
            "outcome_date": pd.to_datetime(["2024-01-10", pd.NaT]),
            "outcome_group": ["Out-of-court disposal", "Under investigation or no update"],
            "police_days": [9, np.nan],
            "n_suspects": [1, 0],
        }
    )
    f = add_flags(crimes, period_end=pd.Timestamp("2024-12-31"), within_days=30, followup_days=90)
    assert f["oocd"].tolist()[0] == 1 and pd.isna(f["oocd"].iloc[1])
    assert f["within_n"].iloc[0] == 1 and pd.isna(f["within_n"].iloc[1])
    assert f["days_capped"].iloc[0] == 9
    assert f["identified"].tolist() == [True, False]


def test_add_flags_fixed_windows_and_did_sample_never_conditions_on_the_outcome():
    # Period ends 31 Dec 2024; all recorded 1 Jan 2024 (every window complete), two named suspects.
    # A: caution on day 100 (after the 90-day window) -> oocd 0, days capped 90, no police outcome by 30.
    # B: caution on day 20 -> oocd 1, days 20, within 30 -> 1.
    # C: no suspect, closed on day 3 -> not in the named population; within_n 1.
    crimes = pd.DataFrame(
        {
            "start_date": pd.to_datetime(["2024-01-01"] * 3),
            "outcome_date": pd.to_datetime(["2024-04-10", "2024-01-21", "2024-01-04"]),
            "outcome_group": ["Out-of-court disposal", "Out-of-court disposal", "No suspect identified"],
            "police_days": [100, 20, 3],
            "n_suspects": [1, 1, 0],
        }
    )
    f = add_flags(crimes, period_end=pd.Timestamp("2024-12-31"), within_days=30, followup_days=90)
    assert f["oocd"].tolist() == [0, 1, 0]
    assert f["days_capped"].tolist() == [90, 20, 3]
    assert f["within_n"].tolist() == [0, 1, 1]
    specs = {s.key: s for s in did_outcomes(f, within_days=30, followup_days=90)}
    assert list(specs) == ["oocd", "days_capped", "within_n"]
    # The days population is every crime with a named suspect, whatever its outcome (A and B, both
    # out-of-court disposals, stay in: selecting on the outcome would bias the DiD).
    assert did_sample(f, specs["days_capped"])["days_capped"].tolist() == [90.0, 20.0]
    assert len(did_sample(f, specs["within_n"])) == 3
    # Without the police record there is no days outcome and "within" uses the final outcome date.
    g = add_flags(crimes.drop(columns="police_days"), period_end=pd.Timestamp("2024-12-31"))
    assert [s.key for s in did_outcomes(g)] == ["oocd", "within_n"]
    assert g["within_n"].tolist() == [0, 1, 1]


def test_compare_views_orders_groups_and_labels_by_the_hierarchy():
    # "Unable to prosecute suspect" is both a group and a label; it used to sort after every group.
    groups = list(GROUP_ORDER)
    pub = pd.DataFrame({"outcome_group": groups[::-1] * 3})
    lin = pd.DataFrame({"outcome_group": groups * 2})
    assert compare_views(pub, lin)["outcome_group"].tolist() == groups
    labels = [
        "No outcome recorded",
        "Under investigation",
        "Unable to prosecute suspect",
        "Offender given a caution",
        "Suspect charged",
        "Offender fined",
    ]
    pub = pd.DataFrame({"outcome_label": labels})
    lin = pd.DataFrame({"outcome_label": labels[:3]})
    got = compare_views(pub, lin, outcome="outcome_label")["outcome_label"].tolist()
    # Hierarchy from the top (rank 7 court result, 4 charge, 3 caution, 2 closure, 0 open), blank last.
    assert got == labels[::-1][:5] + ["No outcome recorded"]


def test_km_by_outcome_is_censored_cumulative_incidence():
    # Hand-made: period 1-31 Jan 2024, all recorded 1 Jan. Charged on days 10, 20 and 25 (A, C, E),
    # B cautioned day 5, D still open. For "charged" every crime is at risk; B (competing) and D (open)
    # are censored at the period end (day 30). KM by hand: S(10) = 4/5, S(20) = 4/5 * 3/4 = 3/5,
    # S(25) = 3/5 * 2/3 = 2/5; statsmodels' median is the first t with S(t) < 1/2, so 25 days.
    # The old conditional view (A, C, E only, nothing censored) gave 20.
    from linkage.evaluation import km_by_outcome

    crimes = pd.DataFrame(
        {
            "start_date": pd.to_datetime(["2024-01-01"] * 5),
            "outcome_date": pd.to_datetime(["2024-01-11", "2024-01-06", "2024-01-21", None, "2024-01-26"]),
            "outcome_group": ["Charged", "Caution", "Charged", "Open", "Charged"],
        }
    )
    curves = km_by_outcome(
        crimes, groups=["Charged", "Caution"], period_end=pd.Timestamp("2024-01-31"), min_events=1
    )
    charged, caution = curves
    assert (charged.n, charged.events) == (5, 3)
    assert charged.survival_at(10) == pytest.approx(0.8)
    assert charged.survival_at(20) == pytest.approx(0.6)
    assert charged.survival_at(25) == pytest.approx(0.4)
    assert charged.median == 25
    # Caution: one event of five at day 5, S = 4/5 thereafter; never below 1/2 -> median NaN.
    assert (caution.n, caution.events) == (5, 1)
    assert caution.survival_at(29) == pytest.approx(0.8)
    assert np.isnan(caution.median)


def test_public_outcome_date_follows_the_reference_hierarchy():
    # Crime X: "Under investigation" (Jan) then "Offender given a caution" (Feb) then "Under investigation"
    # again (Mar): the caution outranks it (linkage.reference.OUTCOME_RANK), so the outcome date is Feb,
    # not the latest row. Crime Y: two equal-rank rows (Jan, Mar): ties go to the later month, Mar.
    street = pd.DataFrame(
        {
            "crime_id": ["X", "Y"],
            "month": ["2024-01", "2024-01"],
            "crime_type": ["Burglary", "Burglary"],
            "last_outcome": ["Offender given a caution", "Under investigation"],
        }
    )
    outcomes = pd.DataFrame(
        {
            "crime_id": ["X", "X", "X", "Y", "Y"],
            "month": ["2024-01", "2024-02", "2024-03", "2024-01", "2024-03"],
            "outcome_type": [
                "Under investigation",
                "Offender given a caution",
                "Under investigation",
                "Under investigation",
                "Under investigation",
            ],
        }
    )
    from linkage.evaluation import public_crimes

    out = public_crimes(street, outcomes).set_index("crime_key")["outcome_date"]
    assert out["X"] == pd.Timestamp("2024-02-01")
    assert out["Y"] == pd.Timestamp("2024-03-01")
