"""The outcome vocabulary table (linkage/reference/data/outcomes.csv) and the constants read from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage.errors import DataContractError
from linkage.evaluation.rates import GROUP_ORDER, NO_OUTCOME, OUTCOME_GROUPS
from linkage.reference.outcomes import (
    LEGACY_OUTCOME_LABELS,
    OUTCOME_CATEGORIES,
    OUTCOME_RANK,
    OUTCOME_VOCABULARY,
    read_outcome_vocabulary,
)

ROOT = Path(__file__).resolve().parents[2]
HEADER = "label,stage,rank,group,legacy_aliases\n"


def test_one_row_per_current_label_and_every_constant_reads_it():
    assert len(OUTCOME_VOCABULARY) == 28
    assert [o.label for o in OUTCOME_VOCABULARY] == list(OUTCOME_CATEGORIES)
    assert all(OUTCOME_RANK[o.label] == o.rank for o in OUTCOME_VOCABULARY)
    assert all(OUTCOME_GROUPS[o.label] == o.group for o in OUTCOME_VOCABULARY)
    assert LEGACY_OUTCOME_LABELS["Offender imprisoned"] == "Offender sent to prison"


def test_groups_are_the_reported_groups():
    assert {o.group for o in OUTCOME_VOCABULARY} == set(GROUP_ORDER) - {NO_OUTCOME}


def test_the_labels_are_written_once():
    """No module outside the synthetic generator restates the vocabulary: a label used in no rule or prose
    appears only in the table (linkage/synth keeps its own published outcome shares to draw from)."""
    label = "Further investigation is not in the public interest"
    modules = [p for p in (ROOT / "linkage").rglob("*.py") if "synth" not in p.relative_to(ROOT).parts]
    assert len(modules) > 20
    assert [p.relative_to(ROOT) for p in modules if label in p.read_text("utf-8")] == []
    assert label in (ROOT / "linkage/reference/data/outcomes.csv").read_text("utf-8")


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("Suspect charged,police,4,Charged,\nSuspect charged,police,4,Charged,\n", "label"),
        ("Suspect charged,crown,4,Charged,\n", "stage"),
        ("Suspect charged,police,9,Charged,\n", "rank"),
        ("Suspect charged,police,four,Charged,\n", "rank"),
        ("Suspect charged,police,4,,\n", "group"),
        ("Suspect charged,police,4,Charged,Suspect charged\n", "legacy_aliases"),
    ],
)
def test_a_bad_row_names_file_row_and_column(tmp_path, row, column):
    path = tmp_path / "outcomes.csv"
    path.write_text(HEADER + row, encoding="utf-8")
    with pytest.raises(DataContractError) as caught:
        read_outcome_vocabulary(path)
    assert caught.value.column == column and caught.value.row in (2, 3)
    assert str(path) in str(caught.value)


def test_a_wrong_header_or_short_row_is_refused(tmp_path):
    path = tmp_path / "outcomes.csv"
    path.write_text("label,stage\nSuspect charged,police\n", encoding="utf-8")
    with pytest.raises(DataContractError, match="header"):
        read_outcome_vocabulary(path)
    path.write_text(HEADER + "Suspect charged,police,4\n", encoding="utf-8")
    with pytest.raises(DataContractError, match="number of fields"):
        read_outcome_vocabulary(path)
