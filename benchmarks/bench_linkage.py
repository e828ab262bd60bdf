"""Justice linkage on a synthetic world: this engine against a fairly configured Splink (DuckDB), in one run.

    .venv/bin/python benchmarks/bench_linkage.py                      # london-trailblazers, typical, seed 1
    .venv/bin/python benchmarks/bench_linkage.py --noise hard
    .venv/bin/python benchmarks/bench_linkage.py --scenario likeforlike

The world (``linkage.synth`` preset, noise profile, seed) is generated once and written to Parquet; each
tool then runs in its own fresh process (so each peak memory is that tool's alone).

* **accuracy**: each tool links the three outcome sources (cautions, penalty notices, court lines) to the
  crime-suspects, training included. Engine: ``linkage.justice.link_outcomes`` with its defaults. Splink,
  configured as a skilled user would, level for level with ``linkage.justice.link.source_spec``: person
  name (exact with surname term frequencies / swapped / nickname or variant from the same published list /
  initial + surname, surnames agreeing exactly or token-wise / both Jaro-Winkler >= 0.92, 0.85);
  date of birth with partial credit (day-month swap, one digit or transposition, year off by one or a
  century, same year; an implausible DOB neutral); PNC; offence = same offence / same group / compatible
  or alternative charge / same statute family / same police.uk category, from the same crosswalk as
  data; offence-date windows; directional lag; force; sex; crime reference, place (BNG metres) or court
  area. The same blocking passes on the same derived keys (each with the engine's date window; the
  no-DOB name passes within the +-60-day offence-date window, outcome not before the offence), prior
  from deterministic rules, u from random pairs, EM sessions whose pairs are mostly the same crime
  (``SPLINK_EM_SESSIONS``), two rounds of m from its own one-to-one links, and the engine's one-to-one
  step (unambiguous deterministic-rule pairs first, then a maximum-weight assignment per crime-suspect,
  per crime-suspect within a case for court lines; ``--splink-rules off`` drops the rule priority).
* **likeforlike**: the same court pairs (blocking on birth year and sex; 8.1 M on london-trailblazers
  seed 1) through blocking + comparison + scoring in each tool, models trained first (untimed): wall and
  CPU seconds, cores used (CPU / wall), pairs/s, pairs per CPU-second, peak memory, the engine/Splink
  ratios and issue 17's done-when checks; the engine's ``compare()`` alone on its own line.

Written to ``benchmarks/out/bench_linkage.json``. Requires the ``[bench]`` extra (splink, duckdb).
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
    level_parity,
    prepare_for_splink,
    run_isolated,
    splink_dob_comparison,
    splink_exact_comparison,
    splink_person_name_comparison,
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
    start, cpu = time.perf_counter(), time.process_time()
    result = link_outcomes(tables)
    link_s, link_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    t = result.timings
    return {
        "link_s": link_s,
        "link_cpu_s": link_cpu_s,
        "pairs": {s: int(t.loc[s, "pairs"]) for s in t.index},
        "compare_s": {s: float(t.loc[s, "compare_s"]) for s in t.index},
        "quality": _quality(result.links, truth),
    }


# ------------------------------------------------------------------------------------------------ Splink
def _offence_relation_lists(source: str, left, right) -> tuple[dict[str, int], dict[str, list[int]]]:
    """The engine's offence levels as data, from the same crosswalk: each distinct crime Home Office code
    gets a 1-based index, each distinct outcome code the list of its levels against every crime code (0
    same offence, 1 same group, 2 compatible group or alternative charge, 3 same statute family, 4 same
    police.uk category, 5 incompatible, -1 unknown), so Splink's level is one list lookup
    ``off_rel[ho_idx]``. The levels are those of ``offence_relation`` (linkage.reference) with the
    statute-family back-off of ``statute_family_levels`` for CJS codes outside the crosswalk, as the
    engine's ``OffenceCompatibility`` computes them."""
    import numpy as np
    import pandas as pd

    from linkage.justice.comparisons import statute_family_levels
    from linkage.reference import offence_relation

    kind = "pnd" if source == "penalty_notices" else "cjs"
    l_codes = pd.Series(left["offence_code"].astype("string").str.strip().dropna().unique(), dtype="string")
    r_codes = pd.Series(right["off_code"].astype("string").str.strip().dropna().unique(), dtype="string")
    n_l, n_r = len(l_codes), len(r_codes)
    ia, ib = np.divmod(np.arange(n_l * n_r), max(n_r, 1))
    ho = pd.Series(l_codes.to_numpy()[ia], dtype="string")
    other = pd.Series(r_codes.to_numpy()[ib], dtype="object")
    rel = np.asarray(offence_relation(ho, other, kind), dtype=np.int8)
    rel = np.where(rel == 3, np.int8(5), rel)
    if kind == "cjs":
        unknown = rel < 0
        rel[unknown] = statute_family_levels(ho[unknown], other[unknown])
    rel = rel.reshape(n_l, n_r)
    index = {str(c): i + 1 for i, c in enumerate(l_codes)}
    lists = {str(c): rel[:, j].astype(int).tolist() for j, c in enumerate(r_codes)}
    return index, lists


