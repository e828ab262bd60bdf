"""Justice linkage on a synthetic world: this engine against Splink (DuckDB), side by side, in one run.

    .venv/bin/python benchmarks/bench_linkage.py             # london-trailblazers, typical, seed 1
    .venv/bin/python benchmarks/bench_linkage.py --noise hard
    .venv/bin/python benchmarks/bench_linkage.py --preset small --seed 3

The world (``linkage.synth`` preset, noise profile, seed) is generated once and written to Parquet; each
tool then runs in its own fresh process (so peak memory is that tool's alone) and links the three outcome
sources (cautions, penalty notices, court outcome lines) to the crime-suspects.

* **engine**: ``linkage.justice.link_outcomes`` with its default settings: blocking union, the justice
  comparisons, deterministic rules, the two-stage model (person EM with random-pair u; record-
  constrained crime EM) and the one-to-one assignment.
* **Splink**: a comparable single-stage Fellegi-Sunter model on the same derived columns and the same
  blocking rules: forename and surname (exact / Jaro-Winkler 0.92, 0.85 / metaphone), date of birth
  (exact / swap / one digit / year), PNC ID (exact / same serial other form), sex, force, offence
  (same Home Office code / same group, both sides mapped through the same crosswalk), offence date
  (0 / 3 / 14 / 60 days), the directional outcome lag (the same windows per source), crime reference
  (Levenshtein 1, 2; cautions), place (0.3 / 1.5 / 8 km; penalty notices) and court area (court
  outcomes). u by random sampling,
  prior from deterministic rules, EM sessions blocked on PNC and on date of birth. Each outcome record
  is linked to its best candidate at match probability >= 0.5 (Splink has no assignment step).

Reported per tool: wall time of the linkage (inputs already in memory), candidate pairs, pairs per second
of the comparison step (engine: ``compare``; Splink fuses blocking, comparison and scoring in
``predict()``, so pairs / predict time), peak resident memory, and precision / recall / F1 per source
against the world's truth; then Splink / engine ratios. Written to ``benchmarks/out/bench_linkage.json``.
Requires the ``[bench]`` extra (splink, duckdb).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_splink_common import (  # noqa: E402
    prepare_for_splink,
    run_isolated,
    splink_date_comparison,
    splink_exact_comparison,
    splink_levenshtein_comparison,
    splink_name_comparison,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
SOURCES = ("cautions", "penalty_notices", "court_outcomes")
TABLES = ("crimes", "suspects", *SOURCES, "truth")


def _load(folder: str) -> dict:
    import pandas as pd

    return {name: pd.read_parquet(Path(folder) / f"{name}.parquet") for name in TABLES}


def _quality(links, truth) -> dict[str, dict[str, float]]:
    from linkage.quality import evaluate

    table = evaluate(links, truth).table
    return {
        s: {k: float(table.loc[s, k]) for k in ("precision", "recall", "f1", "n_links", "n_true")}
        for s in (*SOURCES, "all")
        if s in table.index
    }


# ------------------------------------------------------------------------------------------------ engine
def engine_child(folder: str) -> dict[str, Any]:
    """Link with the engine; returns timings, pairs and quality."""
    from linkage.justice import link_outcomes

    tables = _load(folder)
    truth = tables.pop("truth")
    start = time.perf_counter()
    result = link_outcomes(tables)
    link_s = time.perf_counter() - start
    t = result.timings
    return {
        "link_s": link_s,
        "pairs": {s: int(t.loc[s, "pairs"]) for s in t.index},
        "compare_s": {s: float(t.loc[s, "compare_s"]) for s in t.index},
        "quality": _quality(result.links, truth),
    }


def engine_throughput_child(folder: str) -> dict[str, Any]:
    """The comparison step alone on a loose blocking (court outcomes; same birth year and sex): the
    justice comparison set of ``source_spec`` over millions of pairs."""
    import numpy as np

    from linkage.engine import LinkageModel, Year, block_on
    from linkage.justice import DEFAULT_SOURCES, build_left, build_right, source_spec

    tables = _load(folder)
    left = build_left(tables["crimes"], tables["suspects"])
    right = build_right("court_outcomes", tables["court_outcomes"])
    spec = source_spec("court_outcomes", DEFAULT_SOURCES["court_outcomes"])
    model = LinkageModel(list(spec.comparisons), [block_on(Year("date_of_birth"), "sex")])
    t = time.perf_counter()
    pairs = model.candidate_pairs(left, right)
    block_s = time.perf_counter() - t
    t = time.perf_counter()
    levels = model.compare(pairs, left, right)
    compare_s = time.perf_counter() - t
    assert len(levels) == len(pairs) and np.isfinite(levels.iloc[:, 0].to_numpy()).all()
    return {"pairs": len(pairs), "blocking_s": block_s, "compare_s": compare_s}


# ------------------------------------------------------------------------------------------------ Splink
def _splink_frames(source: str, tables: dict) -> tuple[Any, Any]:
    """Left (crime-suspects) and right (one source) with the same derived columns the engine uses."""
    import jellyfish
    import numpy as np
    import pandas as pd

    from linkage.justice.link import build_left, build_right
    from linkage.reference import cjs_offences, normalise_cjs_code, offence_codes, pnd_offences

    left = build_left(tables["crimes"], tables["suspects"])
    right = build_right(source, tables[source])
    groups = offence_codes().set_index("ho_code")["offence_group"]
    if source == "penalty_notices":
        pnd = pnd_offences()
        to_ho = pd.Series(pnd["ho_code"].to_numpy(), index=pnd["pnd_offence"].str.lower())
        right_ho = right["off_code"].str.strip().str.lower().map(to_ho)
    else:
        cjs = cjs_offences().set_index("cjs_code")["ho_code"]
        right_ho = normalise_cjs_code(right["off_code"]).map(cjs)

    def common(
        frame: pd.DataFrame, ho: pd.Series, event: pd.Series, crime_date, outcome_date
    ) -> pd.DataFrame:
        out = pd.DataFrame(index=frame.index)
        out["forename1"] = frame["forename1"]
        out["surname"] = frame["surname"]
        out["dob"] = frame["date_of_birth"].dt.strftime("%Y%m%d")
        out["dob_mmdd"] = frame["date_of_birth"].dt.strftime("%m%d")
        out["birth_year"] = frame["date_of_birth"].dt.year.astype("Int64").astype("string")
        out["sex"] = frame["sex"]
        out["force"] = frame["force"]
        out["pnc_key"] = frame["pnc_key"]
        long_form = frame["pnc_id"].astype("string").str.replace(r"\s+", "", regex=True).str.match(r"^\d{4}/")
        out["pnc_full"] = frame["pnc_key"].where(~long_form.fillna(False), "L" + frame["pnc_key"])
        out["ho_code"] = ho.astype("string").to_numpy()
        out["ho_group"] = pd.Series(ho.to_numpy()).map(groups).astype("string").to_numpy()
        out["event_date"] = pd.to_datetime(event).dt.strftime("%Y-%m-%d").to_numpy()
        out["crime_date"] = crime_date
        out["outcome_date"] = outcome_date
        out["crime_ref_key"] = frame["crime_ref_key"] if "crime_ref_key" in frame.columns else None
        out["court_area"] = frame["court_area"] if "court_area" in frame.columns else None
        out["latitude"] = frame["latitude"] if "latitude" in frame.columns else np.nan
        out["longitude"] = frame["longitude"] if "longitude" in frame.columns else np.nan
        return out

    lf = common(
        left,
        left["offence_code"],
        left["committed_date"],
        left["committed_date"].dt.strftime("%Y-%m-%d"),
        None,
    )
    rf = common(right, right_ho, right["offence_date"], None, right["outcome_date"].dt.strftime("%Y-%m-%d"))
    for f in (lf, rf):
        codes, uniques = pd.factorize(f["surname"])
        sx = pd.Series(
            [jellyfish.soundex("".join(c for c in str(u) if c.isalpha())) for u in uniques] + [None]
        )
        f["surname_soundex"] = sx.to_numpy()[codes]
        f["f_init"] = f["forename1"].str.lower().str[0]
        f["s_init"] = f["surname"].str.lower().str[0]
    lf = prepare_for_splink(
        lf, name_columns=("forename1", "surname"), phonetic_columns=("forename1", "surname")
    )
    rf = prepare_for_splink(
        rf, name_columns=("forename1", "surname"), phonetic_columns=("forename1", "surname")
    )
    lf["unique_id"] = "L" + lf["unique_id"]
    rf["unique_id"] = "R" + rf["unique_id"]
    return lf, rf


def _splink_comparisons(source: str, typical: int, long: int, tolerance: int) -> list:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def custom(name: str, levels: list) -> Any:
        return cl.CustomComparison(levels, output_column_name=name)

    gap = 'abs(date_diff(\'day\', CAST("event_date_l" AS DATE), CAST("event_date_r" AS DATE)))'
    lag = (
        'date_diff(\'day\', CAST(coalesce("crime_date_l", "crime_date_r") AS DATE), '
        'CAST(coalesce("outcome_date_l", "outcome_date_r") AS DATE))'
    )
    comps = [
        splink_name_comparison("forename1", tf=False),
        splink_name_comparison("surname", tf=True),
        splink_date_comparison("dob"),
        custom(
            "pnc",
            [
                cll.NullLevel("pnc_key"),
                cll.ExactMatchLevel("pnc_full"),
                cll.ExactMatchLevel("pnc_key"),
                cll.ElseLevel(),
            ],
        ),
        splink_exact_comparison("sex"),
        splink_exact_comparison("force"),
        custom(
            "offence",
            [
                cll.NullLevel("ho_group"),
                cll.ExactMatchLevel("ho_code"),
                cll.ExactMatchLevel("ho_group"),
                cll.ElseLevel(),
            ],
        ),
        custom(
            "offence_date",
            [cll.NullLevel("event_date")]
            + [cll.CustomLevel(f"{gap} <= {d}", label_for_charts=f"within {d} days") for d in (0, 3, 14, 60)]
            + [cll.ElseLevel()],
        ),
        custom(
            "outcome_lag",
            [
                cll.CustomLevel(
                    'coalesce("crime_date_l", "crime_date_r") IS NULL '
                    'OR coalesce("outcome_date_l", "outcome_date_r") IS NULL',
                    label_for_charts="null",
                ).configure(is_null_level=True),
                cll.CustomLevel(
                    f"{lag} BETWEEN -{tolerance} AND {typical}", label_for_charts="typical window"
                ),
                cll.CustomLevel(f"{lag} BETWEEN {typical} AND {long}", label_for_charts="long window"),
                cll.CustomLevel(f"{lag} < -{tolerance}", label_for_charts="before offence"),
                cll.ElseLevel(),
            ],
        ),
    ]
    if source == "cautions":
        comps.append(splink_levenshtein_comparison("crime_ref_key", thresholds=(1, 2)))
    if source == "court_outcomes":
        comps.append(splink_exact_comparison("court_area"))
    if source == "penalty_notices":
        comps.append(
            custom(
                "place",
                [cll.NullLevel("latitude")]
                + [cll.DistanceInKMLevel("latitude", "longitude", km) for km in (0.3, 1.5, 8.0)]
                + [cll.ElseLevel()],
            )
        )
    return comps


def _rule(cols: Any) -> Any:
    """A Splink blocking rule: ``block_on`` for a tuple of columns, ``CustomRule`` for an SQL string."""
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    return CustomRule(cols) if isinstance(cols, str) else block_on(*cols)


# The engine's blocking rules (linkage.justice.link.source_spec), in Splink's terms.
SPLINK_BLOCKING: list[Any] = [
    ("pnc_key",),
    ("dob",),
    ("surname_soundex", "birth_year"),
    ("f_init", "s_init", "force", "birth_year"),
    ("surname_soundex", "dob_mmdd"),
    "l.forename1 = r.surname AND l.surname = r.forename1",
]


def _run_splink_scored(left, right, comparisons, blocking_columns, em_blocking_columns, deterministic_columns,
                       threshold: float = 0.5, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Train and predict link-only on DuckDB as ``bench_splink_common.run_splink`` does, but return the
    scored pairs at or above ``threshold`` (ids and probability), so the caller can keep the best per
    record."""
    import logging

    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = DuckDBAPI()
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=list(comparisons),
        blocking_rules_to_generate_predictions=[_rule(cols) for cols in blocking_columns],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    if hasattr(db_api, "register"):  # Splink 5
        inputs = [db_api.register(left, dataset_display_name="crime_suspects"),
                  db_api.register(right, dataset_display_name="outcomes")]  # fmt: skip
        linker = Linker(inputs, settings, log_level=None)
    else:  # pragma: no cover - Splink 4
        linker = Linker([left, right], settings, db_api, set_up_basic_logging=False)
    timings = {}
    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*cols) for cols in deterministic_columns], recall=0.9
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    for cols in em_blocking_columns:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
    timings["train_s"] = time.perf_counter() - t
    t = time.perf_counter()
    predictions = linker.inference.predict()
    timings["predict_s"] = time.perf_counter() - t
    if hasattr(predictions, "as_duckdbpyrelation"):
        table = predictions.as_duckdbpyrelation()
        n_pairs = int(table.count("*").fetchone()[0])
        scored = (
            table.filter(f"match_probability >= {threshold}")
            .select("unique_id_l, unique_id_r, match_probability")
            .fetchall()
        )
    else:  # pragma: no cover - Splink 4
        frame = predictions.as_pandas_dataframe()
        n_pairs = len(frame)
        keep = frame[frame["match_probability"] >= threshold]
        scored = list(
            keep[["unique_id_l", "unique_id_r", "match_probability"]].itertuples(index=False, name=None)
        )
    return {"scored": scored, "pairs": n_pairs, "timings": timings}


