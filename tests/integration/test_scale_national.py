"""National-scale linkage on a small three-force world: the same links in memory, partitioned here and on
a two-process Dask LocalCluster (fixed fitted parameters), and a failed partition re-run alone.

The world: three forces of 200 crimes a month for 6 months (about 3,600 crimes, 100-150 outcome records
each), written in chunks to Parquet as a national run would be. About 40 s on a quiet machine.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from linkage._io import file_sha256
from linkage.justice import link_outcomes
from linkage.justice.settings import LinkSettings
from linkage.scale import (
    PartitionFailedError,
    choose_sample,
    find_parquet_inputs,
    fit_on_sample,
    link_national,
    list_partitions,
)
from linkage.sources.extract_folder import find_extracts, load_tables
from linkage.synth import WorldSpec, write_world_chunked

pytestmark = pytest.mark.slow

FORCES = ("Dorset Police", "Cumbria Constabulary", "Gwent Police")
SAMPLE_CRIMES = 2 * 1300  # two forces' crimes (each has about 1,200): the fit sees two of the three


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("three-forces")
    spec = WorldSpec.from_dict(
        {
            "start_month": "2024-01",
            "months": 6,
            "noise": "typical",
            "areas": [
                {
                    "name": force,
                    "force": force,
                    "role": "other",
                    "crimes_per_month": 200,
                    "geography": {"lsoa_prefix": prefix},
                }
                for force, prefix in zip(FORCES, ("Southwark", "Lewisham", "Lambeth"), strict=True)
            ],
        }
    )
    write_world_chunked(spec, 3, folder, public=False)
    return folder


@pytest.fixture(scope="module")
def fitted(world):
    inputs = find_parquet_inputs(world)
    partitions = list_partitions(inputs)
    assert sorted(p.force for p in partitions) == sorted(FORCES)
    sample = choose_sample(partitions, sample_crimes=SAMPLE_CRIMES, seed=0)
    assert len(sample) == 2
    models, _ = fit_on_sample(inputs, sample, LinkSettings())
    return models


@pytest.fixture(scope="module")
def in_memory(world, fitted) -> pd.DataFrame:
    tables = load_tables(find_extracts(world))
    return link_outcomes(tables, fitted=fitted).links


def _partition_files(out: Path) -> dict[str, tuple[int, str]]:
    return {
        str(p.relative_to(out)): (p.stat().st_mtime_ns, file_sha256(p))
        for p in sorted((out / "partitions").rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def local_run(world, fitted, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    return link_national(world, out, fitted=fitted)


def test_partitioned_equals_in_memory(local_run, in_memory):
    assert [r["status"] for r in local_run.reports] == ["linked"] * 3
    links = local_run.links
    # Every force has links and every source is linked, so the comparison is not vacuous.
    assert sorted(links["force"].unique()) == sorted(FORCES)
    assert sorted(links["source"].unique()) == ["cautions", "court_outcomes", "penalty_notices"]
    assert len(links) > 200
    pd.testing.assert_frame_equal(links, in_memory, check_exact=True)
    combined = pd.read_parquet(local_run.out / "links.parquet")
    pd.testing.assert_frame_equal(combined, in_memory, check_exact=True)


def test_distributed_equals_local_and_in_memory(world, fitted, in_memory, local_run, tmp_path):
    dist = link_national(
        world, tmp_path / "dask", fitted=fitted, distributed=True, n_workers=2, memory_limit="2GiB"
    )
    assert sorted(r["status"] for r in dist.reports) == ["linked"] * 3
    pd.testing.assert_frame_equal(dist.links, in_memory, check_exact=True)
    # Byte-identical partition outputs (the manifests differ only in timings and peak memory).
    for slug in (r["slug"] for r in local_run.reports):
        for name in ("links", "unlinked", "crime_outcomes"):
            a = local_run.out / "partitions" / slug / f"{name}.parquet"
            b = tmp_path / "dask" / "partitions" / slug / f"{name}.parquet"
            assert file_sha256(a) == file_sha256(b), (slug, name)


def test_failed_partition_reruns_alone(world, fitted, in_memory, tmp_path, monkeypatch):
    import linkage.scale.run as scale_run

    out = tmp_path / "out"
    real = scale_run._link_tables
    broken = "gwent-police"

    def fail_one(data, fitted_, settings, candidates):
        if data.tables["crimes"]["force"].iloc[0] == "Gwent Police":
            raise RuntimeError("disk full (simulated)")
        return real(data, fitted_, settings, candidates)

    monkeypatch.setattr(scale_run, "_link_tables", fail_one)
    # No fitted= here: the run fits on the same sample as the fixture and saves fitted.json.
    with pytest.raises(PartitionFailedError) as info:
        link_national(world, out, sample_crimes=SAMPLE_CRIMES)
    assert set(info.value.failures) == {broken}
    assert not (out / "partitions" / broken / "manifest.json").exists()
    assert not (out / "links.parquet").exists()  # no combined output while a partition is missing
    before = _partition_files(out)
    assert len(before) == 2 * 5  # two partitions x (4 tables + manifest)
    fitted_mtime = (out / "fitted.json").stat().st_mtime_ns

    monkeypatch.setattr(scale_run, "_link_tables", real)
    run = link_national(world, out, sample_crimes=SAMPLE_CRIMES)
    # The fit is deterministic and reused from fitted.json (same sample rows, settings, version).
    assert run.fitted_digest == fitted.digest()
    assert (out / "fitted.json").stat().st_mtime_ns == fitted_mtime
    status = {r["slug"]: r["status"] for r in run.reports}
    assert status == {"dorset-police": "skipped", "cumbria-constabulary": "skipped", broken: "linked"}
    after = _partition_files(out)
    assert {k: v for k, v in after.items() if not k.startswith(f"partitions/{broken}/")} == before
    pd.testing.assert_frame_equal(run.links, in_memory, check_exact=True)

    # --only re-links that partition although it is up to date; the others are not touched.
    again = link_national(world, out, sample_crimes=SAMPLE_CRIMES, only=["Dorset Police"])
    assert [(r["slug"], r["status"]) for r in again.reports] == [("dorset-police", "linked")]
    final = _partition_files(out)
    for key, (mtime, digest) in after.items():
        if key.startswith("partitions/dorset-police/"):
            assert final[key][0] > mtime, key  # rewritten
            if not key.endswith("manifest.json"):
                assert final[key][1] == digest, key  # with the same content
        else:
            assert final[key] == (mtime, digest), key
