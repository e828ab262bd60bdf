"""Comparisons: small values that turn a candidate pair into a level (0 = strongest agreement).

A :class:`Comparison` maps PAIR-ALIGNED left and right frames (row ``i`` of each is candidate pair ``i``)
to one ``int8`` level per pair; ``-1`` means a value is missing on either side and the comparison is
neutral for that pair (match weight 0). The last level is always "disagreement".

Subclasses only need :meth:`Comparison.levels`. The engine calls :meth:`Comparison.levels_for_pairs`
(frames plus row positions), whose default builds the pair-aligned frames and calls ``levels``. The
comparisons here override it for speed: values are coded once per frame (``pd.factorize``), pairs are
compared as integer codes in cache-sized chunks, a cheap character-signature bound rules out most pairs
before any string distance, and the remaining distances run once per distinct pair of strings through
``rapidfuzz.process.cpdist``; phonetic codes are computed once per distinct string with ``jellyfish``.
"""

from __future__ import annotations

import logging
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process as rf_process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from linkage.errors import LinkageError
from linkage.geography import WGS84, to_british_national_grid  # re-exported: engine callers project with it

logger = logging.getLogger(__name__)

__all__ = [
    "Comparison",
    "ExactMatch",
    "NameComparison",
    "PersonNameComparison",
    "DateComparison",
    "DateWindow",
    "LevenshteinLevels",
    "NumericDistance",
    "GeoDistance",
    "normalise_name",
    "pair_distances",
    "to_british_national_grid",
]

MISSING = np.int8(-1)
_WS = re.compile(r"\s+")
_WS_RE2 = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]+"
_PHONETIC: dict[str, Callable[[str], str]] = {
    "metaphone": jellyfish.metaphone,
    "soundex": jellyfish.soundex,
    "nysiis": jellyfish.nysiis,
}


# --- helpers
def normalise_name(value: object) -> str | None:
    """Lowercase, trim and collapse whitespace; ``None`` for missing or empty values."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = _WS.sub(" ", str(value).lower()).strip()
    return text or None


def _normalise_array(values: np.ndarray) -> np.ndarray:
    """:func:`normalise_name` over an array, vectorised with pyarrow compute (object array out)."""
    arr = pa.array(pd.Series(values, dtype=object).astype("string"), type=pa.string(), from_pandas=True)
    # RE2's \s is ASCII only; this class is exactly Python's str.isspace() set (what _WS matches).
    arr = pc.utf8_trim(pc.replace_substring_regex(pc.utf8_lower(arr), _WS_RE2, " "), " ")
    out = arr.to_numpy(zero_copy_only=False).astype(object)
    out[pd.isna(out) | (out == "")] = None
    return out


def _normalise_names(values: pd.Series) -> pd.Series:
    """:func:`normalise_name` over a column, computed once per distinct value."""
    codes, uniques = pd.factorize(values)
    normed = np.append(_normalise_array(np.asarray(uniques, dtype=object)), None)
    return pd.Series(normed[codes], index=values.index, dtype=object)


def _check_thresholds(arg: str, values: tuple[float, ...], *, decreasing: bool) -> None:
    if len(values) == 0:
        raise LinkageError(f"{arg} must hold at least one threshold, got {values!r}")
    diffs = np.diff(np.asarray(values, dtype=float))
    ok = np.all(diffs < 0) if decreasing else np.all(diffs > 0)
    if not ok:
        order = "strictly decreasing" if decreasing else "strictly increasing"
        raise LinkageError(f"{arg} must be {order}, got {values!r}")


def _joint_codes(
    left: pd.Series,
    right: pd.Series,
    normalise: Callable[[object], object] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code left and right values against one shared vocabulary.

    Returns ``(left_codes, right_codes, uniques)``: int32 codes, ``-1`` for missing (or empty after
    ``normalise``), and the object array of distinct (normalised) values. Work is per distinct value.
    """
    both = pd.concat([left, right], ignore_index=True)
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    if normalise is not None and len(uniques):
        if normalise is normalise_name:
            normed = pd.Series(_normalise_array(uniques), dtype=object)
        else:
            normed = pd.Series([normalise(v) for v in uniques], dtype=object)
        recode, uniques2 = pd.factorize(normed, use_na_sentinel=True)
        codes = np.where(codes >= 0, recode[np.maximum(codes, 0)], -1)
        uniques = np.asarray(uniques2, dtype=object)
    codes = np.asarray(codes, dtype=np.int32)
    return codes[: len(left)], codes[len(left) :], uniques


