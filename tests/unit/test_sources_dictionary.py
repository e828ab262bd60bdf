"""docs/data_dictionary.md documents every column the loaders produce or the contracts require."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linkage.sources import (
    EXTRACTS,
    OUTCOMES_COLUMNS,
    QUARANTINE_COLUMNS,
    STOP_AND_SEARCH_COLUMNS,
    STREET_COLUMNS,
)

DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data_dictionary.md"


def _section_columns(heading: str) -> set[str]:
    """Backticked names in the first cell of table rows under the heading that contains ``heading``."""
    text = DICTIONARY.read_text(encoding="utf-8")
    start = text.index(heading)
    nxt = re.search(r"^#{2,3} ", text[start + len(heading) :], flags=re.M)
    body = text[start : start + len(heading) + (nxt.start() if nxt else len(text))]
    return set(re.findall(r"^\| `([^`]+)` \|", body, flags=re.M))


@pytest.mark.parametrize(
    ("heading", "columns"),
    [
        ("`street` canonical form", STREET_COLUMNS),
        ("`outcomes` canonical form", OUTCOMES_COLUMNS),
        ("`stop-and-search` canonical form", STOP_AND_SEARCH_COLUMNS),
        ("## 3. Quarantine table", QUARANTINE_COLUMNS),
    ],
)
def test_police_uk_and_quarantine_columns_documented(heading, columns):
    assert set(columns) <= _section_columns(heading)


@pytest.mark.parametrize("kind", sorted(EXTRACTS))
def test_every_contract_column_documented_with_required_flag(kind):
    documented = _section_columns(f"### `{kind}`")
    contract = EXTRACTS[kind]
    assert set(contract.names) <= documented, set(contract.names) - documented
    text = DICTIONARY.read_text(encoding="utf-8")
    for column in contract.columns:
        pattern = rf"^\| `{column.name}` \| [^|]+ \| {'yes' if column.required else 'no'} \|"
        section = text[text.index(f"### `{kind}`") :]
        assert re.search(pattern, section, flags=re.M), f"{kind}.{column.name} required flag"
