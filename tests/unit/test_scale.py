"""linkage.scale pieces on small inputs: partition listing and reading (stray spaces, quarantine, input
hash), the fitting sample, partition keys, up-to-date checks, and fixed parameters in link_outcomes."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage._io import file_sha256, write_text
from linkage.errors import LinkageError
from linkage.justice import FittedModels, LinkSettings, link_outcomes
from linkage.scale import (
    Partition,
    choose_sample,
    find_parquet_inputs,
    list_partitions,
    partition_key,
    partition_slug,
    read_partition,
)
from linkage.scale.run import _up_to_date
from linkage.synth import generate, preset

SOURCES = ("cautions", "penalty_notices", "court_outcomes")


@pytest.fixture(scope="module")
def small_tables() -> dict[str, pd.DataFrame]:
    world = generate(preset("small"), seed=2)
    return {name: world.table(name) for name in ("crimes", "suspects", *SOURCES)}


@pytest.fixture(scope="module")
def small_fit(small_tables):
    return link_outcomes(small_tables)


def test_partition_slug():
    assert partition_slug("Metropolitan Police Service") == "metropolitan-police-service"
    assert partition_slug(" Devon & Cornwall Police ") == "devon-cornwall-police"
    with pytest.raises(LinkageError, match="force"):
        partition_slug(" & ")


def _parts(*sizes: int) -> list[Partition]:
    return [Partition(f"F{i}", f"f{i}", n, (f"F{i}",)) for i, n in enumerate(sizes)]


def test_choose_sample_stays_within_budget_and_takes_whole_forces():
    parts = _parts(100, 250, 1000, 50, 400)
    for seed in range(5):
        chosen = choose_sample(parts, 500, seed=seed)
        assert sum(p.n_crimes for p in chosen) <= 500
        assert all(p.n_crimes != 1000 for p in chosen)  # never fits the budget
        # nothing left out that would still have fitted (the rule takes every force that fits, in turn)
        left = 500 - sum(p.n_crimes for p in chosen)
        assert chosen == sorted(chosen, key=lambda p: p.force)
        assert choose_sample(parts, 500, seed=seed) == chosen  # deterministic per seed
        assert left < 1000
    assert choose_sample(parts, 10**6, seed=0) == sorted(parts, key=lambda p: p.force)  # budget covers all
    assert [p.force for p in choose_sample(parts, 10, seed=0)] == ["F3"]  # none fits: the smallest (50)
    with pytest.raises(LinkageError, match="sample_crimes"):
        choose_sample(parts, 0)


def test_partition_key_names_every_input():
    s = LinkSettings()
    base = partition_key("a" * 64, "b" * 64, s, False)
    assert partition_key("a" * 64, "b" * 64, s, False) == base
    assert partition_key("c" * 64, "b" * 64, s, False) != base  # other input rows
    assert partition_key("a" * 64, "c" * 64, s, False) != base  # other parameters
    assert partition_key("a" * 64, "b" * 64, LinkSettings(seed=1), False) != base  # other settings
    assert partition_key("a" * 64, "b" * 64, s, True) != base  # candidates kept


def test_up_to_date_checks_key_and_output_hashes(tmp_path):
    out = tmp_path / "p"
    write_text(out / "links.parquet", "pretend parquet")
    manifest = {"key": "k1", "outputs": {"links.parquet": file_sha256(out / "links.parquet")}}
    write_text(out / "manifest.json", json.dumps(manifest))
    assert _up_to_date(out, "k1") == manifest
    assert _up_to_date(out, "k2") is None  # inputs or parameters changed
    write_text(out / "links.parquet", "tampered")
    assert _up_to_date(out, "k1") is None  # an output no longer has its recorded hash
    (out / "links.parquet").unlink()
    assert _up_to_date(out, "k1") is None
    assert _up_to_date(tmp_path / "missing", "k1") is None


def _write_inputs(tables: dict[str, pd.DataFrame], folder) -> None:
    for name, frame in tables.items():
        path = folder / "restricted" / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def test_read_partition_keeps_padded_names_and_counts_quarantine(small_tables, tmp_path):
    tables = {k: v.copy() for k, v in small_tables.items()}
    met = "Metropolitan Police Service"
    crimes = tables["crimes"]
    assert (crimes["force"] == met).all()
    # Split the world in two forces by crime: the first 100 crimes and their suspects become
    # "Other Police"; one of its crimes is written with stray spaces, one lacks its (required) date.
    other = set(crimes["crime_ref"].iloc[:100])
    for frame in (crimes, tables["suspects"]):
        frame.loc[frame["crime_ref"].isin(other), "force"] = "Other Police"
    crimes.loc[crimes.index[0], "force"] = " Other Police "
    crimes.loc[crimes.index[1], "committed_date"] = None
    _write_inputs(tables, tmp_path)
    inputs = find_parquet_inputs(tmp_path)
    parts = {p.force: p for p in list_partitions(inputs)}
    assert set(parts) == {met, "Other Police"}
    assert parts["Other Police"].n_crimes == 100  # the padded row counts for its force
    assert parts["Other Police"].values == (" Other Police ", "Other Police")
    data = read_partition(inputs, parts["Other Police"])
    assert data.rows["crimes"] == {"read": 100, "accepted": 99, "quarantined": 1}
    assert len(data.quarantined) >= 1 and set(data.quarantined["kind"]) >= {"crimes"}
    assert data.tables["crimes"]["force"].eq("Other Police").all()  # validation strips the spaces
    met_data = read_partition(inputs, parts[met])
    assert met_data.rows["crimes"]["read"] == len(crimes) - 100
    # The input hash is stable, and changes when one of the partition's rows changes.
    assert read_partition(inputs, parts["Other Police"]).input_sha256 == data.input_sha256
    crimes.loc[crimes.index[5], "offence_code"] = "99"
    _write_inputs({"crimes": crimes}, tmp_path)
    assert read_partition(inputs, parts["Other Police"]).input_sha256 != data.input_sha256
    assert read_partition(inputs, parts[met]).input_sha256 == met_data.input_sha256


def test_fixed_parameters_reproduce_the_fitted_run(small_tables, small_fit):
    fitted = small_fit.fitted()
    again = link_outcomes(small_tables, fitted=fitted)
    pd.testing.assert_frame_equal(again.links, small_fit.links, check_exact=True)
    # Through JSON and back, keeping only linked pairs: same digest, same links, no review fields.
    back = FittedModels.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert back.digest() == fitted.digest()
    lean = link_outcomes(small_tables, fitted=back, candidates=False)
    pd.testing.assert_frame_equal(lean.links, small_fit.links, check_exact=True)
    assert lean.candidates["linked"].all() and "l_forename" not in lean.candidates.columns
    with pytest.raises(LinkageError, match="format"):
        FittedModels.from_dict({"format": "other"})


def test_fitted_needs_every_linked_source(small_tables, small_fit):
    partial = FittedModels(models={"cautions": small_fit.models["cautions"]})
    with pytest.raises(LinkageError, match="court_outcomes"):
        link_outcomes(small_tables, fitted=partial)


def test_fixed_term_frequencies_are_applied(small_tables, small_fit):
    """Scores use the fitted term frequencies, not the data's: with every surname's frequency in the
    fitted table doubled, an exact-name pair's Bayes factor falls by exactly 1 bit (u x 2 -> log2 m/u - 1)."""
    import copy

    fitted = copy.deepcopy(small_fit.fitted())
    model = fitted.models["cautions"]
    tf = model.full.term_frequencies_dict()["name"]
    model.full.set_term_frequencies(
        {"name": {**tf, "frequencies": [2 * f for f in tf["frequencies"]]}}, source="test"
    )
    base = link_outcomes(small_tables, fitted=small_fit.fitted(), sources=["cautions"]).candidates
    doubled = link_outcomes(small_tables, fitted=fitted, sources=["cautions"]).candidates
    exact = (base["level_name"] == 0).to_numpy()
    assert exact.any()
    diff = (doubled["bf_name"] - base["bf_name"]).to_numpy()
    assert abs(diff[exact] + 1.0).max() < 1e-5
    assert abs(diff[~exact]).max() == 0.0
