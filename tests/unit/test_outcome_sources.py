"""Outcome sources as data: the registry of :class:`OutcomeSource` objects drives the linkage.

Each registered source has what ``link_outcomes`` needs; a new source is one registered object (a copy of
the cautions under another id and other column names links exactly as the cautions do, with no edit to
the linker); the constraint unit is read from the object; and no per-source string comparison is left in
the linkage code.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from linkage.errors import LinkageError
from linkage.justice import LinkSettings, link_outcomes
from linkage.justice.inputs import build_right, outcome_labels, record_ids
from linkage.justice.outcome_sources import CAUTIONS, COURT_OUTCOMES, REGISTRY, OutcomeSource, source_spec
from linkage.justice.settings import DEFAULT_SOURCES
from linkage.reference import caution_outcome_label
from linkage.sources.contracts import EXTRACTS, OUTCOME_SOURCES

ROOT = Path(__file__).resolve().parents[2]
PERSON = ["force", "crime_ref", "suspect_ref"]


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    from linkage.synth import generate, preset

    world = generate(preset("small"), seed=1)
    return {n: world.table(n) for n in ("crimes", "suspects", *OUTCOME_SOURCES)}


def test_registry_holds_every_contract_outcome_source_in_order():
    assert list(REGISTRY) == list(OUTCOME_SOURCES)
    for key, src in REGISTRY.items():
        assert isinstance(src, OutcomeSource)
        assert src.id == key


@pytest.mark.parametrize("source", list(REGISTRY))
def test_every_registered_source_has_what_linking_needs(source, tables):
    src = REGISTRY[source]
    contract = set(EXTRACTS[source].names)
    assert set(src.required_columns) == contract
    assert {*src.record_id, src.outcome_date, src.offence} <= contract
    settings = DEFAULT_SOURCES[source]
    spec = source_spec(source, settings)
    names = [c.name for c in spec.comparisons]
    assert len(names) == len(set(names))
    assert {c.name for c in src.comparisons} <= set(names)  # the source's own comparisons are in the spec
    assert {r.name for r in src.blocking} <= {r.name for r in spec.blocking_rules}
    for rule in spec.rules:
        assert set(rule.require) <= set(names), rule.name
    offence = next(c for c in spec.comparisons if c.name == "offence")
    assert offence.kind == src.offence_kind
    right = build_right(source, tables[source])
    assert len(right) == len(tables[source])
    assert right["record_id"].is_unique
    assert (right["record_id"].to_numpy() == record_ids(source, tables[source]).to_numpy()).all()
    assert right["outcome_label"].notna().all()
    assert (right["outcome_label"].to_numpy() == outcome_labels(source, tables[source]).to_numpy()).all()
    for name, _ in src.right_fields:
        assert name in right.columns
    assert src.unit_within is None or src.unit_within in right.columns


def _resolutions(cautions: pd.DataFrame) -> tuple[OutcomeSource, pd.DataFrame]:
    """A made-up fourth source: the cautions under another id and other column names."""
    renamed = {"caution_id": "resolution_id", "caution_date": "resolved_on", "caution_type": "kind"}
    table = cautions.rename(columns=renamed)
    src = replace(
        CAUTIONS,
        id="resolutions",
        record_id=("resolution_id",),
        outcome_date="resolved_on",
        outcome_label=lambda t: caution_outcome_label(t["kind"]),
        columns=("kind", "crime_ref"),
    )
    return src, table


def test_a_new_source_is_one_registered_object(tables, monkeypatch):
    src, table = _resolutions(tables["cautions"])
    base = {"crimes": tables["crimes"], "suspects": tables["suspects"]}
    settings = LinkSettings(sources={**DEFAULT_SOURCES, "resolutions": DEFAULT_SOURCES["cautions"]})
    with pytest.raises(LinkageError, match="sources must be among"):
        link_outcomes({**base, "resolutions": table}, settings, sources=["resolutions"])
    monkeypatch.setitem(REGISTRY, "resolutions", src)
    new = link_outcomes({**base, "resolutions": table}, settings, sources=["resolutions"])
    old = link_outcomes({**base, "cautions": tables["cautions"]}, settings, sources=["cautions"])
    assert len(old.links) >= 30  # the small world has a few dozen cautions
    assert (new.links["source"] == "resolutions").all()
    cols = [c for c in old.links.columns if c != "source"]
    pd.testing.assert_frame_equal(new.links[cols], old.links[cols])
    assert list(new.models["resolutions"].names) == list(old.models["cautions"].names)
    assert new.blocking["blocking_rule"].tolist() == old.blocking["blocking_rule"].tolist()
    # linked by default when present: every registered source in the tables is linked
    both = link_outcomes({**base, "cautions": tables["cautions"], "resolutions": table}, settings)
    assert sorted(both.links["source"].unique()) == ["cautions", "resolutions"]


def test_the_constraint_unit_is_read_from_the_source(tables, monkeypatch):
    # Court lines are constrained per crime-suspect within a case; the same source without the unit
    # takes at most one line per crime-suspect.
    one_each = replace(COURT_OUTCOMES, id="court_one_each", unit_within=None)
    monkeypatch.setitem(REGISTRY, "court_one_each", one_each)
    settings = LinkSettings(sources={**DEFAULT_SOURCES, "court_one_each": DEFAULT_SOURCES["court_outcomes"]})
    base = {"crimes": tables["crimes"], "suspects": tables["suspects"]}
    court = link_outcomes({**base, "court_outcomes": tables["court_outcomes"]}, settings).links
    single = link_outcomes({**base, "court_one_each": tables["court_outcomes"]}, settings).links
    assert court.groupby(PERSON).size().max() >= 2  # the world has crime-suspects with lines in two cases
    assert single.groupby(PERSON).size().max() == 1
    assert len(single) < len(court)


def _source_branches(text: str, where: str, ids: set[str]) -> list[str]:
    """``x == "<source id>"`` (or ``!=``, ``in``) comparisons and dicts keyed by source ids in ``text``."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            consts = [
                *operands,
                *[e for o in operands if isinstance(o, ast.Tuple | ast.List | ast.Set) for e in o.elts],
            ]
            if any(isinstance(c, ast.Constant) and c.value in ids for c in consts):
                found.append(f"{where}:{node.lineno}")
        if isinstance(node, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value in ids for k in node.keys
        ):
            found.append(f"{where}:{node.lineno} (dict keyed by source)")
    return found


def test_no_per_source_branch_left_in_the_linkage():
    ids = set(REGISTRY)
    probe = 'def f(source):\n    return 1 if source == "court_outcomes" else {"cautions": 2}\n'
    assert len(_source_branches(probe, "probe", ids)) == 2  # the scan sees such a branch
    # settings.py holds each source's default thresholds and windows (settings, not how it is linked)
    paths = [
        p
        for folder in ("justice", "quality", "evaluation")
        for p in sorted((ROOT / "linkage" / folder).glob("*.py"))
        if p.name != "settings.py"
    ]
    found = [hit for p in paths for hit in _source_branches(p.read_text(encoding="utf-8"), p.name, ids)]
    assert found == []


def test_record_ids_join_several_columns():
    table = pd.DataFrame({"case_id": ["K1", "K1", "K2"], "offence_seq": [1, 2, 1]})
    got = COURT_OUTCOMES.record_ids(table)
    assert got.tolist() == ["K1:1", "K1:2", "K2:1"]
    assert np.all(got.to_numpy() == record_ids("court_outcomes", table).to_numpy())
