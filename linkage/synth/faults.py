"""Vectorised recording faults: name typos, nicknames, date-of-birth slips, PNC forms, shifted dates.

Every function takes whole arrays and a ``numpy.random.Generator``; strings are edited as fixed-width
code-point matrices, so there is no Python loop per record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.synth.people import nickname_table

# QWERTY neighbours of each lower-case letter: the substitution a hurried typist makes.
_NEIGHBOURS = {
    "a": "qwsz",
    "b": "vghn",
    "c": "xdfv",
    "d": "serfcx",
    "e": "wsdr",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "i": "ujko",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "m": "njk",
    "n": "bhjm",
    "o": "iklp",
    "p": "ol",
    "q": "wa",
    "r": "edft",
    "s": "awedxz",
    "t": "rfgy",
    "u": "yhji",
    "v": "cfgb",
    "w": "qase",
    "x": "zsdc",
    "y": "tghu",
    "z": "asx",
}
_NB_WIDTH = max(len(v) for v in _NEIGHBOURS.values())
_NB = np.zeros((0x80, _NB_WIDTH), dtype=np.uint32)
_NB_N = np.zeros(0x80, dtype=np.int64)
for _c, _nb in _NEIGHBOURS.items():
    for _case in (str.lower, str.upper):
        _code = ord(_case(_c))
        _NB[_code, : len(_nb)] = [ord(_case(x)) for x in _nb]
        _NB_N[_code] = len(_nb)

TYPO_KINDS: tuple[str, ...] = ("substitute", "delete", "insert", "transpose")


def _as_matrix(values: np.ndarray, extra: int = 1) -> tuple[np.ndarray, np.ndarray]:
    text = np.asarray(values, dtype=str)
    n = len(text)
    width = max(text.dtype.itemsize // 4, 1)
    matrix = np.zeros((n, width + extra), dtype=np.uint32)
    if n:
        matrix[:, :width] = np.ascontiguousarray(text).view(np.uint32).reshape(n, width)
    return matrix, np.char.str_len(text)


def _from_matrix(matrix: np.ndarray) -> np.ndarray:
    n, width = matrix.shape
    if n == 0:
        return np.array([], dtype=object)
    return np.ascontiguousarray(matrix).view(f"<U{width}").ravel().astype(object)


def keyboard_typos(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One keyboard slip per string: substitute a neighbouring key, delete, insert or transpose.

    Strings shorter than 3 characters only get substitutions. Case follows the position (a letter
    inserted or substituted at position 0 is upper case).
    """
    matrix, lengths = _as_matrix(values)
    n, width = matrix.shape
    if n == 0:
        return np.array([], dtype=object)
    kind = rng.integers(0, 4, n)
    kind[lengths < 3] = 0
    pos = np.floor(rng.random(n) * np.maximum(lengths - (kind == 3), 1)).astype(np.int64)
    rows = np.arange(n)
    cols = np.arange(width)
    same_pair = (kind == 3) & (matrix[rows, pos] == matrix[rows, np.minimum(pos + 1, width - 1)])
    kind[same_pair] = 0  # transposing a double letter changes nothing: substitute instead
    current = matrix[rows, pos]
    in_table = current < 0x80
    n_nb = np.where(in_table, _NB_N[np.minimum(current, 0x7F)], 0)
    pick = np.floor(rng.random(n) * np.maximum(n_nb, 1)).astype(np.int64)
    neighbour = np.where(n_nb > 0, _NB[np.minimum(current, 0x7F), pick], current)
    random_letter = np.where(pos == 0, ord("A"), ord("a")) + rng.integers(0, 26, n)
    out = matrix.copy()
    sub = kind == 0
    out[rows[sub], pos[sub]] = np.where(n_nb[sub] > 0, neighbour[sub], random_letter[sub])
    dele = kind == 1
    if dele.any():
        src = np.where(cols[None, :] >= pos[dele, None], cols[None, :] + 1, cols[None, :])
        shifted = np.take_along_axis(np.pad(matrix[dele], ((0, 0), (0, 1))), src, axis=1)
        out[dele] = shifted
    ins = kind == 2
    if ins.any():
        src = np.where(cols[None, :] > pos[ins, None], cols[None, :] - 1, cols[None, :])
        shifted = np.take_along_axis(matrix[ins], src, axis=1)
        shifted[np.arange(ins.sum()), pos[ins]] = neighbour[ins]
        out[ins] = shifted
    tr = kind == 3
    if tr.any():
        r, p = rows[tr], pos[tr]
        out[r, p], out[r, p + 1] = matrix[r, p + 1], matrix[r, p]
    return _from_matrix(out)


