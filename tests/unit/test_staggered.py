"""Staggered go-live months end to end: configuration, synthetic world, estimator inference, report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _panel(rng: np.random.Generator, n_areas: int, go: dict[str, int], growth: float = 0.02, lsoas: int = 6):
    """Crime rows: areas A.. (those in ``go`` go live at that month index), LSOAs, 0/1 outcome whose rate
    grows by ``growth`` a month after go-live; returns crimes and the true ATT over treated crimes."""
    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    rows, effects = [], []
    for i in range(n_areas):
        a = chr(65 + i)
        for j, m in enumerate(months):
            since = j - go[a] if a in go and j >= go[a] else -1
            eff = growth * (since + 1) if since >= 0 else 0.0
            p = 0.3 + 0.005 * j + 0.02 * i + eff
            n = 60
            y = rng.random(n) < p
            rows.append(
                pd.DataFrame(
                    {
                        "area": a,
                        "month": m,
                        "lsoa_code": [f"{a}{k % lsoas}" for k in range(n)],
                        "y": y.astype(float),
                    }
                )
            )
            if since >= 0:
                effects.append(np.full(n, eff))
    crimes = pd.concat(rows, ignore_index=True)
    return crimes, float(np.concatenate(effects).mean()), months


def test_overall_from_arrays_equals_staggered_att_and_intervals_are_deterministic():
    from linkage.evaluation.placebo import staggered_att, staggered_overall
    from linkage.evaluation.staggered import staggered_estimate

    crimes, _, months = _panel(np.random.default_rng(1), 7, {"A": 3, "B": 6, "C": 6})
    go = {"A": months[3], "B": months[6], "C": months[6]}
    res = staggered_estimate(crimes, outcome="y", go_live_by_area=go, seed=3, boot_draws=99)
    assert res.estimate == pytest.approx(
        staggered_overall(staggered_att(crimes, outcome="y", go_live_by_area=go))
    )
    assert res.n_assignments == 7 * 15  # 7 choose 1, then 6 choose 2
    assert len(res.placebos) == res.n_assignments
    assert (res.p_value == (abs(res.placebos) >= abs(res.estimate) - 1e-12).mean())
    assert res.bounded and res.lead == "placebo in space"
    assert res.ci_lower < res.estimate < res.ci_upper and res.boot_lower < res.estimate < res.boot_upper
    again = staggered_estimate(crimes, outcome="y", go_live_by_area=go, seed=3, boot_draws=99)
    assert (again.ci_lower, again.boot_lower, again.p_value) == (res.ci_lower, res.boot_lower, res.p_value)
    few = staggered_estimate(
        crimes[crimes["area"].isin(list("ABCD"))], outcome="y", go_live_by_area=go, boot_draws=49
    )
    assert few.n_assignments == 12 and not few.bounded and few.lead == "LSOA bootstrap"


def test_staggered_interval_inverts_a_known_shift():
    """Adding a constant to the treated crimes after their go-live moves the estimate and both ends of the
    randomisation interval by exactly that constant (the test inversion is exact for a constant effect)."""
    from linkage.evaluation.staggered import staggered_estimate

    crimes, _, months = _panel(np.random.default_rng(2), 8, {"A": 4, "B": 7}, growth=0.0)
    go = {"A": months[4], "B": months[7]}
    base = staggered_estimate(crimes, outcome="y", go_live_by_area=go, boot_draws=19)
    shifted = crimes.copy()
    after = shifted["area"].map({a: g for a, g in go.items()}).le(shifted["month"]).fillna(False)
    shifted.loc[after.astype(bool), "y"] += 0.25
    moved = staggered_estimate(shifted, outcome="y", go_live_by_area=go, boot_draws=19)
    assert moved.estimate - base.estimate == pytest.approx(0.25, abs=1e-9)
    assert moved.ci_lower - base.ci_lower == pytest.approx(0.25, abs=1e-6)
    assert moved.ci_upper - base.ci_upper == pytest.approx(0.25, abs=1e-6)


# --- configuration ----------------------------------------------------------------------------------------
def _raw(slug: str = "london-staggered") -> dict:
    import yaml

    return yaml.safe_load((ROOT / "trailblazers" / f"{slug}.yaml").read_text())


def _parse(raw: dict):
    from linkage.config import config_from_dict

    return config_from_dict(raw, base=ROOT / "trailblazers", source="test")


def test_config_reads_each_trailblazers_go_live_month():
    cfg = _parse(_raw())
    assert cfg.staggered
    assert cfg.go_live_by_area == {
        "Southwark": pd.Timestamp("2024-04-01"),
        "Lambeth": pd.Timestamp("2024-07-01"),  # the period's go-live by default
        "Hackney": pd.Timestamp("2024-07-01"),
    }
    single = _parse(_raw("london-south"))
    assert not single.staggered and set(single.go_live_by_area.values()) == {single.go_live}
    # a world without areas' own go-lives keeps its earlier manifest (no new key)
    assert all("go_live" not in a for a in single.synthetic_world.to_dict()["areas"])


@pytest.mark.parametrize(
    ("index", "value", "message"),
    [
        (3, "2024-04", "areas[3].go_live: only a trailblazer area has its own go-live month"),
        (0, "2024-01", "areas[0].go_live '2024-01' must be after the first month of the period"),
        (0, "2025-01", "areas[0].go_live '2025-01' must be no later than the last month"),
        (0, "April 2024", "areas[0].go_live must be 'YYYY-MM', got 'April 2024'"),
    ],
)
def test_config_rejects_a_bad_area_go_live_naming_the_key(index, value, message):
    from linkage.errors import ConfigError

    raw = _raw()
    raw["sources"]["synthetic_world"]["areas"][index]["go_live"] = value
    with pytest.raises(ConfigError) as exc:
        _parse(raw)
    assert any(p.startswith("sources.synthetic_world.") and message in p for p in exc.value.problems), (
        exc.value.problems
    )


# --- synthetic world ----------------------------------------------------------------------------------------
def test_world_switches_each_trailblazer_on_at_its_own_go_live():
    from linkage.synth import generate

    raw = _raw()
    for area in raw["sources"]["synthetic_world"]["areas"]:
        area["crimes_per_month"] = 40
    cfg = _parse(raw)
    truth = generate(cfg.synthetic_world, seed=1).crime_truth
    month = pd.to_datetime(truth["recorded_date"]).dt.to_period("M").dt.to_timestamp()
    first = truth[truth["treated"]].assign(month=month).groupby("area")["month"].min()
    assert first.to_dict() == cfg.go_live_by_area
    assert not truth.loc[truth["role"] == "comparison", "treated"].any()


# --- report section -----------------------------------------------------------------------------------------
def _public_areas(rng: np.random.Generator, go: dict[str, int], n_areas: int = 7) -> pd.DataFrame:
    """A public-view frame over 12 months and ``n_areas`` areas; out-of-court disposals rise after each
    trailblazer's own go-live (month index in ``go``)."""
    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    frames = []
    for i in range(n_areas):
        a = f"Area {chr(65 + i)}"
        n = 12 * 400
        m = rng.integers(0, 12, n)
        after = np.array([a in go and k >= go[a] for k in m])
        p_oocd = np.where(after, 0.35, 0.15)
        group = np.where(rng.random(n) < p_oocd, "Out-of-court disposal", "Charged or summonsed")
        frames.append(
            pd.DataFrame(
                {
                    "month": months[m],
                    "start_date": months[m],
                    "outcome_date": months[m],
                    "outcome_group": group,
                    "final_outcome": "x",
                    "crime_type": "Burglary",
                    "lsoa_code": [f"E0100{i:02d}{k % 5:03d}" for k in range(n)],
                    "area": a,
                    "treated": int(a in go),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_report_section_uses_the_staggered_estimator_only_when_go_lives_differ():
    from linkage.evaluation import DisclosureSettings
    from linkage.reporting import evaluation_section

    settings = DisclosureSettings(threshold=10, rounding_base=5)
    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    crimes = _public_areas(np.random.default_rng(4), {"Area A": 3, "Area B": 6, "Area C": 6})
    kw = {"period_end": pd.Timestamp("2024-12-31"), "seed": 1}
    go = {"Area A": months[3], "Area B": months[6], "Area C": months[6]}
    sec = evaluation_section(crimes, settings, go_live=months[6], go_live_by_area=go, **kw)
    names = [t.name for t in sec.tables]
    gt_names = [n for n in names if n.startswith("evaluation_staggered_")]
    assert names[0] == "evaluation_did" and gt_names and not any("event_study" in n for n in names)
    did_table = sec.tables[0].frame
    assert set(did_table["interval from"]) == {"placebo in space"}
    assert (did_table["assignments"] == 105).all()
    assert 15 < did_table["estimate"].iloc[0] < 25  # the +20 pp rise after each area's own go-live
    assert any("Goodman-Bacon" in p and "pooled two-way fixed effects" in p for p in sec.paragraphs)
    assert any(h[0].startswith("Staggered DiD") for h in sec.headline)
    # beside the headline effect: the randomisation p-value and the placebo distribution chart
    assert any(h[0].startswith("Randomisation p") for h in sec.headline)
    assert any(f.caption.startswith("Placebo distribution") for f in sec.figures)
    gt = next(t.frame for t in sec.tables if t.name == gt_names[0])
    assert set(gt["cohort (go-live)"]) == {"2024-04", "2024-07"}
    assert gt["trailblazer crimes"].dropna().mod(5).eq(0).all()  # rounded like every published count
    # one go-live month for every trailblazer: the section is the single-go-live DiD, unchanged
    same = {a: months[6] for a in go}
    plain_sec = evaluation_section(crimes, settings, go_live=months[6], **kw)
    one = evaluation_section(crimes, settings, go_live=months[6], go_live_by_area=same, **kw)
    assert [t.name for t in one.tables] == [t.name for t in plain_sec.tables]
    pd.testing.assert_frame_equal(one.tables[0].frame, plain_sec.tables[0].frame)
    assert one.paragraphs == plain_sec.paragraphs


def test_world_with_every_trailblazer_at_the_period_go_live_is_unchanged():
    """Stating each trailblazer's go-live as the period's own gives the same configuration and a world
    whose every table is identical to the world that states none (one go-live month: nothing staggers)."""
    from linkage.synth import CONTRACT_TABLES, generate

    plain = _raw()
    for area in plain["sources"]["synthetic_world"]["areas"]:
        area.pop("go_live", None)
        area["crimes_per_month"] = 30
    stated = _raw()
    for area in stated["sources"]["synthetic_world"]["areas"]:
        area["crimes_per_month"] = 30
        if area["role"] == "trailblazer":
            area["go_live"] = "2024-07"  # the period's go-live, stated
    cfg_plain, cfg_stated = _parse(plain), _parse(stated)
    assert not cfg_stated.staggered and cfg_stated.go_live_by_area == cfg_plain.go_live_by_area
    w_plain = generate(cfg_plain.synthetic_world, seed=5)
    w_stated = generate(cfg_stated.synthetic_world, seed=5)
    for name in CONTRACT_TABLES:
        pd.testing.assert_frame_equal(w_stated.table(name), w_plain.table(name))
    pd.testing.assert_frame_equal(w_stated.crime_truth, w_plain.crime_truth)
    assert w_stated.crime_truth["treated"].any()


def test_true_effect_averages_each_trailblazers_crimes_from_its_own_go_live():
    """The truth the report compares with is the mean effect over each trailblazer's crimes from its own
    go-live month, recomputed here from the world's columns without the library's helpers (as
    tests/integration/test_reports.py does for one go-live); Southwark's April-June crimes count."""
    from linkage.pipeline import link, load, true_effects

    raw = _raw()
    for area in raw["sources"]["synthetic_world"]["areas"]:
        area["crimes_per_month"] = 60
    cfg = _parse(raw)
    loaded = load(cfg)
    linked = link(cfg, loaded)
    got = true_effects(loaded.world, cfg, linked.crimes)
    assert got is not None

    ev = cfg.evaluation
    f, n = ev.followup_days, ev.outcome_within_days
    ct = loaded.world.crime_truth.merge(
        linked.crimes[["force", "crime_ref", "lsoa_code"]].astype("string"), on=["force", "crime_ref"]
    )
    rec = pd.to_datetime(ct["recorded_date"])
    own = pd.to_datetime(ct["area"].astype(str).map(cfg.go_live_by_area))
    treated = (ct["role"] == "trailblazer") & (rec >= own) & ct["lsoa_code"].notna()
    named = treated & ct["suspect_identified"].astype(bool) & (rec + pd.Timedelta(days=f) <= cfg.period_end)
    every = treated & (rec + pd.Timedelta(days=n) <= cfg.period_end)
    d1, d0 = ct["days_to_outcome"].astype(float), ct["days_to_outcome_without_intervention"].astype(float)
    o1 = ct["oocd"].astype(bool) & (d1 <= f)
    o0 = ct["oocd_without_intervention"].astype(bool) & (d0 <= f)
    hand = {
        "oocd": 100 * (o1.astype(float) - o0.astype(float))[named].mean(),
        "days_capped": (d1.clip(upper=f) - d0.clip(upper=f))[named].mean(),
        "within_n": 100 * ((d1 <= n).astype(float) - (d0 <= n))[every].mean(),
    }
    assert got == pytest.approx(hand, abs=1e-9)
    early = treated & (ct["area"] == "Southwark") & (rec < cfg.go_live)
    assert early.sum() > 100  # crimes before the period's go-live are in the truth: staggering matters
