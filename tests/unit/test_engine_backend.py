"""The backend boundary: ``linkage/engine/backend.py`` is the only module importing recordlinkage."""

from __future__ import annotations

import ast
from pathlib import Path

import linkage

PACKAGE = Path(linkage.__file__).resolve().parent


def _imports_recordlinkage(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "recordlinkage" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "recordlinkage":
            return True
    return False


def test_only_backend_imports_recordlinkage():
    importers = sorted(
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if _imports_recordlinkage(p)
    )
    assert importers == ["engine/backend.py"]