def nicknames(forenames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random nickname or spelling variant per forename; returns (names, changed) where changed is
    False for forenames with no variant in the table (those are returned unchanged)."""
    table = nickname_table().sort_values(["forename", "variant"], kind="stable").reset_index(drop=True)
    starts = table.groupby("forename", sort=False).cumcount().eq(0)
    first = pd.Series(np.flatnonzero(starts.to_numpy()), index=table.loc[starts, "forename"].to_numpy())
    counts = table.groupby("forename", sort=False).size()
    names = pd.Series(np.asarray(forenames, dtype=object))
    start = names.map(first)
    count = names.map(counts)
    has = start.notna().to_numpy()
    out = names.to_numpy(dtype=object).copy()
    if has.any():
        offset = np.floor(rng.random(has.sum()) * count[has].to_numpy()).astype(np.int64)
        out[has] = table["variant"].to_numpy(dtype=object)[start[has].to_numpy(np.int64) + offset]
    return out, has


def dob_day_month_swap(dob: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Swap day and month where the day is 12 or less and differs from the month; returns (dates, swapped)."""
    dob = pd.Series(pd.to_datetime(dob))
    ok = (dob.dt.day <= 12) & (dob.dt.day != dob.dt.month)
    ok = ok.fillna(False).to_numpy()
    month = np.where(ok, dob.dt.day.fillna(1).to_numpy(), 1)
    day = np.where(ok, dob.dt.month.fillna(1).to_numpy(), 1)
    year = dob.dt.year.fillna(2000).to_numpy()
    parts = pd.DataFrame({"year": year, "month": month, "day": day})
    swapped = pd.Series(pd.to_datetime(parts).to_numpy(), index=dob.index)
    return dob.where(~ok, swapped).astype("datetime64[ns]"), ok


def dob_wrong_digit(dob: pd.Series, rng: np.random.Generator) -> pd.Series:
    """One digit wrong: the last digit of the year, or the units digit of the day (kept within 1-28)."""
    dob = pd.Series(pd.to_datetime(dob)).reset_index(drop=True)
    n = len(dob)
    year, month, day = dob.dt.year.to_numpy(), dob.dt.month.to_numpy(), dob.dt.day.to_numpy()
    which = rng.random(n) < 0.5
    step = rng.integers(1, 10, n)
    new_year = year - year % 10 + (year % 10 + step) % 10
    tens = np.minimum(day // 10, 2)
    new_units = (day % 10 + step) % 10
    new_day = tens * 10 + new_units
    new_day = np.where((new_day < 1) | (new_day > 28), np.where(day == 1, 2, 1), new_day)
    new_day = np.where(new_day == day, np.where(day == 1, 2, 1), new_day)
    leap_day = (month == 2) & (day == 29)  # 29 February of a year that may no longer be a leap year
    parts = pd.DataFrame(
        {
            "year": np.where(which, new_year, year),
            "month": month,
            "day": np.where(which, np.where(leap_day, 28, day), new_day),
        }
    )
    return pd.to_datetime(parts).astype("datetime64[ns]")


def shift_days(dates: pd.Series, rng: np.random.Generator, max_days: int) -> pd.Series:
    """Move each date by 1..max_days days, earlier or later at random."""
    n = len(dates)
    delta = rng.integers(1, max_days + 1, n) * np.where(rng.random(n) < 0.5, -1, 1)
    return (
        pd.Series(pd.to_datetime(dates)).reset_index(drop=True) + pd.to_timedelta(delta, unit="D")
    ).astype("datetime64[ns]")


def digit_typo(values: np.ndarray, rng: np.random.Generator, last: int = 6) -> np.ndarray:
    """Change one of the last ``last`` characters (assumed digits) of each string to another digit."""
    matrix, lengths = _as_matrix(values, extra=0)
    n = len(matrix)
    if n == 0:
        return np.array([], dtype=object)
    pos = lengths - 1 - rng.integers(0, last, n)
    pos = np.clip(pos, 0, None)
    rows = np.arange(n)
    cur = matrix[rows, pos].astype(np.int64) - ord("0")
    new = (cur + rng.integers(1, 10, n)) % 10 + ord("0")
    is_digit = (cur >= 0) & (cur <= 9)
    matrix[rows[is_digit], pos[is_digit]] = new[is_digit]
    return _from_matrix(matrix)


def hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` opaque 64-character lower-case hex IDs (like police.uk Crime IDs)."""
    lut = np.array([f"{i:02x}" for i in range(256)], dtype="<U2")
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    return np.ascontiguousarray(lut[raw]).view("<U64").ravel().astype(object)


def _dates_from_ints(ints: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """``yyyymmdd`` integers to datetimes; (dates, valid) with NaT where not a calendar date."""
    parsed = pd.to_datetime(
        pd.Series(np.asarray(ints, dtype=np.int64).astype(str)), format="%Y%m%d", errors="coerce"
    )
    return parsed.astype("datetime64[ns]"), parsed.notna().to_numpy()


def _ints(dob: pd.Series) -> np.ndarray:
    d = pd.Series(pd.to_datetime(dob)).reset_index(drop=True)
    return (d.dt.year * 10000 + d.dt.month * 100 + d.dt.day).to_numpy(dtype=np.int64)


def dob_year_slip(dob: pd.Series, rng: np.random.Generator) -> pd.Series:
    """The year of birth mistyped: a century slip (19xx <-> 20xx), the tens digit wrong (2072 for 2002),
    or off by one; a third each. The result may be impossible (in the future): that is the fault."""
    ints = _ints(dob)
    year, md = ints // 10000, ints % 10000
    kind = rng.integers(0, 3, len(ints))
    century = np.where(year >= 2000, year - 100, year + 100)
    tens = (year // 10) % 10
    new_tens = (tens + rng.integers(1, 10, len(ints))) % 10
    tens_wrong = year - tens * 10 + new_tens * 10
    off_one = year + np.where(rng.random(len(ints)) < 0.5, -1, 1)
    new_year = np.select([kind == 0, kind == 1], [century, tens_wrong], default=off_one)
    new_md = np.where((md == 229), 228, md)  # 29 February may not exist in the new year
    dates, _ = _dates_from_ints(new_year * 10000 + new_md)
    return dates


def dob_transpose(dob: pd.Series, rng: np.random.Generator) -> tuple[pd.Series, np.ndarray]:
    """Two adjacent, different digits of ``yyyymmdd`` transposed where the result is still a calendar
    date; returns (dates, changed)."""
    ints = _ints(dob)
    n = len(ints)
    out = ints.copy()
    changed = np.zeros(n, dtype=bool)
    for _ in range(4):  # a few tries at another position for the rows still unchanged
        todo = ~changed
        if not todo.any():
            break
        k = rng.integers(0, 7, n)  # digit position from the left: k and k + 1
        p_hi = 10 ** (7 - k)
        p_lo = 10 ** (6 - k)
        d_hi = ints // p_hi % 10
        d_lo = ints // p_lo % 10
        cand = ints + (d_lo - d_hi) * p_hi + (d_hi - d_lo) * p_lo
        _, valid = _dates_from_ints(cand)
        ok = todo & valid & (d_hi != d_lo)
        out[ok] = cand[ok]
        changed |= ok
    dates, _ = _dates_from_ints(out)
    return dates, changed


def dob_month_digit(dob: pd.Series, rng: np.random.Generator) -> tuple[pd.Series, np.ndarray]:
    """One digit of the month wrong (03 -> 08, 11 -> 01), the result still a calendar date; returns
    (dates, changed)."""
    ints = _ints(dob)
    n = len(ints)
    year, month, day = ints // 10000, ints // 100 % 100, ints % 100
    units = month % 10
    new_units = (units + rng.integers(1, 10, n)) % 10
    new_month = np.where(
        month >= 10, np.where(rng.random(n) < 0.5, new_units + 10, units), month - units + new_units
    )
    new_month = np.where((new_month < 1) | (new_month > 12), month, new_month)
    cand = year * 10000 + new_month * 100 + day
    dates, valid = _dates_from_ints(cand)
    changed = valid & (new_month != month)
    orig, _ = _dates_from_ints(ints)
    return orig.where(~changed, dates), changed


def surname_changes(surnames: np.ndarray, new_surnames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Married or double-barrelled surnames: half take ``new_surnames``, half become ``old-new`` or
    ``new-old`` (hyphenated)."""
    old = np.asarray(surnames, dtype=object)
    new = np.asarray(new_surnames, dtype=object)
    n = len(old)
    hyphen = rng.random(n) < 0.5
    first = rng.random(n) < 0.5
    joined = np.where(first, old + "-" + new, new + "-" + old)
    return np.where(hyphen, joined, new)


def unlisted_cjs_codes(codes: np.ndarray, listed: set[str], rng: np.random.Generator) -> np.ndarray:
    """A CJS code of the same statute family (first four characters) whose number is not in ``listed``
    (the crosswalk): the real list has thousands of codes; ours a few hundred."""
    codes = np.asarray(codes, dtype=object)
    out = codes.copy()
    for i, code in enumerate(codes):
        if code is None or pd.isna(code) or len(str(code)) < 5:
            continue
        fam = str(code)[:4]
        for _ in range(20):
            cand = f"{fam}{int(rng.integers(0, 1000)):03d}"
            if cand not in listed:
                out[i] = cand
                break
    return out
