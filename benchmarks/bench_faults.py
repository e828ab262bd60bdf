"""Fault sweep: linkage recall and precision with one recording fault at a time, and on a shifted world.

    .venv/bin/python benchmarks/bench_faults.py                    # london-trailblazers, seed 1
    .venv/bin/python benchmarks/bench_faults.py --months 6                         # half the period
    .venv/bin/python benchmarks/bench_faults.py --faults cjs_unlisted,name_swap --bases "no PNC"

Each row is a synthetic world with every noise rate at zero (the ``clean`` profile) except one fault class,
raised to an elevated rate, linked by ``linkage.justice.link_outcomes`` with its default settings and
scored against the world's truth (precision, recall, F1 over the three outcome sources, and the lowest
recall of any one source). Two bases are swept: ``clean`` (PNC IDs present, as in the clean profile) and
``no PNC`` (PNC IDs absent from every outcome record and suspect, so names, dates of birth, offences and
dates must carry the link on their own).

The last rows are **shifted worlds**: names drawn from other lists (forenames: the formal names of the
bundled published nickname list, i.e. not the synthetic forename table, so the world's nicknames rarely
apply; surnames: the synthetic surname table re-ranked, so frequencies differ) and noise rates that
differ from the development profiles (between typical and hard, with a different mix). The engine's
settings are unchanged: nothing is tuned to these worlds.

Prints one markdown table per base and writes ``benchmarks/out/bench_faults.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkage.justice import link_outcomes  # noqa: E402
from linkage.quality import evaluate  # noqa: E402
from linkage.synth import WorldSpec, generate, preset  # noqa: E402
from linkage.synth import people as synth_people  # noqa: E402

SOURCES = ("cautions", "penalty_notices", "court_outcomes")
NO_RECALL_TARGET = {"alias"}  # false particulars: another person's surname given on purpose

# fault class -> the rates it raises (on top of the base)
FAULTS: dict[str, dict[str, float]] = {
    "name_typo": {"name_typo": 0.30},
    "nickname": {"nickname": 0.30},
    "name_swap": {"name_swap": 0.20},
    "middle_name": {"middle_name": 0.50},
    "alias (false particulars)": {"alias": 0.20},
    "surname_change": {"surname_change": 0.20},
    "dob_blank (outcome)": {"dob_blank": 0.30},
    "dob_blank (suspect)": {"suspect_dob_blank": 0.30},
    "dob_day_month_swap": {"dob_day_month_swap": 0.30},
    "dob_digit": {"dob_digit": 0.30},
    "dob_month_digit": {"dob_month_digit": 0.30},
    "dob_transpose": {"dob_transpose": 0.30},
    "dob_year_slip": {"dob_year_slip": 0.30},
    "sex_unknown": {"sex_unknown": 0.30},
    "pnc_short": {"pnc_short": 0.50},
    "offence_altered": {"offence_altered_caution": 0.30, "offence_altered_court": 0.30},
    "cjs_unlisted": {"cjs_unlisted": 0.50},
    "offence_date_shift": {"offence_date_shift": 0.30},
    "disposal_date_shift": {"disposal_date_shift": 0.30},
    "crime_ref_blank": {"crime_ref_blank": 0.90},
    "crime_ref_wrong": {"crime_ref_wrong": 0.30},
}
NO_PNC = {
    "pnc_missing_caution": 1.0,
    "pnc_missing_pnd": 1.0,
    "pnc_missing_court": 1.0,
    "suspect_pnc_missing": 1.0,
}
BASES: dict[str, dict[str, float]] = {"clean": {}, "no PNC": NO_PNC}
"""Base worlds: the ``clean`` profile, with PNC IDs present or (``no PNC``) absent everywhere."""


def fault_spec(base_spec: WorldSpec, base: str, fault: str) -> WorldSpec:
    """``base_spec`` with every noise rate zero (the clean profile) but the ``base`` rates and those of
    ``fault`` (a key of :data:`FAULTS`, or ``(none)``): the world each row of the sweep links."""
    if base not in BASES:
        raise ValueError(f"unknown base {base!r}; known: {list(BASES)}")
    if fault != "(none)" and fault not in FAULTS:
        raise ValueError(f"unknown fault class {fault!r}; known: {list(FAULTS)}")
    return replace(base_spec, noise={"profile": "clean", **BASES[base], **FAULTS.get(fault, {})})


# Shifted noise: between typical and hard, another mix (more blank DOBs and surname changes, fewer typos).
SHIFTED_NOISE = {
    "profile": "typical",
    "name_typo": 0.05,
    "nickname": 0.08,
    "name_swap": 0.02,
    "alias": 0.01,
    "middle_name": 0.20,
    "dob_day_month_swap": 0.02,
    "dob_digit": 0.04,
    "dob_blank": 0.08,
    "suspect_dob_blank": 0.04,
    "dob_year_slip": 0.01,
    "dob_transpose": 0.01,
    "dob_month_digit": 0.01,
    "surname_change": 0.02,
    "cjs_unlisted": 0.25,
    "pnc_missing_court": 0.15,
    "offence_date_shift": 0.15,
    "crime_ref_blank": 0.55,
}


def _scores(spec, seed: int) -> dict[str, float]:
    world = generate(spec, seed=seed)
    tables = {name: world.table(name) for name in ("crimes", "suspects", *SOURCES, "truth")}
    start = time.perf_counter()
    result = link_outcomes(tables)
    seconds = time.perf_counter() - start
    table = evaluate(result.links, tables["truth"]).table
    out = {
        "precision": float(table.loc["all", "precision"]),
        "recall": float(table.loc["all", "recall"]),
        "f1": float(table.loc["all", "f1"]),
        "min_source_recall": float(min(table.loc[s, "recall"] for s in SOURCES)),
        "n_true": int(table.loc["all", "n_true"]),
        "link_s": round(seconds, 1),
    }
    for s in SOURCES:
        out[f"f1_{s}"] = float(table.loc[s, "f1"])
        out[f"precision_{s}"] = float(table.loc[s, "precision"])
        out[f"recall_{s}"] = float(table.loc[s, "recall"])
    return out


class _OtherNames:
    """Swap the synthetic world's forename and surname tables for other lists (restored on exit)."""

    def __enter__(self) -> None:
        self._saved = (synth_people.forename_table, synth_people.surname_table)
        from linkage.reference.names import nickname_groups

        groups = nickname_groups()
        formal = sorted({g for gs in groups.values() for g in gs})
        rng = np.random.default_rng(2024)  # fixed: part of the shifted world's definition
        fore = pd.DataFrame(
            {
                "forename": [f.title() for f in formal],
                "sex": np.where(rng.random(len(formal)) < 0.5, "M", "F"),
                "weight": 1.0 / (rng.permutation(len(formal)) + 5.0),
            }
        )
        fore["weight"] /= fore.groupby("sex")["weight"].transform("sum")
        sur = self._saved[1]().copy()
        sur["weight"] = sur["weight"].to_numpy()[rng.permutation(len(sur))]
        synth_people.forename_table = lambda: fore
        synth_people.surname_table = lambda: sur

    def __exit__(self, *exc: object) -> None:
        synth_people.forename_table, synth_people.surname_table = self._saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="london-trailblazers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, default=None, help="shorten the preset's period (faster)")
    parser.add_argument("--faults", default="", help="comma-separated fault classes (default: all)")
    parser.add_argument("--bases", default="clean,no PNC", help="comma-separated: clean, no PNC")
    parser.add_argument("--no-shifted", action="store_true", help="skip the shifted worlds")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "bench_faults.json")
    args = parser.parse_args(argv)
    base_spec = preset(args.preset)
    if args.months is not None:
        base_spec = replace(base_spec, months=args.months)
    chosen = [f for f in args.faults.split(",") if f] or list(FAULTS)
    unknown = [f for f in chosen if f not in FAULTS]
    if unknown:
        parser.error(f"unknown fault class(es) {unknown}; known: {list(FAULTS)}")
    bases = [b.strip() for b in args.bases.split(",") if b.strip()]
    if [b for b in bases if b not in BASES]:
        parser.error(f"unknown base(s) {[b for b in bases if b not in BASES]}; known: {list(BASES)}")
    rows = []
    for base in bases:
        for fault in ["(none)", *chosen]:
            spec = fault_spec(base_spec, base, fault)
            rows.append({"base": base, "fault": fault, **_scores(spec, args.seed)})
            print(_row_text(rows[-1]), flush=True)
    if not args.no_shifted:
        for label, noise in (("shifted noise", SHIFTED_NOISE), ("hard", "hard")):
            with _OtherNames():
                spec = replace(base_spec, noise=noise)
                rows.append({"base": "other names", "fault": label, **_scores(spec, args.seed)})
            print(_row_text(rows[-1]), flush=True)
    frame = pd.DataFrame(rows)
    print()
    print(f"preset {args.preset}, months {base_spec.months}, seed {args.seed}")
    print(_markdown(frame))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"preset": args.preset, "months": base_spec.months, "seed": args.seed, "rows": rows}, indent=1
        )
    )
    failing = frame[
        (frame["base"] != "other names")
        & ~frame["fault"].str.startswith("alias")
        & (frame["min_source_recall"] < 0.95)
    ]
    if len(failing):
        print(f"\nrecall below 0.95 for: {', '.join(failing['base'] + ' / ' + failing['fault'])}")
    return 0


def _row_text(row: dict) -> str:
    return (
        f"{row['base']:>12} | {row['fault']:<28} | P {row['precision']:.4f} R {row['recall']:.4f} "
        f"F1 {row['f1']:.4f} min source R {row['min_source_recall']:.4f} ({row['link_s']} s)"
    )


def _markdown(frame: pd.DataFrame) -> str:
    lines = [
        "| base | fault class (rate) | precision | recall | F1 | lowest source recall |",
        "|---|---|---|---|---|---|",
    ]
    for row in frame.itertuples(index=False):
        rates = FAULTS.get(row.fault)
        label = row.fault if rates is None else f"{row.fault} ({max(rates.values()):g})"
        lines.append(
            f"| {row.base} | {label} | {row.precision:.4f} | {row.recall:.4f} | {row.f1:.4f} | "
            f"{row.min_source_recall:.4f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
