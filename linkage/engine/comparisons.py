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
Those array functions (the kernels) live in :mod:`linkage.engine.kernels`; this module holds the
comparison classes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from rapidfuzz import process as rf_process
from rapidfuzz.distance import Levenshtein

from linkage.engine.kernels import (
    _PHONETIC,
    MISSING,
    _check_thresholds,
    _date_ints,
    _date_levels,
    _days,
    _jaro_winkler,
    _joint_codes,
    _map_chunks,
    _nickname_pairs,
    _normalise_names,
    _pair_codes,
    _phonetic_ids,
    _Relation,
    _Signatures,
    _string_levels,
    _surname_token_pairs,
    _threshold_levels,
    _unique_pair_jaro_winkler,
    normalise_name,
    pair_distances,
)
from linkage.errors import LinkageError
from linkage.geography import WGS84, to_british_national_grid  # re-exported: engine callers project with it

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


# --- dates
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
