"""Name reference data for linkage: forename nickname groups from a published list.

The list is the ``nicknames`` data set (Apache-2.0, see ``linkage/reference/data/NICKNAMES.md``), bundled so
nothing downloads at run time. It is independent of the synthetic world's own nickname table.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources

import pandas as pd

__all__ = ["fold_diacritics", "nickname_groups"]


def fold_diacritics(text: str) -> str:
    """``text`` without combining marks (é -> e, ö -> o), NFKD-decomposed then recomposed."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


@cache
def nickname_groups() -> dict[str, frozenset[str]]:
    """Casefolded forename -> the groups it belongs to. A group is a formal name with its nicknames
    (``william``: william, bill, will, billy, ...); two forenames are variants of each other when their
    groups intersect. Many-to-many: ``ron`` is in the groups of aaron, ronald and veronica."""
    source = resources.files("linkage.reference").joinpath("data", "nicknames.csv")
    with resources.as_file(source) as path:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    groups: dict[str, set[str]] = {}
    for formal, nick in zip(table["name1"], table["name2"], strict=True):
        f = fold_diacritics(formal.strip().casefold())
        n = fold_diacritics(nick.strip().casefold())
        if not f or not n:
            continue
        groups.setdefault(f, set()).add(f)
        groups.setdefault(n, set()).add(f)
    return {k: frozenset(v) for k, v in groups.items()}
