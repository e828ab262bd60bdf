"""Atomic, repeatable report outputs: a run killed part-way leaves the previous report exactly as it was.

The report folder is written into a hidden temporary sibling and swapped in whole
(``linkage._io.atomic_directory``). The kill test runs real ``linkage report`` processes on a small
public-only configuration (three months of the bundled City of London files): a first run completes; a
second run (another title and period, so different files) is killed with SIGKILL while it is writing its
files; the first run's files must be unchanged
byte for byte with nothing half-written beside them; a third run must give the same files again.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from linkage import _io

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "data" / "police-uk" / "city-of-london"
SLUG = "kill-test"

# Runs ``linkage report`` like ``python -m linkage`` does, but with every file write followed by a pause,
# so the test can reliably kill the process after some files of the new report are written and before
# the swap (without the pause, writing takes well under a second and the kill would race it).
SLOW_WRITER = """
import sys, time
import linkage._io as io_
for name in ("write_csv", "write_text"):
    real = getattr(io_, name)
    def slow(*args, _real=real, **kwargs):
        out = _real(*args, **kwargs)
        time.sleep(0.4)
        return out
    setattr(io_, name, slow)
from linkage.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _config(folder: Path, *, end: str = "2024-03", name: str = "first") -> Path:
    cfg = {
        "slug": SLUG,
        "title": f"Kill test ({name} configuration)",
        "area": {"name": "City of London", "force": "City of London Police"},
        "period": {"start": "2024-01", "end": end},
        "sources": {
            "police_uk": [str(CITY / f"2024-0{m}-city-of-london-street.csv") for m in (1, 2, 3)]
            + [str(CITY / "2024-03-city-of-london-outcomes.csv")]
        },
        "seed": 1,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _run(args: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=_env(), timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


def _snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder`` (hidden ones included)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _without_run_time(folder: Path) -> dict[str, object]:
    """Every file's hash, with manifest.json compared without its run block (start time, seconds)."""
    snap: dict[str, object] = _snapshot(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.pop("run")
    snap["manifest.json"] = manifest
    return snap


def test_killed_run_leaves_previous_report_and_rerun_is_identical(tmp_path):
    cfg = _config(tmp_path)
    out = tmp_path / "reports"
    report = out / SLUG

    _run(["-m", "linkage", "report", str(cfg), "--out", str(out)])
    before = _snapshot(report)
    assert {"report.html", "manifest.json", "disclosure_log.csv"} <= set(before)
    assert sum(k.startswith("tables/") for k in before) >= 5
    first = _without_run_time(report)

    # The second run has another title and period, so every file it would write differs from the first's:
    # an in-place writer killed part-way could not leave the first report byte-identical.
    other = _config(tmp_path, end="2024-02", name="second")
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, "report", str(other), "--out", str(out)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        partial: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            partial = [p for p in out.glob(f".{SLUG}.tmp-*/**/*") if p.is_file()]
            if len(partial) >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the second run finished before it could be killed"
        assert len(partial) >= 2, "the second run never started writing"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # The previous report is byte-identical and nothing new is visible as an output.
    assert _snapshot(report) == before
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [SLUG]
    leftovers = sorted(out.glob(f".{SLUG}.tmp-*"))
    assert leftovers, "the killed run's hidden temporary folder should still be there (killed, no cleanup)"

    # A re-run tidies the leftover and writes the same report again.
    _run(["-m", "linkage", "report", str(cfg), "--out", str(out)])
    assert _without_run_time(report) == first
    assert sorted(p.name for p in out.iterdir()) == [SLUG]


def test_atomic_directory_failure_keeps_previous_folder(tmp_path):
    target = tmp_path / "report"
    with _io.atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("one")
    with pytest.raises(RuntimeError), _io.atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("two")
        (tmp / "b.txt").write_text("half")
        raise RuntimeError("fails part-way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert (target / "a.txt").read_text() == "one"


def test_atomic_directory_replaces_whole_folder(tmp_path):
    target = tmp_path / "report"
    with _io.atomic_directory(target) as tmp:
        (tmp / "old.csv").write_text("old")
        (tmp / "keep.csv").write_text("1")
    with _io.atomic_directory(target) as tmp:
        (tmp / "keep.csv").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["keep.csv"]  # a stale table does not survive
    assert (target / "keep.csv").read_text() == "2"
    assert oct(target.stat().st_mode & 0o777) != oct(0o700)  # not mkdtemp's private mode


def test_atomic_directory_fallback_swap_and_recovery(tmp_path, monkeypatch):
    """Without renameat2 the swap is two renames; a run that died between them (no target, the previous
    folder parked as .report.old-*) is put back by the next run."""
    monkeypatch.setattr(_io, "_exchange", lambda a, b: False)
    target = tmp_path / "report"
    with _io.atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("one")
    with _io.atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("two")
    assert (target / "a.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    # Simulate a kill between the renames: previous folder parked, new one never moved in.
    parked = tmp_path / ".report.old-x1"
    os.replace(target, parked)
    (tmp_path / ".report.tmp-x2").mkdir()
    _io.recover_directory(target)
    assert (target / "a.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
