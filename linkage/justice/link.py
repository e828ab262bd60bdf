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

Every link records the rule that made it (``rule:<name>``) or ``model``, its match weight and probability.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from tqdm.auto import tqdm

from linkage.engine import (
    Comparison,
    DateWindow,
    ExactMatch,
    Metaphone,
    PersonNameComparison,
    Soundex,
    Substr,
    Year,
    block_on,
)
from linkage.engine.blocking import BlockingRule, DateRange
from linkage.errors import DataContractError, LinkageError
from linkage.justice.comparisons import (
    CrimeRefComparison,
    DirectionalDate,
    DobComparison,
    ForceComparison,
    OffenceCompatibility,
    PlaceDistance,
    PncComparison,
    dob_digits,
    dob_plausible,
    normalise_crime_ref,
)
from linkage.justice.geography import court_area, lsoa_area
from linkage.justice.model import TwoStageModel
from linkage.justice.publication import crime_ids, publication_key
from linkage.justice.settings import LinkSettings, SourceSettings
from linkage.reference import (
    caution_outcome_label,
    court_outcome_label,
    final_outcome_per_group,
    pnd_outcome_label,
)
from linkage.reference.identifiers import pnc_parts
from linkage.reference.names import fold_diacritics, nickname_groups
from linkage.sources.contracts import EXTRACTS, OUTCOME_SOURCES

logger = logging.getLogger(__name__)

__all__ = [
    "DeterministicRule",
    "FittedModels",
    "LinkResult",
    "SourceSpec",
    "build_left",
    "build_right",
    "link_outcomes",
    "resolve_conflicts",
    "source_spec",
]

_OUTCOME_DATE = {
    "cautions": "caution_date",
    "penalty_notices": "issue_date",
    "court_outcomes": "hearing_date",
}
_OFFENCE = {
    "cautions": "offence_code_cjs",
    "penalty_notices": "pnd_offence",
    "court_outcomes": "offence_code_cjs",
}
_KIND = {"cautions": "cjs", "penalty_notices": "pnd", "court_outcomes": "cjs"}
_OFFENCE_WINDOW_DAYS = 60  # name passes without DOB: crime committed within this many days of the offence
_RULE_BONUS = 1000.0  # added to a rule link's score in the assignment: rules beat any model-only pair

LINK_COLUMNS = [
    "source",
    "record_id",
    "force",
    "crime_ref",
    "suspect_ref",
    "outcome_date",
    "outcome_label",
    "match_weight",
    "match_probability",
    "rule",
    "ambiguous",
    "candidate_crimes",
]


def _candidate_crimes(positions: pd.Series, left: pd.DataFrame) -> np.ndarray:
    """``;``-joined crime references of the left rows named in ``positions`` (``""`` for none)."""
    refs = left["crime_ref"].astype(str).to_numpy()
    return np.array(
        [";".join(sorted({refs[int(p)] for p in str(v).split(";")})) if v else "" for v in positions],
        dtype=object,
    )


# ---------------------------------------------------------------------------------------------- inputs
def nickname_map() -> dict[str, frozenset[str]]:
    """Forename (casefolded) -> its nickname groups, from the published list bundled in
    ``linkage/reference/data/nicknames.csv`` (independent of the synthetic world's own table)."""
    return nickname_groups()


def _check_table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    if name not in tables:
        raise LinkageError(f"tables lacks {name!r}; has {sorted(tables)}")
    frame = tables[name]
    missing = [c for c in EXTRACTS[name].names if c not in frame.columns]
    if missing:
        raise DataContractError(name, f"missing column(s) {missing}")
    return frame