def _splink_frames(source: str, tables: dict, left: Any = None) -> tuple[Any, Any]:
    """Left (crime-suspects) and right (one source) for Splink, with the columns the engine's comparisons
    and blocking read, derived by the engine's own input step (``build_left`` / ``build_right``: folded
    diacritics, DOB digits and plausibility, PNC parts, phonetic and no-DOB name keys), so both tools see
    the same values. Both frames carry the same columns (Splink stacks them). ``left``: the crime-suspects
    from ``build_left`` if already built (it is the same for every source)."""
    import numpy as np
    import pandas as pd

    from linkage.engine import to_british_national_grid
    from linkage.justice.inputs import build_left, build_right
    from linkage.justice.outcome_sources import nickname_map
    from linkage.reference import cjs_offences, normalise_cjs_code, pnd_offences

    if left is None:
        left = build_left(tables["crimes"], tables["suspects"])
    right = build_right(source, tables[source])
    ho_index, rel_lists = _offence_relation_lists(source, left, right)
    # the outcome's Home Office code through the crosswalk (for an EM session blocked on the offence)
    if source == "penalty_notices":
        pnd = pnd_offences()
        to_ho = pd.Series(pnd["ho_code"].to_numpy(), index=pnd["pnd_offence"].str.lower())
        right_ho = right["off_code"].str.strip().str.lower().map(to_ho)
    else:
        right_ho = normalise_cjs_code(right["off_code"]).map(cjs_offences().set_index("cjs_code")["ho_code"])

    def common(frame: pd.DataFrame, is_left: bool) -> pd.DataFrame:
        out = pd.DataFrame(index=frame.index)
        out["forename1"] = frame["forename1"]
        out["surname"] = frame["surname"]
        out["forename1_fold"] = frame["forename1_fold"]  # the swapped-names pass's folded keys
        out["surname_fold"] = frame["surname_fold"]
        dob = np.asarray(frame["dob_int"], dtype=np.int64)
        out["dob8"] = (
            pd.Series(np.char.zfill(dob.astype(str), 8), dtype=object).where(dob > 0, None).to_numpy()
        )
        out["dob_ok"] = np.asarray(frame["dob_ok"], dtype=bool)
        out["dob_key"] = frame["dob_key"]
        out["dob_mmdd"] = frame["dob_mmdd"]
        out["birth_year"] = frame["date_of_birth"].dt.year.astype("Int64")
        out["sex"] = frame["sex"]
        out["force"] = frame["force"].astype("string").str.strip().str.casefold()
        out["f_init"] = frame["forename1"].astype("string").str.strip().str.casefold().str[:1]
        out["s_init"] = frame["surname"].astype("string").str.strip().str.casefold().str[:1]
        for col in ("pnc_key", "pnc_id_full", "pnc_id_long"):
            out[col] = frame[col].to_numpy()
        for col in ("surname_sdx", "names_sdx_force", "name_key_a", "name_key_a_nodob", "name_key_b",
                    "name_key_b_nodob"):  # fmt: skip
            out[col] = frame[col].astype("UInt64")
        # The offence-date, committed-date and outcome-date columns (one side each, NULL on the other).
        out["event_date"] = (frame["committed_date"] if is_left else frame["offence_date"]).to_numpy()
        none_dates = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
        out["crime_date"] = frame["committed_date"].to_numpy() if is_left else none_dates
        out["outcome_date"] = none_dates if is_left else frame["outcome_date"].to_numpy()
        code = frame["offence_code" if is_left else "off_code"].astype("string").str.strip()
        out["ho_code"] = (code if is_left else right_ho).astype("string").to_numpy()
        out["ho_idx"] = (
            code.map(ho_index).astype("Int64") if is_left else pd.array([None] * len(frame), "Int64")
        )
        out["off_rel"] = (
            [[-1]] * len(frame)  # a list on both sides, so the stacked column has one type
            if is_left
            else [
                rel_lists.get(c) if isinstance(c, str) else None
                for c in code.to_numpy(dtype=object, na_value=None)
            ]
        )
        out["crime_ref_key"] = frame["crime_ref_key"] if "crime_ref_key" in frame.columns else None
        out["court_area"] = frame["court_area"] if "court_area" in frame.columns else None
        if "longitude" in frame.columns:  # crimes' map points; penalty notices' locations
            out["bng_x"], out["bng_y"] = to_british_national_grid(frame["longitude"], frame["latitude"])
        else:
            out["bng_x"] = out["bng_y"] = np.nan
        return out

    nick = nickname_map()
    prepared = [
        prepare_for_splink(
            common(frame, is_left),
            name_columns=("forename1", "surname"),
            nicknames=nick,
            group_columns=("forename1",),
            token_columns=("surname",),
        )  # fmt: skip
        for frame, is_left in ((left, True), (right, False))
    ]
    lf, rf = prepared
    lf["unique_id"] = "L" + lf["unique_id"]
    rf["unique_id"] = "R" + rf["unique_id"]
    return lf, rf


