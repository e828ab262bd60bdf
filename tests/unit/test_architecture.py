"""Architecture: the package imports cleanly, its modules form no cycle, no lower pipeline stage imports
a higher one, every shipped configuration parses into the typed objects, and a RunResult has no Any field.

Stage order, lowest first (a module may import its own stage and lower ones)::

    _io, errors, geography   helpers every stage uses
    reference                lookup tables (outcome vocabulary, offence crosswalks, identifiers)
    sources                  police.uk files and restricted extracts (labels normalised via reference)
    synth                    the synthetic world
    engine                   the generic Fellegi-Sunter engine
    justice                  the justice linkage
    scale                    the same linkage force by force
    evaluation               rates, time to outcome, DiD, disclosure control
    quality                  linkage quality (reuses evaluation's one Wilson interval)
    config                   the configuration, parsed into the lower stages' typed settings
    pipeline                 run(config) -> RunResult
    reporting                renders a RunResult
    cli                      linkage.cli, linkage.__main__ and every */commands.py

Compared with the first sketch (sources < reference < ... < quality < evaluation < reporting, config and
pipeline on top), reference sits below sources (sources normalise outcome labels with it), evaluation
below quality (quality uses evaluation's Wilson interval) and reporting above pipeline (it renders the
pipeline's RunResult).
"""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "linkage"

STAGES = (
    ("_io", "errors", "geography"),
    ("reference",),
    ("sources",),
    ("synth",),
    ("engine",),
    ("justice",),
    ("scale",),
    ("evaluation",),
    ("quality",),
    ("config",),
    ("pipeline",),
    ("reporting",),
    ("cli", "__main__"),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, list[tuple[str, int, bool]]]:
    """module -> [(imported linkage module, line, inside a function)] for every linkage import."""
    out: dict[str, list[tuple[str, int, bool]]] = {}
    modules = {_module_name(path) for path in PACKAGE.rglob("*.py")}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_function = {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for sub in ast.walk(node)
        }
        found = []
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # ``from linkage.x import y`` imports linkage.x.y when y is a module, else linkage.x
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                names = subs or [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found += [
                (n, node.lineno, id(node) in in_function) for n in names if n.split(".")[0] == "linkage"
            ]
        out[_module_name(path)] = found
    return out


def _stage(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return 0  # the root package: __version__ and lazy names only (see the test below)
    if parts[-1] == "commands":
        return len(STAGES) - 1
    for rank, names in enumerate(STAGES):
        if parts[1] in names:
            return rank
    raise AssertionError(f"{module}: not in any stage; add it to STAGES in {__file__}")


def test_import_linkage_works_in_a_fresh_interpreter():
    done = subprocess.run(
        [sys.executable, "-c", "import linkage, linkage.pipeline, linkage.cli; print(linkage.__version__)"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr


def test_root_package_imports_no_submodule_at_import_time():
    assert _imports()["linkage"] == []


def test_every_module_has_a_stage():
    for module in _imports():
        _stage(module)


def test_no_upward_import_from_a_lower_stage():
    upward = [
        f"{module}:{line} imports {target}"
        for module, found in _imports().items()
        for target, line, _ in found
        if _stage(target) > _stage(module)
    ]
    assert upward == []


def test_no_import_cycle_among_modules():
    imports = _imports()
    # An edge to a package is an edge to its __init__ (which imports the package's public modules).
    graph = {m: {t for t, _, _ in found if t in imports} for m, found in imports.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_function_level_imports_of_linkage_say_why():
    unexplained = []
    for module, found in _imports().items():
        path = ROOT / (module.replace(".", "/") + ".py")
        if not path.exists():
            path = ROOT / module.replace(".", "/") / "__init__.py"
        lines = path.read_text(encoding="utf-8").splitlines()
        for target, line, inside in found:
            if inside and "#" not in lines[line - 1] and not lines[line - 2].strip().startswith("#"):
                unexplained.append(f"{module}:{line} imports {target}")
    assert unexplained == []


@pytest.mark.parametrize("path", sorted((ROOT / "trailblazers").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configuration_parses_into_typed_objects(path):
    from linkage.config import (
        AreaConfig,
        DisclosureSettings,
        EvaluationSettings,
        LinkSettings,
        TrailblazerConfig,
        WorldSpec,
        load_config,
    )

    cfg = load_config(path)
    assert isinstance(cfg, TrailblazerConfig)
    assert isinstance(cfg.area, AreaConfig)
    assert isinstance(cfg.linkage, LinkSettings)
    assert isinstance(cfg.disclosure, DisclosureSettings)
    assert isinstance(cfg.evaluation, EvaluationSettings)
    assert cfg.synthetic_world is None or isinstance(cfg.synthetic_world, WorldSpec)
    if cfg.synthetic_world is not None:  # the world inherits the period: stated once
        world = cfg.synthetic_world
        assert world.start_month == f"{cfg.start:%Y-%m}"
        assert world.months == (cfg.end.year - cfg.start.year) * 12 + cfg.end.month - cfg.start.month + 1
        assert world.go_live_month == (None if cfg.go_live is None else f"{cfg.go_live:%Y-%m}")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 1  # type: ignore[misc]


def test_no_shipped_yaml_restates_the_period_in_its_world():
    for path in sorted((ROOT / "trailblazers").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        for key in ("start_month:", "go_live_month:", "months:"):
            assert key not in text, f"{path.name} states {key} (inherited from period:)"


def _mentions_any(hint: object) -> bool:
    if hint is typing.Any:
        return True
    return any(_mentions_any(arg) for arg in typing.get_args(hint))


def test_run_result_and_its_stages_have_no_any_field():
    from linkage import pipeline

    for cls in (pipeline.RunResult, pipeline.Loaded, pipeline.Linked, pipeline.LinkQuality):
        hints = typing.get_type_hints(cls, vars(pipeline))
        assert hints, cls
        bad = [name for name, hint in hints.items() if _mentions_any(hint)]
        assert bad == [], (cls.__name__, bad)
        assert cls.__dataclass_params__.frozen, cls.__name__


def test_world_period_stated_twice_must_agree(tmp_path):
    from linkage.config import config_from_dict
    from linkage.errors import ConfigError

    world = {
        "areas": [
            {"name": n, "force": "Metropolitan Police Service", "role": r, "geography": {"lsoa_prefix": n}}
            for n, r in (("Southwark", "trailblazer"), ("Lewisham", "comparison"))
        ]
    }
    base = {
        "title": "T",
        "area": {"name": "Southwark", "force": "Metropolitan Police Service"},
        "comparison_areas": ["Lewisham"],
        "period": {"start": "2024-01", "end": "2024-06", "go_live": "2024-04"},
        "sources": {"synthetic_world": world},
    }
    cfg = config_from_dict(base, base=tmp_path, default_slug="t")
    assert (cfg.synthetic_world.start_month, cfg.synthetic_world.months) == ("2024-01", 6)
    assert cfg.synthetic_world.go_live_month == "2024-04"
    agreeing = {**world, "start_month": "2024-01", "months": 6, "go_live_month": "2024-04"}
    assert config_from_dict(
        {**base, "sources": {"synthetic_world": agreeing}}, base=tmp_path, default_slug="t"
    )
    clashing = {**world, "months": 12, "go_live_month": "2024-05"}
    with pytest.raises(ConfigError) as err:
        config_from_dict({**base, "sources": {"synthetic_world": clashing}}, base=tmp_path, default_slug="t")
    text = "\n".join(err.value.problems)
    assert "differs from the synthetic world's '2024-01' + 12 months" in text
    assert "period.go_live: '2024-04' differs from the world's '2024-05'" in text
