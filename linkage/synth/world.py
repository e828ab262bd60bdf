"""``generate(spec, seed)``: the synthetic world, its realised intervention effect, and writing it out.

Layout written by :meth:`SyntheticWorld.write` (and :func:`write_world_chunked`)::

    <folder>/restricted/{crimes,suspects,cautions,penalty_notices,court_outcomes}.<fmt>
    <folder>/truth/{truth,crime_truth,suspect_truth,people,faults}.<fmt>
    <folder>/police-uk/<force-slug>/YYYY-MM-<force-slug>-{street,outcomes}.csv
    <folder>/manifest.json

Every file goes through :mod:`linkage._io` (atomic); the same spec and seed give the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from linkage import __version__
from linkage._io import write_csv, write_parquet, write_text, write_with
from linkage.errors import LinkageError
from linkage.sources.contracts import EXTRACTS
from linkage.synth.process import generate_area
from linkage.synth.spec import WorldSpec

logger = logging.getLogger(__name__)

CONTRACT_TABLES: tuple[str, ...] = (
    "crimes",
    "suspects",
    "cautions",
    "penalty_notices",
    "court_outcomes",
    "truth",
)
TRUTH_TABLES: tuple[str, ...] = ("truth", "crime_truth", "suspect_truth", "people", "faults")
PUBLIC_TABLES: tuple[str, ...] = ("street", "outcomes")
FORMATS: tuple[str, ...] = ("parquet", "csv")

STREET_HEADER: dict[str, str] = {
    "crime_id": "Crime ID",
    "month": "Month",
    "reported_by": "Reported by",
    "falls_within": "Falls within",
    "longitude": "Longitude",
    "latitude": "Latitude",
    "location": "Location",
    "lsoa_code": "LSOA code",
    "lsoa_name": "LSOA name",
    "crime_type": "Crime type",
    "last_outcome": "Last outcome category",
    "context": "Context",
}
"""Canonical street column -> published 2013+ header (DOMAIN.md section 1), in file order."""
OUTCOMES_HEADER: dict[str, str] = {
    **{k: v for k, v in STREET_HEADER.items() if k not in ("crime_type", "last_outcome", "context")},
    "outcome_type": "Outcome type",
}
"""Canonical outcomes column -> published header, in file order."""


@dataclass(frozen=True)
class TrueEffect:
    """The realised intervention effect over the whole world (a summary for manifests).

    Over crimes recorded in trailblazer areas from the go-live month that have an identified suspect
    (the treated crimes), each has its final outcome with the intervention and the outcome it would
    have had without it (same random draws). ``oocd_pp`` is the mean difference of the two
    out-of-court-disposal indicators in percentage points (the realised average effect on the treated);
    ``days_to_outcome`` is the mean difference in days from recording to the police outcome, uncapped and
    including the crimes the intervention moved to a (faster) out-of-court disposal.

    A report's difference-in-differences is scored against :func:`individual_effects` averaged over the
    crimes it actually uses (fixed follow-up windows, complete windows only), not against these totals.
    """

    oocd_pp: float
    days_to_outcome: float
    n_treated_crimes: int
    n_treated_identified: int
    configured_oocd_pp: float
    configured_days_to_outcome: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict (for manifests and reports)."""
        return dict(self.__dict__)


