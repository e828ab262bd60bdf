"""Unit tests of the synthetic world's parts: spec validation, PNC IDs, name tables and faults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rapidfuzz.distance import Levenshtein

from linkage.errors import ConfigError
from linkage.synth import NOISE_PROFILES, WorldSpec, format_pnc, pnc_check_letter, pnc_is_valid, preset
from linkage.synth import faults as flt
from linkage.synth.people import make_people, surname_table
from linkage.synth.presets import PRESETS


def _good() -> dict:
    return {
        "start_month": "2024-01",
        "months": 6,
        "go_live_month": "2024-04",
        "intervention": {"oocd_pp": 5},
        "areas": [
            {
                "name": "Southwark",
                "force": "Metropolitan Police Service",
                "role": "trailblazer",
                "crimes_per_month": 100,
                "geography": {"lsoa_prefix": "Southwark"},
            }
        ],
    }


def test_spec_from_dict_reports_every_problem():
    bad = _good()
    bad["start_month"] = "2024-13"
    bad["months"] = 0
    bad["noise"] = "noisy"
    bad["intervention"] = {"oocd_pp": 250, "speed": 1}
    bad["areas"][0]["role"] = "pilot"
    bad["areas"][0]["crimes_per_month"] = -5
    bad["areas"][0]["geography"] = {"postcode": "SE1"}
    with pytest.raises(ConfigError) as err:
        WorldSpec.from_dict(bad)
    text = "\n".join(err.value.problems)
    for field in (
        "start_month",
        "months",
        "noise",
        "oocd_pp",
        "speed",
        "role",
        "crimes_per_month",
        "geography",
    ):
        assert field in text, field
    assert len(err.value.problems) >= 8


def test_spec_needs_go_live_for_trailblazers_and_unique_names():
    bad = _good()
    del bad["go_live_month"]
    bad["areas"].append(dict(bad["areas"][0]))
    with pytest.raises(ConfigError) as err:
        WorldSpec.from_dict(bad)
    text = "\n".join(err.value.problems)
    assert "go_live_month is required" in text
    assert "duplicate area names" in text


def test_spec_round_trip_and_presets_validate():
    spec = WorldSpec.from_dict(_good())
    assert WorldSpec.from_dict(spec.to_dict()) == spec
    for name in PRESETS:
        assert preset(name).areas


def test_noise_profiles_and_overrides():
    assert all(v == 0.0 for v in NOISE_PROFILES["clean"].rates.values())
    hard, typical = NOISE_PROFILES["hard"].rates, NOISE_PROFILES["typical"].rates
    assert all(hard[k] >= typical[k] for k in typical)
    spec = WorldSpec.from_dict({**_good(), "noise": {"profile": "clean", "name_typo": 0.5}})
    assert spec.noise_profile.name_typo == 0.5 and spec.noise_profile.nickname == 0.0
    with pytest.raises(ConfigError, match="name_typo"):
        WorldSpec.from_dict({**_good(), "noise": {"name_typo": 1.5}})


def test_pnc_check_letters_by_hand():
    # int("24" + "0000001") = 240000001 = 23 * 10434782 + 15 -> "ZABCDEFGHJKLMNPQRTUVWXY"[15] = "Q"
    # int("99" + "1234567") = 991234567 = 23 * 43097155 + 2  -> "B"
    assert list(pnc_check_letter(np.array([2024, 1999]), np.array([1, 1234567]))) == ["Q", "B"]
    ids = format_pnc(np.array([2024, 1999]), np.array([1, 1234567]), np.array([False, True]))
    assert list(ids) == ["2024/0000001Q", "99/1234567B"]
    assert list(pnc_is_valid(pd.Series(["2024/0000001Q", "99/1234567B", "2024/0000001R", None, "x"]))) == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_people_have_valid_unique_pnc_ids_and_plausible_ages():
    people = make_people(np.random.default_rng(3), 5000, pd.Timestamp("2024-01-01"), "P")
    assert pnc_is_valid(people["pnc_id"]).all()
    assert people["pnc_id"].is_unique and people["person_id"].is_unique
    age = (pd.Timestamp("2024-01-01") - people["date_of_birth"]).dt.days / 365.25
    assert age.between(10, 80).all()
    assert set(people["sex"]) == {"M", "F"}


def test_common_surnames_are_common():
    table = surname_table().set_index("surname")["weight"]
    assert table.idxmax() == "Smith"
    assert 0.01 < table["Smith"] < 0.015  # Smith about 1.2% of people
    assert table.sum() == pytest.approx(1.0)
    people = make_people(np.random.default_rng(1), 20000, pd.Timestamp("2024-01-01"), "P")
    assert people["surname"].value_counts().index[0] == "Smith"


def test_keyboard_typos_make_exactly_one_edit():
    names = np.array(["Smith", "Elizabeth", "O'Brien", "Li", "Mohammed"] * 200, dtype=object)
    out = flt.keyboard_typos(names, np.random.default_rng(0))
    dist = np.array([Levenshtein.distance(a, b) for a, b in zip(names, out, strict=True)])
    assert (dist >= 1).all() and (dist <= 2).all()  # a transposition is 2 Levenshtein edits


def test_nicknames_use_the_table():
    out, has = flt.nicknames(np.array(["William", "Zed"], dtype=object), np.random.default_rng(0))
    assert list(has) == [True, False]
    assert out[0] in {"Bill", "Will", "Billy", "Liam", "Willy"} and out[1] == "Zed"


def test_dob_day_month_swap_and_wrong_digit():
    dob = pd.Series(pd.to_datetime(["1990-03-05", "1990-05-05", "1991-12-31"]), index=[7, 8, 9])
    swapped, done = flt.dob_day_month_swap(dob)
    assert list(swapped.dt.strftime("%Y-%m-%d")) == ["1990-05-03", "1990-05-05", "1991-12-31"]
    assert list(done) == [True, False, False]
    wrong = flt.dob_wrong_digit(
        pd.Series(pd.to_datetime(["2000-02-29"] * 50 + ["1985-07-14"] * 50)), np.random.default_rng(1)
    )
    original = pd.to_datetime(["2000-02-29"] * 50 + ["1985-07-14"] * 50)
    assert (wrong.to_numpy() != original.to_numpy()).all()
    assert wrong.notna().all()


def test_hex_ids_look_like_police_uk_crime_ids():
    ids = flt.hex_ids(np.random.default_rng(0), 1000)
    assert pd.Series(ids).str.fullmatch(r"[0-9a-f]{64}").all()
    assert len(set(ids)) == 1000


def test_write_calibration_replaces_only_its_section(tmp_path):
    from linkage.synth.calibration import COLUMNS, write_calibration

    table = pd.DataFrame(
        [["last outcome", "all crimes", "Local resolution", 0.044, 0.036, 0.021, 0.051, True, "DOMAIN.md"]],
        columns=list(COLUMNS),
    )
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\n<!-- calibration:start -->\nold\n<!-- calibration:end -->\n\nAfter.\n")
    write_calibration(table, tmp_path / "cal.csv", doc, "Header line.")
    text = doc.read_text()
    assert text.startswith("# Title\n") and text.endswith("\n\nAfter.\n") and "old" not in text
    assert "| last outcome | all crimes | Local resolution | 4.4% | 3.6% | 2.1% - 5.1% | yes |" in text
    assert pd.read_csv(tmp_path / "cal.csv")["passed"].tolist() == [True]


def test_national_preset_has_the_43_forces_at_six_million_crimes():
    spec = preset("national")
    forces = {a.force for a in spec.areas}
    assert len(spec.areas) == 43 and len(forces) == 43
    assert {"Metropolitan Police Service", "City of London Police", "Devon & Cornwall Police"} <= forces
    assert sum(a.crimes_per_month for a in spec.areas) * 12 == pytest.approx(6_000_000, rel=1e-4)


def test_issue13_dob_faults_and_unlisted_codes():
    rng = np.random.default_rng(0)
    dob = pd.Series(pd.to_datetime(["1985-03-12", "2002-05-17", "1999-12-31", "1990-02-28"] * 25))
    slipped = flt.dob_year_slip(dob, rng)
    assert (slipped.dt.strftime("%m%d").fillna("0228") == dob.dt.strftime("%m%d")).all()
    assert (slipped.dt.year != dob.dt.year).all()
    moved, did = flt.dob_transpose(dob, rng)
    assert did.any() and (moved[did] != dob[did]).all() and moved.notna().all()
    month, did = flt.dob_month_digit(dob, rng)
    assert did.any() and (month[did].dt.month != dob[did].dt.month).all()
    assert (month[did].dt.year == dob[did].dt.year).all() and (month[did].dt.day == dob[did].dt.day).all()
    listed = {"TH68001", "TH68018"}
    codes = flt.unlisted_cjs_codes(np.array(["TH68001", "TH68018"], dtype=object), listed, rng)
    assert all(c.startswith("TH68") and c not in listed for c in codes)
    changed = flt.surname_changes(
        np.array(["Smith"] * 20, dtype=object), np.array(["Jones"] * 20, dtype=object), rng
    )
    assert set(changed) <= {"Jones", "Smith-Jones", "Jones-Smith"} and len(set(changed)) > 1


def test_days_to_outcome_are_bounded_so_far_tail_draws_keep_valid_timestamps():
    """A far-tail normal draw (about one crime in a million) once gave a date past 2262: nanosecond
    timestamps overflowed and linking the world failed. Draws beyond ten years are set to ten years."""
    from linkage.synth import targets as tg
    from linkage.synth.process import CHARGE, NS, _draw_days

    z = np.array([0.0, 5.3, 12.0, 12.0])
    days = _draw_days(np.array([NS, NS, NS, CHARGE]), np.array(["Burglary"] * 3 + ["Shoplifting"]), z)
    assert days[0] == tg.DAYS_TO_OUTCOME["no_suspect"][0]
    assert days[1] == days[2] == tg.MAX_DAYS_TO_OUTCOME
    assert days[3] == tg.SUMMARY_CHARGE_LIMIT_DAYS
    when = np.datetime64("2024-12-31") + days.astype("timedelta64[D]")
    assert (when.astype("datetime64[ns]") > np.datetime64("2024-01-01")).all()
