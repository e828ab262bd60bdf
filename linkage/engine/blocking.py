"""Blocking rules: which record pairs are worth comparing.

A :class:`BlockingRule` is a small value (``block_on("surname", "dob")``) whose keys are columns or
derived keys (:class:`Soundex`, :class:`Metaphone`, :class:`Substr`, :class:`Year`, a ``(left, right)``
column pair, or any ``frame -> Series`` callable). Records pair up when every key part is equal and
non-missing on both sides. Several rules form a union in which each pair appears once and remembers
the first rule that generated it (as Splink records ``match_key``).

Candidate generation is a vectorised sort-join on integer key codes (``np.searchsorted`` plus
``np.repeat``): no Python loop over records or pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jellyfish
import numpy as np
import pandas as pd

from linkage.engine import jit, kernels
from linkage.engine.kernels import _date_ints
from linkage.errors import LinkageError

logger = logging.getLogger(__name__)

__all__ = [
    "BlockingKey",
    "BlockingRule",
    "CandidatePairs",
    "DateRange",
    "Metaphone",
    "Soundex",
    "Substr",
    "Year",
    "all_pairs",
    "block_on",
    "generate_candidates",
]


class BlockingKey:
    """A derived blocking key: ``key(frame) -> Series`` aligned with ``frame``."""

    column: str

    def __call__(self, frame: pd.DataFrame) -> pd.Series:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """Short text for rule names."""
        return f"{type(self).__name__.lower()}({self.column})"


def _is_text(values: pd.Series) -> bool:
    """A string column, or an object column holding only strings (and missing values)."""
    if pd.api.types.is_string_dtype(values) and values.dtype != object:
        return True
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _clean_strings(values: pd.Series) -> pd.Series:
    """Casefolded, trimmed text (blank -> missing), worked once per distinct value of a text column."""
    if not _is_text(values):
        out = values.astype("string").str.casefold().str.strip()
        return out.mask(out.eq(""))
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    clean = pd.Series(np.asarray(uniques, dtype=object), dtype="string").str.casefold().str.strip()
    table = np.append(clean.mask(clean.eq("")).to_numpy(dtype=object, na_value=pd.NA), pd.NA)
    return pd.Series(pd.array(table[codes], dtype="string"), index=values.index)


def _per_unique(values: pd.Series, fn: Callable[[str], str]) -> pd.Series:
    """Apply a scalar string function once per distinct value (phonetic codes are not vectorised)."""
    cleaned = _clean_strings(values)
    codes, uniques = pd.factorize(cleaned)
    mapped = np.array(
        [fn("".join(ch for ch in u if ch.isalpha())) or None for u in uniques] + [None], dtype=object
    )
    return pd.Series(mapped[codes], index=values.index, dtype=object)


@dataclass(frozen=True)
class Soundex(BlockingKey):
    """Soundex code of a name column (``jellyfish.soundex`` per distinct value)."""

    column: str

    def __call__(self, frame: pd.DataFrame) -> pd.Series:
        return _per_unique(frame[self.column], jellyfish.soundex)


@dataclass(frozen=True)
class Metaphone(BlockingKey):
    """Metaphone code of a name column (``jellyfish.metaphone`` per distinct value)."""

    column: str

    def __call__(self, frame: pd.DataFrame) -> pd.Series:
        return _per_unique(frame[self.column], jellyfish.metaphone)


@dataclass(frozen=True)
class Substr(BlockingKey):
    """``length`` characters from ``start`` of a string column (casefolded, trimmed)."""

    column: str
    start: int = 0
    length: int = 1

    def __call__(self, frame: pd.DataFrame) -> pd.Series:
        out = _clean_strings(frame[self.column]).str.slice(self.start, self.start + self.length)
        return out.mask(out.eq(""))

    def describe(self) -> str:
        return f"substr({self.column},{self.start},{self.length})"


@dataclass(frozen=True)
class Year(BlockingKey):
    """Calendar year of a date column (datetimes, ``yyyymmdd`` digits, or strings pandas can parse)."""

    column: str

    def __call__(self, frame: pd.DataFrame) -> pd.Series:
        # The same reading of dates as DateComparison: 8-digit strings keep their digits (a mistyped
        # month still yields its year), datetimes convert exactly, other strings are parsed.
        ints = _date_ints(frame[self.column])
        return pd.Series(np.where(ints >= 0, ints // 10000, -1), index=frame.index).replace(-1, pd.NA)


KeyExpr = str | tuple[str, str] | BlockingKey | Callable[[pd.DataFrame], pd.Series]


def _describe(expr: KeyExpr) -> str:
    if isinstance(expr, str):
        return expr
    if isinstance(expr, tuple):
        return f"{expr[0]}={expr[1]}"
    if isinstance(expr, BlockingKey):
        return expr.describe()
    return getattr(expr, "__name__", type(expr).__name__)


def _evaluate(expr: KeyExpr, frame: pd.DataFrame, side: int) -> pd.Series:
    if isinstance(expr, str):
        col = expr
    elif isinstance(expr, tuple):
        col = expr[side]
    else:
        out = expr(frame)
        if len(out) != len(frame):
            raise LinkageError(
                f"blocking key {_describe(expr)!r} returned {len(out)} values for {len(frame)} rows"
            )
        return pd.Series(np.asarray(out, dtype=object), index=frame.index)
    if col not in frame.columns:
        raise LinkageError(f"blocking column {col!r} not in the data (columns: {list(frame.columns)})")
    values = frame[col]
    if _is_text(values):
        # blank text is missing: tested once per distinct value
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        blank = pd.Series(np.asarray(uniques, dtype=object), dtype="string").str.strip().eq("")
        blank_rows = np.append(blank.to_numpy(dtype=bool, na_value=False), False)[codes]
        if blank_rows.any():
            values = values.mask(blank_rows)
    elif values.dtype == object or pd.api.types.is_string_dtype(values):
        values = values.mask(values.astype("string").str.strip().eq(""))
    return values


@dataclass(frozen=True)
class DateRange:
    """A date window added to a blocking rule's keys: a pair is kept only when ``right_col`` minus
    ``left_col`` is between ``min_days`` and ``max_days`` (inclusive), e.g. an outcome dated from a few days
    before to ``long_days`` after the offence. With ``keep_missing`` (default) a pair whose date is missing
    on either side is kept on the keys alone, so a missing date never loses a pair the keys would make.

    Coarse keys (initials, a birth year) collide more as a population grows; the window keeps only the
    collisions close in time, which bounds a record's candidates by the records of a period rather than
    of the whole extract. Joined on ``(key, day)`` by the same vectorised sort-join (ranges, not equality).

    A window of fixed length still holds more records the bigger the population, so a key shared by
    unrelated people still pairs each right record with a number of left records that grows with it.
    ``nearest=K`` bounds that: of the left records a right record pairs with inside the window, only the
    ``K`` whose ``left_col`` date is nearest the right record's ``nearest_col`` date (default
    ``right_col``; its ``right_col`` date when that is missing) are kept, with every other record as near
    as the ``K``-th (ties), so the pairs do not depend on the rows' order (a sorted neighbourhood within
    the key, as ``recordlinkage.index.SortedNeighbourhood`` is within a sort order). A right record's
    pairs are then bounded by ``K`` and the records of its nearest days, not by the population.
    ``nearest_col`` may name two right columns (anchors): a left record's distance is then to the nearer
    of the two dates, so one mistyped date of the right record does not lose its pair, and the bound is
    still ``K``. A
    right record with no date, and a left record with a missing date (``keep_missing``), keep every pair
    of their keys.
    """

    left_col: str
    right_col: str
    min_days: int
    max_days: int
    keep_missing: bool = True
    nearest: int | None = None
    nearest_col: str | tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if int(self.max_days) < int(self.min_days):
            raise LinkageError(f"DateRange: max_days ({self.max_days}) < min_days ({self.min_days})")
        if self.nearest is not None and int(self.nearest) < 1:
            raise LinkageError(f"DateRange: nearest must be a positive number of records, got {self.nearest}")
        if self.nearest_col is not None and self.nearest is None:
            raise LinkageError("DateRange: nearest_col needs nearest (how many records to keep)")
        if not 1 <= len(self.anchors()) <= 2:
            raise LinkageError(f"DateRange: nearest_col names one or two columns, got {self.nearest_col!r}")

    def anchors(self) -> tuple[str, ...]:
        """The right columns whose dates the ``nearest`` records are nearest."""
        if self.nearest_col is None:
            return (self.right_col,)
        return (self.nearest_col,) if isinstance(self.nearest_col, str) else tuple(self.nearest_col)

    def describe(self) -> str:
        """Short text for rule names."""
        text = f"{self.right_col}-{self.left_col} in [{self.min_days},{self.max_days}]d"
        if self.nearest is not None:
            text += f", {self.nearest} nearest {'|'.join(self.anchors())}"
        return text


def _days(frame: pd.DataFrame, col: str) -> np.ndarray:
    """Days since 1970-01-01 per row (int64), ``-(1 << 40)`` where the date is missing or unreadable."""
    if col not in frame.columns:
        raise LinkageError(f"blocking date column {col!r} not in the data (columns: {list(frame.columns)})")
    values = frame[col]
    if not pd.api.types.is_datetime64_any_dtype(values) or isinstance(values.dtype, pd.DatetimeTZDtype):
        values = pd.to_datetime(values, errors="coerce")
    days = np.asarray(values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64))
    return np.where(values.isna().to_numpy(), _NO_DAY, days)


# Blocking passes run side by side (on kernels.THREADS threads) when the left side has this many rows.
_PARALLEL_BLOCKING_MIN = 1 << 12

_NO_DAY = -(1 << 40)
_DAY_SPAN = np.int64(1 << 22)  # composite key = code * span + (day + offset); days within +-2 million
_DAY_OFFSET = np.int64(1 << 21)


@dataclass(frozen=True)
class BlockingRule:
    """Pairs agreeing on every key (all non-missing), and within ``window`` if given. Build with
    :func:`block_on`."""

    keys: tuple[KeyExpr, ...]
    name: str
    window: DateRange | None = None

    def key_codes(self, left: pd.DataFrame, right: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
        """Integer key code per row of each side (``-1`` when any key part is missing)."""
        other = left if right is None else right
        lcode = np.zeros(len(left), dtype=np.int64)
        rcode = np.zeros(len(other), dtype=np.int64)
        for part, expr in enumerate(self.keys):
            lv = _evaluate(expr, left, 0)
            rv = _evaluate(expr, other, 1)
            both_values = pd.concat([lv, rv], ignore_index=True)
            if lv.dtype != rv.dtype or both_values.dtype == object:
                both_values = both_values.astype(object)  # mixed kinds compare as Python objects
            codes, uniques = pd.factorize(both_values, use_na_sentinel=True)
            codes = np.asarray(codes, dtype=np.int64)
            lc, rc = codes[: len(left)], codes[len(left) :]
            if part == 0:
                # the first part's codes are the key codes (the pairs depend on which codes are equal,
                # not on their values): no mixing and re-factorising
                lcode, rcode = lc, rc
                continue
            k = np.int64(len(uniques) + 1)
            # Mixed radix then re-factorise so codes stay small whatever the number of key parts.
            lmix = np.where((lcode < 0) | (lc < 0), -1, lcode * k + lc)
            rmix = np.where((rcode < 0) | (rc < 0), -1, rcode * k + rc)
            both, _ = pd.factorize(np.concatenate([lmix, rmix]))
            both = np.asarray(both, dtype=np.int64)
            both[np.concatenate([lmix, rmix]) < 0] = -1
            # pd.factorize gives -1 a code of its own; restore the missing marker.
            lcode, rcode = both[: len(left)], both[len(left) :]
        return lcode, rcode

    def admits(
        self, left: pd.DataFrame, right: pd.DataFrame, left_pos: np.ndarray, right_pos: np.ndarray
    ) -> np.ndarray:
        """Whether this rule alone generates each given pair (keys equal and present, and within the
        window, a missing date keeping the pair when ``keep_missing``): the test behind :meth:`pairs`,
        for pairs named in advance (e.g. the true pairs, for pair completeness)."""
        if self.window is not None and self.window.nearest is not None:
            # whether a pair is among a record's nearest depends on the other records: ask the pairs
            lp, rp = self.pairs(left, right)
            radix = np.int64(max(len(right), 1))
            made = lp * radix + rp  # sorted: pairs() returns (left, right) order
            asked = np.asarray(left_pos, dtype=np.int64) * radix + np.asarray(right_pos, dtype=np.int64)
            at = np.minimum(np.searchsorted(made, asked), max(len(made) - 1, 0))
            return (made[at] == asked) if len(made) else np.zeros(len(asked), dtype=bool)
        lcode, rcode = self.key_codes(left, right)
        found = (lcode[left_pos] >= 0) & (lcode[left_pos] == rcode[right_pos])
        if self.window is not None:
            w = self.window
            lday, rday = _days(left, w.left_col)[left_pos], _days(right, w.right_col)[right_pos]
            missing = (lday == _NO_DAY) | (rday == _NO_DAY)
            gap = rday - lday
            inside = ~missing & (gap >= int(w.min_days)) & (gap <= int(w.max_days))
            found &= inside | (missing & w.keep_missing)
        return found

    def pairs(self, left: pd.DataFrame, right: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Row positions ``(left_pos, right_pos)`` of the pairs this rule alone generates."""
        lcode, rcode = self.key_codes(left, right)
        if self.window is None:
            return _sort_join(lcode, rcode, dedupe=right is None)
        other = left if right is None else right
        w = self.window
        lday, rday = _days(left, w.left_col), _days(other, w.right_col)
        if w.nearest is not None:
            if right is None:
                raise LinkageError(
                    f"blocking rule {self.name!r}: nearest needs two tables, not one to dedupe"
                )
            ranks = []
            for anchor in w.anchors():
                rank = rday if anchor == w.right_col else _days(right, anchor)
                ranks.append(np.where(rank == _NO_DAY, rday, rank))
            lp, rp = _nearest_join(lcode, rcode, lday, rday, ranks, w)
            missing_pairs = ((np.where(lday == _NO_DAY, lcode, -1), rcode),) if w.keep_missing else ()
        else:
            lp, rp = _window_join(lcode, rcode, lday, rday, int(w.min_days), int(w.max_days))
            l_missing, r_missing = lday == _NO_DAY, rday == _NO_DAY
            missing_pairs = (
                (
                    (np.where(l_missing, lcode, -1), rcode),
                    (np.where(l_missing, -1, lcode), np.where(r_missing, rcode, -1)),
                )
                if w.keep_missing
                else ()
            )
        parts_l, parts_r = [lp], [rp]
        for lc, rc in missing_pairs:
            a, b = _sort_join(lc, rc, dedupe=False)
            parts_l.append(a)
            parts_r.append(b)
        lp, rp = np.concatenate(parts_l), np.concatenate(parts_r)
        if right is None:
            keep = lp < rp
            lp, rp = lp[keep], rp[keep]
        order = np.lexsort((rp, lp))
        return lp[order], rp[order]


