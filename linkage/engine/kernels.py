"""Comparison kernels: the array functions behind :mod:`linkage.engine.comparisons`.

Everything here works on numpy arrays of value codes and pair positions, with no comparison objects:
name normalisation (once per distinct value), joint value coding, a cheap character-signature bound
(:class:`_Signatures`) that rules out most string pairs before any distance, chunked string levels
(:func:`_string_levels`), Jaro-Winkler and phonetic codes per distinct string, nickname and surname-token
relations, ``yyyymmdd`` date integers and date levels, threshold levels and point distances. The
comparison classes (:mod:`linkage.engine.comparisons`) and the blocking keys
(:mod:`linkage.engine.blocking`) build on them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process as rf_process
from rapidfuzz.distance import JaroWinkler

from linkage.errors import LinkageError

logger = logging.getLogger(__name__)

__all__ = ["MISSING", "normalise_name", "pair_distances"]

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
# The threads of every small pool of the engine (chunked kernels, comparisons side by side, blocking passes,
# scoring): numpy, pyarrow and rapidfuzz release the GIL in their loops. One setting; 1 = every step serial.
THREADS = max(1, min(4, os.cpu_count() or 1))


def _map_chunks(n: int, fn: Callable[[int, int], np.ndarray]) -> list[np.ndarray]:
    """``fn(start, stop)`` over chunks of ``_CHUNK`` pairs, in a small thread pool (numpy releases
    the GIL inside its loops); results in chunk order, so output does not depend on scheduling."""
    bounds = [(i, min(i + _CHUNK, n)) for i in range(0, n, _CHUNK)]
    if THREADS == 1 or len(bounds) < 4:
        return [fn(i, j) for i, j in bounds]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(lambda b: fn(*b), bounds))


# Pairs per chunk of run_chunks (a module setting so tests can force many chunks on small data).
RUN_CHUNK = 1 << 18


def run_chunks(n: int, fn: Callable[[int, int], None], chunk: int | None = None) -> None:
    """Call ``fn(start, stop)`` over ``[0, n)`` in chunks (``RUN_CHUNK`` pairs unless ``chunk``) on the
    thread pool; ``fn`` writes its slice of preallocated outputs, so the result is the same whatever the
    scheduling."""
    chunk = RUN_CHUNK if chunk is None else chunk
    bounds = [(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    if THREADS == 1 or len(bounds) < 2:
        for i, j in bounds:
            fn(i, j)
        return
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for _ in pool.map(lambda b: fn(*b), bounds):
            pass


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


# --- name relations
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


# --- distances
def _threshold_levels(distance: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Level = first threshold the distance is within; last level beyond all; -1 where NaN."""
    edges = np.asarray(thresholds, dtype=float)
    out = np.searchsorted(edges, distance, side="left").astype(np.int8)
    out[np.isnan(distance)] = MISSING
    return out


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
