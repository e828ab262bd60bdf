"""Shared fixtures.

``shipped_reports`` builds every shipped trailblazer report (``trailblazers/*.yaml``) once per test
session into a temporary folder, the way ``linkage report`` does (``gather`` -> ``build_report`` ->
``write_report``), and keeps the record-level inputs each was built from, so tests can check the
outputs against them (tests/integration/test_privacy_scan.py). Building all of them takes about a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class BuiltReport:
    """One shipped report built in this session and the record-level tables it was built from."""

    slug: str
    folder: Path
    restricted: dict[str, pd.DataFrame]  # contract tables (and the world's people), never published
    police_uk: list[Path]  # public police.uk inputs named by the configuration


@pytest.fixture(scope="session")
def shipped_reports(tmp_path_factory) -> dict[str, BuiltReport]:
    """slug -> :class:`BuiltReport` for every ``trailblazers/*.yaml``, built once per session."""
    from linkage.reporting import build_report, gather, load_config, write_report

    out = tmp_path_factory.mktemp("shipped-reports")
    built = {}
    for path in sorted((ROOT / "trailblazers").glob("*.yaml")):
        config = load_config(path)
        started = time.time()
        data = gather(config)
        report = build_report(data)
        write_report(report, data, out / config.slug, started=started)
        restricted = dict(data.tables or {})
        people = getattr(getattr(data, "world", None), "people", None)
        if people is not None:
            restricted["people"] = people
        built[config.slug] = BuiltReport(
            slug=config.slug,
            folder=out / config.slug,
            restricted=restricted,
            police_uk=list(config.police_uk),
        )
    return built