def _splink_comparisons(source: str, typical: int, long: int, tolerance: int) -> list:
    """The engine's comparisons (``linkage.justice.link.source_spec``) level for level in Splink SQL:
    person name (exact with surname term frequencies / swapped / nickname or variant from the published
    list / initial + surname, surnames agreeing exactly or token-wise / both JW >= 0.92, 0.85), date of
    birth with partial credit (implausible DOB neutral), PNC, offence (same offence / same group /
    compatible or alternative charge / same statute family / same police.uk category, from the same
    crosswalk), offence-date windows, the directional outcome lag, force, sex and the source's own
    comparison (crime reference; place in BNG metres; court area)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def custom(name: str, levels: list) -> Any:
        return cl.CustomComparison(levels, output_column_name=name)

    def null(sql: str) -> Any:
        return cll.CustomLevel(sql, label_for_charts="null").configure(is_null_level=True)

    gap = 'abs(date_diff(\'day\', CAST("event_date_l" AS DATE), CAST("event_date_r" AS DATE)))'
    lag = (
        'date_diff(\'day\', CAST(coalesce("crime_date_l", "crime_date_r") AS DATE), '
        'CAST(coalesce("outcome_date_l", "outcome_date_r") AS DATE))'
    )
    # the offence level: the outcome side's list of levels at the crime side's code index
    rel = 'coalesce(list_extract("off_rel_r", "ho_idx_l"), list_extract("off_rel_l", "ho_idx_r"), -1)'
    offence_labels = ("same offence", "same group", "compatible group or alternative charge",
                      "same statute family", "same police.uk category")  # fmt: skip
    comps = [
        splink_person_name_comparison(
            "forename1",
            "surname",
            forename_groups_col="forename1_groups",
            surname_tokens_col="surname_tokens",
            tf=True,
            output_column_name="name",
        ),  # fmt: skip
        splink_dob_comparison("dob8", "dob_ok", output_column_name="dob"),
        custom(
            "pnc_id",
            [
                null('"pnc_key_l" IS NULL OR "pnc_key_r" IS NULL'),
                cll.CustomLevel('"pnc_id_full_l" = "pnc_id_full_r"', label_for_charts="exact"),
                cll.CustomLevel(
                    '"pnc_key_l" = "pnc_key_r" AND "pnc_id_long_l" <> "pnc_id_long_r"',
                    label_for_charts="same serial, other form",
                ),
                cll.ElseLevel(),
            ],
        ),
        custom(
            "offence",
            [null(f"{rel} = -1")]
            + [cll.CustomLevel(f"{rel} = {k}", label_for_charts=t) for k, t in enumerate(offence_labels)]
            + [cll.ElseLevel()],
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
                null(
                    'coalesce("crime_date_l", "crime_date_r") IS NULL '
                    'OR coalesce("outcome_date_l", "outcome_date_r") IS NULL'
                ),
                cll.CustomLevel(
                    f"{lag} BETWEEN -{tolerance} AND {typical}", label_for_charts="typical window"
                ),
                cll.CustomLevel(f"{lag} <= {long} AND {lag} >= -{tolerance}", label_for_charts="long window"),
                cll.CustomLevel(f"{lag} < -{tolerance}", label_for_charts="before offence"),
                cll.ElseLevel(),
            ],
        ),
        splink_exact_comparison("force"),
        splink_exact_comparison("sex"),
    ]
    if source == "cautions":
        comps.append(
            custom(
                "crime_ref",
                [
                    cll.NullLevel("crime_ref_key"),
                    cll.ExactMatchLevel("crime_ref_key"),
                    cll.CustomLevel(
                        'levenshtein("crime_ref_key_l", "crime_ref_key_r") <= 2 '
                        'OR damerau_levenshtein("crime_ref_key_l", "crime_ref_key_r") <= 1',
                        label_for_charts="near",
                    ),
                    cll.ElseLevel(),
                ],
            )
        )
    if source == "court_outcomes":
        comps.append(splink_exact_comparison("court_area"))
    if source == "penalty_notices":
        dist = 'sqrt(pow("bng_x_l" - "bng_x_r", 2) + pow("bng_y_l" - "bng_y_r", 2))'
        comps.append(
            custom(
                "place",
                [null('"bng_x_l" IS NULL OR "bng_x_r" IS NULL OR isnan("bng_x_l") OR isnan("bng_x_r")')]
                + [
                    cll.CustomLevel(f"{dist} <= {m}", label_for_charts=f"within {m} m")
                    for m in (300, 1500, 8000)
                ]
                + [cll.ElseLevel()],
            )
        )
    return comps


# EM sessions whose pairs are mostly the SAME CRIME (not merely the same person): each pairs a person
# key with the offence date or offence, so "match" means this crime, and between them every comparison
# is trained in at least one session.
SPLINK_EM_SESSIONS: list[tuple[str, ...]] = [("dob_key", "event_date"), ("surname", "forename1", "ho_code")]
SPLINK_DETERMINISTIC: list[tuple[str, ...]] = [
    ("pnc_key", "event_date"),
    ("dob_key", "surname", "event_date"),
]
OFFENCE_WINDOW_DAYS = 60
"""The offence-date window of the engine's no-DOB name passes (``_OFFENCE_WINDOW_DAYS`` in justice.link)."""


def _rule(cols: Any) -> Any:
    """A Splink blocking rule: ``block_on`` for a tuple of columns, ``CustomRule`` for an SQL string."""
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    return CustomRule(cols) if isinstance(cols, str) else block_on(*cols)


