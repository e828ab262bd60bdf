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

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from linkage.errors import LinkageError

try:  # the engine's base class; a minimal stand-in keeps this module importable on its own
    from linkage.engine import Comparison
except ImportError:  # pragma: no cover - only while the engine is absent

    class Comparison:  # type: ignore[no-redef]
        """Minimal stand-in for ``linkage.engine.Comparison``."""

        name: str = ""
        level_labels: tuple[str, ...] = ()
        tf_column: str | None = None

        def levels(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
            raise NotImplementedError


logger = logging.getLogger(__name__)

__all__ = [
    "CrimeRefComparison",
    "DirectionalDate",
    "ForceComparison",
    "OffenceCompatibility",
    "PlaceDistance",
    "PncComparison",
    "normalise_crime_ref",
    "normalise_pnc",
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
_PNC_RE = r"^(?P<year>\d{2}|\d{4})/(?P<serial>\d{1,7})(?P<check>[A-Z])$"


def normalise_pnc(values: pd.Series) -> pd.DataFrame:
    """Parse PNC IDs into ``form`` ('long'/'short'), ``yy`` (2-digit year), ``serial`` (7 digits), ``check``.

    Case, spaces and leading zeros of the serial are ignored: ``' 2019/123a '``, ``'19/0000123A'`` and
    ``'2019/0000123A'`` all parse to year ``19``, serial ``0000123``, check ``A``. Unparseable or blank
    values give missing fields. ``key`` is ``yy/serial7check`` (the same for both forms); ``canonical``
    keeps the form (``yyyy/serial7check`` or ``yy/serial7check``).
    """
    text = values.astype("string").str.upper().str.replace(r"\s+", "", regex=True)
    parts = text.str.extract(_PNC_RE)
    year = parts["year"]
    serial = parts["serial"].str.zfill(7)
    form = pd.Series(pd.NA, index=values.index, dtype="string")
    form = form.mask(year.str.len() == 4, "long").mask(year.str.len() == 2, "short")
    yy = year.str[-2:]
    key = yy + "/" + serial + parts["check"]
    canonical = year + "/" + serial + parts["check"]
    return pd.DataFrame(
        {
            "form": form,
            "yy": yy,
            "serial": serial,
            "check": parts["check"],
            "key": key,
            "canonical": canonical,
        }
    )


class PncComparison(Comparison):
    """PNC ID: 0 identical (after normalising case, spaces, leading zeros); 1 same year, serial and check
    letter written in the other form (short ``YY/`` vs long ``YYYY/``); 2 different; -1 missing."""

    level_labels = ("exact", "same serial, other form", "different")

    def __init__(self, column: str = "pnc_id", name: str = "pnc_id") -> None:
        self.column = column
        self.name = name
        self.tf_column = None

    def levels(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        _check_aligned(left, right, self.name)
        _check_columns(left, [self.column], "left", self.name)
        _check_columns(right, [self.column], "right", self.name)
        a = normalise_pnc(left[self.column].reset_index(drop=True))
        b = normalise_pnc(right[self.column].reset_index(drop=True))
        missing = (a["key"].isna() | b["key"].isna()).to_numpy()
        exact = (a["canonical"] == b["canonical"]).fillna(False).to_numpy(bool)
        other_form = (a["form"] != b["form"]).fillna(False).to_numpy(bool)
        same_key = (a["key"] == b["key"]).fillna(False).to_numpy(bool) & other_form
        out = np.full(len(a), 2, dtype=np.int8)
        out[same_key] = 1
        out[exact] = 0
        out[missing] = _MISSING
        return out


# ------------------------------------------------------------------------------------ directional time
def _as_datetime(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values, errors="coerce").to_numpy("datetime64[ns]")


class DirectionalDate(Comparison):
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

    def lag_days(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        """Outcome minus offence in days (float, NaN when either is missing).

        The offence date is looked up on whichever side holds ``offence_column`` (normally the crime, left),
        the outcome date on the side holding ``outcome_column`` (normally the outcome record, right).
        """
        _check_aligned(left, right, self.name)
        outcome = self._pick(left, right, self.outcome_column)
        offence = self._pick(left, right, self.offence_column)
        delta = (_as_datetime(outcome) - _as_datetime(offence)).astype("timedelta64[s]").astype("float64")
        delta[np.isnat(_as_datetime(outcome)) | np.isnat(_as_datetime(offence))] = np.nan
        return delta / 86400.0

    def _pick(self, left: pd.DataFrame, right: pd.DataFrame, column: str) -> pd.Series:
        if column in right.columns:
            return right[column]
        if column in left.columns:
            return left[column]
        raise LinkageError(f"{self.name}: neither frame has column {column!r}")

    def levels(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        lag = self.lag_days(left, right)
        out = np.full(len(lag), 3, dtype=np.int8)
        out[lag <= self.long_days] = 1
        out[(lag >= -self.tolerance_days) & (lag <= self.typical_days)] = 0
        out[lag < -self.tolerance_days] = 2
        out[np.isnan(lag)] = _MISSING
        return out


# ------------------------------------------------------------------------------ offence compatibility
class OffenceCompatibility(Comparison):
    """The crime's Home Office code against the outcome's CJS code or penalty notice offence.

    Levels come from :func:`linkage.reference.offence_relation`: 0 same offence, 1 same group (charge
    altered), 2 compatible group, 3 incompatible, -1 missing or unmapped.
    """

    level_labels = ("same offence", "same group", "compatible group", "incompatible")

    def __init__(self, ho_column: str, other_column: str, kind: str, name: str = "offence") -> None:
        if kind not in ("cjs", "pnd"):
            raise LinkageError(f"OffenceCompatibility: kind must be 'cjs' or 'pnd', got {kind!r}")
        self.ho_column = ho_column
        self.other_column = other_column
        self.kind = kind
        self.name = name
        self.tf_column = None

    def levels(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        from linkage.reference import offence_relation

        _check_aligned(left, right, self.name)
        _check_columns(left, [self.ho_column], "left", self.name)
        _check_columns(right, [self.other_column], "right", self.name)
        # The crosswalk is looked up once per distinct (HO, other) pair, then broadcast back.
        codes = pd.DataFrame(
            {
                "ho": left[self.ho_column].astype("string").to_numpy(),
                "other": right[self.other_column].astype("string").to_numpy(),
            }
        )
        uniq, inverse = _unique_pairs(codes)
        rel = np.asarray(
            offence_relation(uniq["ho"].to_numpy(object), uniq["other"].to_numpy(object), kind=self.kind),
            dtype=np.int8,
        )
        return rel[inverse]


def _unique_pairs(codes: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct rows of a two-column frame of codes and, per input row, the index of its distinct row."""
    joined = codes.iloc[:, 0].fillna("\x00") + "\x1f" + codes.iloc[:, 1].fillna("\x00")
    inverse, uniq = pd.factorize(joined, sort=False)
    parts = pd.Series(uniq, dtype="string").str.split("\x1f", n=1, expand=True, regex=False)
    frame = pd.DataFrame({codes.columns[0]: parts[0], codes.columns[1]: parts[1]})
    frame = frame.mask(frame == "\x00")
    return frame, np.asarray(inverse)


# ------------------------------------------------------------------------------------------- place
_TRANSFORMER = None


def _to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude (EPSG:4326) to British National Grid metres (EPSG:27700)."""
    global _TRANSFORMER
    if _TRANSFORMER is None:
        from pyproj import Transformer

        _TRANSFORMER = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    return _TRANSFORMER.transform(lon, lat)


class PlaceDistance(Comparison):
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

    def distance_m(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        """Euclidean distance in metres on EPSG:27700; NaN where a coordinate is missing."""
        _check_aligned(left, right, self.name)
        _check_columns(left, list(self.left_lonlat), "left", self.name)
        _check_columns(right, list(self.right_lonlat), "right", self.name)
        lx, ly = _to_bng(
            pd.to_numeric(left[self.left_lonlat[0]], errors="coerce").to_numpy(float),
            pd.to_numeric(left[self.left_lonlat[1]], errors="coerce").to_numpy(float),
        )
        rx, ry = _to_bng(
            pd.to_numeric(right[self.right_lonlat[0]], errors="coerce").to_numpy(float),
            pd.to_numeric(right[self.right_lonlat[1]], errors="coerce").to_numpy(float),
        )
        dist = np.hypot(np.asarray(lx) - np.asarray(rx), np.asarray(ly) - np.asarray(ry))
        dist[~np.isfinite(dist)] = np.nan
        return dist

    def levels(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        dist = self.distance_m(left, right)
        out = np.full(len(dist), len(self.thresholds_m), dtype=np.int8)
        for level, limit in reversed(list(enumerate(self.thresholds_m))):
            out[dist <= limit] = level
        out[np.isnan(dist)] = _MISSING
        return out


class ForceComparison(Comparison):
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

    def levels(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        _check_aligned(left, right, self.name)
        _check_columns(left, [self.left_column], "left", self.name)
        _check_columns(right, [self.right_column], "right", self.name)
        a = _clean_text(left[self.left_column])
        b = _clean_text(right[self.right_column])
        missing = (a.isna() | b.isna()).to_numpy()
        same = (a == b).fillna(False).to_numpy(bool)
        out = np.full(len(a), len(self.level_labels) - 1, dtype=np.int8)
        if self.neighbours:
            pairs = {(k.casefold(), n.casefold()) for k, vs in self.neighbours.items() for n in vs}
            pairs |= {(n, k) for k, n in pairs}
            key = pd.Series(list(zip(a.fillna(""), b.fillna(""), strict=True)))
            out[key.isin(pairs).to_numpy()] = 1
        out[same] = 0
        out[missing] = _MISSING
        return out


def _clean_text(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.casefold().reset_index(drop=True)
    return text.mask(text == "")


# --------------------------------------------------------------------------------------- crime_ref
def normalise_crime_ref(values: pd.Series) -> pd.Series:
    """Upper case with spaces, hyphens, slashes and dots removed; blank becomes missing."""
    text = values.astype("string").str.upper().str.replace(r"[\s\-/\.]+", "", regex=True)
    return text.mask(text == "").reset_index(drop=True)


class CrimeRefComparison(Comparison):
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

    def levels(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        _check_aligned(left, right, self.name)
        _check_columns(left, [self.left_column], "left", self.name)
        _check_columns(right, [self.right_column], "right", self.name)
        a = normalise_crime_ref(left[self.left_column])
        b = normalise_crime_ref(right[self.right_column])
        missing = (a.isna() | b.isna()).to_numpy()
        aa = a.fillna("").to_list()
        bb = b.fillna("").to_list()
        lev = process.cpdist(aa, bb, scorer=Levenshtein.distance, workers=1)
        osa = process.cpdist(aa, bb, scorer=OSA.distance, workers=1)
        out = np.full(len(a), 2, dtype=np.int8)
        out[(lev <= self.max_edits) | (osa <= 1)] = 1
        out[lev == 0] = 0
        out[missing] = _MISSING
        return out