@dataclass
class SyntheticWorld:
    """A generated world: contract tables, truth, the true population and the public police.uk view."""

    crimes: pd.DataFrame
    suspects: pd.DataFrame
    cautions: pd.DataFrame
    penalty_notices: pd.DataFrame
    court_outcomes: pd.DataFrame
    truth: pd.DataFrame
    people: pd.DataFrame
    crime_truth: pd.DataFrame
    suspect_truth: pd.DataFrame
    faults: pd.DataFrame
    street: pd.DataFrame
    outcomes: pd.DataFrame
    spec: WorldSpec
    seed: int
    true_effect: TrueEffect

    def table(self, name: str) -> pd.DataFrame:
        """Any table by name."""
        if name not in CONTRACT_TABLES + TRUTH_TABLES + PUBLIC_TABLES:
            raise LinkageError(
                f"name must be one of {CONTRACT_TABLES + TRUTH_TABLES + PUBLIC_TABLES}, got {name!r}"
            )
        return getattr(self, name)

    def write(self, folder: str | os.PathLike[str], fmt: str = "parquet") -> dict[str, Path]:
        """Write every table under ``folder`` (layout in the module docstring); returns name -> path."""
        _check_fmt(fmt)
        root = Path(folder)
        paths: dict[str, Path] = {}
        for name in CONTRACT_TABLES[:-1]:
            paths[name] = _write_table(root / "restricted" / f"{name}.{fmt}", self.table(name), fmt)
        for name in TRUTH_TABLES:
            paths[name] = _write_table(root / "truth" / f"{name}.{fmt}", self.table(name), fmt)
        for path in write_police_uk(root / "police-uk", self.street, self.outcomes):
            paths[str(path.relative_to(root))] = path
        paths["manifest"] = _write_manifest(root, self.spec, self.seed, self.true_effect, fmt)
        return paths


def generate(spec: WorldSpec, seed: int) -> SyntheticWorld:
    """Generate the world of ``spec`` with random ``seed`` (deterministic)."""
    if not isinstance(spec, WorldSpec):
        raise LinkageError(f"spec must be a WorldSpec (use WorldSpec.from_dict), got {type(spec).__name__}")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise LinkageError(f"seed must be a non-negative integer, got {seed!r}")
    parts = list(iter_area_tables(spec, int(seed)))
    tables = {name: pd.concat([p[0][name] for p in parts], ignore_index=True) for name in parts[0][0]}
    tables = {name: finalise(name, frame) for name, frame in tables.items()}
    effect = true_effect(spec, [p[1] for p in parts])
    logger.info(
        "generated %d crimes, %d outcome records over %d area(s)",
        len(tables["crimes"]),
        len(tables["truth"]),
        len(spec.areas),
    )
    return SyntheticWorld(**tables, spec=spec, seed=int(seed), true_effect=effect)


def iter_area_tables(
    spec: WorldSpec, seed: int
) -> Iterator[tuple[dict[str, pd.DataFrame], dict[str, float]]]:
    """Yield (tables, effect sums) area by area."""
    for index in range(len(spec.areas)):
        parts = generate_area(spec, index, seed)
        yield parts.tables, parts.effect_sums


def true_effect(spec: WorldSpec, sums: list[dict[str, float]]) -> TrueEffect:
    """Combine per-area sums into the :class:`TrueEffect`."""
    total = {k: sum(s[k] for s in sums) for k in sums[0]} if sums else {}
    n_id = total.get("n_treated_identified", 0.0)
    return TrueEffect(
        oocd_pp=100.0 * total["oocd_diff"] / n_id if n_id else 0.0,
        days_to_outcome=total["days_diff"] / n_id if n_id else 0.0,
        n_treated_crimes=int(total.get("n_treated", 0)),
        n_treated_identified=int(n_id),
        configured_oocd_pp=spec.intervention.oocd_pp,
        configured_days_to_outcome=spec.intervention.days_to_outcome,
    )