def splink_blocking(source: str, tolerance: int, long: int) -> list[Any]:
    """The engine's blocking passes (``linkage.justice.link.source_spec``) as Splink rules, in the same
    order, on the same derived keys: the person-level passes (PNC, DOB + surname Soundex, surname Soundex +
    birth day and month) carry the lag window (outcome from ``-tolerance`` to ``long`` days after the
    offence); the passes on keys shared by unrelated people (DOB, surname Soundex + birth year, initials +
    force + birth year) the offence-date window (+-60 days); the no-DOB name passes join within the
    offence-date window and need the outcome no earlier than the offence less the tolerance (the engine's
    ``in_offence_window``). A missing date keeps the pair, as in the engine. Each "no DOB on one side"
    pass is one rule per side, as in the engine."""
    crime = "CAST(coalesce(l.crime_date, r.crime_date) AS DATE)"
    outcome = "CAST(coalesce(l.outcome_date, r.outcome_date) AS DATE)"
    lag = f"date_diff('day', {crime}, {outcome})"
    missing = f"{crime} IS NULL OR {outcome} IS NULL"
    window = f"({missing} OR {lag} BETWEEN -{tolerance} AND {long})"
    gap = "abs(date_diff('day', CAST(l.event_date AS DATE), CAST(r.event_date AS DATE)))"
    near = (
        f"(l.event_date IS NULL OR r.event_date IS NULL OR {gap} <= {OFFENCE_WINDOW_DAYS}) "
        f"AND ({missing} OR {lag} >= -{tolerance})"
    )
    # the offence-date window alone (the engine's DateRange on committed_date -> offence_date)
    close = f"(l.event_date IS NULL OR r.event_date IS NULL OR {gap} <= {OFFENCE_WINDOW_DAYS})"
    rules: list[Any] = [
        f"l.pnc_key = r.pnc_key AND {window}",
        f"l.dob_key = r.dob_key AND {close}",
        f"l.dob_key = r.dob_key AND l.surname_sdx = r.surname_sdx AND {window}",
        f"l.surname_sdx = r.surname_sdx AND l.birth_year = r.birth_year AND {close}",
        "l.f_init = r.f_init AND l.s_init = r.s_init AND l.force = r.force AND l.birth_year = r.birth_year "
        f"AND {close}",
        f"l.surname_sdx = r.surname_sdx AND l.dob_mmdd = r.dob_mmdd AND {window}",
        "l.forename1_fold = r.surname_fold AND l.surname_fold = r.forename1_fold",
        f"l.names_sdx_force = r.names_sdx_force AND {near}",
        f"l.name_key_a = r.name_key_a_nodob AND {near}",
        f"l.name_key_a_nodob = r.name_key_a AND {near}",
        f"l.name_key_b = r.name_key_b_nodob AND {near}",
        f"l.name_key_b_nodob = r.name_key_b AND {near}",
    ]
    if source == "cautions":
        rules.append(("crime_ref_key",))
    return rules


def _splink_linker(
    left, right, comparisons, blocking_columns, seed: int = 0, retain: bool = False
) -> tuple[Any, dict[str, float]]:
    """A trained link-only Splink linker on DuckDB (crime-suspects first): prior from deterministic
    rules, u from 1e6 random pairs, m from the crime-level EM sessions; returns it and its training time."""
    import logging

    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = DuckDBAPI()
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=list(comparisons),
        blocking_rules_to_generate_predictions=[_rule(cols) for cols in blocking_columns],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=retain,
    )
    inputs = [db_api.register(left, dataset_display_name="crime_suspects"),
              db_api.register(right, dataset_display_name="outcomes")]  # fmt: skip
    linker = Linker(inputs, settings, log_level=None)
    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*cols) for cols in SPLINK_DETERMINISTIC], recall=0.9
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    for cols in SPLINK_EM_SESSIONS:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
    return linker, {"train_s": time.perf_counter() - t}


def _orient(frame) -> Any:
    """(left row, right row, probability) from Splink's id columns, whichever side each id is on."""
    import pandas as pd

    lid = frame["unique_id_l"].where(frame["unique_id_l"].str.startswith("L"), frame["unique_id_r"])
    rid = frame["unique_id_r"].where(frame["unique_id_r"].str.startswith("R"), frame["unique_id_l"])
    prob = frame["match_probability"].to_numpy()
    return pd.DataFrame({"l": lid.str[1:].astype(int), "r": rid.str[1:].astype(int), "p": prob})


def _assign(scored, units, score) -> Any:
    """Maximum-total-``score`` one-to-one assignment (scipy ``linear_sum_assignment``) between left units
    and records, per connected block of the sparse score matrix (scores positive), as the engine's
    ``resolve_conflicts``."""
    import numpy as np
    import pandas as pd
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if scored.empty:
        return scored
    score = np.asarray(score, dtype=float)
    u_codes, _ = pd.factorize(units)
    r_codes, _ = pd.factorize(scored["r"].to_numpy())
    nu, nr = int(u_codes.max()) + 1, int(r_codes.max()) + 1
    graph = coo_matrix((np.ones(len(scored)), (u_codes, nu + r_codes)), shape=(nu + nr, nu + nr))
    _, comp = connected_components(graph, directed=False)
    keep = np.zeros(len(scored), dtype=bool)
    pair_comp = comp[u_codes]
    order = np.argsort(pair_comp, kind="stable")
    bounds = np.flatnonzero(np.diff(pair_comp[order])) + 1
    for idx in np.split(order, bounds):
        if len(idx) == 1:
            keep[idx] = True
            continue
        uu, ui = np.unique(u_codes[idx], return_inverse=True)
        rr, ri = np.unique(r_codes[idx], return_inverse=True)
        matrix = np.zeros((len(uu), len(rr)))
        matrix[ui, ri] = score[idx]
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        chosen = {(a, b) for a, b in zip(rows, cols, strict=True) if matrix[a, b] > 0}
        keep[idx] = [(a, b) in chosen for a, b in zip(ui, ri, strict=True)]
    return scored[keep]


M_ROUNDS = 2
"""Rounds of m re-estimated from Splink's own one-to-one links (see :func:`_m_from_links`)."""

