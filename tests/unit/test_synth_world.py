"""Tests of generated worlds: contracts, determinism, truth, faults, intervention, geography, calibration."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from linkage._io import file_sha256
from linkage.errors import ConfigError
from linkage.sources import read_extract, read_police_uk
from linkage.sources.contracts import EXTRACTS
from linkage.synth import CONTRACT_TABLES, WorldSpec, generate, pnc_is_valid, preset, write_world_chunked
from linkage.synth.calibration import calibration_table
from linkage.synth.people import nickname_table
from linkage.synth.presets import PRESETS

MET = "Metropolitan Police Service"


def _spec(noise="typical", oocd_pp=10.0, per_month=400, months=6, days=0.0) -> WorldSpec:
    return WorldSpec.from_dict(
        {
            "start_month": "2024-01",
            "months": months,
            "go_live_month": "2024-04",
            "noise": noise,
            "intervention": {"oocd_pp": oocd_pp, "days_to_outcome": days},
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
    )


@pytest.fixture(scope="module")
def world():
    return generate(_spec(), 11)


def test_contract_tables_have_exact_columns_and_types(world):
    for name in CONTRACT_TABLES:
        frame = world.table(name)
        contract = EXTRACTS[name]
        assert list(frame.columns) == contract.names, name
        for col in contract.columns:
            if col.kind == "date":
                assert frame[col.name].dtype == "datetime64[ns]", (name, col.name)
            if col.required:
                assert frame[col.name].notna().all(), (name, col.name)
        assert not frame.duplicated(list(contract.key)).any(), name
    assert len(world.cautions) and len(world.penalty_notices) and len(world.court_outcomes)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_written_extracts_load_without_quarantine(world, tmp_path, fmt):
    world.write(tmp_path, fmt=fmt)
    for name in CONTRACT_TABLES:
        sub = "truth" if name == "truth" else "restricted"
        result = read_extract(name, tmp_path / sub / f"{name}.{fmt}")
        assert len(result.quarantined) == 0, (name, result.quarantined.head())
        assert result.summary.accepted == len(world.table(name))


def test_police_uk_view_reads_back(world, tmp_path):
    world.write(tmp_path)
    files = sorted((tmp_path / "police-uk").rglob("*.csv"))
    assert files and all(
        f.read_text().splitlines()[0].startswith("Crime ID,Month,Reported by") for f in files
    )
    street = [f for f in files if f.name.endswith("-street.csv")][0]
    assert street.read_text().splitlines()[0] == (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
        "Crime type,Last outcome category,Context"
    )
    loaded = read_police_uk(tmp_path / "police-uk")
    canon = loaded.tables["street"]
    assert len(canon) == len(world.street)
    asb = canon["crime_type"] == "Anti-social behaviour"
    assert canon.loc[asb, "crime_id"].isna().all() and canon.loc[asb, "last_outcome"].isna().all()
    assert canon.loc[~asb, "crime_id"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert canon.loc[~asb, "last_outcome"].notna().all()
    # Outcomes rows join to street rows by Crime ID; duplicates are exact copies.
    outcomes = loaded.tables["outcomes"]
    assert set(outcomes["crime_id"]) <= set(canon["crime_id"].dropna())


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    spec = _spec(per_month=150, months=4)
    a, b = tmp_path / "a", tmp_path / "b"
    first, second = generate(spec, 5), generate(spec, 5)
    first.write(a)
    second.write(b, fmt="parquet")
    first.write(a / "csv", fmt="csv")
    second.write(b / "csv", fmt="csv")
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 10
    for rel in files_a:
        assert file_sha256(a / rel) == file_sha256(b / rel), rel
    other = generate(spec, 6)
    assert not other.crimes.equals(generate(spec, 5).crimes)


def test_truth_is_complete_and_points_at_real_crimes_and_suspects(world):
    truth = world.truth
    ids = pd.concat(
        [
            world.cautions["caution_id"],
            world.penalty_notices["pnd_id"],
            world.court_outcomes["case_id"] + ":" + world.court_outcomes["offence_seq"],
        ]
    )
    assert sorted(truth["record_id"]) == sorted(ids)
    assert truth["record_id"].is_unique
    crimes = set(zip(world.crimes["force"], world.crimes["crime_ref"], strict=True))
    suspects = set(
        zip(world.suspects["force"], world.suspects["crime_ref"], world.suspects["suspect_ref"], strict=True)
    )
    assert all(k in crimes for k in zip(truth["force"], truth["crime_ref"], strict=True))
    assert all(
        k in suspects for k in zip(truth["force"], truth["crime_ref"], truth["suspect_ref"], strict=True)
    )


def test_structure_several_suspects_repeat_offenders_cases_and_tics(world):
    per_crime = world.suspects.groupby("crime_ref").size()
    assert (per_crime > 1).any()
    per_person = world.suspect_truth.groupby("person_id").size()
    assert (per_person > 1).mean() > 0.1  # repeat offenders
    lines = world.court_outcomes.groupby("case_id").size()
    assert (lines > 1).any()  # court cases covering several crimes
    assert world.court_outcomes["tic"].eq("Y").any()
    court = world.truth[world.truth["source"] == "court_outcomes"]
    assert court.groupby("record_id")["crime_ref"].nunique().max() == 1


def _records_with_truth(world, source, id_col):
    truth = world.truth[world.truth["source"] == source]
    rec = world.table(source)
    if source == "court_outcomes":
        rec = rec.assign(record_id=rec["case_id"] + ":" + rec["offence_seq"])
    else:
        rec = rec.assign(record_id=rec[id_col])
    keys = truth[["record_id", "force", "crime_ref", "suspect_ref"]].rename(
        columns={"force": "t_force", "crime_ref": "t_crime_ref", "suspect_ref": "t_suspect_ref"}
    )
    people = world.suspect_truth[["force", "crime_ref", "suspect_ref", "person_id"]].rename(
        columns={"force": "t_force", "crime_ref": "t_crime_ref", "suspect_ref": "t_suspect_ref"}
    )
    merged = rec.merge(keys, on="record_id").merge(people, on=["t_force", "t_crime_ref", "t_suspect_ref"])
    return merged.merge(world.people, on="person_id", suffixes=("", "_p"))


def test_clean_profile_records_match_the_true_people():
    w = generate(_spec(noise="clean", per_month=300, months=4), 3)
    for source, id_col in (
        ("cautions", "caution_id"),
        ("penalty_notices", "pnd_id"),
        ("court_outcomes", None),
    ):
        m = _records_with_truth(w, source, id_col)
        assert len(m) == len(w.table(source)) > 0
        assert (m["forename"] == m["forename_p"]).all()
        assert (m["surname"] == m["surname_p"]).all()
        assert (m["date_of_birth"] == m["date_of_birth_p"]).all()
        assert (m["pnc_id"] == m["pnc_id_p"]).all()
    assert (w.cautions["crime_ref"].notna()).all()
    assert w.faults.empty


def test_each_fault_type_at_roughly_its_rate():
    rate = 0.3
    noise = {
        "profile": "clean",
        **{
            k: rate
            for k in (
                "name_typo",
                "nickname",
                "name_swap",
                "alias",
                "middle_name",
                "dob_day_month_swap",
                "dob_digit",
                "sex_unknown",
                "pnc_missing_caution",
                "pnc_missing_pnd",
                "pnc_missing_court",
                "offence_altered_caution",
                "offence_altered_court",
                "offence_date_shift",
                "disposal_date_shift",
                "crime_ref_blank",
                "crime_ref_wrong",
                "pnc_short",
                "suspect_pnc_missing",
            )
        },
    }
    w = generate(_spec(noise=noise, per_month=1500, months=6, oocd_pp=0.0), 7)
    counts = w.faults.groupby(["source", "fault"]).size()
    n = {s: len(w.table(s)) for s in ("cautions", "penalty_notices", "court_outcomes")}
    total = sum(n.values())
    assert total > 1000

    def observed(fault, sources=tuple(n)):
        hits = sum(int(counts.get((s, fault), 0)) for s in sources)
        return hits / sum(n[s] for s in sources), sum(n[s] for s in sources)

    # Unconditional faults: rate 0.3 each; binomial sd = sqrt(.3 * .7 / N), allow 4 sd.
    for fault, sources in (
        ("name_typo", tuple(n)),
        ("name_swap", tuple(n)),
        ("alias", tuple(n)),
        ("dob_digit", tuple(n)),
        ("sex_unknown", tuple(n)),
        ("offence_date_shift", tuple(n)),
        ("disposal_date_shift", tuple(n)),
        ("pnc_missing", tuple(n)),
        ("offence_altered", ("cautions", "court_outcomes")),
        ("crime_ref_blank", ("cautions",)),
    ):
        got, size = observed(fault, sources)
        assert abs(got - rate) < 4 * np.sqrt(rate * (1 - rate) / size), (fault, got, size)
    # Faults applied only where another did not apply: rate x (1 - rate).
    for fault, sources in (("crime_ref_wrong", ("cautions",)), ("pnc_short", tuple(n))):
        got, size = observed(fault, sources)
        expected = rate * (1 - rate)
        assert abs(got - expected) < 4 * np.sqrt(expected * (1 - expected) / size), (fault, got, size)
    missing = w.suspects["pnc_id"].isna().mean()
    assert abs(missing - rate) < 4 * np.sqrt(rate * (1 - rate) / len(w.suspects))
    # Conditional faults: rate x share of records that can have them.
    people = pd.concat(
        [
            _records_with_truth(w, s, i)
            for s, i in (("cautions", "caution_id"), ("penalty_notices", "pnd_id"), ("court_outcomes", None))
        ]
    )
    eligible = {
        "middle_name": people["middle_name"].notna().mean(),
        "nickname": people["forename_p"].isin(nickname_table()["forename"]).mean(),
        "dob_day_month_swap": (
            (people["date_of_birth_p"].dt.day <= 12)
            & (people["date_of_birth_p"].dt.day != people["date_of_birth_p"].dt.month)
        ).mean(),
    }
    for fault, share in eligible.items():
        got, size = observed(fault)
        expected = rate * share
        assert abs(got - expected) < 4 * np.sqrt(expected * (1 - expected) / size) + 0.01, (
            fault,
            got,
            expected,
        )


def test_faults_do_what_they_say():
    w = generate(_spec(noise={"profile": "clean", "name_swap": 1.0}, per_month=200, months=4), 2)
    m = _records_with_truth(w, "court_outcomes", None)
    assert (m["forename"] == m["surname_p"]).all() and (m["surname"] == m["forename_p"]).all()
    w = generate(_spec(noise={"profile": "clean", "alias": 1.0}, per_month=200, months=4), 2)
    m = _records_with_truth(w, "court_outcomes", None)
    assert (m["forename"] == m["forename_p"]).all() and (m["surname"] != m["surname_p"]).mean() > 0.9
    w = generate(_spec(noise={"profile": "clean", "pnc_short": 1.0}, per_month=200, months=4), 2)
    pnc = w.cautions["pnc_id"].dropna()
    assert len(pnc) and pnc.str.fullmatch(r"\d{2}/\d{7}[A-Z]").all() and pnc_is_valid(pnc).all()


def test_pnc_ids_in_records_have_valid_check_letters(world):
    for name in ("suspects", "cautions", "penalty_notices", "court_outcomes"):
        pnc = world.table(name)["pnc_id"].dropna()
        assert pnc_is_valid(pnc).all(), name
    assert world.penalty_notices["pnc_id"].isna().mean() > 0.5  # most PNDs carry none


def test_intervention_only_in_trailblazer_areas_after_go_live():
    with_effect = generate(_spec(oocd_pp=15.0, days=-5.0, per_month=1500), 4)
    without = generate(_spec(oocd_pp=0.0, per_month=1500), 4)
    ct, base = with_effect.crime_truth, without.crime_truth
    expected_treated = (ct["role"] == "trailblazer") & (ct["recorded_date"] >= pd.Timestamp("2024-04-01"))
    assert (ct["treated"] == expected_treated).all()
    changed = ct["oocd"] != ct["oocd_without_intervention"]
    assert changed.any() and not (changed & ~ct["treated"]).any()
    # Comparison areas, and trailblazer months before go-live, are identical with and without the effect.
    untouched = ~ct["treated"]
    cols = ["crime_ref", "crime_type", "outcome_key", "outcome_date", "last_outcome"]
    pd.testing.assert_frame_equal(
        ct.loc[untouched & (ct["role"] == "comparison"), cols].reset_index(drop=True),
        base.loc[untouched & (base["role"] == "comparison"), cols].reset_index(drop=True),
    )
    eff = with_effect.true_effect
    # About 15 pp on ~4,500 treated crimes with a suspect: sd about 0.6 pp, allow 3 pp.
    assert abs(eff.oocd_pp - 15.0) < 3.0
    assert (
        eff.days_to_outcome < -5.0
    )  # the shift plus faster out-of-court disposals replacing slower outcomes
    assert without.true_effect.oocd_pp == 0.0
    # The realised effect is the mean difference over treated crimes with a suspect, recomputed here.
    tsel = ct["treated"] & ct["suspect_identified"]
    days = ct.loc[tsel, "days_to_outcome"] - ct.loc[tsel, "days_to_outcome_without_intervention"]
    assert eff.days_to_outcome == pytest.approx(days.mean())
    # With no change of outcomes, a -5 day shift moves treated crimes by -5 days unless already near 0.
    only_days = generate(_spec(oocd_pp=0.0, days=-5.0, per_month=300), 4).true_effect
    assert -5.0 <= only_days.days_to_outcome < -4.0
    assert only_days.oocd_pp == 0.0
    assert eff.oocd_pp == pytest.approx(
        100 * (ct.loc[tsel, "oocd"].mean() - ct.loc[tsel, "oocd_without_intervention"].mean())
    )


def test_police_uk_geography_reuses_published_points():
    spec = WorldSpec.from_dict({**copy.deepcopy(PRESETS["city-of-london"]), "months": 2})
    w = generate(spec, 1)
    published = pd.concat(
        pd.read_csv(f)
        for f in sorted(__import__("pathlib").Path("data/police-uk/city-of-london").glob("*street.csv"))
    )
    points = set(zip(published["Longitude"].round(6), published["Latitude"].round(6), strict=True))
    located = w.crimes.dropna(subset=["longitude"])
    assert len(located) > 0.8 * len(w.crimes)
    assert all(
        p in points for p in zip(located["longitude"].round(6), located["latitude"].round(6), strict=True)
    )
    assert set(w.street["location"]) <= set(published["Location"]) | {"No Location"}


def test_lsoa_geography_stays_inside_the_borough(world):
    names = world.street["lsoa_name"].dropna()
    assert names.str.match(r"^(Southwark|Lewisham) \d{3}[A-Z]$").all()
    loc = world.street["location"]
    assert (loc.str.startswith("On or near ") | (loc == "No Location")).all()
    counts = world.street.groupby(["longitude", "latitude"]).size()
    assert counts.max() > 10 * counts.median()  # heavy-tailed map points


def test_calibration_within_tolerance_on_a_moderate_world():
    spec_dict = copy.deepcopy(PRESETS["essex-2018"])
    spec_dict["areas"][0]["crimes_per_month"] = 4000
    table = calibration_table(generate(WorldSpec.from_dict(spec_dict), 2018))
    failed = table[~table["passed"]]
    assert failed.empty, failed[["check", "group", "item", "generated", "low", "high"]].to_string()


def test_chunked_writer_matches_generate(tmp_path):
    spec = WorldSpec.from_dict(
        {
            "start_month": "2024-01",
            "months": 3,
            "areas": [
                {
                    "name": "Southwark",
                    "force": MET,
                    "crimes_per_month": 200,
                    "geography": {"lsoa_prefix": "Southwark"},
                },
                {
                    "name": "City",
                    "force": "City of London Police",
                    "crimes_per_month": 200,
                    "geography": {"police_uk": "data/police-uk/city-of-london"},
                    "crime_mix": "police_uk",
                },
            ],
        }
    )
    result = write_world_chunked(spec, 9, tmp_path)
    world = generate(spec, 9)
    for name in ("crimes", "court_outcomes", "truth"):
        sub = "truth" if name == "truth" else "restricted"
        got = pd.read_parquet(tmp_path / sub / f"{name}.parquet")
        pd.testing.assert_frame_equal(got, world.table(name), check_dtype=False)
        assert result["rows"][name] == len(world.table(name))
    assert result["true_effect"] == world.true_effect
    assert preset("small").areas[0].role == "trailblazer"


def test_published_csv_text_matches_pandas_csv(world):
    from linkage.synth.world import OUTCOMES_HEADER, STREET_HEADER, published_csv_text

    for frame, header in ((world.street, STREET_HEADER), (world.outcomes, OUTCOMES_HEADER)):
        part = frame.iloc[:2000]
        expected = (
            part[list(header)]
            .assign(month=part["month"].dt.strftime("%Y-%m"))
            .rename(columns=header)
            .to_csv(index=False, lineterminator="\n", float_format="%.6f")
        )
        assert published_csv_text(part, header) == expected


def test_command_line_synth_and_calibrate(tmp_path):
    from linkage.cli import main

    assert (
        main(["synth", "--preset", "small", "--seed", "2", "--out", str(tmp_path / "w"), "--noise", "hard"])
        == 0
    )
    assert (tmp_path / "w" / "restricted" / "crimes.parquet").is_file()
    assert (tmp_path / "w" / "manifest.json").is_file()
    config = tmp_path / "trailblazer.yaml"
    config.write_text(yaml.safe_dump({"sources": {"synthetic_world": PRESETS["small"]}}))
    assert main(["synth", "--spec", str(config), "--seed", "2", "--out", str(tmp_path / "t")]) == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "t" / "restricted" / "crimes.parquet"),
        pd.read_parquet(tmp_path / "w" / "restricted" / "crimes.parquet"),
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("world:\n  start_month: 2024-1\n  months: 0\n  areas: []\n")
    assert main(["synth", "--spec", str(bad), "--out", str(tmp_path / "x")]) == 2
    code = main(
        ["calibrate", "--preset", "small", "--seed", "1", "--no-doc", "--csv", str(tmp_path / "cal.csv")]
    )
    table = pd.read_csv(tmp_path / "cal.csv")
    assert code == (0 if table["passed"].all() else 1)
    assert list(table.columns) == [
        "check",
        "group",
        "item",
        "generated",
        "target",
        "low",
        "high",
        "passed",
        "source",
    ]


def test_lsoa_codes_geography_and_unknown_codes():
    codes = ["E01000001", "E01000002", "E01000003"]  # City of London 001A-C (data/boundaries shapefile)
    spec = WorldSpec.from_dict(
        {
            "start_month": "2024-01",
            "months": 1,
            "areas": [
                {
                    "name": "City",
                    "force": "City of London Police",
                    "crimes_per_month": 300,
                    "geography": {"lsoa_codes": codes},
                }
            ],
        }
    )
    w = generate(spec, 1)
    assert set(w.crimes["lsoa_code"].dropna()) <= set(codes)
    # Points lie in the City: a box round its LSOAs, WGS84 degrees.
    located = w.crimes.dropna(subset=["longitude"])
    assert (
        located["longitude"].between(-0.12, -0.07).all() and located["latitude"].between(51.50, 51.53).all()
    )
    bad = WorldSpec.from_dict(
        {
            **spec.to_dict(),
            "areas": [{**spec.to_dict()["areas"][0], "geography": {"lsoa_codes": ["E0XXXXXXX"]}}],
        }
    )
    with pytest.raises(ConfigError, match="E0XXXXXXX"):
        generate(bad, 1)


def test_youth_cautions_and_no_youth_penalty_notices():
    w = generate(_spec(noise="clean", per_month=1500, months=6, oocd_pp=0.0), 8)
    c = _records_with_truth(w, "cautions", "caution_id")
    age = (c["offence_date"] - c["date_of_birth_p"]).dt.days / 365.25
    youth_type = c["caution_type"].str.startswith("youth")
    assert youth_type.any() and (~youth_type).any()
    assert (youth_type == (age < 18)).all()
    p = _records_with_truth(w, "penalty_notices", "pnd_id")
    assert len(p) and ((p["offence_date"] - p["date_of_birth_p"]).dt.days / 365.25 >= 18).all()


def test_caution_type_follows_the_true_age_at_the_offence(world):
    # Youth cautions are for under-18s at the offence. Join each caution to its true suspect (truth ->
    # suspect_truth -> people) and its true crime (committed date): the type must follow that age.
    ct = world.truth[world.truth["source"] == "cautions"][["record_id", "force", "crime_ref", "suspect_ref"]]
    st = world.suspect_truth[["force", "crime_ref", "suspect_ref", "person_id"]]
    people = world.people[["person_id", "date_of_birth"]].drop_duplicates("person_id")
    crimes = world.crimes[["force", "crime_ref", "committed_date"]]
    cau = world.cautions[["caution_id", "caution_type", "date_of_birth", "offence_date"]].rename(
        columns={"caution_id": "record_id", "date_of_birth": "record_dob", "offence_date": "record_offence"}
    )
    joined = (
        cau.merge(ct, on="record_id")
        .merge(st, on=["force", "crime_ref", "suspect_ref"])
        .merge(people, on="person_id")
        .merge(crimes, on=["force", "crime_ref"])
    )
    assert len(joined) == len(world.cautions)
    age = (joined["committed_date"] - joined["date_of_birth"]).dt.days / 365.25
    youth = joined["caution_type"].str.startswith("youth")
    assert ((age < 18) == youth).all()
    assert youth.any() and (~youth).any()
    # On the record itself a type can disagree with the recorded date of birth or offence date only
    # where a fault altered one of them (a "born 2013, adult caution" record is a DOB typo, as in real
    # extracts); every other record agrees.
    record_age = (joined["record_offence"] - joined["record_dob"]).dt.days / 365.25
    odd = joined.loc[(record_age < 18) != youth, "record_id"]
    faults = world.faults[world.faults["source"] == "cautions"]
    date_faults = set(faults.loc[faults["fault"].str.startswith(("dob_", "offence_date")), "record_id"])
    assert set(odd) <= date_faults


def test_individual_effects_by_hand():
    from linkage.synth import individual_effects

    # Three crimes (followup 90, within 30): A switched to an OOCD on day 20 from a charge on day 100;
    # B an OOCD either way but on day 95 without the intervention and 85 with it; C untouched.
    ct = pd.DataFrame(
        {
            "force": ["F"] * 3,
            "crime_ref": ["A", "B", "C"],
            "oocd": [True, True, False],
            "oocd_without_intervention": [False, True, False],
            "days_to_outcome": [20, 85, 40],
            "days_to_outcome_without_intervention": [100, 95, 40],
        }
    )
    eff = individual_effects(ct, followup_days=90, within_days=30).set_index("crime_ref")
    assert eff["oocd"].tolist() == [100.0, 100.0, 0.0]  # B: OOCD within 90 days only with it
    assert eff["days_capped"].tolist() == [20 - 90, 85 - 90, 0]
    assert eff["within_n"].tolist() == [100.0, 0.0, 0.0]
