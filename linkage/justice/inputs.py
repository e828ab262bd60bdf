"""Linkage inputs: the left side (one row per crime-suspect) and the right side (one outcome source in a
common form), each with the derived person keys both sides block and compare on.

:func:`build_left` joins crimes to their suspects; :func:`build_right` reads one outcome table through
its :class:`~linkage.justice.outcome_sources.OutcomeSource` (record id, outcome date, offence, outcome
label, extra fields). Text is worked once per distinct value; keys are 64-bit hashes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from linkage.engine import Metaphone, Soundex
from linkage.errors import DataContractError, LinkageError
from linkage.justice.comparisons import dob_digits, dob_plausible, normalise_crime_ref
from linkage.justice.geography import lsoa_area
from linkage.justice.outcome_sources import OutcomeSource, outcome_source
from linkage.reference.identifiers import pnc_parts
from linkage.reference.names import fold_diacritics
from linkage.sources.contracts import EXTRACTS

logger = logging.getLogger(__name__)

__all__ = ["build_left", "build_right", "outcome_labels", "record_ids"]


def _check_table(
    tables: Mapping[str, pd.DataFrame], name: str, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """``tables[name]``, checked to have ``columns`` (default: the contract of ``name``)."""
    if name not in tables:
        raise LinkageError(f"tables lacks {name!r}; has {sorted(tables)}")
    frame = tables[name]
    names = EXTRACTS[name].names if columns is None else columns
    missing = [c for c in names if c not in frame.columns]
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
    # Case- and diacritic-folded name keys for equality blocking ("aMy" meets "Amy", Zoë meets ZOE).
    out["forename1_fold"] = _per_distinct(out["forename1"], lambda u: u.str.casefold())
    out["surname_fold"] = _per_distinct(out["surname"], lambda u: u.str.casefold())
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


def _source(source: str | OutcomeSource) -> OutcomeSource:
    return source if isinstance(source, OutcomeSource) else outcome_source(source)


def record_ids(source: str | OutcomeSource, table: pd.DataFrame) -> pd.Series:
    """The truth ``record_id`` of each row (caution_id, pnd_id, ``case_id:offence_seq``: the source's
    ``record_id`` columns)."""
    return _source(source).record_ids(table)


def outcome_labels(source: str | OutcomeSource, table: pd.DataFrame) -> pd.Series:
    """police.uk outcome label of each record (via linkage.reference.outcomes)."""
    return _source(source).outcome_label(table)


def build_right(source: str | OutcomeSource, table: pd.DataFrame) -> pd.DataFrame:
    """One outcome source in the common right-hand form: record_id, force, person keys, ``off_code``,
    offence_date, outcome_date, outcome_label, then the source's own ``right_fields`` (cautions:
    crime_ref_key; penalty notices: longitude, latitude; court outcomes: case_id, court_area)."""
    src = _source(source)
    right = pd.DataFrame(index=table.index)
    right["source"] = src.id
    right["record_id"] = src.record_ids(table).to_numpy()
    right["force"] = _text(table["force"])
    keys = _person_keys(table, pd.to_datetime(table["offence_date"], errors="coerce"))
    for col in keys.columns:
        right[col] = keys[col]
    right["off_code"] = _text(table[src.offence])
    right["offence_date"] = pd.to_datetime(table["offence_date"], errors="coerce")
    right["outcome_date"] = pd.to_datetime(table[src.outcome_date], errors="coerce")
    right["outcome_label"] = src.outcome_label(table).to_numpy()
    for name, values in src.right_fields:
        right[name] = values(table)
    if right["record_id"].duplicated().any():
        dup = right.loc[right["record_id"].duplicated(), "record_id"].iloc[0]
        raise DataContractError(src.id, f"duplicate record id {dup!r}")
    right = right.reset_index(drop=True)
    right.index.name = "right"
    return right