SPLINK_RULES: dict[str, dict[str, tuple[int, ...]]] = {
    "pnc+offence+window": {"pnc_id": (0, 1), "offence": (0, 1), "outcome_lag": (0,), "offence_date": (0,)},
}
"""The engine's deterministic rules (``source_spec``) on comparison levels (0 = strongest, as the engine
numbers them): a pair meeting one, the only rule pair of its record and of its crime-suspect, is linked
ahead of any model-only pair. Cautions add ``CAUTION_RULE``."""
CAUTION_RULE = {"crime_ref+name+dob": {"crime_ref": (0,), "name": (0, 1, 2, 3), "dob": (0, 1, 2)}}
_RULE_BONUS = 1000.0  # as the engine's: rule links beat any model-only pair in the assignment


def _scored(linker, table) -> Any:
    """Every scored pair (left row ``l``, right row ``r``, probability ``p``, match weight ``w``) with its
    level per comparison (0 = strongest, -1 = null), read back from the ``mw_<comparison>`` columns
    (Splink 5 retains each level's match weight, not its index, with
    ``retain_intermediate_calculation_columns``): the level whose weight is nearest."""
    import numpy as np

    comparisons = linker._settings_obj.comparisons
    gammas = [f"mw_{c.output_column_name}" for c in comparisons]
    cols = ["unique_id_l", "unique_id_r", "match_probability", "match_weight", *gammas]
    frame = table.select(", ".join(f'"{c}"' for c in cols)).df()
    out = _orient(frame)
    out["w"] = frame["match_weight"].to_numpy(dtype=float)
    for comparison in comparisons:
        values = frame[f"mw_{comparison.output_column_name}"].to_numpy(dtype=float)
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        weights = np.array([lv._log2_bayes_factor for lv in levels], dtype=float)
        nearest = np.abs(values[:, None] - weights[None, :]).argmin(axis=1)
        nearest[np.isclose(values, 0.0, atol=1e-12)] = -1  # the null level (weight 0)
        out[comparison.output_column_name] = nearest
    return out


def _one_to_one(scored, source: str, tables: dict, rules: bool = True) -> Any:
    """Links (left row ``l``, right row ``r``) after the engine's one-to-one step: candidates at match
    probability >= 0.5 or meeting a deterministic rule unambiguously (``rules``), then a maximum-score
    assignment of records to left units (a crime-suspect; for court lines a crime-suspect within a case,
    as one case's lines go to different crimes), score = match weight above the 0.5 threshold, rule pairs
    lifted above all others."""
    import numpy as np

    is_rule = np.zeros(len(scored), dtype=bool)
    if rules:
        spec = {**SPLINK_RULES, **(CAUTION_RULE if source == "cautions" else {})}
        for require in spec.values():
            hit = np.ones(len(scored), dtype=bool)
            for comparison, allowed in require.items():
                hit &= scored[comparison].isin(allowed).to_numpy()
            is_rule |= hit
        # a rule decides only when it is the one rule pair of its record and of its crime-suspect
        for side in ("r", "l"):
            counts = scored.loc[is_rule, side].value_counts()
            is_rule &= scored[side].map(counts).fillna(0).to_numpy() == 1
    weight = scored["w"].to_numpy()
    eligible = is_rule | (scored["p"].to_numpy() >= 0.5)
    score = np.where(is_rule, _RULE_BONUS + np.maximum(weight, 0.0), weight) + 1e-3
    cand = scored[eligible]
    units = cand["l"].astype(str).to_numpy()
    if source == "court_outcomes":
        units = units + "|" + tables[source]["case_id"].to_numpy()[cand["r"].to_numpy()].astype(str)
    return _assign(cand, units, score[eligible])[["l", "r"]]


def _m_from_links(linker, scored, best, smoothing: float = 0.5) -> None:
    """Set every comparison level's m to its (smoothed) share among the linked pairs ``best`` (null levels
    excluded), from the levels of :func:`_scored`."""
    import numpy as np

    linked = scored.merge(best, on=["l", "r"])
    for comparison in linker._settings_obj.comparisons:
        nearest = linked[comparison.output_column_name].to_numpy()
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        counts = np.bincount(nearest[nearest >= 0], minlength=len(levels)).astype(float)
        m = (counts + smoothing) / (counts.sum() + smoothing * len(levels))
        for lv, mv in zip(levels, m, strict=True):
            lv.m_probability = float(mv)