def block_on(
    *keys: KeyExpr,
    key: Callable[[pd.DataFrame], pd.Series] | None = None,
    name: str | None = None,
    window: DateRange | None = None,
) -> BlockingRule:
    """A blocking rule on columns and/or derived keys, e.g. ``block_on(Soundex("surname"), Year("dob"))``.

    ``key`` adds a function computing a blocking key column from a frame. A ``(left_col, right_col)``
    tuple blocks a left column against a differently named right column. ``window`` (a
    :class:`DateRange`) also requires the two sides' dates to be within a range of days.
    """
    parts: list[KeyExpr] = list(keys)
    if key is not None:
        parts.append(key)
    if not parts:
        raise LinkageError("block_on needs at least one column or key, got none")
    for p in parts:
        if not (isinstance(p, str | BlockingKey) or callable(p) or (isinstance(p, tuple) and len(p) == 2)):
            raise LinkageError(f"block_on: cannot block on {p!r}; give a column name, a key or a callable")
    if window is not None and not isinstance(window, DateRange):
        raise LinkageError(f"block_on: window must be a DateRange, got {window!r}")
    described = [_describe(p) for p in parts] + ([window.describe()] if window is not None else [])
    return BlockingRule(keys=tuple(parts), name=name or " & ".join(described), window=window)


