"""Checks of a configuration against the police.uk files it names, in the user's own terms.

:func:`police_uk_problems` peeks at each file's header and first row (cheap: no full load) and reports a
configuration whose files hold no crime data (stop-and-search only), or whose ``area.force`` is not the
force the files fall within, each naming the field, the value and the fix.
"""

from __future__ import annotations

import csv
import io
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
    kind = "street" if "Crime type" in header else "outcomes" if "Outcome type" in header else "other"
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
    paths: Iterable[Path], force: str | None, where: str = "sources.police_uk"
) -> list[str]:
    """Problems of the police.uk files a configuration names: no street files at all, or an ``area.force``
    that none of the street files falls within."""
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
    if not kinds.get("street"):
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