def _pair_codes(
    lc: np.ndarray, rc: np.ndarray, left_pos: np.ndarray, right_pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = lc[left_pos]
    b = rc[right_pos]
    return a, b, (a < 0) | (b < 0)


def _jaro_winkler(strings: np.ndarray, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
    return rf_process.cpdist(
        strings[ua].tolist(), strings[ub].tolist(), scorer=JaroWinkler.normalized_similarity, workers=-1
    )


def _phonetic_ids(strings: np.ndarray, algorithm: str) -> np.ndarray:
    """Integer id of each distinct string's phonetic code (``-1`` when the code is empty)."""
    fn = _PHONETIC[algorithm]
    arr = pa.array(pd.Series(strings, dtype=object).astype("string"), type=pa.string(), from_pandas=True)
    letters = pc.replace_substring_regex(arr, r"[^a-z]", "").to_pylist()
    codes = pd.Series([fn(s) if s else "" for s in letters], dtype=object).replace("", None)
    ids, _ = pd.factorize(codes, use_na_sentinel=True)
    return np.asarray(ids, dtype=np.int32)


@dataclass(frozen=True)
class _Signatures:
    """Per distinct string: length, first character, and a 64-bit character-count signature.

    Character ``c`` falls in bucket ``ord(c) % 32``; the first two occurrences in a bucket set bits
    ``b`` and ``32 + b``, later ones count as ``overflow``. For two strings,
    ``popcount(sig_a & sig_b) + min(overflow_a, overflow_b)`` bounds from above the size of their
    common character multiset, which bounds Jaro-Winkler from above and Levenshtein from below.
    Pairs the bounds rule out never reach the (expensive) exact string distance.
    """

    sig: np.ndarray
    length: np.ndarray
    first: np.ndarray
    overflow: np.ndarray
    bigram_sig: np.ndarray
    bigram_overflow: np.ndarray
    inverse_length: np.ndarray = field(init=False, repr=False)
    overflow_u8: np.ndarray = field(init=False, repr=False)
    overflow_saturated: np.ndarray = field(init=False, repr=False)
    bigram_overflow_u8: np.ndarray = field(init=False, repr=False)
    bigram_overflow_saturated: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Compact copies for the per-pair bound: 8-bit overflow (191+ flagged, so two such
        # strings are always let through, and 64 + 191 fits in 8 bits) and float32 1 / length.
        object.__setattr__(self, "inverse_length", 1.0 / np.maximum(self.length, 1).astype(np.float32))
        object.__setattr__(self, "overflow_u8", np.minimum(self.overflow, 191).astype(np.uint8))
        object.__setattr__(self, "overflow_saturated", self.overflow >= 191)
        object.__setattr__(self, "bigram_overflow_u8", np.minimum(self.bigram_overflow, 191).astype(np.uint8))
        object.__setattr__(self, "bigram_overflow_saturated", self.bigram_overflow >= 191)

    @classmethod
    def of(cls, strings: np.ndarray) -> _Signatures:
        """Signatures of distinct strings, vectorised over a (strings x characters) code matrix."""
        n = len(strings)
        if n == 0:
            empty = np.zeros(0, dtype=np.int32)
            return cls(np.zeros(0, dtype=np.uint64), empty, empty, empty, np.zeros(0, dtype=np.uint64), empty)
        chars = np.asarray(strings.astype(str), dtype=np.str_)
        width = max(chars.dtype.itemsize // 4, 1)
        codes = np.frombuffer(chars.tobytes(), dtype=np.uint32).reshape(n, width).astype(np.int64)
        present = codes > 0
        length = present.sum(axis=1).astype(np.int32)
        first = np.where(length > 0, codes[:, 0], -1).astype(np.int32)
        rows = np.repeat(np.arange(n), width)[present.ravel()]
        buckets = (codes % 32).ravel()[present.ravel()]
        counts = np.bincount(rows * 32 + buckets, minlength=n * 32).reshape(n, 32)
        weights = np.left_shift(np.uint64(1), np.arange(32, dtype=np.uint64))
        sig = ((counts >= 1).astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
        sig |= ((counts >= 2).astype(np.uint64) * (weights << np.uint64(32))).sum(axis=1, dtype=np.uint64)
        overflow = np.maximum(counts - 2, 0).sum(axis=1).astype(np.int32)
        # Bigrams (consecutive characters) hashed into 64 buckets: one bit each, repeats as overflow.
        pair_ok = present[:, 1:]
        brow = np.repeat(np.arange(n), width - 1)[pair_ok.ravel()]
        bhash = ((codes[:, :-1] * 31 + codes[:, 1:]) % 64).ravel()[pair_ok.ravel()]
        bcounts = np.bincount(brow * 64 + bhash, minlength=n * 64).reshape(n, 64)
        bweights = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
        bigram_sig = ((bcounts >= 1).astype(np.uint64) * bweights).sum(axis=1, dtype=np.uint64)
        bigram_overflow = np.maximum(bcounts - 1, 0).sum(axis=1).astype(np.int32)
        return cls(sig, length, first, overflow, bigram_sig, bigram_overflow)

    def common_upper(self, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
        """Upper bound on the common character multiset of each (ua, ub) string pair."""
        common = np.bitwise_count(self.sig[ua] & self.sig[ub]).astype(np.int32)
        common += np.minimum(self.overflow[ua], self.overflow[ub])
        return np.minimum(common, np.minimum(self.length[ua], self.length[ub]))

    def jaro_winkler_may_reach(self, ua: np.ndarray, ub: np.ndarray, threshold: float) -> np.ndarray:
        """False where Jaro-Winkler similarity is certainly below ``threshold``.

        With ``m`` common characters, ``jaro <= (m/la + m/lb + 1) / 3``; Winkler's prefix boost adds at
        most ``0.4 * (1 - jaro)`` and nothing when the first characters differ. So the pair may reach
        ``t`` only if ``m / la + m / lb >= 3 J - 1`` with ``J = t`` (first characters differ)
        or ``J = (t - 0.4) / 0.6`` (they agree); a 1e-4 slack keeps float32 rounding on the safe side.
        """
        need_same = 3 * (threshold - 0.4) / 0.6 - 1 - 1e-4
        need_diff = 3 * threshold - 1 - 1e-4
        m = np.bitwise_count(self.sig[ua] & self.sig[ub])
        m += np.minimum(self.overflow_u8[ua], self.overflow_u8[ub])
        need = np.where(self.first[ua] == self.first[ub], np.float32(need_same), np.float32(need_diff))
        ok = m * (self.inverse_length[ua] + self.inverse_length[ub]) >= need  # m/la + m/lb >= 3J - 1
        if min(need_same, need_diff) <= 0:
            ok &= m > 0
        if self.overflow_saturated.any():
            ok |= self.overflow_saturated[ua] & self.overflow_saturated[ub]
        return ok

    def levenshtein_may_be_within(self, ua: np.ndarray, ub: np.ndarray, k: int) -> np.ndarray:
        """False where Levenshtein distance is certainly above ``k``.

        Two lower bounds: the bag distance ``max(la, lb) - m`` (``m`` as in :meth:`common_upper`), and
        the q-gram lemma for bigrams (an edit destroys at most two bigrams, so ``d >= (max(la, lb) - 1
        - common bigrams) / 2``), with common bigrams bounded like ``m`` by the bigram signatures.
        """
        longest = np.maximum(self.length[ua], self.length[ub])
        m = np.bitwise_count(self.sig[ua] & self.sig[ub])
        m += np.minimum(self.overflow_u8[ua], self.overflow_u8[ub])
        cb = np.bitwise_count(self.bigram_sig[ua] & self.bigram_sig[ub])
        cb += np.minimum(self.bigram_overflow_u8[ua], self.bigram_overflow_u8[ub])
        ok = (longest <= m.astype(np.int32) + k) & (longest <= cb.astype(np.int32) + (1 + 2 * k))
        if self.overflow_saturated.any() or self.bigram_overflow_saturated.any():
            ok |= self.overflow_saturated[ua] & self.overflow_saturated[ub]
            ok |= self.bigram_overflow_saturated[ua] & self.bigram_overflow_saturated[ub]
        return ok


_CHUNK = 1 << 16
_THREADS = max(1, min(4, os.cpu_count() or 1))


def _map_chunks(n: int, fn: Callable[[int, int], np.ndarray]) -> list[np.ndarray]:
    """``fn(start, stop)`` over chunks of ``_CHUNK`` pairs, in a small thread pool (numpy releases
    the GIL inside its loops); results in chunk order, so output does not depend on scheduling."""
    bounds = [(i, min(i + _CHUNK, n)) for i in range(0, n, _CHUNK)]
    if _THREADS == 1 or len(bounds) < 4:
        return [fn(i, j) for i, j in bounds]
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        return list(pool.map(lambda b: fn(*b), bounds))


def _string_levels(
    lc: np.ndarray,
    rc: np.ndarray,
    left_pos: np.ndarray,
    right_pos: np.ndarray,
    strings: np.ndarray,
    n_levels: int,
    **rules: Any,
) -> np.ndarray:
    """Levels for string pairs (see :func:`_string_levels_direct` for the rules).

    When the distinct left values times distinct right values are at most half the pairs (names,
    postcodes, towns under a loose blocking), every combination is levelled once into a small table
    and each pair is a single lookup; otherwise pairs are levelled directly.
    """
    n = len(left_pos)
    lu = np.unique(lc[lc >= 0])
    ru = np.unique(rc[rc >= 0])
    cells = (len(lu) + 1) * (len(ru) + 1)
    if cells * 2 > n:
        return _string_levels_direct(lc, rc, left_pos, right_pos, strings, n_levels, **rules)
    # Row/column of each value; code -1 (missing) reads the last entry, the missing row/column.
    lrow = np.full(len(strings) + 1, len(lu), dtype=np.int64)
    lrow[lu] = np.arange(len(lu))
    rcol = np.full(len(strings) + 1, len(ru), dtype=np.int64)
    rcol[ru] = np.arange(len(ru))
    grid_l = np.append(lu, -1).astype(lc.dtype)
    grid_r = np.append(ru, -1).astype(rc.dtype)
    width = len(ru) + 1
    cell = np.arange(cells, dtype=np.int64)
    table = _string_levels_direct(grid_l, grid_r, cell // width, cell % width, strings, n_levels, **rules)
    lrec = lrow[lc]  # per left record
    rrec = rcol[rc]
    out = np.empty(n, dtype=np.int8)

    def chunk(i: int, j: int) -> np.ndarray:
        out[i:j] = table[lrec[left_pos[i:j]] * width + rrec[right_pos[i:j]]]
        return out[:0]

    _map_chunks(n, chunk)
    logger.debug("string comparison: %d pairs through a %d-cell level table", n, cells)
    return out


def _string_levels_direct(
    lc: np.ndarray,
    rc: np.ndarray,
    left_pos: np.ndarray,
    right_pos: np.ndarray,
    strings: np.ndarray,
    n_levels: int,
    *,
    survive: Callable[[_Signatures, np.ndarray, np.ndarray], np.ndarray],
    distance_levels: Callable[[np.ndarray, np.ndarray], np.ndarray],
    extra: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    extra_level: int = -1,
) -> np.ndarray:
    """Levels for string pairs given joint value codes and pair positions.

    0 when the codes are equal; ``distance_levels`` (levels from 1) on the pairs the signature bound
    lets through, each distinct pair of strings computed once; ``extra`` (e.g. equal phonetic codes)
    gives ``extra_level`` where the distance gave nothing better; the last level otherwise; -1 when
    missing. Pairs are processed in chunks so temporaries stay in cache (a loop over chunks, not pairs).
    """
    last = n_levels - 1
    n = len(left_pos)
    out = np.empty(n, dtype=np.int8)
    sigs = _Signatures.of(strings)

    def chunk(i: int, j: int) -> np.ndarray:
        a = lc[left_pos[i:j]]
        b = rc[right_pos[i:j]]
        missing = (a < 0) | (b < 0)
        o = np.full(len(a), last, dtype=np.int8)
        if extra is not None:
            o[extra(a, b)] = extra_level
        differ = (a != b) & ~missing
        o[a == b] = 0
        o[missing] = MISSING
        out[i:j] = o
        # The bound on the whole chunk (a code of -1 reads a real string's signature; masked out after)
        # avoids gathering the differing pairs first.
        return np.flatnonzero(differ & survive(sigs, a, b)) + i

    survivors = _map_chunks(n, chunk)
    idx = np.concatenate(survivors) if survivors else np.empty(0, dtype=np.int64)
    if len(idx):
        ns = np.int64(len(strings))
        inverse, uniq = pd.factorize(lc[left_pos[idx]].astype(np.int64) * ns + rc[right_pos[idx]], sort=False)
        lev = distance_levels(uniq // ns, uniq % ns).astype(np.int8)[inverse]
        better = lev < out[idx]
        out[idx[better]] = lev[better]
    logger.debug("string comparison: %d pairs, %d past the signature bound", n, len(idx))
    return out


# --- base
class Comparison(ABC):
    """One comparison of a candidate pair, producing levels ``0 .. n_levels-1`` (or ``-1`` if missing).

    Attributes every comparison has: ``name`` (unique within a model, the column name in the level
    frame), ``level_labels`` (level 0 = strongest agreement ... last = disagreement), ``tf_column``
    (a column whose value frequency replaces u at the exact level, or ``None``) and ``columns`` (the
    columns :meth:`levels` reads, or ``None`` for all; only used to keep pair-aligned frames small).
    """

    name: str
    level_labels: tuple[str, ...]
    tf_column: str | None = None
    columns: tuple[str, ...] | None = None
    exact_level: ClassVar[int] = 0

    @abstractmethod
    def levels(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        """Level per pair for pair-aligned ``left`` and ``right`` (``int8``; ``-1`` = missing)."""

    @property
    def n_levels(self) -> int:
        """Number of levels, including the final disagreement level."""
        return len(self.level_labels)

    def levels_for_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        """Level per candidate pair given whole frames and the pairs' row positions.

        The default builds pair-aligned frames (only :attr:`columns` when set) and calls :meth:`levels`.
        """
        lcols = list(self.columns) if self.columns is not None else list(left.columns)
        rcols = list(self.columns) if self.columns is not None else list(right.columns)
        lcols = [c for c in lcols if c in left.columns]
        rcols = [c for c in rcols if c in right.columns]
        lp = left[lcols].take(left_pos).reset_index(drop=True)
        rp = right[rcols].take(right_pos).reset_index(drop=True)
        return np.asarray(self.levels(lp, rp), dtype=np.int8)

    def tf_key(self, values: pd.Series) -> pd.Series:
        """Values whose frequencies drive the term-frequency adjustment (normalised like the exact level)."""
        return values

    @property
    def tf_right_column(self) -> str | None:
        """The right frame's name for ``tf_column`` (the same unless the comparison renames it)."""
        return self.tf_column

    def tf_table(self, frame: pd.DataFrame, column: str | None = None) -> pd.Series:
        """Relative frequency of each (normalised) value of ``column`` (default: ``tf_column``)."""
        column = column or self.tf_column
        if column is None:
            raise LinkageError(f"comparison {self.name!r} has tf_column=None; no term frequencies")
        if column not in frame.columns:
            raise LinkageError(f"comparison {self.name!r}: term-frequency column {column!r} not in the data")
        return self.tf_key(frame[column]).value_counts(normalize=True, dropna=True)

    def tf_values(self, left: pd.DataFrame, left_pos: np.ndarray, table: pd.Series) -> np.ndarray:
        """Per pair, the frequency in ``table`` of the left record's ``tf_column`` value (NaN if absent)."""
        if self.tf_column is None:
            raise LinkageError(f"comparison {self.name!r} has tf_column=None; no term frequencies")
        per_left = self.tf_key(left[self.tf_column]).map(table).to_numpy(dtype=float, na_value=np.nan)
        return per_left[left_pos]


def _name_default(obj: object, value: str) -> None:
    if getattr(obj, "name", None) is None:
        object.__setattr__(obj, "name", value)


class PositionalComparison(Comparison):
    """Base for comparisons computed natively on row positions (:meth:`levels_for_pairs`).

    :meth:`levels` checks the frames are pair-aligned and calls :meth:`levels_for_pairs`.
    """

    def levels(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        if len(left) != len(right):
            raise LinkageError(
                f"{self.name}: left and right must be pair-aligned, got {len(left)} and {len(right)} rows"
            )
        n = len(left)
        return self.levels_for_pairs(left, right, np.arange(n), np.arange(n))


class _ColumnComparison(PositionalComparison):
    """Base for comparisons of one column ``col`` (named ``right_col`` on the right, if given).

    Term frequencies are used on ``col`` when the comparison has a true ``tf`` field.
    """

    col: str
    right_col: str | None

    @property
    def tf_column(self) -> str | None:  # type: ignore[override]
        return self.col if getattr(self, "tf", False) else None

    @property
    def tf_right_column(self) -> str | None:
        return (self.right_col or self.col) if getattr(self, "tf", False) else None

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys((self.col, self.right_col or self.col)))


# --- exact
@dataclass(frozen=True)
class ExactMatch(_ColumnComparison):
    """Two levels: values equal / not equal. ``right_col`` when the right frame names it differently."""

    col: str
    right_col: str | None = None
    name: str | None = None
    tf: bool = False

    def __post_init__(self) -> None:
        _name_default(self, self.col)

    @property
    def level_labels(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("exact", "different")

    def levels_for_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        lc, rc, _ = _joint_codes(left[self.col], right[self.right_col or self.col])
        out = np.empty(len(left_pos), dtype=np.int8)

        def chunk(i: int, j: int) -> np.ndarray:
            a, b, missing = _pair_codes(lc, rc, left_pos[i:j], right_pos[i:j])
            o = (a != b).view(np.int8)  # 0 = exact, 1 = different
            o[missing] = MISSING
            out[i:j] = o
            return o[:0]

        _map_chunks(len(left_pos), chunk)
        return out


# --- names
@dataclass(frozen=True)
class NameComparison(_ColumnComparison):
    """A single name column: exact / Jaro-Winkler >= t1 / >= t2 ... / phonetic code equal / else.

    Names are casefolded and whitespace-trimmed first. ``tf=True`` adds the term-frequency adjustment
    at the exact level, so an agreement on a rare name weighs more than one on a common name.
    """

    col: str
    jw_thresholds: tuple[float, ...] = (0.92, 0.85)
    phonetic: bool = True
    tf: bool = True
    right_col: str | None = None
    name: str | None = None
    phonetic_algorithm: str = "metaphone"

    def __post_init__(self) -> None:
        _name_default(self, self.col)
        _check_thresholds("jw_thresholds", tuple(self.jw_thresholds), decreasing=True)
        if self.phonetic_algorithm not in _PHONETIC:
            raise LinkageError(
                f"phonetic_algorithm must be one of {sorted(_PHONETIC)}, got {self.phonetic_algorithm!r}"
            )

    @property
    def level_labels(self) -> tuple[str, ...]:  # type: ignore[override]
        labels = ["exact"] + [f"jaro_winkler >= {t:g}" for t in self.jw_thresholds]
        if self.phonetic:
            labels.append(f"{self.phonetic_algorithm} equal")
        return (*labels, "different")

    def tf_key(self, values: pd.Series) -> pd.Series:
        return _normalise_names(values)

    def levels_for_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        lc, rc, strings = _joint_codes(left[self.col], right[self.right_col or self.col], normalise_name)
        thresholds = np.asarray(self.jw_thresholds, dtype=float)
        last = self.n_levels - 1
        extra = None
        if self.phonetic:
            phon = _phonetic_ids(strings, self.phonetic_algorithm)

            def extra(x: np.ndarray, y: np.ndarray) -> np.ndarray:
                # Missing codes (-1) read a real entry here; the caller marks missing pairs afterwards.
                px = phon[x]
                return (px == phon[y]) & (px >= 0)

        def survive(sigs: _Signatures, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
            return sigs.jaro_winkler_may_reach(ua, ub, float(thresholds[-1]))

        def distance_levels(ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
            jw = _jaro_winkler(strings, ua, ub)
            # Level 1 + number of thresholds the similarity fails; "last" when it fails all.
            return np.where(jw >= thresholds[-1], 1 + np.sum(jw[:, None] < thresholds[None, :], axis=1), last)

        return _string_levels(lc, rc, left_pos, right_pos, strings, self.n_levels, survive=survive,
                              distance_levels=distance_levels, extra=extra, extra_level=last - 1)  # fmt: skip


@dataclass(frozen=True)
class PersonNameComparison(PositionalComparison):
    """Forename and surname together.

    Levels: exact both / forename and surname swapped / nickname or variant forename with surname
    close (JW >= first threshold) / same forename initial and surname exact / both JW >= t for each
    threshold / different. Missing (-1) when either side lacks a forename or a surname. ``nicknames``
    maps a (casefolded) variant to its canonical form, e.g. ``{"bill": "william"}``, or to the groups it
    belongs to (``{"ron": {"aaron", "ronald"}}``): two forenames are variants when their groups meet.
    Surnames agree token-wise too: a hyphenated or double-barrelled surname ("Smith-Jones") agrees with
    each of its parts ("Jones") as with an exact surname, at the nickname and initial levels.
    """

    forename_col: str
    surname_col: str
    nicknames: Mapping[str, str | Collection[str]] | None = field(default=None, hash=False, compare=False)
    jw_thresholds: tuple[float, ...] = (0.92, 0.85)
    tf: bool = True
    name: str | None = None

    def __post_init__(self) -> None:
        _name_default(self, f"{self.forename_col}_{self.surname_col}")
        _check_thresholds("jw_thresholds", tuple(self.jw_thresholds), decreasing=True)

    @property
    def level_labels(self) -> tuple[str, ...]:  # type: ignore[override]
        jw = [f"both jaro_winkler >= {t:g}" for t in self.jw_thresholds]
        return ("exact", "forename-surname swapped", "nickname/variant forename", "initial + surname", *jw,
                "different")  # fmt: skip

    @property
    def tf_column(self) -> str | None:  # type: ignore[override]
        return self.surname_col if self.tf else None

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.forename_col, self.surname_col)

    def tf_key(self, values: pd.Series) -> pd.Series:
        return _normalise_names(values)

    def levels_for_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        # One vocabulary for forenames and surnames, so a swap is a code comparison.
        lf, rf = left[self.forename_col], right[self.forename_col]
        ls, rs = left[self.surname_col], right[self.surname_col]
        lcodes, rcodes, strings = _joint_codes(
            pd.concat([lf, ls], ignore_index=True), pd.concat([rf, rs], ignore_index=True), normalise_name
        )
        nl = len(left)
        lfc, lsc = lcodes[:nl], lcodes[nl:]
        rfc, rsc = rcodes[: len(right)], rcodes[len(right) :]
        variant = _Relation(_nickname_pairs(strings, self.nicknames or {}), len(strings))
        sur_token = _Relation(_surname_token_pairs(strings), len(strings))
        initial = np.array([ord(s[0]) if s else -1 for s in strings], dtype=np.int32)
        thresholds = tuple(self.jw_thresholds)
        last = self.n_levels - 1
        sigs = _Signatures.of(strings)
        out = np.empty(len(left_pos), dtype=np.int8)

        def chunk(i: int, j: int) -> np.ndarray:
            af, bf = lfc[left_pos[i:j]], rfc[right_pos[i:j]]
            as_, bs = lsc[left_pos[i:j]], rsc[right_pos[i:j]]
            missing = (af < 0) | (bf < 0) | (as_ < 0) | (bs < 0)
            fore_eq, sur_eq = af == bf, as_ == bs
            settled = (fore_eq & sur_eq) | ((af == bs) & (as_ == bf)) | missing
            # Pairs whose level may need Jaro-Winkler: a nickname match, or both names possibly close.
            maybe = np.flatnonzero(~settled)
            fa, fb, sa, sb = af[maybe], bf[maybe], as_[maybe], bs[maybe]
            close = sigs.jaro_winkler_may_reach(fa, fb, thresholds[-1]) & sigs.jaro_winkler_may_reach(
                sa, sb, thresholds[-1]
            )
            need = maybe[variant.holds(fa, fb) | close | sur_token.holds(sa, sb)]
            o = np.select(
                [fore_eq & sur_eq, (af == bs) & (as_ == bf), (initial[af] == initial[bf]) & sur_eq],
                [0, 1, 3],
                default=last,
            ).astype(np.int8)
            o[missing] = MISSING
            out[i:j] = o
            return need + i

        need = np.concatenate(_map_chunks(len(left_pos), chunk) or [np.empty(0, dtype=np.int64)])
        if len(need):
            af, bf = lfc[left_pos[need]], rfc[right_pos[need]]
            as_, bs = lsc[left_pos[need]], rsc[right_pos[need]]
            jw_f = _unique_pair_jaro_winkler(strings, af, bf)
            jw_s = _unique_pair_jaro_winkler(strings, as_, bs)
            fore_eq = af == bf
            sur_eq = (as_ == bs) | sur_token.holds(as_, bs)
            conds = [
                ~fore_eq & variant.holds(af, bf) & ((jw_s >= thresholds[0]) | sur_eq),
                (initial[af] == initial[bf]) & sur_eq,
            ]
            conds += [(jw_f >= t) & (jw_s >= t) for t in thresholds]
            out[need] = np.select(conds, list(range(2, 2 + len(conds))), default=last).astype(np.int8)
        return out


class _Relation:
    """A symmetric relation between vocabulary codes, as sorted pair keys ``a * n + b``."""

    def __init__(self, pairs: np.ndarray, n: int) -> None:
        self.n = np.int64(max(n, 1))
        self.keys = np.unique(pairs[:, 0].astype(np.int64) * self.n + pairs[:, 1]) if len(pairs) else None

    def holds(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Boolean per (a, b) code pair: related (never for missing codes)."""
        if self.keys is None or len(a) == 0:
            return np.zeros(len(a), dtype=bool)
        key = a.astype(np.int64) * self.n + b
        pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        return (self.keys[pos] == key) & (a >= 0) & (b >= 0)


def _group_pairs(groups: Mapping[object, list[int]]) -> np.ndarray:
    out = [
        (i, j) for members in groups.values() if len(members) > 1 for i in members for j in members if i != j
    ]
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def _nickname_pairs(strings: np.ndarray, nicknames: Mapping[str, str | Collection[str]]) -> np.ndarray:
    """Code pairs of distinct vocabulary strings whose nickname groups meet."""
    groups_of: dict[str, set[str]] = {}
    for key, value in nicknames.items():
        k = normalise_name(key)
        if k is None:
            continue
        values = [value] if isinstance(value, str) else list(value)
        for v in values:
            g = normalise_name(v)
            if g is not None:
                groups_of.setdefault(k, set()).add(g)
                groups_of.setdefault(g, set()).add(g)
    members: dict[object, list[int]] = {}
    for code, s in enumerate(strings):
        for g in groups_of.get(s, ()):
            members.setdefault(g, []).append(code)
    return _group_pairs(members)


_TOKEN_SPLIT = re.compile(r"[\s\-']+")


def _surname_token_pairs(strings: np.ndarray) -> np.ndarray:
    """Code pairs where one string has several tokens (hyphen, space, apostrophe) and the other is one of
    them or shares one of at least three letters ("smith-jones" ~ "jones", "smith-jones" ~ "jones-smith")."""
    tokens = [[t for t in _TOKEN_SPLIT.split(str(s)) if len(t) >= 3] for s in strings]
    multi = [len(t) > 1 for t in tokens]
    if not any(multi):
        return np.empty((0, 2), dtype=np.int64)
    by_token: dict[str, list[int]] = {}
    for code, toks in enumerate(tokens):
        for t in set(toks):
            by_token.setdefault(t, []).append(code)
    out = {
        (i, j)
        for codes in by_token.values()
        if len(codes) > 1 and any(multi[c] for c in codes)
        for i in codes
        for j in codes
        if i != j and (multi[i] or multi[j])
    }
    return np.asarray(sorted(out), dtype=np.int64).reshape(-1, 2)


def _unique_pair_jaro_winkler(strings: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaro-Winkler of each (a, b) code pair, computed once per distinct pair."""
    if len(a) == 0:
        return np.zeros(0)
    ns = np.int64(len(strings))
    inverse, uniq = pd.factorize(a.astype(np.int64) * ns + b, sort=False)
    return _jaro_winkler(strings, uniq // ns, uniq % ns)[inverse]


# --- dates
def _date_ints(values: pd.Series) -> np.ndarray:
    """Dates as ``yyyymmdd`` integers (-1 when missing).

    Datetime columns convert exactly. Year-first strings (``yyyymmdd``, ``yyyy-mm-dd``, ``yyyy/mm/dd``)
    keep their digits, so a mistyped, impossible date such as 1985-13-02 still compares digit by digit;
    other strings (e.g. ``dd/mm/yyyy``) are parsed with ``pd.to_datetime(dayfirst=True)``. Work is per
    distinct value.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        dt = values
    else:
        uniques, inverse = np.unique(
            values.astype("string").fillna("").to_numpy(dtype=object), return_inverse=True
        )
        out_u = np.full(len(uniques), -1, dtype=np.int64)
        text = pd.Series(uniques, dtype=object).str.strip()
        eight = text.str.fullmatch(r"\d{4}[-/.]?\d{2}[-/.]?\d{2}").fillna(False).to_numpy(dtype=bool)
        digits = text[eight].str.replace(r"[^0-9]", "", regex=True)
        out_u[eight] = digits.astype(np.int64).to_numpy()
        rest = ~eight & (pd.Series(uniques).str.len() > 0).to_numpy()
        if rest.any():
            parsed = pd.to_datetime(pd.Series(uniques[rest]), errors="coerce", dayfirst=True, format="mixed")
            ints = (
                (parsed.dt.year * 10000 + parsed.dt.month * 100 + parsed.dt.day).fillna(-1).astype(np.int64)
            )
            out_u[rest] = ints.to_numpy()
        return out_u[inverse]
    ints = (dt.dt.year * 10000 + dt.dt.month * 100 + dt.dt.day).fillna(-1).astype(np.int64)
    return ints.to_numpy()


def _days(values: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as float (NaN when missing)."""
    dt = pd.to_datetime(values, errors="coerce")
    days = dt.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64).astype(float)
    days[dt.isna().to_numpy()] = np.nan
    return days


@dataclass(frozen=True)
class DateComparison(_ColumnComparison):
    """A date such as date of birth: exact / day and month swapped / one digit off / same year / else.

    "One digit off" means the ``yyyymmdd`` forms differ in exactly one digit position.
    """

    col: str
    right_col: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        _name_default(self, self.col)

    @property
    def level_labels(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("exact", "day-month swapped", "one digit off", "same year", "different")

    def levels_for_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        la = _date_ints(left[self.col])
        ra = _date_ints(right[self.right_col or self.col])
        out = np.empty(len(left_pos), dtype=np.int8)

        def chunk(i: int, j: int) -> np.ndarray:
            out[i:j] = _date_levels(la[left_pos[i:j]], ra[right_pos[i:j]])
            return out[:0]

        _map_chunks(len(left_pos), chunk)
        return out


def _date_levels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Date levels for ``yyyymmdd`` integer pairs (see :class:`DateComparison`)."""
    missing = (a < 0) | (b < 0)
    ya, yb = a // 10000, b // 10000
    mda, mdb = a - ya * 10000, b - yb * 10000
    same_year = ya == yb
    out = np.where(same_year, np.int8(3), np.int8(4))
    # One digit off needs the year or the month-day to agree; day-month swap needs the year.
    cand = np.flatnonzero((same_year | (mda == mdb)) & (a != b))
    if len(cand):
        ca, cb = a[cand], b[cand]
        diff_digits = np.zeros(len(cand), dtype=np.int8)
        for k in range(8):
            p = 10**k
            diff_digits += (ca // p % 10 != cb // p % 10).astype(np.int8)
        ma, mb = mda[cand] // 100, mdb[cand] // 100
        da, db = mda[cand] % 100, mdb[cand] % 100
        swapped = same_year[cand] & (ma == db) & (da == mb) & (ma != da)
        out[cand] = np.select([swapped, diff_digits == 1], [1, 2], default=out[cand])
    out[a == b] = 0
    out[missing] = MISSING
    return out


@dataclass(frozen=True)
class DateWindow(PositionalComparison):
    """Absolute gap in days between two date columns: <= windows[0] / <= windows[1] / ... / beyond."""

    left_col: str
    right_col: str | None = None
    windows: tuple[float, ...] = (0, 7, 30, 365)
    name: str | None = None

    def __post_init__(self) -> None:
        _name_default(self, self.left_col if self.right_col in (None, self.left_col) else
                      f"{self.left_col}_{self.right_col}")  # fmt: skip
        _check_thresholds("windows", tuple(self.windows), decreasing=False)

    @property
    def level_labels(self) -> tuple[str, ...]:  # type: ignore[override]
        return (*[f"within {w:g} days" for w in self.windows], "further apart")

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys((self.left_col, self.right_col or self.left_col)))

    def levels_for_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        gap = np.abs(
            _days(left[self.left_col])[left_pos] - _days(right[self.right_col or self.left_col])[right_pos]
        )
        return _threshold_levels(gap, self.windows)


def _threshold_levels(distance: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Level = first threshold the distance is within; last level beyond all; -1 where NaN."""
    edges = np.asarray(thresholds, dtype=float)
    out = np.searchsorted(edges, distance, side="left").astype(np.int8)
    out[np.isnan(distance)] = MISSING
    return out


# --- other values
@dataclass(frozen=True)
class LevenshteinLevels(_ColumnComparison):
    """Edit distance: exact / distance <= thresholds[0] / ... / further (e.g. identifiers, postcodes)."""

    col: str
    thresholds: tuple[int, ...] = (1, 2)
    right_col: str | None = None
    name: str | None = None
    tf: bool = False

    def __post_init__(self) -> None:
        _name_default(self, self.col)
        _check_thresholds("thresholds", tuple(self.thresholds), decreasing=False)
        if self.thresholds[0] < 1:
            raise LinkageError(f"thresholds must start at 1 or more, got {self.thresholds!r}")

    @property
    def level_labels(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("exact", *[f"levenshtein <= {t}" for t in self.thresholds], "different")

    def levels_for_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        lc, rc, strings = _joint_codes(
            left[self.col].astype("string").str.strip().replace("", pd.NA),
            right[self.right_col or self.col].astype("string").str.strip().replace("", pd.NA),
        )
        strings = np.asarray([str(s) for s in strings], dtype=object)
        edges = (0, *self.thresholds)
        worst = self.thresholds[-1]

        def survive(sigs: _Signatures, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
            return sigs.levenshtein_may_be_within(ua, ub, worst)

        def distance_levels(ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
            dist = rf_process.cpdist(strings[ua].tolist(), strings[ub].tolist(), scorer=Levenshtein.distance,
                                     score_cutoff=worst + 1, workers=-1)  # fmt: skip
            return _threshold_levels(dist.astype(float), edges)

        return _string_levels(lc, rc, left_pos, right_pos, strings, self.n_levels, survive=survive,
                              distance_levels=distance_levels)  # fmt: skip


@dataclass(frozen=True)
class NumericDistance(_ColumnComparison):
    """Absolute numeric difference: equal / <= thresholds[0] / ... / further."""

    col: str
    thresholds: tuple[float, ...] = (1.0,)
    right_col: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        _name_default(self, self.col)
        _check_thresholds("thresholds", tuple(self.thresholds), decreasing=False)
        if self.thresholds[0] <= 0:
            raise LinkageError(f"thresholds must be positive, got {self.thresholds!r}")

    @property
    def level_labels(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("equal", *[f"within {t:g}" for t in self.thresholds], "further")

    def levels_for_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        a = pd.to_numeric(left[self.col], errors="coerce").to_numpy(dtype=float)[left_pos]
        b = pd.to_numeric(right[self.right_col or self.col], errors="coerce").to_numpy(dtype=float)[right_pos]
        return _threshold_levels(np.abs(a - b), (0.0, *self.thresholds))


def pair_distances(
    lx: np.ndarray,
    ly: np.ndarray,
    rx: np.ndarray,
    ry: np.ndarray,
    left_pos: np.ndarray,
    right_pos: np.ndarray,
) -> np.ndarray:
    """Straight-line distance per pair of points given by row positions; NaN where either point is
    missing (no arithmetic is done on missing points, so no RuntimeWarning)."""
    ax, ay, bx, by = lx[left_pos], ly[left_pos], rx[right_pos], ry[right_pos]
    ok = np.isfinite(ax) & np.isfinite(ay) & np.isfinite(bx) & np.isfinite(by)
    dist = np.full(len(ax), np.nan)
    dist[ok] = np.hypot(ax[ok] - bx[ok], ay[ok] - by[ok])
    return dist


@dataclass(frozen=True)
class GeoDistance(PositionalComparison):
    """Straight-line distance in metres, computed in British National Grid (EPSG:27700).

    ``x_col``/``y_col`` are longitude/latitude when ``crs="EPSG:4326"`` (default) or easting/northing
    when ``crs="EPSG:27700"``; coordinates are transformed once per column, not per pair. The right
    frame may name its columns differently (``right_x_col``/``right_y_col``) and use ``right_crs``.
    """

    x_col: str
    y_col: str
    thresholds: tuple[float, ...] = (100.0, 1000.0, 5000.0)
    crs: str = WGS84
    right_x_col: str | None = None
    right_y_col: str | None = None
    right_crs: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        _name_default(self, f"distance_{self.x_col}_{self.y_col}")
        _check_thresholds("thresholds", tuple(self.thresholds), decreasing=False)

    @property
    def level_labels(self) -> tuple[str, ...]:  # type: ignore[override]
        return (*[f"within {t:g} m" for t in self.thresholds], "further")

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(
            dict.fromkeys(
                (self.x_col, self.y_col, self.right_x_col or self.x_col, self.right_y_col or self.y_col)
            )
        )

    def levels_for_pairs(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        lx, ly = to_british_national_grid(left[self.x_col], left[self.y_col], self.crs)
        rx, ry = to_british_national_grid(
            right[self.right_x_col or self.x_col],
            right[self.right_y_col or self.y_col],
            self.right_crs or self.crs,
        )
        return _threshold_levels(pair_distances(lx, ly, rx, ry, left_pos, right_pos), self.thresholds)