def splink_child(folder: str, rules: bool = True) -> dict[str, Any]:
    """Link each source with the fair Splink model: the engine's levels and blocking passes, crime-level
    EM, two rounds of m from its own one-to-one links, the engine's one-to-one step (rule links first
    unless ``rules`` is False)."""
    import pandas as pd

    from linkage.justice import DEFAULT_SOURCES
    from linkage.justice.link import build_left, record_ids

    tables = _load(folder)
    truth = tables.pop("truth")
    start, cpu = time.perf_counter(), time.process_time()
    links, pairs, predict_s, train_s = [], {}, {}, {}
    left = build_left(tables["crimes"], tables["suspects"])
    for source in SOURCES:
        st = DEFAULT_SOURCES[source]
        lf, rf = _splink_frames(source, tables, left)
        blocking = splink_blocking(source, st.tolerance_days, st.long_days)
        linker, timing = _splink_linker(
            lf,
            rf,
            _splink_comparisons(source, st.typical_days, st.long_days, st.tolerance_days),
            blocking,
            retain=True,
        )
        t = time.perf_counter()
        table = linker.inference.predict().as_duckdbpyrelation()
        pairs[source] = int(table.count("*").fetchone()[0])
        predict_s[source] = time.perf_counter() - t
        train_s[source] = timing["train_s"]
        scored = _scored(linker, table)
        best = _one_to_one(scored, source, tables, rules)
        for _ in range(M_ROUNDS):
            # m again from the model's own one-to-one links (a clerical-free "labels" round), then predict.
            _m_from_links(linker, scored, best)
            table = linker.inference.predict().as_duckdbpyrelation()
            scored = _scored(linker, table)
            best = _one_to_one(scored, source, tables, rules)
        rid = record_ids(source, tables[source]).reset_index(drop=True)
        lpos, rpos = best["l"].to_numpy(), best["r"].to_numpy()
        links.append(
            pd.DataFrame(
                {
                    "source": source,
                    "record_id": rid.to_numpy()[rpos],
                    "force": left["force"].to_numpy()[lpos],
                    "crime_ref": left["crime_ref"].to_numpy()[lpos],
                    "suspect_ref": left["suspect_ref"].to_numpy()[lpos],
                }
            )
        )
    link_s, link_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {
        "link_s": link_s,
        "link_cpu_s": link_cpu_s,
        "pairs": pairs,
        "compare_s": predict_s,
        "train_s": train_s,
        "rules": rules,
        "quality": _quality(pd.concat(links, ignore_index=True), truth),
    }


# ------------------------------------------------------------------------------------------- parity
def parity_child(folder: str) -> dict[str, Any]:
    """Do both tools see the same candidate pairs, and split them into the same levels? Per source: the
    engine's pairs (``candidate_pairs_by_rule`` and its offence-window test, as ``link_outcomes``) against
    Splink's ``predict()`` pairs, then the engine's levels on Splink's pairs against Splink's per-level
    match weights (``level_parity``: each engine level maps to one Splink weight and back)."""
    import numpy as np
    import pandas as pd

    from linkage.justice import DEFAULT_SOURCES, build_left, build_right, source_spec
    from linkage.justice.link import in_offence_window
    from linkage.justice.model import TwoStageModel

    tables = _load(folder)
    tables.pop("truth")
    left = build_left(tables["crimes"], tables["suspects"])
    out: dict[str, Any] = {}
    for source in SOURCES:
        st = DEFAULT_SOURCES[source]
        right = build_right(source, tables[source])
        spec = source_spec(source, st)
        model = TwoStageModel(list(spec.comparisons), list(spec.blocking_rules))
        by_rule = model.candidate_pairs_by_rule(left, right)
        lpos = np.asarray(by_rule.index.get_level_values(0), dtype=np.int64)
        rpos = np.asarray(by_rule.index.get_level_values(1), dtype=np.int64)
        names = list(by_rule.cat.categories)
        windowed = np.isin(
            by_rule.cat.codes.to_numpy(), [names.index(n) for n in spec.windowed_rules if n in names]
        )
        ok = ~windowed
        ok[windowed] = in_offence_window(
            left, right, lpos[windowed], rpos[windowed], spec.window_days, st.tolerance_days
        )
        engine_pairs = set(zip(lpos[ok].tolist(), rpos[ok].tolist(), strict=True))
        lf, rf = _splink_frames(source, tables, left)
        comps = _splink_comparisons(source, st.typical_days, st.long_days, st.tolerance_days)
        linker, _ = _splink_linker(
            lf, rf, comps, splink_blocking(source, st.tolerance_days, st.long_days), retain=True
        )
        frame = linker.inference.predict().as_duckdbpyrelation().df()
        oriented = _orient(frame)
        splink_pairs = set(zip(oriented["l"].tolist(), oriented["r"].tolist(), strict=True))
        index = pd.MultiIndex.from_arrays([oriented["l"].to_numpy(), oriented["r"].to_numpy()])
        levels = model.compare(index, left, right).reset_index(drop=True)
        names = [c.output_column_name for c in linker._settings_obj.comparisons]
        table = level_parity(levels, frame.reset_index(drop=True), names)
        out[source] = {
            "engine_pairs": len(engine_pairs),
            "splink_pairs": len(splink_pairs),
            "engine_only": len(engine_pairs - splink_pairs),
            "splink_only": len(splink_pairs - engine_pairs),
            "levels": table.to_dict(orient="records"),
        }
    return out


# ------------------------------------------------------------------------------------ like for like
LFL_SOURCE = "court_outcomes"


