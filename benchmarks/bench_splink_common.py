"""Shared benchmark helpers: Splink (DuckDB) models comparable to the engine's, isolated measurement.

Reusable by every engine-vs-Splink benchmark:

* :func:`run_isolated` runs a function in a fresh ``spawn`` process and returns its result with the
  wall time and the process's peak resident memory (so each engine's memory is its own);
* ``splink_*`` builders mirror the engine's comparisons level for level (same thresholds, same
  missing-is-neutral ``NullLevel``, the same term-frequency choice);
* :func:`prepare_for_splink` normalises names exactly as the engine does and adds phonetic columns
  (Splink compares columns, so the metaphone level needs a precomputed column);
* :func:`run_splink` trains (u by random sampling, prior from deterministic rules, EM sessions) and
  predicts, timing each step; :func:`scores` computes precision / recall / F1 against true pairs.

Requires the ``[bench]`` extra (``pip install -e '.[bench]'``: splink, duckdb).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import re
import resource
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import jellyfish
import pandas as pd

from linkage.engine import normalise_name

__all__ = [
    "level_parity",
    "prepare_for_splink",
    "run_isolated",
    "run_splink",
    "scores",
    "nickname_group_lookup",
    "splink_date_comparison",
    "splink_dob_comparison",
    "splink_exact_comparison",
    "splink_levenshtein_comparison",
    "splink_name_comparison",
    "splink_person_name_comparison",
]


# --- isolated measurement
def _child(func: Callable[..., dict[str, Any]], args: tuple, queue: mp.Queue) -> None:
    try:
        start = time.perf_counter()
        out = func(*args)
        out["wall_s"] = time.perf_counter() - start
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        queue.put(("ok", out))
    except BaseException:  # report any failure to the parent instead of hanging it
        queue.put(("error", traceback.format_exc()))


def run_isolated(func: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``func(*args)`` (a module-level function returning a dict) in a fresh process.

    Adds ``wall_s`` (the call, excluding interpreter start-up) and ``peak_rss_mb`` (peak resident set
    of that process, imports and data included) to the dict it returns.
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(func, args, queue))
    proc.start()
    status, payload = queue.get()
    proc.join()
    if status != "ok":
        raise RuntimeError(f"benchmark child failed:\n{payload}")
    return payload


def scores(found: Iterable[tuple[Any, Any]], truth: Iterable[tuple[Any, Any]]) -> dict[str, float]:
    """Precision, recall and F1 of ``found`` pairs against ``truth`` pairs."""
    found_set, truth_set = set(found), set(truth)
    tp = len(found_set & truth_set)
    precision = tp / len(found_set) if found_set else 0.0
    recall = tp / len(truth_set) if truth_set else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "links": len(found_set)}


# --- data preparation
_TOKEN_SPLIT = re.compile(r"[\s\-']+")  # the engine's surname token split (linkage.engine.comparisons)


def nickname_group_lookup(nicknames: Mapping[str, str | Collection[str]]) -> dict[str, set[str]]:
    """Normalised name -> the nickname groups it belongs to, as the engine's ``_nickname_pairs`` builds
    them (a key belongs to each of its groups; a group's own name belongs to the group)."""
    groups_of: dict[str, set[str]] = {}
    for key, value in nicknames.items():
        k = normalise_name(key)
        if k is None:
            continue
        for v in [value] if isinstance(value, str) else list(value):
            g = normalise_name(v)
            if g is not None:
                groups_of.setdefault(k, set()).add(g)
                groups_of.setdefault(g, set()).add(g)
    return groups_of


def prepare_for_splink(
    frame: pd.DataFrame,
    *,
    name_columns: Sequence[str] = (),
    phonetic_columns: Sequence[str] = (),
    unique_id: str = "unique_id",
    nicknames: Mapping[str, str | Collection[str]] | None = None,
    group_columns: Sequence[str] = (),
    token_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """A copy with ``unique_id`` from the index, names normalised like the engine's
    (:func:`linkage.engine.normalise_name`), and ``<col>_metaphone`` for each phonetic column
    (jellyfish metaphone of the letters, once per distinct value, as the engine's phonetic level).

    ``<col>_groups`` for each of ``group_columns``: the sorted list of nickname groups the (normalised)
    name belongs to under ``nicknames`` (a name -> canonical form, or -> the groups it is in), built
    exactly as the engine's ``PersonNameComparison`` builds its variant relation, so two forenames are
    variants in SQL when ``list_has_any`` of their groups. ``<col>_tokens`` for each of
    ``token_columns``: the name's tokens of three letters or more (split on spaces, hyphens,
    apostrophes), for the engine's token-wise surname agreement."""
    out = frame.copy()
    for col in dict.fromkeys([*name_columns, *phonetic_columns]):
        values = out[col]
        codes, uniques = pd.factorize(values)
        normed = pd.Series([normalise_name(u) for u in uniques] + [None], dtype=object)
        out[col] = normed.to_numpy()[codes]
    for col in phonetic_columns:
        codes, uniques = pd.factorize(out[col])
        phon = []
        for u in uniques:
            letters = "".join(ch for ch in u if "a" <= ch <= "z")
            phon.append(jellyfish.metaphone(letters) or None if letters else None)
        out[f"{col}_metaphone"] = pd.Series([*phon, None], dtype=object).to_numpy()[codes]
    groups_of = nickname_group_lookup(nicknames or {})
    for col in group_columns:
        codes, uniques = pd.factorize(out[col])
        groups = [sorted(groups_of.get(u, ())) for u in uniques] + [[]]
        out[f"{col}_groups"] = pd.Series(groups, dtype=object).to_numpy()[codes]
    for col in token_columns:
        codes, uniques = pd.factorize(out[col])
        toks = [[t for t in _TOKEN_SPLIT.split(str(u)) if len(t) >= 3] for u in uniques] + [[]]
        out[f"{col}_tokens"] = pd.Series(toks, dtype=object).to_numpy()[codes]
    out.insert(0, unique_id, out.index.astype(str))
    return out.reset_index(drop=True)


# --- comparisons mirroring linkage.engine
def splink_name_comparison(col: str, jw_thresholds: Sequence[float] = (0.92, 0.85), phonetic: bool = True,
                           tf: bool = True):  # fmt: skip
    """Mirror of ``NameComparison``: exact (tf) / JW >= t ... / metaphone equal / else; null neutral."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [cll.NullLevel(col), cll.ExactMatchLevel(col, term_frequency_adjustments=tf)]
    levels += [cll.JaroWinklerLevel(col, t) for t in jw_thresholds]
    if phonetic:
        levels.append(cll.ExactMatchLevel(f"{col}_metaphone"))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name=col)


def splink_person_name_comparison(
    forename_col: str,
    surname_col: str,
    jw_thresholds: Sequence[float] = (0.92, 0.85),
    forename_groups_col: str | None = None,
    surname_tokens_col: str | None = None,
    tf: bool = True,
    output_column_name: str | None = None,
):
    """Mirror of ``PersonNameComparison``, level for level: exact both (tf on surname) / swapped /
    nickname or variant forename (forenames differ, their nickname groups meet) with surname JW >= first
    threshold or surnames agreeing / forename initial + surnames agreeing / both JW >= t ... / else;
    null (either part missing on either side) neutral.

    "Surnames agreeing" is exact or, with ``surname_tokens_col``, token-wise: one of the two surnames
    has several tokens and they share one ("smith-jones" ~ "jones"), the engine's hyphenated and
    married surname match. ``forename_groups_col`` holds each forename's nickname groups (add both with
    ``prepare_for_splink(..., group_columns=, token_columns=)``); without it the nickname level is kept
    but never matches, so the two models have the same levels."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    f, s = forename_col, surname_col
    fl, fr, sl, sr = f'"{f}_l"', f'"{f}_r"', f'"{s}_l"', f'"{s}_r"'
    null = " OR ".join(f"{c} IS NULL" for c in (fl, fr, sl, sr))
    exact = cll.CustomLevel(f"{fl} = {fr} AND {sl} = {sr}", label_for_charts="exact")
    if tf:
        exact = exact.configure(tf_adjustment_column=s, disable_tf_exact_match_detection=True)
    if surname_tokens_col:
        tl, tr = f'"{surname_tokens_col}_l"', f'"{surname_tokens_col}_r"'
        sur_eq = f"({sl} = {sr} OR (list_has_any({tl}, {tr}) AND (len({tl}) > 1 OR len({tr}) > 1)))"
    else:
        sur_eq = f"{sl} = {sr}"
    if forename_groups_col:
        gl, gr = f'"{forename_groups_col}_l"', f'"{forename_groups_col}_r"'
        nickname = (
            f"{fl} <> {fr} AND list_has_any({gl}, {gr}) "
            f"AND (jaro_winkler_similarity({sl}, {sr}) >= {jw_thresholds[0]} OR {sur_eq})"
        )
    else:
        nickname = "1 = 0"
    levels = [
        cll.CustomLevel(null, label_for_charts="null").configure(is_null_level=True),
        exact,
        cll.CustomLevel(f"{fl} = {sr} AND {sl} = {fr}", label_for_charts="forename-surname swapped"),
        cll.CustomLevel(nickname, label_for_charts="nickname/variant forename"),
        cll.CustomLevel(
            f"substr({fl}, 1, 1) = substr({fr}, 1, 1) AND {sur_eq}", label_for_charts="initial + surname"
        ),  # fmt: skip
    ]
    levels += [
        cll.CustomLevel(
            f"jaro_winkler_similarity({fl}, {fr}) >= {t} AND jaro_winkler_similarity({sl}, {sr}) >= {t}",
            label_for_charts=f"both jaro_winkler >= {t}",
        )
        for t in jw_thresholds
    ]
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name=output_column_name or f"{f}_{s}")