def splink_child(folder: str) -> dict[str, Any]:
    """Link each source with Splink; returns timings, pairs and quality."""
    import pandas as pd

    from linkage.justice import DEFAULT_SOURCES

    tables = _load(folder)
    truth = tables.pop("truth")
    start = time.perf_counter()
    links, pairs, predict_s = [], {}, {}
    for source in SOURCES:
        st = DEFAULT_SOURCES[source]
        lf, rf = _splink_frames(source, tables)
        blocking = list(SPLINK_BLOCKING)
        if source == "cautions":
            blocking.append(("crime_ref_key",))
        out = _run_splink_scored(
            lf,
            rf,
            _splink_comparisons(source, st.typical_days, st.long_days, st.tolerance_days),
            blocking_columns=blocking,
            em_blocking_columns=[("pnc_key",), ("dob",)],
            deterministic_columns=[("pnc_key", "event_date"), ("dob", "surname", "event_date")],
            threshold=0.5,
        )
        pairs[source] = out["pairs"]
        predict_s[source] = out["timings"]["predict_s"]
        scored = pd.DataFrame(out["scored"], columns=["unique_id_l", "unique_id_r", "match_probability"])
        # Orient pairs (left = crime-suspect, ids 'L<n>'; right = record, 'R<n>'), best per record.
        l_id = scored["unique_id_l"].where(scored["unique_id_l"].str.startswith("L"), scored["unique_id_r"])
        r_id = scored["unique_id_r"].where(scored["unique_id_r"].str.startswith("R"), scored["unique_id_l"])
        scored = pd.DataFrame(
            {"l": l_id.str[1:].astype(int), "r": r_id.str[1:].astype(int), "p": scored["match_probability"]}
        )
        best = scored.sort_values(["r", "p"], ascending=[True, False], kind="mergesort").drop_duplicates("r")
        from linkage.justice.link import build_left, record_ids

        left = build_left(tables["crimes"], tables["suspects"])
        rid = record_ids(source, tables[source]).reset_index(drop=True)
        links.append(
            pd.DataFrame(
                {
                    "source": source,
                    "record_id": rid.to_numpy()[best["r"].to_numpy()],
                    "force": left["force"].to_numpy()[best["l"].to_numpy()],
                    "crime_ref": left["crime_ref"].to_numpy()[best["l"].to_numpy()],
                    "suspect_ref": left["suspect_ref"].to_numpy()[best["l"].to_numpy()],
                }
            )
        )
    link_s = time.perf_counter() - start
    return {
        "link_s": link_s,
        "pairs": pairs,
        "compare_s": predict_s,
        "quality": _quality(pd.concat(links, ignore_index=True), truth),
    }