def individual_effects(crime_truth: pd.DataFrame, *, followup_days: int, within_days: int) -> pd.DataFrame:
    """Each crime's intervention effect on the report's difference-in-differences outcomes.

    From the world's factual (``oocd``, ``days_to_outcome``) and counterfactual
    (``oocd_without_intervention``, ``days_to_outcome_without_intervention``) columns, measured the way
    :func:`linkage.evaluation.add_flags` measures them: ``oocd`` (percentage points) an out-of-court
    disposal within ``followup_days`` of recording; ``days_capped`` days to the police outcome capped at
    ``followup_days``; ``within_n`` (percentage points) a police outcome within ``within_days``. Zero for
    crimes the intervention did not touch. Returns ``force``, ``crime_ref`` and the three effects; average
    them over the treated crimes a DiD uses to get the effect it estimates (the ATT).
    """
    need = ["force", "crime_ref", "oocd", "oocd_without_intervention", "days_to_outcome"]
    need.append("days_to_outcome_without_intervention")
    missing = [c for c in need if c not in crime_truth.columns]
    if missing:
        raise LinkageError(f"crime_truth lacks column(s) {missing} (columns: {list(crime_truth.columns)})")
    for name, value in (("followup_days", followup_days), ("within_days", within_days)):
        if not isinstance(value, int | np.integer) or value < 0:
            raise LinkageError(f"{name} must be a non-negative integer, got {value!r}")
    d1 = crime_truth["days_to_outcome"].to_numpy(float)
    d0 = crime_truth["days_to_outcome_without_intervention"].to_numpy(float)
    o1 = crime_truth["oocd"].to_numpy(bool) & (d1 <= followup_days)
    o0 = crime_truth["oocd_without_intervention"].to_numpy(bool) & (d0 <= followup_days)
    return pd.DataFrame(
        {
            "force": crime_truth["force"].astype("string").to_numpy(),
            "crime_ref": crime_truth["crime_ref"].astype("string").to_numpy(),
            "oocd": 100.0 * (o1.astype(float) - o0.astype(float)),
            "days_capped": np.minimum(d1, followup_days) - np.minimum(d0, followup_days),
            "within_n": 100.0 * ((d1 <= within_days).astype(float) - (d0 <= within_days).astype(float)),
        }
    )


_FLOAT_NAMES = {"longitude", "latitude"}