def splink_dob_comparison(col: str, valid_col: str | None = None, output_column_name: str | None = None):
    """Mirror of the justice ``DobComparison`` on zero-padded ``yyyymmdd`` strings: exact / day and month
    swapped / one digit wrong or two adjacent digits transposed (Damerau-Levenshtein 1 on two 8-digit
    strings is exactly that) / same day and month with the year off by one or by a century / same year /
    else. Null neutral; with ``valid_col`` (a boolean: the DOB is a calendar date and plausible at the
    offence) an implausible DOB on either side makes the weak levels (same year, else) null too, as the
    engine treats an impossible DOB as an error, not as evidence against."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    lc, rc = f'"{col}_l"', f'"{col}_r"'
    exact = f"{lc} = {rc}"
    swapped = (
        f"substr({lc},1,4) = substr({rc},1,4) AND substr({lc},5,2) = substr({rc},7,2) "
        f"AND substr({lc},7,2) = substr({rc},5,2) AND substr({lc},5,2) <> substr({lc},7,2)"
    )
    typo = f"length({lc}) = 8 AND length({rc}) = 8 AND damerau_levenshtein({lc}, {rc}) = 1"
    slip = (
        f"substr({lc},5,4) = substr({rc},5,4) AND abs(CAST(substr({lc},1,4) AS INTEGER) - "
        f"CAST(substr({rc},1,4) AS INTEGER)) IN (1, 100)"
    )
    null = f"{lc} IS NULL OR {rc} IS NULL"
    if valid_col:
        vl, vr = f'"{valid_col}_l"', f'"{valid_col}_r"'
        strong = " OR ".join(f"({c})" for c in (exact, swapped, typo, slip))
        null += f" OR (NOT (coalesce({vl}, FALSE) AND coalesce({vr}, FALSE)) AND NOT ({strong}))"
    levels = [
        cll.CustomLevel(null, label_for_charts="null").configure(is_null_level=True),
        cll.CustomLevel(exact, label_for_charts="exact"),
        cll.CustomLevel(swapped, label_for_charts="day-month swapped"),
        cll.CustomLevel(typo, label_for_charts="one digit or transposition"),
        cll.CustomLevel(slip, label_for_charts="year slip"),
        cll.CustomLevel(f"substr({lc},1,4) = substr({rc},1,4)", label_for_charts="same year"),
        cll.ElseLevel(),
    ]
    return cl.CustomComparison(levels, output_column_name=output_column_name or col)


def splink_date_comparison(col: str):
    """Mirror of ``DateComparison`` on ``yyyymmdd`` strings: exact / day-month swapped / one digit off
    (Hamming distance 1) / same year / else; null neutral."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    lc, rc = f'"{col}_l"', f'"{col}_r"'
    swapped = (
        f"substr({lc},1,4) = substr({rc},1,4) AND substr({lc},5,2) = substr({rc},7,2) "
        f"AND substr({lc},7,2) = substr({rc},5,2) AND substr({lc},5,2) <> substr({lc},7,2)"
    )
    one_digit = f"length({lc}) = 8 AND length({rc}) = 8 AND hamming({lc}, {rc}) = 1"
    levels = [
        cll.NullLevel(col),
        cll.ExactMatchLevel(col),
        cll.CustomLevel(swapped, label_for_charts="day-month swapped"),
        cll.CustomLevel(one_digit, label_for_charts="one digit off"),
        cll.CustomLevel(f"substr({lc},1,4) = substr({rc},1,4)", label_for_charts="same year"),
        cll.ElseLevel(),
    ]
    return cl.CustomComparison(levels, output_column_name=col)


