"""Comparisons that fit justice data.

Each comparison follows the engine's protocol: a ``name``, ``level_labels`` (level 0 is the strongest
agreement) and ``levels(left, right)`` taking two *pair-aligned* frames (row ``i`` of each is pair ``i``)
and returning an ``int8`` array, with ``-1`` for missing (neutral: it contributes nothing to the weight).

Everything is computed on whole columns: numpy for dates and distances, rapidfuzz ``cpdist`` for edit
distances, the reference crosswalk for offences.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache, lru_cache

import numba
import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from linkage.engine import PositionalComparison, pair_distances, to_british_national_grid
from linkage.engine.kernels import _date_ints, run_chunks
from linkage.errors import LinkageError
from linkage.reference import cjs_offences, offence_relation
from linkage.reference.identifiers import pnc_parts
from linkage.reference.offences import _offence_codes

logger = logging.getLogger(__name__)

__all__ = [
    "CrimeRefComparison",
    "DobComparison",
    "DirectionalDate",
    "ForceComparison",
    "OffenceCompatibility",
    "PlaceDistance",
    "PncComparison",
    "dob_levels",
    "dob_plausible",
    "normalise_crime_ref",
    "statute_family_levels",
]

_MISSING = np.int8(-1)


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], side: str, comparison: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LinkageError(f"{comparison}: {side} frame lacks column(s) {missing}")


def _check_aligned(left: pd.DataFrame, right: pd.DataFrame, comparison: str) -> None:
    if len(left) != len(right):
        raise LinkageError(
            f"{comparison}: left and right must be pair-aligned, got {len(left)} and {len(right)} rows"
        )


# --------------------------------------------------------------------------------------------- PNC ID
class PncComparison(PositionalComparison):
    """PNC ID: 0 identical (after normalising case, spaces, leading zeros); 1 same year, serial and check
    letter written in the other form (short ``YY/`` vs long ``YYYY/``); 2 different; -1 missing."""

    level_labels = ("exact", "same serial, other form", "different")

    def __init__(self, column: str = "pnc_id", name: str = "pnc_id") -> None:
        self.column = column
        self.name = name
        self.tf_column = None
        self.columns = (column,)

    def levels_for_pairs(self, left, right, left_pos, right_pos) -> np.ndarray:
        """Levels for pairs given by row positions. Uses the parsed columns of :func:`pnc_parts`
        (``<column>_key``, ``<column>_full``, ``<column>_long``) when both frames carry them; otherwise
        parses each distinct PNC ID once."""
        parts = [f"{self.column}_key", f"{self.column}_full", f"{self.column}_long"]
        if all(c in left.columns for c in parts) and all(c in right.columns for c in parts):
            a, b = left[parts], right[parts]
        else:
            _check_columns(left, [self.column], "left", self.name)
            _check_columns(right, [self.column], "right", self.name)
            a = pnc_parts(left[self.column])[["key", "full", "long"]].set_axis(parts, axis=1)
            b = pnc_parts(right[self.column])[["key", "full", "long"]].set_axis(parts, axis=1)
        n_left = len(a)
        key = pd.factorize(pd.concat([a[parts[0]], b[parts[0]]], ignore_index=True), use_na_sentinel=True)[0]
        full = pd.factorize(pd.concat([a[parts[1]], b[parts[1]]], ignore_index=True), use_na_sentinel=True)[0]
        lg = np.concatenate([a[parts[2]].to_numpy(bool), b[parts[2]].to_numpy(bool)])
        key, full = key.astype(np.int32), full.astype(np.int32)  # codes < number of rows
        out = np.empty(len(left_pos), dtype=np.int8)

        def chunk(i: int, j: int) -> None:
            _pnc_levels(key, full, lg, n_left, left_pos[i:j], right_pos[i:j], out[i:j])

        run_chunks(len(left_pos), chunk)
        return out


@numba.njit(nogil=True, cache=True)
def _pnc_levels(
    key: np.ndarray,
    full: np.ndarray,
    long: np.ndarray,
    n_left: int,
    left_pos: np.ndarray,
    right_pos: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """:class:`PncComparison` levels in one pass: codes of the left rows first, then the right rows'."""
    for i in range(len(left_pos)):
        p, q = left_pos[i], n_left + right_pos[i]
        if key[p] < 0 or key[q] < 0:
            out[i] = -1
        elif full[p] == full[q]:
            out[i] = 0
        elif key[p] == key[q] and long[p] != long[q]:
            out[i] = 1
        else:
            out[i] = 2


