"""Section prose lives in templates (templates/prose/<section>.txt.j2), not in Python strings."""

from __future__ import annotations

import ast
from pathlib import Path

import jinja2
import pytest

import linkage.reporting.sections as sections_pkg
from linkage.reporting.sections._common import prose

SECTION_FILES = sorted(Path(sections_pkg.__file__).parent.glob("*.py"))


def _is_prose_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "prose"


def test_section_paragraphs_come_from_templates():
    """Every paragraph a section adds (and every 'needs' text) is rendered from a template by
    :func:`prose`; no section builds its prose from string literals."""
    offenders = []
    for path in SECTION_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            adds = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("append", "insert")
                and getattr(node.func.value, "attr", "") == "paragraphs"
            )
            if adds and not _is_prose_call(node.args[-1]):
                offenders.append(f"{path.name}:{node.lineno}")
            sets_needs = isinstance(node, ast.Assign) and any(
                getattr(t, "attr", "") == "needs" for t in node.targets
            )
            if sets_needs and not (_is_prose_call(node.value) or isinstance(node.value, ast.Name)):
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


def test_prose_renders_one_line_and_refuses_missing_values():
    text = prose("outcomes", "method", view="linked")
    assert text.startswith("Outcomes are taken from the linked view. Each crime is counted once")
    assert "\n" not in text and "  " not in text
    assert prose(
        "data_summary",
        "source_totals",
        source="crimes",
        rows_read=12345,
        files=2,
        accepted=12000,
        quarantined=345,
    ) == ("crimes: 12,345 rows read in 2 file(s); 12,000 accepted and 345 quarantined.")
    with pytest.raises(jinja2.UndefinedError):
        prose("maps", "method", view="linked")  # threshold missing
