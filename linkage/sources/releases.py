"""Re-releases of police.uk months: which file supplies each (force, month, kind).

police.uk republishes months: every monthly archive (``2024-06.zip``) carries the last three years of
files, with each crime's *Last outcome category* updated. Two files for the same force, month and kind
are two releases of that month; loading both would count every crime (and every anti-social behaviour
incident, which has no Crime ID to catch it) twice. The rule here:

* the release of a file is the month of the archive it came from: the nearest enclosing zip or folder
  named ``YYYY-MM`` (optionally ``YYYY-MM.zip``) other than the file's own month folder, or the
  ``release`` given for its path in the configuration (``sources.police_uk: [{path, release}]``);
* for each (force, month, kind) supplied by more than one file, the newest release is used and every row
  of the others is quarantined as ``superseded by a newer release``, with the file used as the value;
* when the releases cannot be told apart (none known, or equal), the file whose path sorts last is used
  and the choice is reported as a guess, so the result never depends on the order files were listed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

_RELEASE_DIR = re.compile(r"^(?:release[-_ ]?)?(\d{4}-(?:0[1-9]|1[0-2]))(?:\.zip)?$", re.IGNORECASE)
_FILE_MONTH = re.compile(r"^(\d{4}-(?:0[1-9]|1[0-2]))-", re.IGNORECASE)

R_SUPERSEDED = "superseded by a newer release"


def _parts(name: str) -> list[str]:
    """Path components of a source name, zip members split out (``a/b.zip!c/d.csv``)."""
    return [p for chunk in name.split("!") for p in PurePosixPath(chunk.replace("\\", "/")).parts]


def file_month(name: str) -> str | None:
    """``YYYY-MM`` from a police.uk file name (``2024-03-durham-street.csv``), else None."""
    match = _FILE_MONTH.match(_parts(name)[-1]) if name else None
    return match.group(1) if match else None


def release_of(name: str, given: str | None = None) -> str | None:
    """The release (archive month ``YYYY-MM``) a file came from, or ``given`` when set, else None."""
    if given:
        return given
    parts = _parts(name)
    own = file_month(name)
    folders = parts[:-1]
    for i in range(len(folders) - 1, -1, -1):
        match = _RELEASE_DIR.match(folders[i])
        if not match:
            continue
        if i == len(folders) - 1 and match.group(1) == own and not folders[i].lower().endswith(".zip"):
            continue  # the file's own month folder inside an archive, not the archive
        return match.group(1)
    return None


@dataclass(frozen=True)
class ReleaseChoice:
    """One (force, month, kind) supplied by more than one file, and the file used."""

    kind: str
    force: str
    month: str
    used: str
    used_release: str | None
    superseded: tuple[str, ...]
    guessed: bool

    def describe(self) -> str:
        """One line for validate output and reports."""
        used = _short(self.used) + (f" (release {self.used_release})" if self.used_release else "")
        text = (
            f"{self.kind}, {self.force}, {self.month}: supplied by {1 + len(self.superseded)} files; used "
            f"{used}, superseded {', '.join(_short(s) for s in self.superseded)}"
        )
        if self.guessed:
            text += (
                " (releases unknown or equal: chose by file name; name each release in the configuration, "
                "sources.police_uk: [{path: ..., release: YYYY-MM}])"
            )
        return text


def _short(name: str) -> str:
    parts = _parts(name)
    return "/".join(parts[-3:]) if len(parts) > 1 else name


def resolve(
    frame: pd.DataFrame, source: pd.Series, kind: str, releases: dict[str, str | None]
) -> tuple[np.ndarray, np.ndarray, list[ReleaseChoice]]:
    """Rows of ``frame`` (with ``falls_within`` and ``month``) whose file is superseded for their
    (force, month), the file used for each of them (the quarantine value), and the choices made.

    ``releases`` maps a source file name to its release (None when unknown).
    """
    n = len(frame)
    superseded = np.zeros(n, dtype=bool)
    used_by = np.full(n, None, dtype=object)
    keys = pd.DataFrame(
        {
            "force": frame["falls_within"].astype("string").to_numpy(),
            "month": pd.to_datetime(frame["month"]).dt.strftime("%Y-%m").to_numpy(),
            "file": source.astype("string").to_numpy(),
        }
    ).dropna()
    if keys.empty:
        return superseded, used_by, []
    per_key = (
        keys.drop_duplicates().groupby(["force", "month"], sort=True)["file"].agg(lambda s: sorted(set(s)))
    )
    choices: list[ReleaseChoice] = []
    file_col = source.astype("string").to_numpy()
    force_col = keys["force"].reindex(range(n)).to_numpy()
    month_col = keys["month"].reindex(range(n)).to_numpy()
    for (force, month), files in per_key.items():
        if len(files) < 2:
            continue
        ranked = sorted(files, key=lambda f: (releases.get(f) or "", f))
        winner = ranked[-1]
        top = releases.get(winner)
        guessed = top is None or sum(releases.get(f) == top for f in files) > 1
        losers = tuple(f for f in files if f != winner)
        choices.append(ReleaseChoice(kind, str(force), str(month), winner, top, losers, guessed))
        hit = (force_col == force) & (month_col == month) & np.isin(file_col, list(losers))
        superseded |= hit
        used_by[hit] = winner
    return superseded, used_by, choices
