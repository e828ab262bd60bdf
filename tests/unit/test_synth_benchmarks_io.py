"""The benchmarks I own write every file through linkage._io (atomic), never pandas/pathlib directly.

Review finding: bench_linkage.py wrote Parquet with DataFrame.to_parquet and bench_synth.py wrote its
JSON with Path.write_text, so an interrupted run could leave a half-written file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
_DIRECT = {"to_parquet", "to_csv", "to_json", "write_text", "write_bytes", "savefig"}


def _direct_writes(path: Path) -> list[str]:
    """Method calls like ``x.to_parquet(...)`` (a bare ``write_text(...)`` from linkage._io is fine)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.name}:{node.lineno} .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _DIRECT
    ]


@pytest.mark.parametrize("name", ["bench_linkage.py", "bench_synth.py"])
def test_benchmarks_write_through_linkage_io(name):
    assert _direct_writes(BENCH / name) == []
