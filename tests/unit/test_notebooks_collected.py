"""Every notebook in notebooks/ is collected and executed by nbval, stays thin, and matches its source.

The notebooks are part of ``make test`` (pytest runs with ``--nbval-lax``); this test fails when a notebook
would silently not run (not collected), defines functions, lacks a tagged parameters cell, or when its
``.ipynb`` and its jupytext ``.py`` source (the reviewed copy) hold different cells.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def _code_cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_there_are_numbered_notebooks():
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        assert re.match(r"^\d{2}_[a-z0-9_]+\.ipynb$", path.name), path.name


def test_every_notebook_is_collected_by_nbval():
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "notebooks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    collected = {line.split("::")[0] for line in out.stdout.splitlines() if "::" in line}
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in collected, f"{path.name} not collected:\n{out.stdout}"
    assert all(name.endswith(".ipynb") for name in collected), f"not only notebooks collected:\n{out.stdout}"


def test_every_notebook_has_its_jupytext_source():
    assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS]
    for path in SOURCES:
        header = jupytext.read(path).metadata.get("jupytext", {})
        assert header.get("formats") == "ipynb,py:percent", f"{path.name}: not paired as ipynb,py:percent"


def _cells(notebook) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (c["cell_type"], "".join(c["source"]).strip("\n"), tuple(c.get("metadata", {}).get("tags", [])))
        for c in notebook["cells"]
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_notebook_matches_its_source(path: Path):
    """The .ipynb holds exactly the cells of its .py (rebuild with tools/notebooks.py after editing)."""
    from_source = _cells(jupytext.read(path))
    stored = _cells(json.loads(path.with_suffix(".ipynb").read_text(encoding="utf-8")))
    assert stored == from_source, f"{path.name} and its .ipynb differ: run tools/notebooks.py {path.name[:2]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_and_parameterised(path: Path):
    cells = _code_cells(path)
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one code cell tagged 'parameters'"
    for cell in cells:
        source = "".join(cell["source"])
        assert not re.search(r"^\s*(def|class)\s", source, re.MULTILINE), f"{path.name} defines a function"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_hold_no_identifiers(path: Path):
    """Stored outputs must not show PNC IDs (long or short form) or CRO numbers."""
    text = json.dumps([c.get("outputs", []) for c in _code_cells(path)])
    assert not re.search(r"\b\d{2}(\d{2})?/\d{7}[A-Z]\b", text), f"{path.name}: PNC ID in outputs"
    assert not re.search(r"\b\d{6}/\d{2}[A-Z]\b", text), f"{path.name}: CRO number in outputs"