def splink_levenshtein_comparison(col: str, thresholds: Sequence[int] = (1, 2), tf: bool = False):
    """Mirror of ``LevenshteinLevels``: exact / levenshtein <= t ... / else; null neutral."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [cll.NullLevel(col), cll.ExactMatchLevel(col, term_frequency_adjustments=tf)]
    levels += [cll.LevenshteinLevel(col, t) for t in thresholds]
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name=col)


def splink_exact_comparison(col: str, tf: bool = False):
    """Mirror of ``ExactMatch``: exact / else; null neutral."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [cll.NullLevel(col), cll.ExactMatchLevel(col, term_frequency_adjustments=tf), cll.ElseLevel()]
    return cl.CustomComparison(levels, output_column_name=col)


# --- training and prediction
def run_splink(
    left: pd.DataFrame,
    right: pd.DataFrame,
    comparisons: Sequence[Any],
    blocking_columns: Sequence[Sequence[str]],
    em_blocking_columns: Sequence[Sequence[str]],
    deterministic_columns: Sequence[Sequence[str]],
    *,
    recall: float = 0.9,
    threshold: float = 0.5,
    u_max_pairs: float = 1e6,
    seed: int = 0,
) -> dict[str, Any]:
    """Train and predict a link-only Splink model on the DuckDB backend; time each step.

    Prepared frames (see :func:`prepare_for_splink`) are registered with DuckDB; the prior comes
    from ``deterministic_columns`` rules with the given ``recall``; u from random sampling; m from
    one EM session per ``em_blocking_columns`` rule. Returns the linked ``(left id, right id)``
    pairs at ``threshold``, the number of candidate pairs, the step timings and ``predict()``'s CPU time.
    """
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)  # training chatter would swamp the report
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    db_api = DuckDBAPI()
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=list(comparisons),
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in blocking_columns],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    if hasattr(db_api, "register"):  # Splink 5 registers inputs first; Splink 4 takes frames
        inputs = [db_api.register(left, dataset_display_name="left_records"),
                  db_api.register(right, dataset_display_name="right_records")]  # fmt: skip
        linker = Linker(inputs, settings, log_level=None)
    else:  # pragma: no cover - Splink 4
        linker = Linker([left, right], settings, db_api, set_up_basic_logging=False)
    timings["setup_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*cols) for cols in deterministic_columns], recall=recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    for cols in em_blocking_columns:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
    timings["train_s"] = time.perf_counter() - t

    t, cpu = time.perf_counter(), time.process_time()
    predictions = linker.inference.predict()
    timings["predict_s"] = time.perf_counter() - t
    predict_cpu_s = time.process_time() - cpu  # DuckDB's worker threads run in this process

    t = time.perf_counter()
    table = predictions.as_duckdbpyrelation() if hasattr(predictions, "as_duckdbpyrelation") else None
    if table is not None:
        n_pairs = int(table.count("*").fetchone()[0])
        linked = (
            table.filter(f"match_probability >= {threshold}").select("unique_id_l, unique_id_r").fetchall()
        )
    else:  # pragma: no cover - older Splink
        frame = predictions.as_pandas_dataframe()
        n_pairs = len(frame)
        keep = frame["match_probability"] >= threshold
        linked = list(frame.loc[keep, ["unique_id_l", "unique_id_r"]].itertuples(index=False, name=None))
    timings["collect_s"] = time.perf_counter() - t
    return {
        "links": [tuple(x) for x in linked],
        "pairs": n_pairs,
        "timings": timings,
        "predict_cpu_s": predict_cpu_s,
    }


def level_parity(
    levels: pd.DataFrame, splink_predictions: pd.DataFrame, names: Sequence[str]
) -> pd.DataFrame:
    """Do the engine's levels and Splink's levels split the same pairs the same way?

    ``levels`` (engine) and ``splink_predictions`` (with ``retain_intermediate_calculation_columns``,
    u trained so every level has its own weight) are aligned row by row. Per comparison: pairs, levels
    seen, and ``same_partition`` = each engine level maps to exactly one Splink match weight ``mw_<name>``
    and different levels to different weights.
    """
    rows = []
    for name in names:
        frame = pd.DataFrame(
            {"level": levels[name].to_numpy(), "mw": splink_predictions[f"mw_{name}"].round(9).to_numpy()}
        )
        per_level = frame.groupby("level")["mw"].nunique()
        first = frame.groupby("level")["mw"].first()
        rows.append({"comparison": name, "pairs": len(frame), "levels_seen": len(per_level),
                     "same_partition": bool((per_level == 1).all() and first.is_unique)})  # fmt: skip
    return pd.DataFrame(rows)