def _per_distinct(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series | None:
    """``fn`` (string Series -> string Series) run once per distinct value of a text column and mapped
    back (missing stays missing); None when the column is not all text (mixed objects are converted row
    by row by the caller, as ``astype("string")`` would)."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return None
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = fn(pd.Series(np.asarray(uniques, dtype=object), dtype="string"))
    table = np.append(mapped.to_numpy(dtype=object, na_value=pd.NA), pd.NA)
    return pd.Series(pd.array(table[codes], dtype="string"), index=values.index)


def _strip_blank(text: pd.Series) -> pd.Series:
    out = text.str.strip()
    return out.mask(out == "")


def _text(values: pd.Series) -> pd.Series:
    """Trimmed text, blank -> missing (worked once per distinct value)."""
    out = _per_distinct(values, _strip_blank)
    return out if out is not None else _strip_blank(values.astype("string"))


def _folded(values: pd.Series) -> pd.Series:
    """Trimmed text with diacritics folded (Zoë -> Zoe), once per distinct value; blank -> missing."""
    text = _text(values)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    folded = np.array([fold_diacritics(str(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(folded[codes], index=values.index, dtype="string")


def _hash_key(*parts: pd.Series) -> pd.Series:
    """A key of one or more text parts as a nullable unsigned 64-bit hash, missing when any part is
    missing. The parts are hashed column-wise and combined (no per-row string concatenation), so the
    same parts give the same hash in any frame."""
    frame = pd.concat([p.astype("string") for p in parts], axis=1, ignore_index=True)
    missing = frame.isna().any(axis=1).to_numpy()
    hashed = pd.util.hash_pandas_object(frame.fillna(""), index=False).to_numpy()
    return pd.Series(pd.array(hashed, dtype="UInt64"), index=frame.index).mask(missing)


def _person_keys(frame: pd.DataFrame, reference_date: pd.Series) -> pd.DataFrame:
    """Derived person fields shared by both sides: first forename, PNC key, DOB key and digits, whether
    the DOB is plausible at ``reference_date`` (the offence), sex (U -> missing)."""
    out = pd.DataFrame(index=frame.index)
    fore = _folded(frame["forename"])
    out["forename"] = fore
    out["forename1"] = _per_distinct(fore, lambda u: u.str.split(n=1).str[0])
    out["surname"] = _folded(frame["surname"])
    out["date_of_birth"] = pd.to_datetime(frame["date_of_birth"], errors="coerce")
    out["dob_int"] = dob_digits(frame["date_of_birth"])
    out["dob_ok"] = dob_plausible(out["dob_int"].to_numpy(), reference_date)
    # Blocking keys as integers (yyyymmdd, mmdd): the same equalities as the formatted dates, no strftime.
    dob = out["date_of_birth"]
    mmdd = (dob.dt.month * 100 + dob.dt.day).astype("Int64")
    out["dob_key"] = (dob.dt.year.astype("Int64") * 10000 + mmdd).astype("Int64")
    out["dob_mmdd"] = mmdd
    sex = _text(frame["sex"]).str.upper()
    out["sex"] = sex.mask(~sex.isin(["M", "F"]))
    out["pnc_id"] = _text(frame["pnc_id"])
    force = _text(frame["force"]).str.casefold()
    # Phonetic keys once per side, as 64-bit hashes (integer keys block without per-rule string work).
    surname_sdx = Soundex("surname")(out).astype("string")
    forename_sdx = Soundex("forename1")(out).astype("string")
    out["surname_sdx"] = _hash_key(surname_sdx)
    out["names_sdx_force"] = _hash_key(surname_sdx, forename_sdx, force)
    surname2 = _per_distinct(out["surname"], lambda u: u.str.casefold().str[:2])
    initial = _per_distinct(out["forename1"], lambda u: u.str.casefold().str[:1])
    keys = {
        "name_key_a": (Metaphone("forename1")(out), surname2, force),
        "name_key_b": (surname_sdx, initial, force),
    }
    for name, key_parts in keys.items():
        hashed = _hash_key(*key_parts)
        out[name] = hashed
        out[f"{name}_nodob"] = hashed.mask(out["dob_ok"])
    parts = pnc_parts(frame["pnc_id"])
    out["pnc_key"] = parts["key"].to_numpy()
    out["pnc_id_key"] = parts["key"].to_numpy()  # parsed once here, read by PncComparison
    out["pnc_id_full"] = parts["full"].to_numpy()
    out["pnc_id_long"] = parts["long"].to_numpy()
    return out


def build_left(crimes: pd.DataFrame, suspects: pd.DataFrame) -> pd.DataFrame:
    """One row per crime-suspect: crimes joined to their suspects on (force, crime_ref), with derived
    keys. Crimes without suspects have no row (nothing to link an outcome to)."""
    crime_cols = [
        "force",
        "crime_ref",
        "offence_code",
        "crime_type",
        "committed_date",
        "recorded_date",
        "longitude",
        "latitude",
        "lsoa_code",
    ]
    c = crimes[crime_cols].copy()
    s = suspects[
        ["force", "crime_ref", "suspect_ref", "forename", "surname", "date_of_birth", "sex", "pnc_id"]
    ]
    s = s.copy()
    for frame in (c, s):
        frame["force"] = _text(frame["force"])
        frame["crime_ref"] = _text(frame["crime_ref"])
    s["suspect_ref"] = s["suspect_ref"].astype("string")
    left = s.merge(c, on=["force", "crime_ref"], how="inner", validate="many_to_one")
    unmatched = len(s) - len(left)
    if unmatched:
        logger.warning("%d suspect rows name a crime not in the crimes table; left out", unmatched)
    left = left.sort_values(["force", "crime_ref", "suspect_ref"], kind="mergesort").reset_index(drop=True)
    left["committed_date"] = pd.to_datetime(left["committed_date"], errors="coerce")
    keys = _person_keys(left, left["committed_date"])
    for col in keys.columns:
        left[col] = keys[col]
    left["committed_date"] = pd.to_datetime(left["committed_date"], errors="coerce")
    left["recorded_date"] = pd.to_datetime(left["recorded_date"], errors="coerce")
    left["offence_code"] = _text(left["offence_code"])
    left["crime_ref_key"] = normalise_crime_ref(left["crime_ref"]).to_numpy()
    left["court_area"] = lsoa_area(left["lsoa_code"]).to_numpy()
    left.index.name = "left"
    return left


def record_ids(source: str, table: pd.DataFrame) -> pd.Series:
    """The truth ``record_id`` of each row: caution_id, pnd_id, or ``case_id:offence_seq``."""
    if source == "cautions":
        return table["caution_id"].astype("string")
    if source == "penalty_notices":
        return table["pnd_id"].astype("string")
    if source == "court_outcomes":
        return table["case_id"].astype("string") + ":" + table["offence_seq"].astype("string")
    raise LinkageError(f"source must be one of {list(OUTCOME_SOURCES)}, got {source!r}")


def outcome_labels(source: str, table: pd.DataFrame) -> pd.Series:
    """police.uk outcome label of each record (via linkage.reference.outcomes)."""
    if source == "cautions":
        return caution_outcome_label(table["caution_type"])
    if source == "penalty_notices":
        return pnd_outcome_label(table["status"])
    return court_outcome_label(table["verdict"], table["disposal"])


def build_right(source: str, table: pd.DataFrame) -> pd.DataFrame:
    """One outcome source in the common right-hand form: record_id, force, person keys, ``off_code``,
    offence_date, outcome_date, outcome_label, and per source crime_ref_key / longitude, latitude /
    case_id."""
    right = pd.DataFrame(index=table.index)
    right["source"] = source
    right["record_id"] = record_ids(source, table).to_numpy()
    right["force"] = _text(table["force"])
    keys = _person_keys(table, pd.to_datetime(table["offence_date"], errors="coerce"))
    for col in keys.columns:
        right[col] = keys[col]
    right["off_code"] = _text(table[_OFFENCE[source]])
    right["offence_date"] = pd.to_datetime(table["offence_date"], errors="coerce")
    right["outcome_date"] = pd.to_datetime(table[_OUTCOME_DATE[source]], errors="coerce")
    right["outcome_label"] = outcome_labels(source, table).to_numpy()
    if source == "cautions":
        right["crime_ref_key"] = normalise_crime_ref(table["crime_ref"]).to_numpy()
    if source == "penalty_notices":
        right["longitude"] = pd.to_numeric(table["longitude"], errors="coerce")
        right["latitude"] = pd.to_numeric(table["latitude"], errors="coerce")
    if source == "court_outcomes":
        right["case_id"] = table["case_id"].astype("string")
        right["court_area"] = court_area(table["court"]).to_numpy()
    if right["record_id"].duplicated().any():
        dup = right.loc[right["record_id"].duplicated(), "record_id"].iloc[0]
        raise DataContractError(source, f"duplicate record id {dup!r}")
    right = right.reset_index(drop=True)
    right.index.name = "right"
    return right


# ---------------------------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class DeterministicRule:
    """A pair is a link on its face when every named comparison is at one of the allowed levels."""

    name: str
    require: Mapping[str, tuple[int, ...]]

    def matches(self, levels: pd.DataFrame) -> np.ndarray:
        """Boolean per row of the level frame."""
        ok = np.ones(len(levels), dtype=bool)
        for comp, allowed in self.require.items():
            if comp not in levels.columns:
                raise LinkageError(
                    f"rule {self.name!r} names comparison {comp!r}, not in {list(levels.columns)}"
                )
            ok &= np.isin(levels[comp].to_numpy(), np.asarray(allowed))
        return ok


@dataclass(frozen=True)
class SourceSpec:
    """How one outcome source is linked: comparisons, blocking rules and deterministic rules."""

    source: str
    comparisons: tuple[Comparison, ...]
    blocking_rules: tuple[BlockingRule, ...]
    rules: tuple[DeterministicRule, ...] = field(default_factory=tuple)
    # Blocking passes whose pairs must also fall in the offence-date window: the crime's committed date
    # within ``window_days`` of the record's offence date, and the outcome no earlier than the offence
    # (less the source's tolerance). These passes need neither date of birth nor PNC ID.
    windowed_rules: tuple[str, ...] = ()
    window_days: int = 60  # the offence-date window of the windowed passes (_OFFENCE_WINDOW_DAYS)


def source_spec(source: str, settings: SourceSettings) -> SourceSpec:
    """The default spec of ``source`` with the lag windows of ``settings``."""
    if source not in OUTCOME_SOURCES:
        raise LinkageError(f"source must be one of {list(OUTCOME_SOURCES)}, got {source!r}")
    comparisons: list[Comparison] = [
        PersonNameComparison("forename1", "surname", nicknames=nickname_map(), name="name"),
        DobComparison("dob_int", "dob_ok", name="dob"),
        PncComparison("pnc_id", name="pnc_id"),
        OffenceCompatibility("offence_code", "off_code", kind=_KIND[source], name="offence"),
        DateWindow("committed_date", "offence_date", windows=(0, 3, 14, 60), name="offence_date"),
        DirectionalDate(
            "outcome_date",
            "committed_date",
            typical_days=settings.typical_days,
            long_days=settings.long_days,
            tolerance_days=settings.tolerance_days,
            name="outcome_lag",
        ),
        ForceComparison(name="force"),
        ExactMatch("sex", name="sex"),
    ]
    lag = DateRange("committed_date", "outcome_date", -int(settings.tolerance_days), int(settings.long_days))
    near = DateRange("committed_date", "offence_date", -_OFFENCE_WINDOW_DAYS, _OFFENCE_WINDOW_DAYS)
    # Keys shared by unrelated people (a date of birth, initials and birth year) are joined within the
    # offence-date window; the person-level keys (PNC, date of birth with surname Soundex) within the
    # lag windows, so a mistyped offence date still pairs on them (engine 17).
    blocking = [
        block_on("pnc_key", name="pnc", window=lag),
        block_on("dob_key", name="dob", window=near),
        block_on("dob_key", "surname_sdx", name="dob+surname_soundex", window=lag),
        block_on("surname_sdx", Year("date_of_birth"), name="surname_soundex+birth_year", window=near),
        block_on(
            Substr("forename1", 0, 1),
            Substr("surname", 0, 1),
            "force",
            Year("date_of_birth"),
            name="initials+force+birth_year",
            window=near,
        ),
        # a wrong digit in the year of birth
        block_on("surname_sdx", "dob_mmdd", name="surname_soundex+birth_day_month", window=lag),
        # forename and surname swapped
        block_on(("forename1", "surname"), ("surname", "forename1"), name="names_swapped"),
        # Passes that need neither date of birth nor PNC ID (a blank DOB on either side), joined within the
        # offence-date window (a missing date is keyed on the names alone); the outcome-after-offence test
        # of SourceSpec.windowed_rules follows blocking.
        block_on("names_sdx_force", name="names_soundex+force [window]", window=near),
        # Wider name keys for the records lacking a plausible DOB on one side (a rule for each side).
        block_on(
            ("name_key_a", "name_key_a_nodob"),
            name="forename+surname_prefix+force, no DOB right [window]",
            window=near,
        ),
        block_on(
            ("name_key_a_nodob", "name_key_a"),
            name="forename+surname_prefix+force, no DOB left [window]",
            window=near,
        ),
        block_on(
            ("name_key_b", "name_key_b_nodob"),
            name="surname_soundex+initial+force, no DOB right [window]",
            window=near,
        ),
        block_on(
            ("name_key_b_nodob", "name_key_b"),
            name="surname_soundex+initial+force, no DOB left [window]",
            window=near,
        ),
    ]
    windowed = tuple(r.name for r in blocking if r.name.endswith("[window]"))
    rules = [
        DeterministicRule(
            "pnc+offence+window",
            {"pnc_id": (0, 1), "offence": (0, 1), "outcome_lag": (0,), "offence_date": (0,)},
        ),
    ]
    if source == "cautions":
        comparisons.append(CrimeRefComparison("crime_ref_key", "crime_ref_key", name="crime_ref"))
        blocking.append(block_on("crime_ref_key", name="crime_ref"))
        rules.append(
            DeterministicRule(
                "crime_ref+name+dob", {"crime_ref": (0,), "name": (0, 1, 2, 3), "dob": (0, 1, 2)}
            )
        )
    if source == "penalty_notices":
        comparisons.append(PlaceDistance(name="place", thresholds_m=(300.0, 1500.0, 8000.0)))
    if source == "court_outcomes":
        # court geography: the court's area against the local authority of the crime's LSOA
        comparisons.append(ExactMatch("court_area", name="court_area"))
    return SourceSpec(
        source,
        tuple(comparisons),
        tuple(blocking),
        tuple(rules) if settings.rules else (),
        windowed_rules=windowed,
        window_days=_OFFENCE_WINDOW_DAYS,
    )


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
    the pass generates on its own (windowed passes after their date window); last row: all passes."""
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
        lcode, rcode = rule.key_codes(left, right)
        found = (lcode[lp] >= 0) & (lcode[lp] == rcode[rp])
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


# ---------------------------------------------------------------------------------------------- constraints
def resolve_conflicts(left_pos: np.ndarray, right_pos: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Boolean mask of the pairs kept by a maximum-score one-to-one assignment.

    Pairs form a bipartite graph (left rows, right rows); each connected component is solved with
    ``scipy.optimize.linear_sum_assignment`` maximising the total score, so a conflict goes to the
    assignment with the best total, never to whichever pair came first. Scores must be positive.
    Components with one pair (the vast majority) are kept without solving.
    """
    left_pos = np.asarray(left_pos, dtype=np.int64)
    right_pos = np.asarray(right_pos, dtype=np.int64)
    score = np.asarray(score, dtype=float)
    n = len(score)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    if (score <= 0).any() or not np.isfinite(score).all():
        raise LinkageError("resolve_conflicts: scores must be finite and positive")
    lc, l_inv = np.unique(left_pos, return_inverse=True)
    rc, r_inv = np.unique(right_pos, return_inverse=True)
    n_l = len(lc)
    graph = coo_matrix((np.ones(n), (l_inv, n_l + r_inv)), shape=(n_l + len(rc), n_l + len(rc)))
    _, comp_of_node = connected_components(graph, directed=False)
    comp = comp_of_node[l_inv]
    sizes = np.bincount(comp)
    single = sizes[comp] == 1
    keep[single] = True
    multi = np.flatnonzero(~single)
    if len(multi) == 0:
        return keep
    order = multi[np.argsort(comp[multi], kind="stable")]
    comps = comp[order]
    bounds = np.flatnonzero(np.diff(comps)) + 1
    for group in np.split(order, bounds):
        li, l_local = np.unique(l_inv[group], return_inverse=True)
        ri, r_local = np.unique(r_inv[group], return_inverse=True)
        matrix = np.zeros((len(li), len(ri)))
        matrix[l_local, r_local] = score[group]
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        chosen = matrix[rows, cols] > 0
        lookup = {(a, b): g for a, b, g in zip(l_local, r_local, group, strict=True)}
        for a, b in zip(rows[chosen], cols[chosen], strict=True):
            keep[lookup[(a, b)]] = True
    return keep


# ---------------------------------------------------------------------------------------------- fitted
FITTED_FORMAT = "linkage-fitted-models/1"


def _apply_term_frequencies(
    levels: pd.DataFrame,
    comparisons: Sequence[Comparison],
    left: pd.DataFrame,
    lpos: np.ndarray,
    fitted: TwoStageModel,
) -> None:
    """Overwrite the ``tf_<name>`` columns of ``levels`` with the term frequencies ``fitted`` was fitted
    with (exact level only, as the engine's compare step does), so a pair's score does not depend on which
    other records share the run."""
    tables = fitted.full.term_frequencies_dict()
    for c in comparisons:
        col = f"tf_{c.name}"
        if c.tf_column is None or col not in levels.columns:
            continue
        if c.name not in tables:
            raise LinkageError(f"fitted model has no term frequencies for {c.name!r}; has {sorted(tables)}")
        d = tables[c.name]
        table = pd.Series(np.asarray(d["frequencies"], dtype=float), index=pd.Index(d["values"]))
        exact = np.flatnonzero(levels[c.name].to_numpy() == c.exact_level)
        values = np.full(len(levels), np.nan, dtype=np.float32)
        values[exact] = c.tf_values(left, lpos[exact], table) / float(d["base"])
        levels[col] = values


@dataclass
class FittedModels:
    """Parameters fixed once and applied to any run: the fitted :class:`TwoStageModel` of each source
    (m, u, priors and the term frequencies it was fitted with). Give it to :func:`link_outcomes`
    (``fitted=``) to skip EM, e.g. to link every partition of a national run with one sample's fit."""

    models: dict[str, TwoStageModel]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: each source's :meth:`TwoStageModel.to_parameters_dict`."""
        return {
            "format": FITTED_FORMAT,
            "sources": {s: self.models[s].to_parameters_dict() for s in sorted(self.models)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], settings: LinkSettings | None = None) -> FittedModels:
        """Rebuild from :meth:`to_dict` over each source's spec under ``settings`` (the comparisons must
        be the ones the parameters were fitted with)."""
        settings = settings or LinkSettings()
        if not isinstance(data, Mapping) or data.get("format") != FITTED_FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise LinkageError(f"fitted models: format must be {FITTED_FORMAT!r}, got {got!r}")
        models = {}
        for source, params in data.get("sources", {}).items():
            spec = source_spec(source, settings.for_source(source))
            models[source] = TwoStageModel.from_parameters_dict(
                params, list(spec.comparisons), list(spec.blocking_rules), source=f"fitted {source}"
            )
        return cls(models=models)

    def digest(self) -> str:
        """SHA-256 of :meth:`to_dict` as sorted-key JSON: equal digests, equal scores."""
        import hashlib
        import json

        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- result
@dataclass
class LinkResult:
    """The linked result.

    ``links``: one row per linked outcome record (source, record_id, force, crime_ref, suspect_ref,
    outcome_date, outcome_label, match_weight, match_probability, rule). ``candidates``: every scored
    pair (ids, levels, ``bf_*``, weight, probability, rule, ``linked``, and both records' fields as
    ``l_*``/``r_*`` for clerical review). ``models``: the fitted :class:`~linkage.justice.model.TwoStageModel`
    per source. ``crime_outcomes``: one row per crime with its final outcome by the police.uk hierarchy.
    ``unlinked``: outcome records with no link. ``blocking``: per source the candidate pairs first made
    by each blocking rule. ``timings``: per source, seconds per step (blocking, compare, fit, predict,
    constraints) and the number of candidate pairs.
    """

    links: pd.DataFrame
    candidates: pd.DataFrame
    models: dict[str, TwoStageModel]
    crime_outcomes: pd.DataFrame
    unlinked: pd.DataFrame
    blocking: pd.DataFrame
    crimes: pd.DataFrame = field(repr=False)
    timings: pd.DataFrame = field(default_factory=pd.DataFrame)
    # With truth given: per source and blocking pass, the share of true pairs the pass finds on its own
    # (and the union of passes); see :func:`pass_completeness`.
    pass_completeness: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Records whose person is clear but whose crime the evidence cannot separate: not linked (a wrong
    # crime would bias crime-level rates), never dropped silently: one row each, with the candidates.
    # Empty with ``candidates=False`` (national partitions keep linked pairs only).
    ambiguous: pd.DataFrame = field(default_factory=pd.DataFrame)

    def fitted(self) -> FittedModels:
        """This run's models (with the term frequencies they scored with), to apply unchanged elsewhere."""
        return FittedModels(models=dict(self.models))

    def to_police_uk_outcomes(
        self,
        lsoa_names: Mapping[str, str] | None = None,
        *,
        key: bytes | None = None,
        synthetic_seed: int | None = None,
        map_points: bool = False,
    ) -> pd.DataFrame:
        """A police.uk-style outcomes file: one row per linked outcome record, in the published header.

        ``Crime ID`` is a 64-hex keyed HMAC-SHA256 of force and crime reference (see
        :func:`publication_key` for where the key comes from): opaque without the key, stable for a
        given key. ``Month`` is the outcome month. A restricted crimes extract may hold exact
        locations, so by default the file is located to LSOA only: coordinates and ``Location`` blank,
        as police.uk leaves unlocated rows. Only with ``map_points=True`` (the crimes' coordinates are
        already-published police.uk map points) are coordinates given, with ``Location`` ``On or near
        <location>`` when the crimes table has a ``location`` column, ``No location`` when the crime has
        no map point, else blank. ``lsoa_names`` maps LSOA code to name. Raises
        :class:`~linkage.errors.LinkageError` when no key can be found and
        ``synthetic_seed`` is None (a real restricted extract needs an explicit key).
        """
        secret = publication_key(key, synthetic_seed=synthetic_seed)
        crimes = self.crimes
        cols = ["force", "crime_ref", "longitude", "latitude", "lsoa_code"]
        if "location" in crimes.columns:
            cols.append("location")
        merged = self.links.merge(crimes[cols], on=["force", "crime_ref"], how="left", validate="many_to_one")
        merged = merged.sort_values(
            ["outcome_date", "force", "crime_ref", "source", "record_id"], kind="mergesort"
        )
        crime_id = crime_ids(merged["force"], merged["crime_ref"], secret)
        has_point = merged["longitude"].notna() & merged["latitude"].notna()
        if "location" in merged.columns:
            loc = merged["location"].astype("string")
            location = loc.where(loc.str.lower().str.startswith("on or near"), "On or near " + loc)
        else:
            location = pd.Series("", index=merged.index, dtype="string")
        location = location.where(has_point, "No location")
        if not map_points:
            no_point = np.full(len(merged), np.nan)
            merged = merged.assign(longitude=no_point, latitude=no_point)
            location = pd.Series("", index=merged.index, dtype="string")
        lsoa = merged["lsoa_code"].astype("string")
        names = (
            lsoa.map(dict(lsoa_names)) if lsoa_names else pd.Series(pd.NA, index=merged.index, dtype="string")
        )
        return pd.DataFrame(
            {
                "Crime ID": crime_id,
                "Month": pd.to_datetime(merged["outcome_date"]).dt.strftime("%Y-%m").to_numpy(),
                "Reported by": merged["force"].to_numpy(),
                "Falls within": merged["force"].to_numpy(),
                "Longitude": merged["longitude"].to_numpy(),
                "Latitude": merged["latitude"].to_numpy(),
                "Location": location.to_numpy(),
                "LSOA code": lsoa.to_numpy(),
                "LSOA name": names.to_numpy(),
                "Outcome type": merged["outcome_label"].to_numpy(),
            }
        ).reset_index(drop=True)


def crime_outcome_table(crimes: pd.DataFrame, suspects: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """One row per crime: its fields, n_suspects, n_outcome_records and the final outcome.

    The final outcome is :func:`linkage.reference.final_outcome_per_group`: the highest rank in the
    police.uk hierarchy wins, ties go to the later outcome date (then source and record id for
    determinism).
    """
    base_cols = [
        "force",
        "crime_ref",
        "crime_type",
        "offence_code",
        "committed_date",
        "recorded_date",
        "lsoa_code",
        "longitude",
        "latitude",
    ]
    out = crimes[base_cols].copy()
    out["force"] = _text(out["force"])
    out["crime_ref"] = _text(out["crime_ref"])
    key = ["force", "crime_ref"]
    sus = suspects.assign(force=_text(suspects["force"]), crime_ref=_text(suspects["crime_ref"]))
    n_sus = sus.groupby(key).size().rename("n_suspects")
    n_links = links.groupby(key).size().rename("n_outcome_records")
    out = out.merge(n_sus, on=key, how="left").merge(n_links, on=key, how="left")
    out["n_suspects"] = out["n_suspects"].fillna(0).astype(int)
    out["n_outcome_records"] = out["n_outcome_records"].fillna(0).astype(int)
    final = final_outcome_per_group(links, key, "outcome_label", ["outcome_date", "source", "record_id"])[
        [*key, "outcome_label", "outcome_date", "source"]
    ]
    final = final.rename(
        columns={
            "outcome_label": "final_outcome",
            "outcome_date": "final_outcome_date",
            "source": "final_outcome_source",
        }
    )
    out = out.merge(final, on=key, how="left")
    out["final_outcome"] = out["final_outcome"].astype("string")
    out["final_outcome_source"] = out["final_outcome_source"].astype("string")
    return out.sort_values(key, kind="mergesort").reset_index(drop=True)


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
    units = _left_units(source, lpos, rpos, right)
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


def _left_units(source: str, lpos: np.ndarray, rpos: np.ndarray, right: pd.DataFrame) -> np.ndarray:
    """The left-hand unit of the one-to-one constraint per pair.

    Cautions and penalty notices: the crime-suspect (one record of a source each). Court outcomes: the
    crime-suspect *within a case*, so one case's lines go to different crimes, while a crime-suspect can
    still appear in two cases (a magistrates' court sending the case to the Crown Court, then the Crown
    Court's result).
    """
    if source != "court_outcomes":
        return lpos
    case = pd.factorize(right["case_id"].to_numpy()[rpos])[0].astype(np.int64)
    return pd.factorize(lpos * np.int64(case.max() + 1 if len(case) else 1) + case)[0].astype(np.int64)


def ambiguous_crimes(
    lpos: np.ndarray,
    rpos: np.ndarray,
    units: np.ndarray,
    keep: np.ndarray,
    weight: np.ndarray,
    person_probability: np.ndarray,
    match_probability: np.ndarray,
    threshold: float,
    person_threshold: float = 0.5,
    margin_bits: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Records whose person is clear but whose crime is not.

    A record left unlinked whose same-person candidates (person probability >= ``person_threshold``, two
    or more) together reach ``threshold`` (the evidence splits the record between crimes of one person):
    its best candidate whose crime-suspect is free is marked in the first mask (not linked: reported with
    its candidates). The second array names, per linked or marked pair, the other same-person candidate
    positions (left rows, ``;``-joined) within ``margin_bits`` of its weight, or ``""``: a linked pair with
    such a rival is flagged ambiguous.
    """
    n = len(lpos)
    new = np.zeros(n, dtype=bool)
    tied = np.full(n, "", dtype=object)
    if n == 0:
        return new, tied
    same = person_probability >= person_threshold
    linked_rec = np.zeros(int(rpos.max()) + 1, dtype=bool)
    linked_rec[rpos[keep]] = True
    taken = set(units[keep].tolist())
    frame = pd.DataFrame({"r": rpos, "w": weight, "p": match_probability, "i": np.arange(n)})[same]
    if len(frame):
        sizes = frame.groupby("r")["i"].transform("size").to_numpy()
        total = frame.groupby("r")["p"].transform("sum").to_numpy()
        open_ = ~linked_rec[frame["r"].to_numpy()] & (sizes >= 2) & (total >= threshold)
        cands = frame[open_].sort_values(["r", "w", "i"], ascending=[True, False, True], kind="mergesort")
        for _, group in cands.groupby("r", sort=True):
            for i in group["i"].to_numpy():
                if units[i] not in taken:
                    new[i] = True
                    taken.add(units[i])
                    break
    final = keep | new
    best_w = np.full(len(linked_rec), np.nan)
    best_w[rpos[final]] = weight[final]
    new_rec = np.zeros(len(linked_rec), dtype=bool)
    new_rec[rpos[new]] = True
    # rivals: same-person candidates near the linked pair's weight; for an unlinked record, all of them
    near = same & ~final & ((weight >= best_w[rpos] - margin_bits) | new_rec[rpos])
    if near.any():
        others = pd.Series(lpos[near].astype(str)).groupby(rpos[near]).agg(";".join)
        sel = np.flatnonzero(final & np.isin(rpos, others.index.to_numpy()))
        tied[sel] = others.reindex(rpos[sel]).to_numpy()
    return new, tied


def _count(pos: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per pair, how many ``mask`` pairs share its position (0 where the pair is not in ``mask``)."""
    counts = np.bincount(pos[mask], minlength=int(pos.max()) + 1 if len(pos) else 0)
    return np.where(mask, counts[pos] if len(pos) else 0, 0)


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
    chosen = [s for s in OUTCOME_SOURCES if s in tables] if sources is None else list(sources)
    bad = [s for s in chosen if s not in OUTCOME_SOURCES]
    if bad:
        raise LinkageError(f"sources must be among {list(OUTCOME_SOURCES)}, got {bad}")
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
            table = _check_table(tables, source)
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
