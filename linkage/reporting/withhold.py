"""Small areas degrade, not die: what disclosure control cannot protect is withheld, the rest published.

A report on a small area (a single month of City of London, a handful of LSOAs) can hold tables whose
suppressed cells stay recoverable from other published figures whatever else is suppressed. Rather than
stop the whole report, :func:`guard` withholds a section whose own protection fails, and
:func:`audit_or_withhold` withholds the outcome tables the cross-table audit finds exposed, one table at
a time, until nothing withheld can be recovered. Each withheld table leaves a note in its section and a
row in the disclosure log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from linkage.errors import LinkageError
from linkage.evaluation.disclosure import LOG_COLUMNS
from linkage.reporting.document import Section

logger = logging.getLogger(__name__)

WITHHELD = "withheld: too few crimes to publish safely"


def _log(table: str, reason: str) -> dict[str, str]:
    return {"table": table, "row": "all", "column": "all", "action": "table withheld", "reason": reason}


def _is_protection_failure(exc: LinkageError) -> bool:
    text = str(exc)
    return any(
        k in text
        for k in (
            "audit_tables:",
            "secondary suppression could not protect",
            "recoverable by differencing",
            "did not settle",
        )
    )


def guard(key: str, title: str, build: Callable[..., Section], *args: Any, **kwargs: Any) -> Section:
    """``build(*args, **kwargs)``; when disclosure control cannot protect its tables, the section with
    every table withheld and a note saying so (any other error is raised)."""
    try:
        return build(*args, **kwargs)
    except LinkageError as exc:
        if not _is_protection_failure(exc):
            raise
        logger.warning("%s: %s (%s)", title, WITHHELD, exc)
        sec = Section(key, title)
        sec.paragraphs.append(
            f"The tables and maps of this section are {WITHHELD}: with so few crimes, suppressed cells "
            "could be worked out from the other published figures whatever else was suppressed. Use a "
            "longer period or a larger area to publish them."
        )
        sec.log = pd.DataFrame([_log(title, WITHHELD)], columns=LOG_COLUMNS)
        return sec


_BASE = {
    "grand total": "outcomes_by_crime_type_counts",
    "public crimes": "outcomes_public_vs_linked",
}


def _base_table(name: str) -> str:
    name = _BASE.get(name, name)
    return name.split(" (")[0]


def audit_or_withhold(
    audit: Callable[[list[Section]], pd.DataFrame], sections: list[Section], slug: str
) -> pd.DataFrame:
    """Run the cross-table ``audit`` (one row per withheld cell, ``exposed`` must be all False); while
    any cell is exposed, withhold the first exposed table (removed from its section, with a note) and
    audit again. Returns the disclosure log rows: the audit summary and one row per withheld table."""
    rows: list[dict[str, str]] = []
    for _ in range(20):
        result = audit(sections)
        exposed = result[result["exposed"]]
        if exposed.empty:
            rows.insert(
                0,
                {
                    "table": "outcome tables (jointly)",
                    "row": "all",
                    "column": "all",
                    "action": "cross-table audit",
                    "reason": f"{len(result)} withheld cell(s) checked against every published figure of "
                    "the outcome tables of the same crimes; none recoverable",
                },
            )
            return pd.DataFrame(rows, columns=LOG_COLUMNS)
        target = _base_table(str(exposed["table"].iloc[0]))
        removed = False
        for sec in sections:
            keep = [b for b in sec.tables if b.name != target]
            if len(keep) != len(sec.tables):
                caption = next(b.caption for b in sec.tables if b.name == target)
                sec.tables = keep
                sec.paragraphs.append(f"Table '{caption}' {WITHHELD}.")
                sec.headline = []  # headline figures come from the same counts
                removed = True
        if not removed:
            raise LinkageError(
                f"{slug}: withheld cells recoverable by differencing published tables and no table left "
                f"to withhold: {'; '.join(f'{r.table}: {r.cell}' for r in exposed.itertuples())}"
            )
        logger.warning("%s: table %s %s", slug, target, WITHHELD)
        rows.append(
            _log(target, f"{WITHHELD}: its suppressed cells could be recovered from other published tables")
        )
    raise LinkageError(f"{slug}: the cross-table audit did not settle after withholding 20 tables")
