"""Linkage result: :class:`LinkResult` (links, candidates, crime-level outcomes, the published-style
outcomes file), :class:`FittedModels` (parameters fixed once and applied to any run) and
:func:`crime_outcome_table` (each crime's final outcome by the police.uk hierarchy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from linkage.engine import Comparison
from linkage.errors import LinkageError
from linkage.justice.inputs import _text
from linkage.justice.model import TwoStageModel
from linkage.justice.outcome_sources import source_spec
from linkage.justice.publication import crime_ids, publication_key
from linkage.justice.settings import LinkSettings
from linkage.reference import final_outcome_per_group

__all__ = ["FITTED_FORMAT", "LINK_COLUMNS", "FittedModels", "LinkResult", "crime_outcome_table"]

LINK_COLUMNS = [
    "source",
    "record_id",
    "force",
    "crime_ref",
    "suspect_ref",
    "outcome_date",
    "outcome_label",
    "match_weight",
    "match_probability",
    "rule",
    "ambiguous",
    "candidate_crimes",
]


def _candidate_crimes(positions: pd.Series, left: pd.DataFrame) -> np.ndarray:
    """``;``-joined crime references of the left rows named in ``positions`` (``""`` for none)."""
    refs = left["crime_ref"].astype(str).to_numpy()
    return np.array(
        [";".join(sorted({refs[int(p)] for p in str(v).split(";")})) if v else "" for v in positions],
        dtype=object,
    )


# ---------------------------------------------------------------------------------------------- fitted
FITTED_FORMAT = "linkage-fitted-models/1"


def _apply_term_frequencies(
    levels: pd.DataFrame,
    comparisons: Sequence[Comparison],
    left: pd.DataFrame,
    lpos: np.ndarray,
    fitted: TwoStageModel,
) -> None:
    """Overwrite the ``tf_<name>`` columns of ``levels`` with the term frequencies ``fitted`` was fitted
    with (exact level only, as the engine's compare step does), so a pair's score does not depend on which
    other records share the run."""
    tables = fitted.full.term_frequencies_dict()
    for c in comparisons:
        col = f"tf_{c.name}"
        if c.tf_column is None or col not in levels.columns:
            continue
        if c.name not in tables:
            raise LinkageError(f"fitted model has no term frequencies for {c.name!r}; has {sorted(tables)}")
        d = tables[c.name]
        table = pd.Series(np.asarray(d["frequencies"], dtype=float), index=pd.Index(d["values"]))
        exact = np.flatnonzero(levels[c.name].to_numpy() == c.exact_level)
        values = np.full(len(levels), np.nan, dtype=np.float32)
        values[exact] = c.tf_values(left, lpos[exact], table) / float(d["base"])
        levels[col] = values


@dataclass
class FittedModels:
    """Parameters fixed once and applied to any run: the fitted :class:`TwoStageModel` of each source
    (m, u, priors and the term frequencies it was fitted with). Give it to :func:`link_outcomes`
    (``fitted=``) to skip EM, e.g. to link every partition of a national run with one sample's fit."""

    models: dict[str, TwoStageModel]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: each source's :meth:`TwoStageModel.to_parameters_dict`."""
        return {
            "format": FITTED_FORMAT,
            "sources": {s: self.models[s].to_parameters_dict() for s in sorted(self.models)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], settings: LinkSettings | None = None) -> FittedModels:
        """Rebuild from :meth:`to_dict` over each source's spec under ``settings`` (the comparisons must
        be the ones the parameters were fitted with)."""
        settings = settings or LinkSettings()
        if not isinstance(data, Mapping) or data.get("format") != FITTED_FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise LinkageError(f"fitted models: format must be {FITTED_FORMAT!r}, got {got!r}")
        models = {}
        for source, params in data.get("sources", {}).items():
            spec = source_spec(source, settings.for_source(source))
            models[source] = TwoStageModel.from_parameters_dict(
                params, list(spec.comparisons), list(spec.blocking_rules), source=f"fitted {source}"
            )
        return cls(models=models)

    def digest(self) -> str:
        """SHA-256 of :meth:`to_dict` as sorted-key JSON: equal digests, equal scores."""
        import hashlib
        import json

        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- result
@dataclass
class LinkResult:
    """The linked result.

    ``links``: one row per linked outcome record (source, record_id, force, crime_ref, suspect_ref,
    outcome_date, outcome_label, match_weight, match_probability, rule). ``candidates``: every scored
    pair (ids, levels, ``bf_*``, weight, probability, rule, ``linked``, and both records' fields as
    ``l_*``/``r_*`` for clerical review). ``models``: the fitted :class:`~linkage.justice.model.TwoStageModel`
    per source. ``crime_outcomes``: one row per crime with its final outcome by the police.uk hierarchy.
    ``unlinked``: outcome records with no link. ``blocking``: per source the candidate pairs first made
    by each blocking rule. ``timings``: per source, seconds per step (blocking, compare, fit, predict,
    constraints) and the number of candidate pairs.
    """

    links: pd.DataFrame
    candidates: pd.DataFrame
    models: dict[str, TwoStageModel]
    crime_outcomes: pd.DataFrame
    unlinked: pd.DataFrame
    blocking: pd.DataFrame
    crimes: pd.DataFrame = field(repr=False)
    timings: pd.DataFrame = field(default_factory=pd.DataFrame)
    # With truth given: per source and blocking pass, the share of true pairs the pass finds on its own
    # (and the union of passes); see :func:`pass_completeness`.
    pass_completeness: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Records whose person is clear but whose crime the evidence cannot separate: not linked (a wrong
    # crime would bias crime-level rates), never dropped silently: one row each, with the candidates.
    # Empty with ``candidates=False`` (national partitions keep linked pairs only).
    ambiguous: pd.DataFrame = field(default_factory=pd.DataFrame)

    def fitted(self) -> FittedModels:
        """This run's models (with the term frequencies they scored with), to apply unchanged elsewhere."""
        return FittedModels(models=dict(self.models))

    def to_police_uk_outcomes(
        self,
        lsoa_names: Mapping[str, str] | None = None,
        *,
        key: bytes | None = None,
        synthetic_seed: int | None = None,
        map_points: bool = False,
    ) -> pd.DataFrame:
        """A police.uk-style outcomes file: one row per linked outcome record, in the published header.

        ``Crime ID`` is a 64-hex keyed HMAC-SHA256 of force and crime reference (see
        :func:`publication_key` for where the key comes from): opaque without the key, stable for a
        given key. ``Month`` is the outcome month. A restricted crimes extract may hold exact
        locations, so by default the file is located to LSOA only: coordinates and ``Location`` blank,
        as police.uk leaves unlocated rows. Only with ``map_points=True`` (the crimes' coordinates are
        already-published police.uk map points) are coordinates given, with ``Location`` ``On or near
        <location>`` when the crimes table has a ``location`` column, ``No location`` when the crime has
        no map point, else blank. ``lsoa_names`` maps LSOA code to name. Raises
        :class:`~linkage.errors.LinkageError` when no key can be found and
        ``synthetic_seed`` is None (a real restricted extract needs an explicit key).
        """
        secret = publication_key(key, synthetic_seed=synthetic_seed)
        crimes = self.crimes
        cols = ["force", "crime_ref", "longitude", "latitude", "lsoa_code"]
        if "location" in crimes.columns:
            cols.append("location")
        merged = self.links.merge(crimes[cols], on=["force", "crime_ref"], how="left", validate="many_to_one")
        merged = merged.sort_values(
            ["outcome_date", "force", "crime_ref", "source", "record_id"], kind="mergesort"
        )
        crime_id = crime_ids(merged["force"], merged["crime_ref"], secret)
        has_point = merged["longitude"].notna() & merged["latitude"].notna()
        if "location" in merged.columns:
            loc = merged["location"].astype("string")
            location = loc.where(loc.str.lower().str.startswith("on or near"), "On or near " + loc)
        else:
            location = pd.Series("", index=merged.index, dtype="string")
        location = location.where(has_point, "No location")
        if not map_points:
            no_point = np.full(len(merged), np.nan)
            merged = merged.assign(longitude=no_point, latitude=no_point)
            location = pd.Series("", index=merged.index, dtype="string")
        lsoa = merged["lsoa_code"].astype("string")
        names = (
            lsoa.map(dict(lsoa_names)) if lsoa_names else pd.Series(pd.NA, index=merged.index, dtype="string")
        )
        return pd.DataFrame(
            {
                "Crime ID": crime_id,
                "Month": pd.to_datetime(merged["outcome_date"]).dt.strftime("%Y-%m").to_numpy(),
                "Reported by": merged["force"].to_numpy(),
                "Falls within": merged["force"].to_numpy(),
                "Longitude": merged["longitude"].to_numpy(),
                "Latitude": merged["latitude"].to_numpy(),
                "Location": location.to_numpy(),
                "LSOA code": lsoa.to_numpy(),
                "LSOA name": names.to_numpy(),
                "Outcome type": merged["outcome_label"].to_numpy(),
            }
        ).reset_index(drop=True)


def crime_outcome_table(crimes: pd.DataFrame, suspects: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """One row per crime: its fields, n_suspects, n_outcome_records and the final outcome.

    The final outcome is :func:`linkage.reference.final_outcome_per_group`: the highest rank in the
    police.uk hierarchy wins, ties go to the later outcome date (then source and record id for
    determinism).
    """
    base_cols = [
        "force",
        "crime_ref",
        "crime_type",
        "offence_code",
        "committed_date",
        "recorded_date",
        "lsoa_code",
        "longitude",
        "latitude",
    ]
    out = crimes[base_cols].copy()
    out["force"] = _text(out["force"])
    out["crime_ref"] = _text(out["crime_ref"])
    key = ["force", "crime_ref"]
    sus = suspects.assign(force=_text(suspects["force"]), crime_ref=_text(suspects["crime_ref"]))
    n_sus = sus.groupby(key).size().rename("n_suspects")
    n_links = links.groupby(key).size().rename("n_outcome_records")
    out = out.merge(n_sus, on=key, how="left").merge(n_links, on=key, how="left")
    out["n_suspects"] = out["n_suspects"].fillna(0).astype(int)
    out["n_outcome_records"] = out["n_outcome_records"].fillna(0).astype(int)
    final = final_outcome_per_group(links, key, "outcome_label", ["outcome_date", "source", "record_id"])[
        [*key, "outcome_label", "outcome_date", "source"]
    ]
    final = final.rename(
        columns={
            "outcome_label": "final_outcome",
            "outcome_date": "final_outcome_date",
            "source": "final_outcome_source",
        }
    )
    out = out.merge(final, on=key, how="left")
    out["final_outcome"] = out["final_outcome"].astype("string")
    out["final_outcome_source"] = out["final_outcome_source"].astype("string")
    return out.sort_values(key, kind="mergesort").reset_index(drop=True)
