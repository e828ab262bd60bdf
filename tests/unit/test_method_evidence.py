"""The report quotes the coverage benchmark's recorded figures, never figures typed into its template."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pandas as pd
import pytest

from linkage.evaluation.method_evidence import (
    EVIDENCE_PATH,
    METHOD_KEYS,
    CoverageEvidence,
    MethodRecord,
    load_method_evidence,
    write_method_evidence,
)
from linkage.reporting.sections._common import prose
from linkage.reporting.sections.evaluation import evidence_words

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_did_coverage", ROOT / "benchmarks/bench_did_coverage.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _evidence(space_covered: int = 190, wb_power: int = 4) -> CoverageEvidence:
    def rec(label: str, covered: int, rej_null: int, rej_effect: int) -> MethodRecord:
        return MethodRecord(label, 200, covered, 100, rej_effect, 100, rej_null, 9.9)

    return CoverageEvidence(
        areas=12,
        treated=2,
        shock_sd_pp=3.0,
        noise="hard",
        effect_pp=10.0,
        command="benchmarks/bench_did_coverage.py --harder --record",
        methods={
            "placebo_space": rec("placebo in space (randomisation)", space_covered, 5, 50),
            "synthetic_did": rec("synthetic DiD (placebo variance)", 187, 6, 49),
            "wild_bootstrap": rec("wild cluster bootstrap (area, Webb)", 200, 0, wb_power),
        },
    )


def _paragraph(evidence, n_areas: int = 12) -> str:
    return prose(
        "evaluation",
        "robustness",
        lead="placebo-in-space interval",
        missing=[],
        n_treated=2,
        n_areas=n_areas,
        evidence=evidence_words(evidence),
    )


def test_round_trip_and_derived_rates(tmp_path):
    ev = _evidence()
    path = write_method_evidence(ev, tmp_path / "m.json")
    back = load_method_evidence(path)
    assert back == ev
    space = back.method("placebo_space")
    assert space.coverage == pytest.approx(0.95)
    assert space.size == pytest.approx(0.05)
    lo, hi = space.coverage_interval
    assert lo < 0.95 < hi
    assert load_method_evidence(tmp_path / "absent.json") is None
    (tmp_path / "bad.json").write_text('{"areas": 12}')
    with pytest.raises(ValueError, match="bad.json: not a method coverage record"):
        load_method_evidence(tmp_path / "bad.json")


def test_prose_quotes_the_recorded_figures_and_follows_them():
    text = _paragraph(_evidence(space_covered=190, wb_power=4))
    assert "covered the true effect in 95.0% of worlds and rejected a true null in 5.0%" in text
    assert "effect in 4 worlds of 100" in text
    assert "200 synthetic worlds with 12 areas" in text
    changed = _paragraph(_evidence(space_covered=186, wb_power=7))
    assert "covered the true effect in 93.0% of worlds" in changed
    assert "effect in 7 worlds of 100" in changed
    assert "Those worlds had 12 areas" in _paragraph(_evidence(), n_areas=4)
    assert "Those worlds had" not in text


def test_prose_without_a_recorded_run_says_so_and_quotes_no_rate():
    text = _paragraph(None)
    assert "no coverage run of these methods is recorded" in text
    assert not re.search(r"\d+\.\d%", text)
    partial = _evidence()
    partial = CoverageEvidence(
        **{**partial.__dict__, "methods": {"placebo_space": partial.methods["placebo_space"]}}
    )
    assert evidence_words(partial) is None


def test_bench_record_counts_coverage_over_all_worlds_and_rejections_by_setting():
    bench = _bench()
    rows = []
    for setting, truth in (("shocks+hard, effect 10pp", 10.0), ("shocks+hard, no effect", 0.0)):
        for seed, (lo, hi, p) in enumerate([(5, 15, 0.01), (-1, 8, 0.2), (2, 20, 0.04)]):
            for label in METHOD_KEYS:
                rows.append(
                    dict(setting=setting, seed=seed, method=label, estimate=(lo + hi) / 2, ci_lower=lo,
                         ci_upper=hi, p=p, true=truth, areas=12, shock_sd_pp=3.0)
                )  # fmt: skip
    ev = bench.method_evidence(pd.DataFrame(rows), command="x")
    space = ev.method("placebo_space")
    # effect worlds (truth 10): covered by [5,15] and [2,20]; no-effect worlds (truth 0): only [-1,8]
    assert (space.worlds, space.covered) == (6, 3)
    assert (space.effect_worlds, space.rejected_effect) == (3, 2)
    assert (space.null_worlds, space.rejected_null) == (3, 2)
    assert set(ev.methods) == set(METHOD_KEYS.values())
    with pytest.raises(ValueError, match="one shock size"):
        bench.method_evidence(pd.DataFrame(rows).drop(columns="shock_sd_pp"), command="x")


def test_shipped_record_is_complete_and_is_the_one_the_docs_quote():
    ev = load_method_evidence(EVIDENCE_PATH)
    assert ev is not None, (
        f"{EVIDENCE_PATH} missing: run benchmarks/bench_did_coverage.py --harder ... --record"
    )
    assert set(ev.methods) == set(METHOD_KEYS.values())
    space = ev.method("placebo_space")
    docs = (ROOT / "docs" / "reports.md").read_text()
    assert f"{space.covered}/{space.worlds} = {100 * space.coverage:.1f}%" in docs
