"""Checks of a configuration against the police.uk files it names, in the user's own terms.

:func:`police_uk_problems` peeks at each file's header and first row (cheap: no full load) and reports a
configuration whose files hold no crime data (stop-and-search only), or whose ``area.force`` is not the
force the files fall within, each naming the field, the value and the fix.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from linkage.reference.identifiers import _FORCE_ALIASES


def _peek(name: str, data: bytes) -> tuple[str, str | None]:
    """(kind, first row's Falls within) from the first few KB of a police.uk CSV."""
    text = data[:8192].decode("utf-8-sig", errors="replace")
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(x.strip() for x in r)]
    if not rows:
        return "empty", None
    header = [h.strip() for h in rows[0]]
    if "Crime type" in header:
        kind = "street"
    elif "Outcome type" in header:
        kind = "outcomes"
    elif {"Type", "Date"} <= set(header) or "Object of search" in header:
        kind = "stop-and-search"
    else:
        kind = "other"  # not a police.uk header: the loader names the problem
    force = None
    if "Falls within" in header and len(rows) > 1:
        i = header.index("Falls within")
        force = rows[1][i].strip() if i < len(rows[1]) else None
    return kind, force or None


def _files(path: Path) -> Iterable[tuple[str, bytes]]:
    """(name, first bytes) of every CSV in a file, folder or zip."""
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if (
                p.is_file()
                and (p.suffix.lower() in (".csv", ".zip"))
                and not p.name.endswith(".quarantine.csv")
            ):
                yield from _files(p)
        return
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                for n in sorted(archive.namelist()):
                    if n.lower().endswith(".csv"):
                        with archive.open(n) as handle:
                            yield f"{path}!{n}", handle.read(8192)
        except zipfile.BadZipFile:
            return
        return
    if path.is_file():
        with open(path, "rb") as handle:
            yield str(path), handle.read(8192)


def _same_force(a: str, b: str) -> bool:
    return _FORCE_ALIASES.get(a, a) == _FORCE_ALIASES.get(b, b)


def police_uk_problems(
    paths: Iterable[Path], force: str | None, where: str = "sources.police_uk", *, need_street: bool = True
) -> list[str]:
    """Problems of the police.uk files a configuration names: no street files at all (when
    ``need_street``: a public-only configuration), or an ``area.force`` that none of the files falls
    within."""
    kinds: dict[str, int] = {}
    forces: set[str] = set()
    for path in paths:
        for name, data in _files(Path(path)):
            kind, falls_within = _peek(name, data)
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind in ("street", "outcomes") and falls_within:
                forces.add(falls_within)
    if not kinds:
        return []  # missing paths are reported by the path checks
    problems = []
    if need_street and not kinds.get("street") and set(kinds) <= {"outcomes", "stop-and-search"}:
        held = ", ".join(f"{n} {k} file(s)" for k, n in sorted(kinds.items()))
        problems.append(
            f"{where}: no police.uk street (crime) file among the files given ({held}); a report needs "
            "the street files (YYYY-MM-<force>-street.csv): stop-and-search and outcomes files alone hold "
            "no crimes"
        )
    if force and forces and not any(_same_force(force, f) for f in forces):
        problems.append(
            f"area.force: {force!r} but the police.uk files given fall within "
            f"{' and '.join(repr(f) for f in sorted(forces))} (their 'Falls within' column); set area.force "
            f"to {sorted(forces)[0]!r}, or give {force}'s own files"
        )
    return problems


_NUMPY_REPR = re.compile(r"np\.(?:int|float|uint|bool|str)_?\d*\(([^()]*)\)")
_DID_CELLS = re.compile(
    r"need treated and comparison cells before and after go-live (?P<month>\d{4}-\d{2}); "
    r"treated values \[(?P<treated>[^\]]*)\], post values \[(?P<post>[^\]]*)\]"
)


def plain(error: object) -> str:
    """An error message in words for a report or a terminal: numpy reprs (``np.int64(0)``) become plain
    numbers, and the DiD's 'treated values [...], post values [...]' says which crimes are missing."""
    text = _NUMPY_REPR.sub(r"\1", str(error))
    match = _DID_CELLS.search(text)
    if match:
        treated = {float(v) for v in match["treated"].split(",") if v.strip()}
        post = {float(v) for v in match["post"].split(",") if v.strip()}
        lacking = []
        if not treated and not post:
            lacking.append("no crime whose whole measurement window ends before the period end")
        elif 1.0 not in treated:
            lacking.append("no trailblazer-area crimes")
        if treated and 0.0 not in treated:
            lacking.append("no comparison-area crimes")
        if post and 0.0 not in post:
            lacking.append(f"no crimes before go-live {match['month']}")
        if post and 1.0 not in post:
            lacking.append(f"no crimes from go-live {match['month']} on that the measure can use")
        text = (
            "needs crimes of both the trailblazer and the comparison areas, before and after go-live "
            f"{match['month']}; the data have "
            + " and ".join(lacking or ["too few crimes"])
            + " (extend the period, or check period.go_live and the comparison areas' files)"
        )
    return text


class OnceFilter(logging.Filter):
    """Let each distinct log message through once (a gap found for the trailblazer and again for a
    comparison area reading the same folder is said once)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def regenerate_path(source: object) -> str | None:
    """The configuration path for the report's 'regenerate with' line: as given, relative to the
    working folder when it lies inside it."""
    if source is None:
        return None
    path = Path(str(source))
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