# ------------------------------------------------------------------------------------ directional time
class DirectionalDate(PositionalComparison):
    """Outcome date against the offence date, in the direction of time.

    ``lag = outcome - offence`` in days. Levels: 0 within the typical window ``[-tolerance, typical]``;
    1 within the long window ``(typical, long]``; 2 the outcome precedes the offence by more than
    ``tolerance`` days (a recording error at best); 3 later than the long window; -1 either date missing.
    Windows depend on the source: penalty notices days, cautions weeks, court results months.
    """

    level_labels = ("within typical window", "within long window", "before offence", "beyond long window")

    def __init__(
        self,
        outcome_column: str,
        offence_column: str,
        *,
        typical_days: int,
        long_days: int,
        tolerance_days: int = 3,
        name: str = "outcome_lag",
    ) -> None:
        problems = []
        if tolerance_days < 0:
            problems.append(f"tolerance_days must be >= 0, got {tolerance_days!r}")
        if typical_days < 0:
            problems.append(f"typical_days must be >= 0, got {typical_days!r}")
        if long_days < typical_days:
            problems.append(f"long_days must be >= typical_days ({typical_days}), got {long_days!r}")
        if problems:
            raise LinkageError(f"DirectionalDate {name!r}: " + "; ".join(problems))
        self.outcome_column = outcome_column
        self.offence_column = offence_column
        self.typical_days = typical_days
        self.long_days = long_days
        self.tolerance_days = tolerance_days
        self.name = name
        self.tf_column = None
        self.columns = (outcome_column, offence_column)

    def lag_days(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        """Outcome minus offence in days for pair-aligned frames (NaN when either is missing).

        The offence date is looked up on whichever side holds ``offence_column`` (normally the crime, left),
        the outcome date on the side holding ``outcome_column`` (normally the outcome record, right).
        """
        _check_aligned(left, right, self.name)
        n = np.arange(len(left))
        return self._lag(left, right, n, n)

    def _lag(self, left, right, left_pos, right_pos) -> np.ndarray:
        outcome = self._days(left, right, self.outcome_column, left_pos, right_pos)
        offence = self._days(left, right, self.offence_column, left_pos, right_pos)
        return outcome - offence

    def _days(self, left, right, column, left_pos, right_pos) -> np.ndarray:
        if column in right.columns:
            values, pos = right[column], right_pos
        elif column in left.columns:
            values, pos = left[column], left_pos
        else:
            raise LinkageError(f"{self.name}: neither frame has column {column!r}")
        dt = pd.to_datetime(values, errors="coerce").to_numpy("datetime64[D]")
        days = dt.astype("int64").astype("float64")
        days[np.isnat(dt)] = np.nan
        return days[pos]

    def levels_for_pairs(self, left, right, left_pos, right_pos) -> np.ndarray:
        """Levels for pairs given by row positions; dates are converted once per record."""
        lag = self._lag(left, right, left_pos, right_pos)
        out = np.full(len(lag), 3, dtype=np.int8)
        out[lag <= self.long_days] = 1
        out[(lag >= -self.tolerance_days) & (lag <= self.typical_days)] = 0
        out[lag < -self.tolerance_days] = 2
        out[np.isnan(lag)] = _MISSING
        return out


# ------------------------------------------------------------------------------ offence compatibility
class OffenceCompatibility(PositionalComparison):
    """The crime's Home Office code against the outcome's CJS code or penalty notice offence.

    Levels 0-2 come from :func:`linkage.reference.offence_relation` for codes in the crosswalk: 0 same
    offence, 1 same group (charge altered), 2 compatible group. A CJS code outside the crosswalk backs
    off to its statute family (the first four characters: TH68, OF61, MD71 ...): 3 the family holds
    the crime's Home Office code; 4 the family's police.uk categories hold the crime's category. 5
    incompatible. -1 missing, or a code whose family is unknown too.
    """

    level_labels = ("same offence", "same group", "compatible group", "same statute family",
                    "same police.uk category", "incompatible")  # fmt: skip

    def __init__(self, ho_column: str, other_column: str, kind: str, name: str = "offence") -> None:
        if kind not in ("cjs", "pnd"):
            raise LinkageError(f"OffenceCompatibility: kind must be 'cjs' or 'pnd', got {kind!r}")
        self.ho_column = ho_column
        self.other_column = other_column
        self.kind = kind
        self.name = name
        self.tf_column = None
        self.columns = (ho_column, other_column)

    def levels_for_pairs(self, left, right, left_pos, right_pos) -> np.ndarray:
        """Levels for pairs given by row positions; the crosswalk runs once per distinct code pair."""
        _check_columns(left, [self.ho_column], "left", self.name)
        _check_columns(right, [self.other_column], "right", self.name)
        lc, l_uniq = _stripped_codes(left[self.ho_column])
        rc, r_uniq = _stripped_codes(right[self.other_column])
        n_l, n_r = len(l_uniq), len(r_uniq)
        matrix = _offence_matrix(self.kind, l_uniq, r_uniq)
        lc = np.where(lc >= 0, lc, n_l)
        rc = np.where(rc >= 0, rc, n_r)
        return matrix[lc[left_pos], rc[right_pos]]


def _stripped_codes(values: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and distinct values of trimmed text (blank kept as a value, missing -> -1), per distinct
    value: the same as factorising ``values.astype("string").str.strip()``."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    text = pd.Series(np.asarray(uniques, dtype=object), dtype="string").str.strip()
    t_codes, t_uniq = pd.factorize(text, use_na_sentinel=True)
    t_codes = np.append(np.asarray(t_codes, dtype=np.int64), -1)
    return t_codes[codes], tuple(str(u) for u in t_uniq)


@lru_cache(maxsize=16)
def _offence_matrix(kind: str, l_uniq: tuple[str, ...], r_uniq: tuple[str, ...]) -> np.ndarray:
    """Level per (distinct HO code, distinct other code), last row/column for a missing code. The
    crosswalk runs once per combination - a small matrix - and pairs index into it; the same frames
    (candidate pairs, then random pairs for u) reuse it."""
    n_l, n_r = len(l_uniq), len(r_uniq)
    matrix = np.full((n_l + 1, n_r + 1), _MISSING, dtype=np.int8)
    if n_l and n_r:
        ia, ib = np.divmod(np.arange(n_l * n_r), n_r)
        ho = pd.Series(np.asarray(l_uniq, dtype=object)[ia], dtype="string")
        other = pd.Series(np.asarray(r_uniq, dtype=object)[ib], dtype="object")
        rel = np.asarray(offence_relation(ho, other, kind=kind), dtype=np.int8)
        rel = np.where(rel == 3, np.int8(5), rel)
        if kind == "cjs":
            unknown = rel < 0
            rel[unknown] = statute_family_levels(ho[unknown], other[unknown])
        matrix[:n_l, :n_r] = rel.reshape(n_l, n_r)
    matrix.setflags(write=False)
    return matrix


@cache
def _statute_families() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]], dict[str, str]]:
    """From the crosswalk: statute family -> its Home Office codes; family -> police.uk categories;
    Home Office code -> police.uk category."""
    cjs = cjs_offences()
    category = _offence_codes().set_index("ho_code")["police_uk_category"].astype(str).to_dict()
    family = cjs["cjs_code"].astype(str).str.strip().str.upper().str[:4]
    ho_of: dict[str, set[str]] = {}
    cat_of: dict[str, set[str]] = {}
    for fam, ho in zip(family, cjs["ho_code"].astype(str), strict=True):
        ho_of.setdefault(fam, set()).add(ho)
        if ho in category:
            cat_of.setdefault(fam, set()).add(category[ho])
    return (
        {k: frozenset(v) for k, v in ho_of.items()},
        {k: frozenset(v) for k, v in cat_of.items()},
        category,
    )


