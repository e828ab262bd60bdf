"""Trailblazer configuration: valid files load; every problem is reported at once, naming field and value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from linkage.errors import ConfigError
from linkage.reporting.config import config_from_dict, load_config

ROOT = Path(__file__).resolve().parents[2]


def _minimal(tmp_path: Path) -> dict:
    (tmp_path / "street.csv").write_text("x\n")
    return {
        "title": "Test",
        "area": {"name": "Somewhere", "force": "Cumbria Constabulary"},
        "period": {"start": "2013-01", "end": "2013-06"},
        "sources": {"police_uk": ["street.csv"]},
    }


def test_minimal_config_loads_with_defaults(tmp_path):
    path = tmp_path / "somewhere.yaml"
    path.write_text(yaml.safe_dump(_minimal(tmp_path)))
    cfg = load_config(path)
    assert cfg.slug == "somewhere"  # from the file name
    assert cfg.public_only
    assert cfg.disclosure.threshold == 10 and cfg.disclosure.rounding_base == 5
    assert cfg.police_uk == (tmp_path / "street.csv",)
    assert cfg.period_end.strftime("%Y-%m-%d") == "2013-06-30"
    assert cfg.go_live is None


def test_config_hash_ignores_key_order(tmp_path):
    d = _minimal(tmp_path)
    a = config_from_dict(d, base=tmp_path, default_slug="x")
    b = config_from_dict(dict(reversed(list(d.items()))), base=tmp_path, default_slug="x")
    assert a.config_hash == b.config_hash


def test_every_problem_reported_at_once(tmp_path):
    bad = {
        "slug": "Bad Slug!",
        "title": "",
        "colour": "blue",
        "area": {"name": "X", "force": "", "lsoa_codes": ["E01000001", "nope"]},
        "period": {"start": "2024-13", "end": "2023-01", "go_live": "2025-01"},
        "sources": {"police_uk": ["missing-folder"], "extracts": {"cautions": "c.csv", "weird": "w.csv"}},
        "disclosure": {"threshold": 0, "rounding_base": "five"},
        "evaluation": {"cluster": "street", "alpha": 2},
        "seed": -1,
    }
    with pytest.raises(ConfigError) as err:
        config_from_dict(bad, base=tmp_path, source="bad.yaml")
    problems = err.value.problems
    expected = [
        ("slug", "'Bad Slug!'"),
        ("title", "''"),
        ("colour", "unknown field"),
        ("area.force", "''"),
        ("area.lsoa_codes", "'nope'"),
        ("period.start", "'2024-13'"),
        ("sources.police_uk[0]", "'missing-folder'"),
        ("sources.extracts.weird", "unknown extract kind"),
        ("sources.extracts.cautions", "'c.csv'"),
        ("sources.extracts", "need at least 'crimes' and 'suspects'"),
        ("disclosure.threshold", "0"),
        ("disclosure.rounding_base", "'five'"),
        ("evaluation.cluster", "'street'"),
        ("evaluation.alpha", "2"),
        ("seed", "-1"),
    ]
    for field, value in expected:
        assert any(p.startswith(field) and value in p for p in problems), (field, value, problems)
    assert "bad.yaml" in str(err.value)


def test_period_order_and_go_live_checked(tmp_path):
    d = _minimal(tmp_path)
    d["period"] = {"start": "2024-06", "end": "2024-01", "go_live": "2024-03"}
    with pytest.raises(ConfigError) as err:
        config_from_dict(d, base=tmp_path)
    assert any(p.startswith("period.end") and "'2024-01'" in p for p in err.value.problems)


def test_synthetic_world_problems_are_prefixed(tmp_path):
    d = _minimal(tmp_path)
    d["sources"] = {"synthetic_world": {"start_month": "2024-01", "months": 0, "areas": []}}
    with pytest.raises(ConfigError) as err:
        config_from_dict(d, base=tmp_path)
    world = [p for p in err.value.problems if p.startswith("sources.synthetic_world.")]
    assert any("months" in p and "0" in p for p in world)
    assert any("areas" in p for p in world)


def test_comparison_areas_must_exist_in_world(tmp_path):
    d = _minimal(tmp_path)
    d.pop("period")
    d["comparison_areas"] = ["Atlantis"]
    d["sources"] = {
        "synthetic_world": {
            "start_month": "2024-01",
            "months": 6,
            "go_live_month": "2024-04",
            "areas": [
                {
                    "name": "Southwark",
                    "force": "Metropolitan Police Service",
                    "role": "trailblazer",
                    "geography": {"lsoa_prefix": "Southwark"},
                },
            ],
        }
    }
    with pytest.raises(ConfigError) as err:
        config_from_dict(d, base=tmp_path)
    assert any(p.startswith("comparison_areas") and "Atlantis" in p for p in err.value.problems)


@pytest.mark.parametrize("path", sorted((ROOT / "trailblazers").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    cfg = load_config(path)
    assert cfg.slug == path.stem
    assert cfg.title


def test_report_command_lists_every_problem_and_exits_2(tmp_path, capsys):
    from linkage.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "slug: Bad!\narea: {name: X}\nperiod: {start: 2024-13, end: 2024-01}\nsources: {police_uk: "
        "[nowhere]}\n"
    )
    assert main(["report", str(bad), "--check"]) == 2
    err = capsys.readouterr().err
    for field in ("slug:", "title:", "area.force:", "period.start:", "sources.police_uk[0]:"):
        assert f"bad.yaml: {field}" in err


def test_public_comparison_areas_parsed_and_checked(tmp_path):
    (tmp_path / "other").mkdir()
    data = _minimal(tmp_path)
    data["period"] = {"start": "2024-01", "end": "2024-12", "go_live": "2024-07"}
    data["comparison_areas"] = [{"name": "Lewisham", "police_uk": ["other"], "lsoa_name_prefix": "Lewisham"}]
    cfg = config_from_dict(data, base=tmp_path, default_slug="x")
    assert cfg.comparison_areas == ("Lewisham",)
    (comp,) = cfg.public_comparisons
    assert comp.police_uk == ((tmp_path / "other").resolve(),) and comp.lsoa_name_prefix == "Lewisham"
    assert (tmp_path / "other").resolve() not in cfg.input_files()  # an empty folder adds no file
    data["comparison_areas"] = [
        {"name": "A", "police_uk": ["missing"], "lsoa_codes": ["X1"], "colour": "red"},
        {"name": "A", "police_uk": []},
        "B",
    ]
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, base=tmp_path, default_slug="x")
    text = "\n".join(err.value.problems)
    for part in (
        "comparison_areas[0].colour: unknown field",
        "comparison_areas[0].police_uk: 'missing' does not exist",
        "comparison_areas[0].lsoa_codes",
        "comparison_areas[1].police_uk: must be a list",
        "comparison_areas[2]: must be a mapping",
    ):
        assert part in text, part
