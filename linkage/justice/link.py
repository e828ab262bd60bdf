"""Link outcome records (cautions, penalty notices, court outcome lines) to crime-suspects.

The left side is one row per crime and suspect (crimes joined to their suspects within force); the right
side is each outcome source in turn. Per source:

1. **Index**: the union of blocking rules chosen for high recall (PNC ID, date of birth, surname soundex
   with birth year or with birth day and month, initials within force, swapped names, name keys within
   the offence-date window that need neither DOB nor PNC ID, and for cautions the hand-typed crime
   reference).
2. **Compare**: names (nickname groups from a published list, token-wise surnames, folded diacritics) and
   date of birth (partial credit for typing errors; an implausible DOB is neutral), PNC ID, offence
   compatibility through the crosswalk backing off to the statute family and police.uk category, offence
   date, the directional outcome lag, place (penalty notices) and crime reference (cautions).
3. **Deterministic rules** mark pairs that are links on their face (e.g. PNC ID exact, offence compatible,
   outcome within the typical window after the offence).
4. **Model**: the two-stage Fellegi-Sunter model of :mod:`linkage.justice.model` (same person? this
   crime?) scores every pair.
5. **Constraints**: each outcome record links to at most one crime-suspect; each crime-suspect takes at
   most one caution and one penalty notice, and at most one line of each court case (so one case's lines
   spread over different crimes); conflicts are resolved by an optimal assignment on match weight (rule
   links first), per connected component.

What differs between sources is data, never a branch here: one
:class:`~linkage.justice.outcome_sources.OutcomeSource` per source in
:data:`~linkage.justice.outcome_sources.REGISTRY`. The steps live in :mod:`linkage.justice.inputs` (both
sides), :mod:`linkage.justice.outcome_sources` (the spec), :mod:`linkage.justice.assignment` (the
constraints) and :mod:`linkage.justice.result`; this module runs them, source by source.

Every link records the rule that made it (``rule:<name>``) or ``model``, its match weight and probability.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from linkage.errors import LinkageError
from linkage.justice.assignment import _count, ambiguous_crimes, left_units, resolve_conflicts
from linkage.justice.inputs import (
    _check_table,
    _text,
    build_left,
    build_right,
    outcome_labels,
    record_ids,
)
from linkage.justice.model import TwoStageModel
from linkage.justice.outcome_sources import (
    REGISTRY,
    DeterministicRule,
    OutcomeSource,
    SourceSpec,
    nickname_map,
    outcome_source,
    source_spec,
)
from linkage.justice.result import (
    LINK_COLUMNS,
    FittedModels,
    LinkResult,
    _apply_term_frequencies,
    _candidate_crimes,
    crime_outcome_table,
)
from linkage.justice.settings import LinkSettings, SourceSettings

logger = logging.getLogger(__name__)

# Re-exported: callers import these from linkage.justice.link (their home is the module named above).
__all__ = [
    "REGISTRY",
    "DeterministicRule",
    "FittedModels",
    "LinkResult",
    "OutcomeSource",
    "SourceSpec",
    "ambiguous_crimes",
    "build_left",
    "build_right",
    "crime_outcome_table",
    "in_offence_window",
    "link_outcomes",
    "nickname_map",
    "outcome_labels",
    "pass_completeness",
    "record_ids",
    "resolve_conflicts",
    "source_spec",
]

_RULE_BONUS = 1000.0  # added to a rule link's score in the assignment: rules beat any model-only pair


# ---------------------------------------------------------------------------------------------- blocking
def pass_completeness(
    source: str,
    left: pd.DataFrame,
    right: pd.DataFrame,
    spec: SourceSpec,
    truth: pd.DataFrame,
    tolerance_days: int,
) -> pd.DataFrame:
    """Pair completeness of each blocking pass: of the true pairs of ``source`` in ``truth`` (``source,
    record_id, force, crime_ref, suspect_ref``) whose crime-suspect and record are in the data, how many
    the pass generates on its own (after its date window, and the offence-window test of the name
    passes); last row: all passes."""
    t = truth[truth["source"].astype("string") == source]
    t = t[t["crime_ref"].notna() & (t["crime_ref"].astype("string") != "")]
    lkey = pd.MultiIndex.from_arrays(
        [
            left["force"].astype("string"),
            left["crime_ref"].astype("string"),
            left["suspect_ref"].astype("string"),
        ]
    )
    tkey = pd.MultiIndex.from_arrays(
        [t["force"].astype("string"), t["crime_ref"].astype("string"), t["suspect_ref"].astype("string")]
    )
    lp = lkey.get_indexer(tkey)
    rp = pd.Index(right["record_id"].astype("string")).get_indexer(t["record_id"].astype("string"))
    ok = (lp >= 0) & (rp >= 0)
    lp, rp = lp[ok].astype(np.int64), rp[ok].astype(np.int64)
    rows, union = [], np.zeros(len(lp), dtype=bool)
    for rule in spec.blocking_rules:
        found = rule.admits(left, right, lp, rp)  # keys and the rule's own date window
        if rule.name in spec.windowed_rules:
            found &= in_offence_window(left, right, lp, rp, spec.window_days, tolerance_days)
        union |= found
        rows.append((source, rule.name, len(lp), int(found.sum())))
    rows.append((source, "all passes", len(lp), int(union.sum())))
    out = pd.DataFrame(rows, columns=["source", "blocking_rule", "true_pairs", "found"])
    out["completeness"] = out["found"] / out["true_pairs"].where(out["true_pairs"] > 0)
    return out


def in_offence_window(
    left: pd.DataFrame,
    right: pd.DataFrame,
    lpos: np.ndarray,
    rpos: np.ndarray,
    window_days: int,
    tolerance_days: int,
) -> np.ndarray:
    """Per pair: the crime's committed date within ``window_days`` of the record's offence date, and the
    outcome date no earlier than the committed date less ``tolerance_days``. A missing date passes its
    test (missing is neutral)."""
    committed = left["committed_date"].to_numpy("datetime64[D]")[lpos]
    offence = right["offence_date"].to_numpy("datetime64[D]")[rpos]
    outcome = right["outcome_date"].to_numpy("datetime64[D]")[rpos]
    gap = np.abs((committed - offence).astype("int64"))
    lag = (outcome - committed).astype("int64")
    near = np.isnat(committed) | np.isnat(offence) | (gap <= window_days)
    after = np.isnat(committed) | np.isnat(outcome) | (lag >= -tolerance_days)
    return near & after


# ---------------------------------------------------------------------------------------------- driver
_REVIEW_FIELDS = ["forename", "surname", "date_of_birth", "sex", "pnc_id"]


def _link_source(
    source: str,
    left: pd.DataFrame,
    right: pd.DataFrame,
    settings: SourceSettings,
    step: Callable[[str], None],
    seed: int = 0,
    timings: dict[str, float] | None = None,
    fitted: TwoStageModel | None = None,
    candidates: bool = True,
) -> tuple[pd.DataFrame, TwoStageModel, pd.Series]:
    """Link one source. With ``fitted`` EM is skipped: its parameters and term frequencies score the
    pairs. ``candidates=False`` keeps only the linked pairs, without the clerical-review fields (national
    runs). Returns candidates, model and pairs per blocking rule."""
    clock = _Clock(timings if timings is not None else {})
    spec = source_spec(source, settings)
    model = TwoStageModel(list(spec.comparisons), list(spec.blocking_rules))
    if fitted is not None and fitted.names != model.names:
        raise LinkageError(
            f"{source}: fitted model compares {fitted.names}, the settings' spec compares {model.names}"
        )
    step(f"{source}: blocking")
    by_rule = model.candidate_pairs_by_rule(left, right)
    pairs = by_rule.index
    lpos = np.asarray(pairs.get_level_values(0), dtype=np.int64)
    rpos = np.asarray(pairs.get_level_values(1), dtype=np.int64)
    if spec.windowed_rules:
        # The windowed passes join within the offence-date window; pairs first made by one also need the
        # outcome no earlier than the offence (less the tolerance). Tested on the rule codes, not names.
        names = list(by_rule.cat.categories)
        windowed_codes = [names.index(n) for n in spec.windowed_rules if n in names]
        windowed = np.isin(by_rule.cat.codes.to_numpy(), windowed_codes)
        ok = ~windowed
        ok[windowed] = in_offence_window(
            left, right, lpos[windowed], rpos[windowed], spec.window_days, settings.tolerance_days
        )
        if not ok.all():
            by_rule = by_rule[ok]
            pairs = by_rule.index
            lpos, rpos = lpos[ok], rpos[ok]
    clock.lap("blocking_s")
    step(f"{source}: comparing {len(pairs):,} pairs")
    levels = model.compare(pairs, left, right)
    if fitted is not None:
        _apply_term_frequencies(levels, model.full.comparisons, left, lpos, fitted)
    clock.lap("compare_s")
    if fitted is None:
        step(f"{source}: EM")
        model.fit(levels, left, right, seed=seed, max_iter=settings.max_em_iterations)
    else:
        step(f"{source}: fixed parameters")
        model = fitted
    clock.lap("fit_s")
    pred = model.predict(levels)
    clock.lap("predict_s")
    rule = np.full(len(pairs), "", dtype=object)
    for r in reversed(spec.rules):  # first rule listed wins the label
        rule[r.matches(levels)] = f"rule:{r.name}"
    # A rule only decides when it is unambiguous: the one rule pair of its record and of its crime-suspect.
    is_rule = rule != ""
    is_rule &= _count(rpos, is_rule) == 1
    is_rule &= _count(lpos, is_rule) == 1
    rule[~is_rule] = ""
    weight = pred["match_weight"].to_numpy(float)
    prob = pred["match_probability"].to_numpy(float)
    threshold_w = float(np.log2(settings.threshold) - np.log2(1 - settings.threshold))
    eligible = is_rule | (prob >= settings.threshold)
    # Score for the assignment: weight above the threshold (positive), rule pairs lifted above all others.
    score = (
        np.where(is_rule, _RULE_BONUS + np.maximum(weight - threshold_w, 0.0), weight - threshold_w) + 1e-3
    )
    step(f"{source}: constraints")
    idx = np.flatnonzero(eligible)
    keep = np.zeros(len(pairs), dtype=bool)
    units = left_units(outcome_source(source).unit_within, lpos, rpos, right)
    keep[idx] = resolve_conflicts(units[idx], rpos[idx], score[idx])
    ambiguous, tied = ambiguous_crimes(
        lpos, rpos, units, keep, weight, pred["person_probability"].to_numpy(float), prob, settings.threshold
    )
    # Not linked: the crime is not known. Reported in LinkResult.ambiguous with its candidates instead.
    clock.lap("constraints_s")
    clock.times["pairs"] = float(len(pairs))
    rule = np.where(is_rule, rule, np.where(keep, "model", ""))
    logger.info(
        "%s: %d records, %d candidate pairs, %d rule pairs, %d links",
        source,
        len(right),
        len(pairs),
        int(is_rule.sum()),
        int(keep.sum()),
    )
    blocking_counts = by_rule.value_counts(sort=False)
    if not candidates:  # linked pairs only: a national partition's candidates would not fit in memory
        sel = np.flatnonzero(keep)  # (ambiguous records are then not listed: see LinkResult.ambiguous)
        lpos, rpos, rule, keep, by_rule = lpos[sel], rpos[sel], rule[sel], keep[sel], by_rule.iloc[sel]
        tied, ambiguous = tied[sel], ambiguous[sel]
        levels, pred = levels.iloc[sel], pred.iloc[sel]
    cand = pd.DataFrame(
        {
            "source": source,
            "record_id": right["record_id"].to_numpy()[rpos],
            "force": left["force"].to_numpy()[lpos],
            "crime_ref": left["crime_ref"].to_numpy()[lpos],
            "suspect_ref": left["suspect_ref"].to_numpy()[lpos],
            "left_pos": lpos,
            "right_pos": rpos,
            "blocking_rule": by_rule.astype(str).to_numpy(),
        }
    )
    for c in model.names:
        cand[f"level_{c}"] = levels[c].to_numpy()
    for c in pred.columns:
        cand[c] = pred[c].to_numpy()
    cand["rule"] = rule
    cand["linked"] = keep
    cand["ambiguous_with"] = tied
    cand["ambiguous_best"] = ambiguous
    if candidates:
        for f in _REVIEW_FIELDS:
            cand[f"l_{f}"] = left[f].to_numpy()[lpos]
            cand[f"r_{f}"] = right[f].to_numpy()[rpos]
        cand["l_offence"] = left["offence_code"].to_numpy()[lpos]
        cand["r_offence"] = right["off_code"].to_numpy()[rpos]
        cand["l_date"] = left["committed_date"].to_numpy()[lpos]
        cand["r_date"] = right["offence_date"].to_numpy()[rpos]
        cand["r_outcome_date"] = right["outcome_date"].to_numpy()[rpos]
        cand["r_outcome_label"] = right["outcome_label"].to_numpy()[rpos]
    return cand, model, blocking_counts


class _Clock:
    """Wall-clock laps into a dict (seconds)."""

    def __init__(self, times: dict[str, float]) -> None:
        import time

        self._now = time.perf_counter
        self.times = times
        self._last = self._now()

    def lap(self, name: str) -> None:
        now = self._now()
        self.times[name] = now - self._last
        self._last = now


def link_outcomes(
    tables: Mapping[str, pd.DataFrame],
    settings: LinkSettings | None = None,
    progress: bool = False,
    sources: Sequence[str] | None = None,
    fitted: FittedModels | None = None,
    candidates: bool = True,
    truth: pd.DataFrame | None = None,
) -> LinkResult:
    """Link each outcome source in ``tables`` to the crime-suspects of ``tables['crimes']`` and
    ``tables['suspects']`` (contract column names), and build the crime-level result.

    ``sources`` defaults to every outcome source present. ``progress`` shows tqdm bars on the long steps.
    ``fitted`` (e.g. ``other_result.fitted()``) fixes every parameter: no EM, the given models and term
    frequencies score the pairs, so the same pair gets the same score in any run. ``candidates=False``
    keeps only the linked pairs in ``LinkResult.candidates`` (no review fields), to bound memory.
    ``truth`` (synthetic data) adds the pair completeness of each blocking pass
    (``LinkResult.pass_completeness``).
    """
    settings = settings or LinkSettings()
    crimes = _check_table(tables, "crimes")
    suspects = _check_table(tables, "suspects")
    chosen = [s for s in REGISTRY if s in tables] if sources is None else list(sources)
    bad = [s for s in chosen if s not in REGISTRY]
    if bad:
        raise LinkageError(f"sources must be among {list(REGISTRY)}, got {bad}")
    if fitted is not None:
        lacking = [s for s in chosen if s not in fitted.models]
        if lacking:
            raise LinkageError(f"fitted has no model for source(s) {lacking}; has {sorted(fitted.models)}")
    left = build_left(crimes, suspects)
    steps_per_source = 5
    bar = tqdm(total=steps_per_source * len(chosen) + 1, desc="linking", unit="step", disable=not progress)

    def step(text: str) -> None:
        bar.set_postfix_str(text, refresh=False)
        bar.update(1)

    cands, models, blocking, links, unlinked, completeness, ambiguous = [], {}, [], [], [], [], []
    timings: dict[str, dict[str, float]] = {}
    try:
        for source in chosen:
            table = _check_table(tables, source, outcome_source(source).required_columns)
            right = build_right(source, table)
            step(f"{source}: prepared {len(right):,} records")
            if len(right) == 0 or len(left) == 0:
                logger.warning(
                    "%s: nothing to link (%d records, %d crime-suspects)", source, len(right), len(left)
                )
                bar.update(steps_per_source - 1)
                unlinked.append(right)
                continue
            timings[source] = {}
            if truth is not None:
                st = settings.for_source(source)
                completeness.append(
                    pass_completeness(source, left, right, source_spec(source, st), truth, st.tolerance_days)
                )
            cand, model, by_rule = _link_source(
                source,
                left,
                right,
                settings.for_source(source),
                step,
                seed=settings.seed,
                timings=timings[source],
                fitted=None if fitted is None else fitted.models[source],
                candidates=candidates,
            )
            cands.append(cand)
            models[source] = model
            blocking.append(
                by_rule.rename("pairs")
                .reset_index()
                .rename(columns={"index": "blocking_rule"})
                .assign(source=source)
            )
            linked = cand[cand["linked"]]
            rec = right.iloc[linked["right_pos"].to_numpy()]
            links.append(
                pd.DataFrame(
                    {
                        "source": source,
                        "record_id": linked["record_id"].to_numpy(),
                        "force": linked["force"].to_numpy(),
                        "crime_ref": linked["crime_ref"].to_numpy(),
                        "suspect_ref": linked["suspect_ref"].to_numpy(),
                        "outcome_date": rec["outcome_date"].to_numpy(),
                        "outcome_label": rec["outcome_label"].to_numpy(),
                        "match_weight": linked["match_weight"].to_numpy(),
                        "match_probability": linked["match_probability"].to_numpy(),
                        "rule": linked["rule"].to_numpy(),
                        "ambiguous": linked["ambiguous_with"].to_numpy() != "",
                        "candidate_crimes": _candidate_crimes(linked["ambiguous_with"], left),
                    }
                )
            )
            unlinked.append(right[~right["record_id"].isin(linked["record_id"])])
            amb = cand[cand["ambiguous_best"]]
            ambiguous.append(
                pd.DataFrame(
                    {
                        "source": source,
                        "record_id": amb["record_id"].to_numpy(),
                        "force": amb["force"].to_numpy(),
                        "best_crime_ref": amb["crime_ref"].to_numpy(),
                        "best_suspect_ref": amb["suspect_ref"].to_numpy(),
                        "match_weight": amb["match_weight"].to_numpy(),
                        "person_probability": amb["person_probability"].to_numpy(),
                        "candidate_crimes": _candidate_crimes(amb["ambiguous_with"], left),
                    }
                )
            )
        step("crime outcomes")
    finally:
        bar.close()
    links_df = (
        (pd.concat(links, ignore_index=True) if links else pd.DataFrame(columns=LINK_COLUMNS))
        .sort_values(["source", "record_id"], kind="mergesort")
        .reset_index(drop=True)
    )
    links_df["outcome_label"] = links_df["outcome_label"].astype("string")
    cand_df = pd.concat(cands, ignore_index=True) if cands else pd.DataFrame()
    unlinked_df = pd.concat(unlinked, ignore_index=True) if unlinked else pd.DataFrame()
    if len(unlinked_df):
        keep_cols = [
            "source",
            "record_id",
            "force",
            "offence_date",
            "outcome_date",
            "outcome_label",
            "off_code",
        ]
        unlinked_df = unlinked_df[keep_cols].rename(columns={"off_code": "offence"}).reset_index(drop=True)
    ambiguous_df = (
        pd.concat(ambiguous, ignore_index=True).sort_values(["source", "record_id"], kind="mergesort")
        if ambiguous
        else pd.DataFrame()
    ).reset_index(drop=True)
    if len(unlinked_df):
        key = unlinked_df["source"].astype(str) + "\0" + unlinked_df["record_id"].astype(str)
        amb_key = (
            set(ambiguous_df["source"].astype(str) + "\0" + ambiguous_df["record_id"].astype(str))
            if len(ambiguous_df)
            else set()
        )
        unlinked_df["ambiguous"] = key.isin(amb_key).to_numpy()
    crime_outcomes = crime_outcome_table(crimes, suspects, links_df)
    blocking_df = pd.concat(blocking, ignore_index=True) if blocking else pd.DataFrame()
    return LinkResult(
        links=links_df,
        candidates=cand_df,
        models=models,
        crime_outcomes=crime_outcomes,
        unlinked=unlinked_df,
        blocking=blocking_df,
        crimes=crimes.assign(force=_text(crimes["force"]), crime_ref=_text(crimes["crime_ref"])),
        timings=pd.DataFrame.from_dict(timings, orient="index"),
        pass_completeness=pd.concat(completeness, ignore_index=True) if completeness else pd.DataFrame(),
        ambiguous=ambiguous_df,
    )