def finalise(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Exact contract columns and types for contract tables (text as ``string``, NA for blanks)."""
    frame = frame.reset_index(drop=True)
    if name in EXTRACTS:
        contract = EXTRACTS[name]
        frame = frame[contract.names].copy()
        for col in contract.columns:
            if col.kind == "date":
                frame[col.name] = pd.to_datetime(frame[col.name]).astype("datetime64[ns]")
            elif col.kind == "float":
                frame[col.name] = pd.to_numeric(frame[col.name]).astype("float64")
            else:
                frame[col.name] = _text(frame[col.name])
        return frame
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = _text(out[col])
    return out


def _text(values: pd.Series) -> pd.Series:
    text = values.astype("string")
    return text.mask(text == "")


def _check_fmt(fmt: str) -> None:
    if fmt not in FORMATS:
        raise LinkageError(f"fmt must be one of {FORMATS}, got {fmt!r}")


def _write_table(path: Path, frame: pd.DataFrame, fmt: str) -> Path:
    if fmt == "parquet":
        return write_parquet(path, frame)
    return write_csv(path, frame, date_format="%Y-%m-%d")


def force_slug(force: str) -> str:
    """``City of London Police`` -> ``city-of-london-police`` (file names of the public view)."""
    return re.sub(r"[^a-z0-9]+", "-", force.lower()).strip("-")


def _field_text(values: pd.Series) -> np.ndarray:
    """CSV field text of a column, quoted only where needed (as pandas and police.uk files do)."""
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float)
        out = np.full(len(arr), "", dtype=object)
        ok = ~np.isnan(arr)
        out[ok] = np.char.mod("%.6f", arr[ok]).astype(object)
        return out
    text = values.astype("string[pyarrow]").fillna("")
    needs = text.str.contains(r'[,"\n\r]', regex=True)
    if needs.any():
        text = text.where(~needs, '"' + text.str.replace('"', '""', regex=False) + '"')
    return text.to_numpy(dtype=object)


def _csv_lines(frame: pd.DataFrame, header: dict[str, str]) -> np.ndarray:
    """One CSV line (with its newline) per row, in the published police.uk form."""
    month = pd.to_datetime(frame["month"])
    codes, uniques = pd.factorize(month)
    labels = np.array([f"{m:%Y-%m}" for m in uniques] + [""], dtype=object)
    lines = None
    for name in header:
        col = labels[codes] if name == "month" else _field_text(frame[name])
        lines = col.astype(object) if lines is None else lines + "," + col
    return lines + "\n"


def published_csv_text(frame: pd.DataFrame, header: dict[str, str]) -> str:
    """A police.uk CSV (published header, ``YYYY-MM`` months, 6-decimal coordinates) as text."""
    return ",".join(header.values()) + "\n" + "".join(_csv_lines(frame, header))


def write_police_uk(folder: Path, street: pd.DataFrame, outcomes: pd.DataFrame) -> list[Path]:
    """Monthly street and outcomes CSVs per force in the published 2013+ headers."""
    paths = []
    for kind, frame, header in (("street", street, STREET_HEADER), ("outcomes", outcomes, OUTCOMES_HEADER)):
        if frame.empty:
            continue
        lines = _csv_lines(frame, header)
        head = ",".join(header.values()) + "\n"
        keys = pd.DataFrame(
            {
                "force": frame["reported_by"].astype(str).to_numpy(),
                "month": pd.to_datetime(frame["month"]).to_numpy(),
            }
        )
        groups = keys.groupby(["force", "month"], sort=True).indices
        for (force, when), idx in groups.items():
            slug = force_slug(str(force))
            label = pd.Timestamp(when).strftime("%Y-%m")
            path = folder / slug / f"{label}-{slug}-{kind}.csv"
            paths.append(write_text(path, head + "".join(lines[np.sort(idx)])))
    return paths


def _write_manifest(root: Path, spec: WorldSpec, seed: int, effect: TrueEffect, fmt: str) -> Path:
    manifest = {
        "generator": f"linkage.synth {__version__}",
        "seed": int(seed),
        "format": fmt,
        "spec": spec.to_dict(),
        "noise_profile": spec.noise_profile.__dict__,
        "true_effect": effect.as_dict(),
    }
    return write_text(root / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def write_world_chunked(
    spec: WorldSpec, seed: int, folder: str | os.PathLike[str], public: bool = True
) -> dict[str, object]:
    """Generate and write a world area by area to Parquet, never holding more than one area in memory.

    Each Parquet file gets one row group per area; the police.uk CSVs are written per area (areas of one
    force must then not share a month file, so areas of the same force are written together only when
    ``public`` is False or each force has one area). Returns row counts and the :class:`TrueEffect`.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(folder)
    forces = [a.force for a in spec.areas]
    if public and len(set(forces)) != len(forces):
        raise LinkageError("write_world_chunked with public=True needs one area per force")
    writers: dict[str, pq.ParquetWriter] = {}
    tmp_paths: dict[str, Path] = {}
    counts: dict[str, int] = {}
    sums = []
    try:
        for tables, effect_sums in iter_area_tables(spec, int(seed)):
            sums.append(effect_sums)
            for name, frame in tables.items():
                frame = finalise(name, frame)
                if name in PUBLIC_TABLES:
                    continue
                sub = "restricted" if name in CONTRACT_TABLES[:-1] else "truth"
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if name not in writers:
                    final = root / sub / f"{name}.parquet"
                    final.parent.mkdir(parents=True, exist_ok=True)
                    tmp = final.with_name(f".{final.name}.partial")
                    tmp_paths[name] = tmp
                    writers[name] = pq.ParquetWriter(tmp, table.schema)
                writers[name].write_table(table.cast(writers[name].schema))
                counts[name] = counts.get(name, 0) + len(frame)
            if public:
                write_police_uk(root / "police-uk", tables["street"], tables["outcomes"])
            del tables
    finally:
        for writer in writers.values():
            writer.close()
    for name, tmp in tmp_paths.items():
        sub = "restricted" if name in CONTRACT_TABLES[:-1] else "truth"
        write_with(root / sub / f"{name}.parquet", lambda p, t=tmp: os.replace(t, p))
    effect = true_effect(spec, sums)
    _write_manifest(root, spec, seed, effect, "parquet")
    return {"rows": counts, "true_effect": effect}