def statute_family_levels(ho_codes: pd.Series, cjs_codes: pd.Series) -> np.ndarray:
    """For CJS codes outside the crosswalk: 3 the code's statute family (first four characters) holds
    the Home Office code; 4 the family's police.uk categories hold the Home Office code's category;
    5 neither; -1 either side missing or the family unknown."""
    ho_of, cat_of, category = _statute_families()
    fam = pd.Series(cjs_codes, dtype="string").str.strip().str.upper().str.replace(r"\s+", "", regex=True)
    fam = fam.str[:4]
    out = np.full(len(fam), _MISSING, dtype=np.int8)
    for i, (f, h) in enumerate(zip(fam.tolist(), pd.Series(ho_codes, dtype="string").tolist(), strict=True)):
        if f is pd.NA or h is pd.NA or f not in ho_of:
            continue
        if h in ho_of[f]:
            out[i] = 3
        elif category.get(h) in cat_of.get(f, ()):
            out[i] = 4
        else:
            out[i] = 5
    return out


# ------------------------------------------------------------------------------------------- place
class PlaceDistance(PositionalComparison):
    """Distance in metres (British National Grid) between a penalty notice location and the crime's map
    point. Levels: one per threshold in ``thresholds_m`` (``<=`` each, ascending), then 'further'; -1 when
    either point is missing. Crime points are police.uk map points, so a few hundred metres is agreement."""

    def __init__(
        self,
        left_lonlat: tuple[str, str] = ("longitude", "latitude"),
        right_lonlat: tuple[str, str] = ("longitude", "latitude"),
        thresholds_m: Sequence[float] = (300.0, 1500.0, 8000.0),
        name: str = "place",
    ) -> None:
        th = [float(t) for t in thresholds_m]
        if not th or any(t <= 0 for t in th) or th != sorted(th):
            raise LinkageError(
                f"PlaceDistance: thresholds_m must be positive ascending, got {thresholds_m!r}"
            )
        self.left_lonlat = left_lonlat
        self.right_lonlat = right_lonlat
        self.thresholds_m = tuple(th)
        self.name = name
        self.tf_column = None
        self.level_labels = tuple(f"within {t:g} m" for t in th) + ("further",)
        self.columns = tuple(dict.fromkeys((*left_lonlat, *right_lonlat)))

    def distance_m(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        """Euclidean distance in metres on EPSG:27700 for pair-aligned frames (NaN if a point is missing)."""
        _check_aligned(left, right, self.name)
        n = np.arange(len(left))
        return self._distance(left, right, n, n)

    def _distance(self, left, right, left_pos, right_pos) -> np.ndarray:
        _check_columns(left, list(self.left_lonlat), "left", self.name)
        _check_columns(right, list(self.right_lonlat), "right", self.name)
        # Missing, non-numeric, infinite or out-of-range points are NaN and never enter the arithmetic.
        lx, ly = to_british_national_grid(*(left[c] for c in self.left_lonlat))
        rx, ry = to_british_national_grid(*(right[c] for c in self.right_lonlat))
        return pair_distances(lx, ly, rx, ry, np.asarray(left_pos), np.asarray(right_pos))

    def levels_for_pairs(self, left, right, left_pos, right_pos) -> np.ndarray:
        """Levels for pairs given by row positions; coordinates are projected once per record."""
        dist = self._distance(left, right, left_pos, right_pos)
        out = np.searchsorted(np.asarray(self.thresholds_m), dist, side="left").astype(np.int8)
        out[np.isnan(dist)] = _MISSING
        return out


class ForceComparison(PositionalComparison):
    """Force geography: 0 same force; 1 neighbouring forces (from an optional ``neighbours`` mapping,
    e.g. a court serving several force areas); 2 different; -1 missing."""

    def __init__(
        self,
        left_column: str = "force",
        right_column: str = "force",
        neighbours: dict[str, Sequence[str]] | None = None,
        name: str = "force",
    ) -> None:
        self.left_column = left_column
        self.right_column = right_column
        self.neighbours = {k: tuple(v) for k, v in (neighbours or {}).items()}
        self.name = name
        self.tf_column = None
        self.level_labels = (
            ("same force", "neighbouring force", "different force")
            if self.neighbours
            else ("same force", "different force")
        )
        self.columns = tuple(dict.fromkeys((left_column, right_column)))

    def levels_for_pairs(self, left, right, left_pos, right_pos) -> np.ndarray:
        """Levels for pairs given by row positions (codes per distinct force name)."""
        _check_columns(left, [self.left_column], "left", self.name)
        _check_columns(right, [self.right_column], "right", self.name)
        a = _clean_text(left[self.left_column])
        b = _clean_text(right[self.right_column])
        codes, uniq = pd.factorize(pd.concat([a, b], ignore_index=True), use_na_sentinel=True)
        ca, cb = codes[: len(a)][left_pos], codes[len(a) :][right_pos]
        out = np.full(len(ca), len(self.level_labels) - 1, dtype=np.int8)
        if self.neighbours:
            names = [str(u) for u in uniq]
            index = {n: i for i, n in enumerate(names)}
            near = np.zeros((len(names) + 1, len(names) + 1), dtype=bool)
            for k, vs in self.neighbours.items():
                for v in vs:
                    i, j = index.get(k.strip().casefold()), index.get(v.strip().casefold())
                    if i is not None and j is not None:
                        near[i, j] = near[j, i] = True
            out[near[ca, cb]] = 1
        out[ca == cb] = 0
        out[(ca < 0) | (cb < 0)] = _MISSING
        return out


def _clean_text(values: pd.Series) -> pd.Series:
    """Trimmed, casefolded text (blank -> missing), computed once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    clean = pd.Series(np.asarray(uniques, dtype=object), dtype="string").str.strip().str.casefold()
    clean = pd.concat([clean.mask(clean == ""), pd.Series([pd.NA], dtype="string")], ignore_index=True)
    return clean.iloc[np.where(codes >= 0, codes, len(clean) - 1)].reset_index(drop=True)


# --------------------------------------------------------------------------------------- crime_ref
def normalise_crime_ref(values: pd.Series) -> pd.Series:
    """Upper case with spaces, hyphens, slashes and dots removed; blank becomes missing."""
    text = values.astype("string").str.upper().str.replace(r"[\s\-/\.]+", "", regex=True)
    return text.mask(text == "").reset_index(drop=True)


class CrimeRefComparison(PositionalComparison):
    """The hand-typed crime reference: 0 exact (after normalising); 1 near (Levenshtein distance <=
    ``max_edits`` or one transposition of adjacent characters); 2 different; -1 absent on either side."""

    level_labels = ("exact", "near", "different")

    def __init__(
        self,
        left_column: str = "crime_ref",
        right_column: str = "crime_ref",
        max_edits: int = 2,
        name: str = "crime_ref",
    ) -> None:
        if max_edits < 1:
            raise LinkageError(f"CrimeRefComparison: max_edits must be >= 1, got {max_edits!r}")
        self.left_column = left_column
        self.right_column = right_column
        self.max_edits = max_edits
        self.name = name
        self.tf_column = None
        self.columns = tuple(dict.fromkeys((left_column, right_column)))

    def levels_for_pairs(self, left, right, left_pos, right_pos) -> np.ndarray:
        """Levels for pairs given by row positions; edit distances run once per distinct pair of refs."""
        _check_columns(left, [self.left_column], "left", self.name)
        _check_columns(right, [self.right_column], "right", self.name)
        a = normalise_crime_ref(left[self.left_column])
        b = normalise_crime_ref(right[self.right_column])
        codes, uniq = pd.factorize(pd.concat([a, b], ignore_index=True), use_na_sentinel=True)
        strings = np.asarray([str(u) for u in uniq], dtype=object)
        ca, cb = codes[: len(a)][left_pos], codes[len(a) :][right_pos]
        missing = (ca < 0) | (cb < 0)
        n = max(len(strings), 1)
        key = np.where(missing, -1, ca.astype(np.int64) * n + cb)
        inverse, ukey = pd.factorize(key)
        ok = ukey >= 0
        lev = np.full(len(ukey), _MISSING, dtype=np.int8)
        if ok.any():
            ua, ub = strings[ukey[ok] // n].tolist(), strings[ukey[ok] % n].tolist()
            dist = process.cpdist(ua, ub, scorer=Levenshtein.distance, workers=1)
            osa = process.cpdist(ua, ub, scorer=OSA.distance, workers=1)
            level = np.full(len(ua), 2, dtype=np.int8)
            level[(dist <= self.max_edits) | (osa <= 1)] = 1
            level[dist == 0] = 0
            lev[ok] = level
        return lev[inverse]


# ------------------------------------------------------------------------------------- date of birth
def dob_digits(values: pd.Series) -> np.ndarray:
    """Dates of birth as ``yyyymmdd`` integers (-1 missing). Year-first strings keep their digits, so a
    mistyped, impossible date (1985-13-02) still compares digit by digit."""
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return _date_ints(values.astype("string"))
    return _date_ints(pd.Series(pd.to_datetime(values, errors="coerce")))


def dob_plausible(dob: np.ndarray, reference: pd.Series, min_age_years: int = 10) -> np.ndarray:
    """Per record: is the ``yyyymmdd`` date of birth a real calendar date, not after the reference date
    (the offence) and at least ``min_age_years`` before it (the age of criminal responsibility)? Missing
    reference dates only check the calendar. Missing dates of birth are False."""
    dob = np.asarray(dob, dtype=np.int64)
    ok = dob > 0
    text = pd.Series(np.where(ok, dob, 19000101).astype(str))
    parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    ok &= parsed.notna().to_numpy()
    ref = pd.to_datetime(reference, errors="coerce").reset_index(drop=True)
    ref_int = (ref.dt.year * 10000 + ref.dt.month * 100 + ref.dt.day).to_numpy(dtype=float)
    has_ref = ~np.isnan(ref_int)
    too_young = has_ref & (dob + min_age_years * 10000 > np.nan_to_num(ref_int, nan=0.0))
    return ok & ~too_young


class DobComparison(PositionalComparison):
    """Date of birth with partial credit for the ways it is mistyped.

    Levels on the ``yyyymmdd`` digits: 0 exact; 1 day and month swapped; 2 one digit wrong or two adjacent
    digits transposed (any position: a wrong month digit, 2072 for 2002); 3 same day and month with the
    year off by one or by a century (1985 / 2085, 19xx / 20xx); 4 same year; 5 different; -1 missing.
    An implausible date of birth (not a calendar date, in the future, or under 10 at the offence: see
    :func:`dob_plausible`) is a recording error, not evidence against: where either side is implausible
    the weak levels (same year, different) become missing.
    """

    level_labels = ("exact", "day-month swapped", "one digit or transposition", "year slip",
                    "same year", "different")  # fmt: skip

    def __init__(
        self, column: str = "dob_int", valid_column: str | None = "dob_ok", name: str = "dob"
    ) -> None:
        self.column = column
        self.valid_column = valid_column
        self.name = name
        self.tf_column = None
        self.columns = (column,) if valid_column is None else (column, valid_column)

    def levels_for_pairs(self, left, right, left_pos, right_pos) -> np.ndarray:
        """Levels for pairs given by row positions (one compiled pass per chunk, :func:`_dob_level`)."""
        _check_columns(left, [self.column], "left", self.name)
        _check_columns(right, [self.column], "right", self.name)
        a_all = np.asarray(left[self.column].to_numpy(), dtype=np.int64)
        b_all = np.asarray(right[self.column].to_numpy(), dtype=np.int64)
        valid = (
            self.valid_column is not None
            and self.valid_column in left.columns
            and self.valid_column in right.columns
        )
        if valid:
            va_all = np.asarray(left[self.valid_column].to_numpy(), dtype=bool)
            vb_all = np.asarray(right[self.valid_column].to_numpy(), dtype=bool)
        else:
            va_all = vb_all = np.zeros(0, dtype=bool)
        out = np.empty(len(left_pos), dtype=np.int8)
        use_valid = bool(valid)

        def chunk(i: int, j: int) -> None:
            # one compiled pass per chunk on the thread pool, each chunk writing its slice
            _dob_levels_pairs(
                a_all, b_all, left_pos[i:j], right_pos[i:j], va_all, vb_all, use_valid, _TYPO_DIFFS, out[i:j]
            )

        run_chunks(len(left_pos), chunk, chunk=_DOB_CHUNK)
        return out


def dob_levels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:class:`DobComparison` levels for ``yyyymmdd`` integer pairs (-1 = missing)."""
    a = np.ascontiguousarray(a, dtype=np.int64)
    b = np.ascontiguousarray(b, dtype=np.int64)
    out = np.empty(len(a), dtype=np.int8)
    _dob_levels_ab(a, b, _TYPO_DIFFS, out)
    return out


@numba.njit(nogil=True, cache=True)
def _dob_level(a: int, b: int, typo_diffs: np.ndarray) -> int:  # pragma: no cover - compiled
    """One pair's level (see :class:`DobComparison`); integer arithmetic with Python's floor ``//``/``%``.

    Either typo (one digit wrong, two adjacent digits transposed) makes ``|a - b| = q * 10^k`` with
    ``q <= 9`` (one digit) or ``q`` a multiple of 9 up to 81 (a swap of neighbours): only pairs whose
    ``|a - b|`` is one of those few values are compared digit by digit."""
    if a <= 0 or b <= 0:
        return -1
    if a == b:
        return 0
    ya, yb = a // 10000, b // 10000
    mda, mdb = a - ya * 10000, b - yb * 10000  # month-day (0..9999 for a positive date)
    if ya == yb:
        ma = mda // 100
        da = mda - ma * 100
        if mdb == da * 100 + ma and ma != da:
            return 1  # day and month swapped
    d = abs(a - b)
    i = min(np.searchsorted(typo_diffs, d), len(typo_diffs) - 1)
    if typo_diffs[i] == d:
        n_diff = 0
        swap_adj = False
        p = 10_000_000
        prev_a, prev_b, prev_diff = -1, -1, False
        for _ in range(8):
            xa, xb = (a // p) % 10, (b // p) % 10
            differ = xa != xb
            n_diff += differ
            if differ and prev_diff and xa == prev_b and xb == prev_a:
                swap_adj = True
            prev_a, prev_b, prev_diff = xa, xb, differ
            p //= 10
        if n_diff == 1 or (swap_adj and n_diff == 2):
            return 2
    dy = abs(ya - yb)
    if mda == mdb and (dy == 1 or dy == 100):
        return 3  # year off by one or by a century, same month and day
    return 4 if ya == yb else 5


@numba.njit(nogil=True, cache=True)
def _dob_levels_ab(a: np.ndarray, b: np.ndarray, typo_diffs: np.ndarray, out: np.ndarray) -> None:
    for i in range(len(a)):  # pragma: no cover - compiled
        out[i] = _dob_level(a[i], b[i], typo_diffs)


@numba.njit(nogil=True, cache=True)
def _dob_levels_pairs(
    a_all: np.ndarray,
    b_all: np.ndarray,
    left_pos: np.ndarray,
    right_pos: np.ndarray,
    va: np.ndarray,
    vb: np.ndarray,
    use_valid: bool,
    typo_diffs: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Levels of the pairs at ``left_pos``/``right_pos``; with ``use_valid``, the weak levels (same year,
    different) become missing where either side is implausible."""
    for i in range(len(left_pos)):
        lp, rp = left_pos[i], right_pos[i]
        o = _dob_level(a_all[lp], b_all[rp], typo_diffs)
        if use_valid and o >= 4 and not (va[lp] and vb[rp]):
            o = -1
        out[i] = o


_DOB_CHUNK = 1 << 16  # pairs per chunk of DobComparison

# |a - b| of the two typos dob_levels credits: q * 10^k, q in 1..9 or a multiple of 9 up to 81, k in 0..8
_TYPO_DIFFS = np.unique(
    np.array(
        [q * 10**k for q in (*range(1, 10), 18, 27, 36, 45, 54, 63, 72, 81) for k in range(9)], dtype=np.int64
    )
)
