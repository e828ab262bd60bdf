"""The fault sweep's worlds really carry their faults (issue 13).

For every fault class of ``benchmarks/bench_faults.FAULTS`` and the ``no PNC`` base, the world the sweep
links (built by ``bench_faults.fault_spec``) is generated on a small period, and the records whose field
differs from the truth (the person's true name, DOB, sex, PNC ID; the crime's date, offence and reference)
are counted: about the stated rate in the faulted world, none in the clean world. A fault the generator
ignores (a spec field not read, rates set on the wrong object, a preset overriding them) fails here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from linkage.reference import cjs_offences
from linkage.synth import SyntheticWorld, generate, preset
from linkage.synth.people import nickname_table

pytestmark = pytest.mark.slow  # about 23 small worlds: 30 s on a quiet machine

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"cautions": "caution_id", "penalty_notices": "pnd_id", "court_outcomes": None}
SEED = 1
MONTHS = 2  # london-trailblazers over two months: about 470 outcome records, 2 s a world


def _bench():
    spec = importlib.util.spec_from_file_location("bench_faults", ROOT / "benchmarks" / "bench_faults.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _bench()


@cache
def _world(base: str, fault: str) -> SyntheticWorld:
    base_spec = replace(preset("london-trailblazers"), months=MONTHS)
    return generate(BENCH.fault_spec(base_spec, base, fault), seed=SEED)


def _records(world: SyntheticWorld) -> pd.DataFrame:
    """Every outcome record with its true person and crime fields (``true_*``) beside the recorded ones."""
    people = world.people.set_index("person_id")
    st = world.suspect_truth.set_index(["force", "crime_ref", "suspect_ref"])["person_id"]
    crimes = world.crimes.set_index(["force", "crime_ref"])
    parts = []
    for source, id_col in SOURCES.items():
        table = world.table(source).copy()
        if id_col is None:
            ids = table["case_id"].astype(str) + ":" + table["offence_seq"].astype(str)
        else:
            ids = table[id_col].astype(str)
        truth = world.truth[world.truth["source"] == source].set_index("record_id")
        t = truth.loc[ids.to_numpy()]
        person = st.reindex(pd.MultiIndex.from_frame(t[["force", "crime_ref", "suspect_ref"]])).to_numpy()
        assert not pd.isna(person).any()
        crime = crimes.reindex(pd.MultiIndex.from_frame(t[["force", "crime_ref"]]))
        table = table.rename(columns={"crime_ref": "typed_crime_ref"}) if "crime_ref" in table else table
        table["source"] = source
        table["record_id"] = ids.to_numpy()
        table["disposal_date"] = table[
            {"cautions": "caution_date", "penalty_notices": "issue_date", "court_outcomes": "hearing_date"}[
                source
            ]
        ]
        for col in ("forename", "surname", "middle_name", "date_of_birth", "sex", "pnc_id"):
            table[f"true_{col}"] = people[col].reindex(person).to_numpy()
        table["true_crime_ref"] = t["crime_ref"].to_numpy()
        table["true_offence_date"] = crime["committed_date"].to_numpy()
        table["true_ho_code"] = crime["offence_code"].to_numpy()
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def _ne(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Differs: one side missing and not the other, or both present and unequal."""
    a, b = a.astype("string"), b.astype("string")
    return (a.isna() != b.isna()).to_numpy() | (a != b).fillna(False).to_numpy()


def _dob(r: pd.DataFrame) -> np.ndarray:
    return _ne(r["date_of_birth"], r["true_date_of_birth"])


def _day_month_eligible(r: pd.DataFrame) -> np.ndarray:
    d = pd.to_datetime(r["true_date_of_birth"])
    return ((d.dt.day <= 12) & (d.dt.day != d.dt.month)).to_numpy()


def _has_nickname(r: pd.DataFrame) -> np.ndarray:
    return r["true_forename"].isin(set(nickname_table()["forename"])).to_numpy()


def _offence_not_of_crime(r: pd.DataFrame) -> np.ndarray:
    pairs = set(
        zip(cjs_offences()["ho_code"].astype(str), cjs_offences()["cjs_code"].astype(str), strict=True)
    )
    codes = r["offence_code_cjs"].astype(str)
    return np.array([(h, c) not in pairs for h, c in zip(r["true_ho_code"].astype(str), codes, strict=True)])


def _unlisted(r: pd.DataFrame) -> np.ndarray:
    return ~r["offence_code_cjs"].astype(str).isin(set(cjs_offences()["cjs_code"].astype(str))).to_numpy()