def engine_lfl_child(folder: str) -> dict[str, Any]:
    """Engine, like for like: court lines against crime-suspects on one loose blocking rule (same birth
    year and sex). The model is fitted first (untimed, as Splink's training is); then timed: blocking,
    comparison and two-stage scoring of every candidate pair. ``compare()`` alone is timed separately."""
    from linkage.engine import Year, block_on
    from linkage.justice import DEFAULT_SOURCES, build_left, build_right, link_outcomes, source_spec
    from linkage.justice.model import TwoStageModel

    tables = _load(folder)
    tables.pop("truth")
    fitted = link_outcomes(tables, sources=[LFL_SOURCE]).models[LFL_SOURCE]
    left = build_left(tables["crimes"], tables["suspects"])
    right = build_right(LFL_SOURCE, tables[LFL_SOURCE])
    spec = source_spec(LFL_SOURCE, DEFAULT_SOURCES[LFL_SOURCE])
    model = TwoStageModel(list(spec.comparisons), [block_on(Year("date_of_birth"), "sex")])
    wall, cpu = time.perf_counter(), time.process_time()
    pairs = model.full.candidate_pairs(left, right)
    t_block, c_block = time.perf_counter(), time.process_time()
    levels = model.compare(pairs, left, right)
    t_compare, c_compare = time.perf_counter(), time.process_time()
    pred = fitted.predict(levels)
    end, c_end = time.perf_counter(), time.process_time()
    cpu_s = c_end - cpu
    n_links = int((pred["match_probability"].to_numpy() >= 0.5).sum())
    return {
        "pairs": len(pairs),
        "step_wall_s": end - wall,
        "step_cpu_s": cpu_s,
        "blocking_s": t_block - wall,
        "compare_s": t_compare - t_block,
        "scoring_s": end - t_compare,
        "blocking_cpu_s": c_block - cpu,
        "compare_cpu_s": c_compare - c_block,
        "scoring_cpu_s": c_end - c_compare,
        "pairs_at_0.5": n_links,
    }


def splink_lfl_child(folder: str) -> dict[str, Any]:
    """Splink, like for like: the fair model trained as in the accuracy run (untimed), then timed
    ``predict()`` (blocking, comparison, term frequencies, scoring) on the same blocking rule, counting
    the pairs so the result is materialised."""
    from linkage.justice import DEFAULT_SOURCES

    tables = _load(folder)
    st = DEFAULT_SOURCES[LFL_SOURCE]
    lf, rf = _splink_frames(LFL_SOURCE, tables)
    comps = _splink_comparisons(LFL_SOURCE, st.typical_days, st.long_days, st.tolerance_days)
    linker, _ = _splink_linker(lf, rf, comps, [("birth_year", "sex")])
    wall, cpu = time.perf_counter(), time.process_time()
    table = linker.inference.predict().as_duckdbpyrelation()
    n_pairs = int(table.count("*").fetchone()[0])
    n_links = int(table.filter("match_probability >= 0.5").count("*").fetchone()[0])
    return {
        "pairs": n_pairs,
        "step_wall_s": time.perf_counter() - wall,
        "step_cpu_s": time.process_time() - cpu,
        "pairs_at_0.5": n_links,
    }


# ------------------------------------------------------------------------------------------------ main
def _row(name: str, r: dict[str, Any]) -> dict[str, Any]:
    row = {
        "tool": name,
        "wall_s": round(r["link_s"], 2),
        "cpu_s": round(r["link_cpu_s"], 2),
        "cores": round(r["link_cpu_s"] / r["link_s"], 2),
        "pairs": sum(r["pairs"].values()),
        "peak_rss_mb": round(r["peak_rss_mb"]),
    }
    for s in SOURCES:
        row[f"f1_{s}"] = round(r["quality"][s]["f1"], 4)
    return row


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _lfl_row(name: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "step": name,
        "pairs": r["pairs"],
        "wall_s": round(r["step_wall_s"], 2),
        "cpu_s": round(r["step_cpu_s"], 2),
        "cores": round(r["step_cpu_s"] / r["step_wall_s"], 2),
        "pairs_per_s": round(r["pairs"] / r["step_wall_s"]),
        "pairs_per_cpu_s": round(r["pairs"] / r["step_cpu_s"]),
        "peak_rss_mb": round(r["peak_rss_mb"]),
    }


