"""Sources: police.uk files of every vintage and restricted extracts, validated on load with quarantine."""

from __future__ import annotations

from linkage.sources._common import QUARANTINE_COLUMNS, LoadResult, LoadSummary
from linkage.sources.contracts import EXTRACTS, OUTCOME_SOURCES, Column, TableContract
from linkage.sources.extracts import read_extract
from linkage.sources.police_uk import (
    OUTCOMES_COLUMNS,
    STOP_AND_SEARCH_COLUMNS,
    STREET_COLUMNS,
    read_police_uk,
)

__all__ = [
    "EXTRACTS",
    "OUTCOMES_COLUMNS",
    "OUTCOME_SOURCES",
    "QUARANTINE_COLUMNS",
    "STOP_AND_SEARCH_COLUMNS",
    "STREET_COLUMNS",
    "Column",
    "LoadResult",
    "LoadSummary",
    "TableContract",
    "read_extract",
    "read_police_uk",
]