Measure = Callable[[pd.DataFrame], np.ndarray]
# fault class -> (sources it applies to, the records' "field differs from the truth" test, eligible records
# (None: all), exact: the rate applies to every eligible record; False: only where the edit gives a real
# date or a different offence, so the observed share may fall below the rate)
CHECKS: dict[str, tuple[tuple[str, ...], Measure, Measure | None, bool]] = {
    "name_typo": (
        tuple(SOURCES),
        lambda r: _ne(r["forename"], r["true_forename"]) | _ne(r["surname"], r["true_surname"]),
        None,
        True,
    ),
    "nickname": (tuple(SOURCES), lambda r: _ne(r["forename"], r["true_forename"]), _has_nickname, True),
    "name_swap": (
        tuple(SOURCES),
        lambda r: ~_ne(r["forename"], r["true_surname"]) & ~_ne(r["surname"], r["true_forename"]),
        None,
        True,
    ),
    "middle_name": (
        tuple(SOURCES),
        lambda r: _ne(r["forename"], r["true_forename"]),
        lambda r: r["true_middle_name"].notna().to_numpy(),
        True,
    ),
    "alias (false particulars)": (
        tuple(SOURCES),
        lambda r: _ne(r["surname"], r["true_surname"]),
        None,
        False,
    ),
    "surname_change": (tuple(SOURCES), lambda r: _ne(r["surname"], r["true_surname"]), None, False),
    "dob_blank (outcome)": (tuple(SOURCES), lambda r: r["date_of_birth"].isna().to_numpy(), None, True),
    "dob_day_month_swap": (tuple(SOURCES), _dob, _day_month_eligible, True),
    "dob_digit": (tuple(SOURCES), _dob, None, True),
    "dob_month_digit": (tuple(SOURCES), _dob, None, False),
    "dob_transpose": (tuple(SOURCES), _dob, None, False),
    "dob_year_slip": (tuple(SOURCES), _dob, None, True),
    "sex_unknown": (tuple(SOURCES), lambda r: (r["sex"] == "U").to_numpy(), None, True),
    "pnc_short": (tuple(SOURCES), lambda r: _ne(r["pnc_id"], r["true_pnc_id"]), None, True),
    "offence_altered": (("cautions", "court_outcomes"), _offence_not_of_crime, None, False),
    "cjs_unlisted": (("cautions", "court_outcomes"), _unlisted, None, False),
    "offence_date_shift": (
        tuple(SOURCES),
        lambda r: _ne(r["offence_date"], r["true_offence_date"]),
        None,
        True,
    ),
    "crime_ref_blank": (("cautions",), lambda r: r["typed_crime_ref"].isna().to_numpy(), None, True),
    "crime_ref_wrong": (
        ("cautions",),
        lambda r: r["typed_crime_ref"].notna().to_numpy() & _ne(r["typed_crime_ref"], r["true_crime_ref"]),
        None,
        False,
    ),
}
# Checked against the clean world of the same seed (the true dates are not in the tables).
OTHER = {"dob_blank (suspect)", "disposal_date_shift"}


def _share(world: SyntheticWorld, fault: str) -> tuple[float, int]:
    sources, differs, eligible, _ = CHECKS[fault]
    r = _records(world)
    r = r[r["source"].isin(sources)].reset_index(drop=True)
    if eligible is not None:
        r = r[eligible(r)].reset_index(drop=True)
    return float(differs(r).mean()), len(r)


def test_checks_cover_every_fault_class_of_the_sweep():
    assert set(CHECKS) | OTHER == set(BENCH.FAULTS)


@pytest.mark.parametrize("fault", list(CHECKS))
def test_fault_changes_the_records_at_about_its_rate(fault):
    rate = max(BENCH.FAULTS[fault].values())
    exact = CHECKS[fault][3]
    clean, n_clean = _share(_world("clean", "(none)"), fault)
    assert n_clean >= 100
    assert clean == 0.0, f"{fault}: {clean:.3f} of the clean world's records differ from the truth"
    share, n = _share(_world("clean", fault), fault)
    tol = 4.5 * np.sqrt(rate * (1 - rate) / n) + 0.01
    low = rate - tol if exact else 0.5 * rate
    assert low <= share <= rate + tol, f"{fault} at {rate}: {share:.3f} of {n} records differ from the truth"


def test_suspect_dob_blank_blanks_the_suspects_dates_of_birth():
    rate = BENCH.FAULTS["dob_blank (suspect)"]["suspect_dob_blank"]
    clean = _world("clean", "(none)").suspects
    faulted = _world("clean", "dob_blank (suspect)").suspects
    assert clean["date_of_birth"].notna().all()
    share = faulted["date_of_birth"].isna().mean()
    assert abs(share - rate) <= 4.5 * np.sqrt(rate * (1 - rate) / len(faulted)) + 0.01
    # the outcome records keep their dates of birth
    assert _records(_world("clean", "dob_blank (suspect)"))["date_of_birth"].notna().all()


def test_disposal_date_shift_moves_the_disposal_dates():
    rate = BENCH.FAULTS["disposal_date_shift"]["disposal_date_shift"]
    a = _records(_world("clean", "(none)")).set_index("record_id")
    b = _records(_world("clean", "disposal_date_shift")).set_index("record_id")
    assert a.index.equals(b.index)
    moved = pd.to_datetime(b["disposal_date"]) - pd.to_datetime(a["disposal_date"])
    share = float((moved != pd.Timedelta(0)).mean())
    assert moved.abs().max() <= pd.Timedelta(days=7)
    assert abs(share - rate) <= 4.5 * np.sqrt(rate * (1 - rate) / len(b)) + 0.01


def test_no_pnc_base_blanks_every_pnc_id():
    clean = _world("clean", "(none)")
    assert _records(clean)["pnc_id"].notna().mean() == 1.0  # the clean profile records every PNC ID
    assert clean.suspects["pnc_id"].notna().mean() == 1.0
    world = _world("no PNC", "(none)")
    assert _records(world)["pnc_id"].isna().all()
    assert world.suspects["pnc_id"].isna().all()
    # and a fault on the no-PNC base is applied on top of it
    assert _records(_world("no PNC", "dob_digit"))["pnc_id"].isna().all()
    share, _ = _share(_world("no PNC", "dob_digit"), "dob_digit")
    assert share > 0.2


def test_fault_spec_rejects_unknown_bases_and_faults():
    spec = preset("london-trailblazers")
    with pytest.raises(ValueError, match="unknown base"):
        BENCH.fault_spec(spec, "no-PNC", "(none)")
    with pytest.raises(ValueError, match="unknown fault"):
        BENCH.fault_spec(spec, "clean", "dob_digits")
