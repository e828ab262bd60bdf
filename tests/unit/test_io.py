"""Atomic writes: complete file or none, usual permissions, no temporary files left behind."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from linkage import _io


def test_write_text_replaces_atomically_with_usual_permissions(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    _io.write_text(target, "first\n")
    _io.write_text(target, "second\n")
    assert target.read_text() == "second\n"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    _io.write_text(target, "old\n")

    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        _io.write_with(target, broken)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_write_csv_and_hash_are_deterministic(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    one = _io.write_csv(tmp_path / "one.csv", frame)
    two = _io.write_csv(tmp_path / "two.csv", frame)
    assert one.read_bytes() == b"a,b\n1,x\n2,y\n"
    assert _io.file_sha256(one) == _io.file_sha256(two)
