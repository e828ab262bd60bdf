"""pyproject.toml and environment.yml must declare the same packages with the same bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# In environment.yml only: the interpreter, pip itself, and the `pip: [-e .]` install of this package.
CONDA_ONLY = {"python", "pip"}
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*(;.*)?$")


def _normalise(spec: str) -> tuple[str, str]:
    """(name, bounds) with the name lower-cased, '_'/'.' -> '-', and bounds sorted without spaces."""
    match = _REQ.match(spec)
    assert match, f"cannot parse requirement {spec!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    bounds = ",".join(sorted(b.strip() for b in match.group(3).replace(" ", "").split(",") if b.strip()))
    return name, bounds


def _pyproject() -> tuple[dict[str, str], dict[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = dict(_normalise(s) for s in project["dependencies"])
    dev = dict(_normalise(s) for s in project.get("optional-dependencies", {}).get("dev", []))
    return deps, dev


def _environment() -> tuple[dict[str, str], list[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda: dict[str, str] = {}
    pip: list[str] = []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip.extend(entry.get("pip", []))
        else:
            name, bounds = _normalise(str(entry))
            assert name not in conda, f"environment.yml lists {name} twice"
            conda[name] = bounds
    return conda, pip


def test_normalise_examples():
    # hand-written cases: case, separators and spacing do not matter; bound order does not matter
    assert _normalise("PyYAML >=6.0, <7") == ("pyyaml", "<7,>=6.0")
    assert _normalise("scikit_learn<2,>=1.3") == ("scikit-learn", "<2,>=1.3")
    assert _normalise("ruff>=0.5") == ("ruff", ">=0.5")


def test_environment_matches_pyproject():
    deps, dev = _pyproject()
    conda, pip = _environment()
    assert set(conda) >= CONDA_ONLY, "environment.yml must list python and pip"
    assert pip == ["-e ."], f"environment.yml pip section should be exactly ['-e .'], got {pip}"
    wanted = {**deps, **dev}
    clash = {n: (b, dev[n]) for n, b in deps.items() if n in dev and dev[n] != b}
    assert not clash, f"pyproject lists different bounds in dependencies and dev: {clash}"
    listed = {n: b for n, b in conda.items() if n not in CONDA_ONLY}
    missing = sorted(set(wanted) - set(listed))
    extra = sorted(set(listed) - set(wanted))
    differ = {n: (wanted[n], listed[n]) for n in set(wanted) & set(listed) if wanted[n] != listed[n]}
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"
    assert not differ, f"bounds differ (pyproject, environment.yml): {differ}"


def test_python_bound_matches_requires_python():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    conda, _ = _environment()
    _, requires = _normalise("python" + project["requires-python"])
    assert conda["python"] == requires