def splink_throughput_child(folder: str) -> dict[str, Any]:
    """Splink's predict() on the same loose blocking (court outcomes; same birth year and sex), after
    the same training as the accuracy run; predict() fuses blocking, comparison and scoring."""
    import logging

    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from linkage.justice import DEFAULT_SOURCES

    logging.getLogger("splink").setLevel(logging.ERROR)
    tables = _load(folder)
    st = DEFAULT_SOURCES["court_outcomes"]
    lf, rf = _splink_frames("court_outcomes", tables)
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=_splink_comparisons("court_outcomes", st.typical_days, st.long_days, st.tolerance_days),
        blocking_rules_to_generate_predictions=[block_on("birth_year", "sex")],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    if hasattr(db_api, "register"):  # Splink 5
        inputs = [db_api.register(lf, dataset_display_name="crime_suspects"),
                  db_api.register(rf, dataset_display_name="outcomes")]  # fmt: skip
        linker = Linker(inputs, settings, log_level=None)
    else:  # pragma: no cover - Splink 4
        linker = Linker([lf, rf], settings, db_api, set_up_basic_logging=False)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("pnc_key", "event_date")], recall=0.9
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=0)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("pnc_key"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    t = time.perf_counter()
    predictions = linker.inference.predict()
    table = predictions.as_duckdbpyrelation()
    n_pairs = int(table.count("*").fetchone()[0])
    predict_s = time.perf_counter() - t
    return {"pairs": n_pairs, "compare_s": predict_s}


# ------------------------------------------------------------------------------------------------ main
def _row(name: str, r: dict[str, Any]) -> dict[str, Any]:
    pairs = sum(r["pairs"].values())
    compare = sum(r["compare_s"].values())
    row = {
        "tool": name,
        "wall_s": round(r["link_s"], 2),
        "pairs": pairs,
        "compare_pairs_per_s": round(pairs / compare) if compare else None,
        "peak_rss_mb": round(r["peak_rss_mb"]),
    }
    for s in SOURCES:
        row[f"f1_{s}"] = round(r["quality"][s]["f1"], 4)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="london-trailblazers")
    parser.add_argument("--noise", default="typical", choices=["clean", "typical", "hard"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(OUT / "bench_linkage.json"))
    parser.add_argument(
        "--scenario",
        default="accuracy",
        choices=["accuracy", "throughput", "both"],
        help="accuracy: the full linkage of every source; throughput: the comparison step on millions of "
        "court pairs (loose blocking: same birth year and sex)",
    )
    args = parser.parse_args(argv)

    from linkage._io import write_parquet
    from linkage.synth import WorldSpec, generate, preset

    spec = preset(args.preset).to_dict()
    spec["noise"] = args.noise
    world = generate(WorldSpec.from_dict(spec), seed=args.seed)
    with tempfile.TemporaryDirectory() as folder:
        for name in TABLES:
            write_parquet(Path(folder) / f"{name}.parquet", world.table(name))
        sizes = {name: len(world.table(name)) for name in TABLES}
        del world
        payload_results: dict[str, Any] = {}
        if args.scenario in ("accuracy", "both"):
            engine = run_isolated(engine_child, folder)
            splink = run_isolated(splink_child, folder)
            payload_results["accuracy"] = {"engine": engine, "splink": splink}
        if args.scenario in ("throughput", "both"):
            payload_results["throughput"] = {
                "engine": run_isolated(engine_throughput_child, folder),
                "splink": run_isolated(splink_throughput_child, folder),
            }
    print(f"world: preset={args.preset} noise={args.noise} seed={args.seed} rows={sizes}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    rows, ratio = [], {}
    if "accuracy" in payload_results:
        engine, splink = payload_results["accuracy"]["engine"], payload_results["accuracy"]["splink"]
        rows = [_row("engine", engine), _row("splink", splink)]
        ratio = {
            "wall_s (splink/engine)": round(splink["link_s"] / engine["link_s"], 2),
            "pairs/s (engine/splink)": round(
                rows[0]["compare_pairs_per_s"] / rows[1]["compare_pairs_per_s"], 2
            ),
            "peak_rss (splink/engine)": round(splink["peak_rss_mb"] / engine["peak_rss_mb"], 2),
        }
        print("accuracy scenario (full linkage of every source):")
        header = list(rows[0])
        print(" | ".join(header))
        for row in rows:
            print(" | ".join(str(row[h]) for h in header))
        print("ratios:", ratio)
        for name, r in (("engine", engine), ("splink", splink)):
            for s in SOURCES:
                q = r["quality"][s]
                print(
                    f"{name:7s} {s:16s} P={q['precision']:.4f} R={q['recall']:.4f} F1={q['f1']:.4f} "
                    f"pairs={r['pairs'][s]}"
                )
    if "throughput" in payload_results:
        print("throughput scenario (comparison step, court outcomes, blocking on birth year and sex):")
        for name, r in payload_results["throughput"].items():
            rate = r["pairs"] / r["compare_s"]
            r["pairs_per_s"] = rate
            print(
                f"{name:7s} pairs={r['pairs']:,} compare_s={r['compare_s']:.2f} pairs/s={rate:,.0f} "
                f"peak_rss_mb={r['peak_rss_mb']:.0f}"
            )
        t = payload_results["throughput"]
        ratio["throughput pairs/s (engine/splink)"] = round(
            t["engine"]["pairs_per_s"] / t["splink"]["pairs_per_s"], 2
        )
        print("ratios:", ratio)
    payload = {
        "command": "benchmarks/bench_linkage.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "world": {"preset": args.preset, "noise": args.noise, "seed": args.seed, "rows": sizes},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "results": payload_results,
        "summary": rows,
        "ratios": ratio,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from linkage._io import write_text

    write_text(args.out, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