TARGET_PAIRS_PER_S = 3_000_000
"""Issue 17's done-when: the engine at least 3 M pairs/s end to end (blocking + comparison + scoring), at
least 3x Splink's wall-clock rate, with no larger peak memory."""
TARGET_RATIO = 3.0


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
        default="both",
        choices=["accuracy", "likeforlike", "both", "parity"],
        help="accuracy: the full linkage of every source by each tool; likeforlike: the same court candidate "
        "pairs (same birth year and sex) through blocking + comparison + scoring in each tool; parity: do "
        "both tools make the same candidate pairs and split them into the same levels (not in 'both')",
    )
    parser.add_argument(
        "--splink-rules",
        default="on",
        choices=["on", "off"],
        help="on (default): Splink's one-to-one step links the engine's deterministic-rule pairs first, as "
        "the engine does; off: model links only (an ablation)",
    )
    args = parser.parse_args(argv)

    from linkage._io import write_parquet, write_text
    from linkage.synth import WorldSpec, generate, preset

    spec = preset(args.preset).to_dict()
    spec["noise"] = args.noise
    world = generate(WorldSpec.from_dict(spec), seed=args.seed)
    load_start = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    with tempfile.TemporaryDirectory() as folder:
        for name in TABLES:
            write_parquet(Path(folder) / f"{name}.parquet", world.table(name))
        sizes = {name: len(world.table(name)) for name in TABLES}
        del world
        results: dict[str, Any] = {}
        if args.scenario in ("accuracy", "both"):
            results["accuracy"] = {
                "engine": run_isolated(engine_child, folder),
                "splink": run_isolated(splink_child, folder, args.splink_rules == "on"),
            }
        if args.scenario == "parity":
            results["parity"] = run_isolated(parity_child, folder)
        if args.scenario in ("likeforlike", "both"):
            results["likeforlike"] = {
                "engine": run_isolated(engine_lfl_child, folder),
                "splink": run_isolated(splink_lfl_child, folder),
            }
    print(f"world: preset={args.preset} noise={args.noise} seed={args.seed} rows={sizes}")
    print(f"Splink one-to-one with the engine's deterministic rules first: {args.splink_rules}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(f"started {started}, ended {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(f"load average (1, 5, 15 min) at the start: {load_start}, at the end: {os.getloadavg()}")
    print(f"Splink {_version('splink')}, DuckDB {_version('duckdb')}")
    summary: dict[str, Any] = {}
    if "parity" in results:
        print(
            "\nparity (engine pairs vs Splink pairs; levels: engine level <-> Splink level weight, 1 to 1):"
        )
        for source, r in results["parity"].items():
            if source in ("wall_s", "peak_rss_mb"):
                continue
            same = [row["comparison"] for row in r["levels"] if row["same_partition"]]
            differ = [row["comparison"] for row in r["levels"] if not row["same_partition"]]
            print(
                f"{source:16s} engine {r['engine_pairs']:,} pairs, splink {r['splink_pairs']:,}, engine only "
                f"{r['engine_only']:,}, splink only {r['splink_only']:,}; same levels: {len(same)} of "
                f"{len(r['levels'])} comparisons" + (f" (differ: {differ})" if differ else "")
            )
    if "accuracy" in results:
        engine, splink = results["accuracy"]["engine"], results["accuracy"]["splink"]
        rows = [_row("engine", engine), _row("splink (fair)", splink)]
        summary["accuracy"] = rows
        print("\naccuracy (each tool links every source, training included; wall_s from inputs in memory):")
        print(" | ".join(rows[0]))
        for row in rows:
            print(" | ".join(str(v) for v in row.values()))
        for name, r in (("engine", engine), ("splink", splink)):
            for s in SOURCES:
                q = r["quality"][s]
                print(
                    f"{name:7s} {s:16s} P={q['precision']:.4f} R={q['recall']:.4f} F1={q['f1']:.4f} "
                    f"pairs={r['pairs'][s]}"
                )
        diff = {s: engine["quality"][s]["f1"] - splink["quality"][s]["f1"] for s in SOURCES}
        summary["f1_engine_minus_splink"] = {k: round(v, 4) for k, v in diff.items()}
        print("F1 engine - splink: " + ", ".join(f"{k} {v:+.4f}" for k, v in diff.items()))
        print(
            "wall ratio splink/engine (training included): "
            f"{splink['link_s'] / engine['link_s']:.2f}x; "
            f"CPU ratio {splink['link_cpu_s'] / engine['link_cpu_s']:.2f}x"
        )
    if "likeforlike" in results:
        engine, splink = results["likeforlike"]["engine"], results["likeforlike"]["splink"]
        rows = [
            _lfl_row("engine: blocking + compare + two-stage scoring", engine),
            _lfl_row("splink (fair): predict() = blocking + comparison + tf + scoring", splink),
        ]
        alone = {
            "step": "engine compare() alone (not like for like)",
            "pairs": engine["pairs"],
            "wall_s": round(engine["compare_s"], 2),
            "pairs_per_s": round(engine["pairs"] / engine["compare_s"]),
        }
        summary["likeforlike"] = [*rows, alone]
        print(f"\nlike for like ({LFL_SOURCE} against crime-suspects, blocking on birth year and sex; "
              "training untimed; peak_rss_mb is the whole process's, training included):")  # fmt: skip
        print(" | ".join(rows[0]))
        for row in rows:
            print(" | ".join(str(v) for v in row.values()))
        print(" | ".join(f"{k}={v}" for k, v in alone.items()))
        steps = [
            f"{k} {engine[f'{k}_s']:.2f} ({engine[f'{k}_cpu_s']:.2f})"
            for k in ("blocking", "compare", "scoring")
        ]
        print("engine steps, wall (CPU) s: " + ", ".join(steps))
        ratio = {
            "pairs_per_s_wall": rows[0]["pairs_per_s"] / rows[1]["pairs_per_s"],
            "pairs_per_cpu_s": rows[0]["pairs_per_cpu_s"] / rows[1]["pairs_per_cpu_s"],
            "peak_memory": engine["peak_rss_mb"] / splink["peak_rss_mb"],
        }
        summary["likeforlike_ratio"] = {k: round(v, 2) for k, v in ratio.items()}
        summary["likeforlike_ratio_pairs_per_s"] = round(ratio["pairs_per_s_wall"], 2)
        print(
            f"ratio engine/splink: pairs/s (wall) {ratio['pairs_per_s_wall']:.2f}x, "
            f"pairs per CPU-second {ratio['pairs_per_cpu_s']:.2f}x, peak memory {ratio['peak_memory']:.2f}x"
        )
        checks = {
            f"engine >= {TARGET_PAIRS_PER_S:,} pairs/s end to end (wall)": rows[0]["pairs_per_s"]
            >= TARGET_PAIRS_PER_S,
            f"engine >= {TARGET_RATIO:g}x Splink's wall-clock rate": ratio["pairs_per_s_wall"]
            >= TARGET_RATIO,
            "engine peak memory <= Splink's": ratio["peak_memory"] <= 1.0,
        }
        summary["done_when"] = checks
        for k, v in checks.items():
            print(f"issue 17 done-when: {k}: {'MET' if v else 'NOT MET'}")
    payload = {
        "command": "benchmarks/bench_linkage.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "world": {"preset": args.preset, "noise": args.noise, "seed": args.seed, "rows": sizes},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "loadavg": os.getloadavg()},
        "results": results,
        "summary": summary,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