def all_pairs(name: str = "all pairs") -> BlockingRule:
    """Every pair (recordlinkage's full index). Only for small data: n_left x n_right pairs."""
    return BlockingRule(keys=(_constant_key,), name=name)


def _constant_key(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(0, index=frame.index)


def _sort_join(lcode: np.ndarray, rcode: np.ndarray, *, dedupe: bool) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with ``lcode[i] == rcode[j] >= 0`` (and ``i < j`` when deduplicating), sorted by
    ``i`` then by the place of ``j`` in a stable sort of ``rcode``: right rows sorted once, each left row's
    run found by two ``searchsorted`` calls, the pairs written straight into two preallocated int64
    arrays (:func:`linkage.engine.jit.emit_join_pairs`, left rows in chunks on the thread pool)."""
    order = np.argsort(rcode, kind="stable")
    rsorted = rcode[order]
    start = np.searchsorted(rsorted, lcode, side="left")
    end = np.searchsorted(rsorted, lcode, side="right")
    counts = np.where(lcode >= 0, end - start, 0)
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    first = ends - counts
    left_pos = np.empty(total, dtype=np.int64)
    right_pos = np.empty(total, dtype=np.int64)
    order = order.astype(np.int64, copy=False)
    # Chunks of left rows holding about RUN_CHUNK pairs each (at least 1024 rows).
    rows = max(1024, int(len(lcode) * kernels.RUN_CHUNK / max(total, 1)))
    kernels.run_chunks(
        len(lcode),
        lambda lo, hi: jit.emit_join_pairs(order, start, counts, first, lo, hi, left_pos, right_pos),
        chunk=rows,
    )
    if dedupe:
        keep = left_pos < right_pos
        left_pos, right_pos = left_pos[keep], right_pos[keep]
    return left_pos, right_pos


def _check_days(lday: np.ndarray, rday: np.ndarray, l_margin: int, r_margin: int) -> None:
    """Refuse dates a composite ``(key, day)`` cannot hold: each side's days, moved by up to its margin
    (the window's widest reach, on the side that searches), must stay within ``_DAY_OFFSET`` of 1970."""
    if (np.abs(lday) >= _DAY_OFFSET - l_margin).any() or (np.abs(rday) >= _DAY_OFFSET - r_margin).any():
        raise LinkageError("blocking window: a date is too far from 1970 to key on")


def _window_join(
    lcode: np.ndarray, rcode: np.ndarray, lday: np.ndarray, rday: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with ``lcode[i] == rcode[j] >= 0`` and ``lo <= rday[j] - lday[i] <= hi`` (both dates
    present): right rows sorted on the composite ``(code, day)``, each left row's range found by two
    ``searchsorted`` calls."""
    r_ok = (rcode >= 0) & (rday != _NO_DAY)
    l_ok = (lcode >= 0) & (lday != _NO_DAY)
    _check_days(lday[l_ok], rday[r_ok], max(abs(lo), abs(hi)), 0)
    r_idx = np.flatnonzero(r_ok)
    r_key = rcode[r_idx] * _DAY_SPAN + (rday[r_idx] + _DAY_OFFSET)
    order = np.argsort(r_key, kind="stable")
    r_sorted, r_idx = r_key[order], r_idx[order]
    l_idx = np.flatnonzero(l_ok)
    base = lcode[l_idx] * _DAY_SPAN + (lday[l_idx] + _DAY_OFFSET)
    start = np.searchsorted(r_sorted, base + lo, side="left")
    end = np.searchsorted(r_sorted, base + hi, side="right")
    counts = end - start
    total = int(counts.sum())
    left_pos = np.repeat(l_idx.astype(np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    right_pos = r_idx[np.repeat(start, counts) + offsets].astype(np.int64)
    return left_pos, right_pos


def _nearest_join(
    lcode: np.ndarray,
    rcode: np.ndarray,
    lday: np.ndarray,
    rday: np.ndarray,
    ranks: list[np.ndarray],
    w: DateRange,
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of :func:`_window_join` (left dates present), each right row keeping only its
    ``w.nearest`` left rows nearest in date to its ``ranks`` (one or two anchor days; with two, the
    distance to the nearer); a right row whose window date is missing searches its key's every dated left
    row (when ``w.keep_missing``), and one with no anchor date keeps them all."""
    l_ok = (lcode >= 0) & (lday != _NO_DAY)
    _check_days(lday[l_ok], rday[rday != _NO_DAY], 0, max(abs(w.min_days), abs(w.max_days)))
    l_idx = np.flatnonzero(l_ok)
    l_key = lcode[l_idx] * _DAY_SPAN + (lday[l_idx] + _DAY_OFFSET)
    order = np.argsort(l_key, kind="stable")  # by key, then day, then row
    l_sorted, l_idx = l_key[order], l_idx[order].astype(np.int64)
    l_day = lday[l_idx]
    base = rcode * _DAY_SPAN
    dated = rday != _NO_DAY
    low = np.where(dated, base + rday - int(w.max_days) + _DAY_OFFSET, base)
    high = np.where(dated, base + rday - int(w.min_days) + _DAY_OFFSET, base + _DAY_SPAN - 1)
    start = np.searchsorted(l_sorted, low, side="left")
    end = np.searchsorted(l_sorted, high, side="right")
    searched = (rcode >= 0) & (dated | w.keep_missing)
    end = np.where(searched, np.maximum(end, start), start)
    a, b = ranks if len(ranks) == 2 else (ranks[0], ranks[0])
    a, b = np.where(a == _NO_DAY, b, a), np.where(b == _NO_DAY, a, b)  # a missing anchor: the other
    runs = [(np.empty_like(start), np.empty_like(end)) for _ in range(2)]
    jit.nearest_bounds(l_day, start, end, a, b, a != _NO_DAY, int(w.nearest), *runs[0], *runs[1])
    parts_l, parts_r = [], []
    for lo, hi in runs:
        counts = hi - lo
        first = np.cumsum(counts) - counts
        total = int(counts.sum())
        left_pos = np.empty(total, dtype=np.int64)
        right_pos = np.empty(total, dtype=np.int64)
        # each right row's run of sorted left rows, written as a sort join's (sides swapped)
        jit.emit_join_pairs(l_idx, lo, counts, first, 0, len(rcode), right_pos, left_pos)
        parts_l.append(left_pos)
        parts_r.append(right_pos)
    return np.concatenate(parts_l), np.concatenate(parts_r)


@dataclass(frozen=True)
class CandidatePairs:
    """Candidate pairs as row positions, sorted by (left, right); ``rule`` indexes ``rule_names``."""

    left_pos: np.ndarray
    right_pos: np.ndarray
    rule: np.ndarray
    rule_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.left_pos)

    def counts_by_rule(self) -> pd.Series:
        """Number of pairs first generated by each rule."""
        counts = np.bincount(self.rule, minlength=len(self.rule_names))
        return pd.Series(counts, index=list(self.rule_names), name="pairs")


def generate_candidates(
    rules: Sequence[BlockingRule], left: pd.DataFrame, right: pd.DataFrame | None = None
) -> CandidatePairs:
    """The union of the rules' pairs, each pair once, tagged with the first rule that generated it.

    ``right=None`` deduplicates ``left`` (pairs ``i < j``).
    """
    if not rules:
        raise LinkageError("blocking_rules is empty; give at least one block_on(...) rule")
    n_right = len(left) if right is None else len(right)
    radix = np.int64(max(n_right, 1))
    if len(rules) == 1:
        # One rule whose pairs come sorted and distinct (a sort join does): they are the union as they
        # are, with no sort, no deduplication and no pair-code round trip.
        lp, rp = rules[0].pairs(left, right)
        lp, rp = np.asarray(lp, dtype=np.int64), np.asarray(rp, dtype=np.int64)
        if jit.pairs_increasing(lp, rp):  # one pass, no pair-code temporaries
            logger.debug("blocking rule %r: %d pairs", rules[0].name, len(lp))
            return CandidatePairs(lp, rp, np.zeros(len(lp), dtype=np.int16), (rules[0].name,))
        code = lp * radix + rp
        del lp, rp

    def rule_codes(rule: BlockingRule) -> np.ndarray:
        lp, rp = rule.pairs(left, right)
        return lp * radix + rp

    # The passes are independent: on a small thread pool (numpy sorts and searches release the GIL),
    # results kept in the rules' order, so the union does not depend on scheduling.
    threads = kernels.THREADS
    if len(rules) == 1:
        chunks = [code]  # not sorted and distinct (above): the general union below
    elif threads > 1 and len(left) >= _PARALLEL_BLOCKING_MIN:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            chunks = list(pool.map(rule_codes, rules))
    else:
        chunks = [rule_codes(rule) for rule in rules]
    tags = []
    for idx, (rule, code) in enumerate(zip(rules, chunks, strict=True)):
        logger.debug("blocking rule %r: %d pairs", rule.name, len(code))
        tags.append(np.full(len(code), idx, dtype=np.int16))
    # One sort of every rule's pairs by (pair, rule); the first row of each pair is its first rule.
    codes = np.concatenate(chunks)
    rule_ids = np.concatenate(tags)
    order = np.lexsort((rule_ids, codes))
    codes, rule_ids = codes[order], rule_ids[order]
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    codes, rule_ids = codes[first], rule_ids[first]
    return CandidatePairs(
        left_pos=codes // radix,
        right_pos=codes % radix,
        rule=rule_ids,
        rule_names=tuple(r.name for r in rules),
    )
