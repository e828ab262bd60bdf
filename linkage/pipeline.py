"""One run of the workbench: load, link, measure quality and evaluate, from one configuration.

:func:`run` takes a :class:`~linkage.config.TrailblazerConfig` and returns a :class:`RunResult` (typed,
frozen, record-level: never written out as is). Its stages are functions of their own, so a caller can
use one stage: :func:`load` (police.uk files; restricted extracts or a synthetic world), :func:`link`
(outcome records to crimes; the crime-level linked view and the published-style outcomes file),
:func:`measure` (precision and recall against truth, and the clerical-review estimate) and
:func:`evaluate` (the true effect a synthetic world's difference-in-differences estimates).
``linkage report`` renders a RunResult (:mod:`linkage.reporting`); ``linkage link`` uses
:func:`link_records` and :func:`measure` on extracts loaded by :mod:`linkage.sources.extract_folder`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from linkage._io import write_parquet
from linkage.config import TrailblazerConfig
from linkage.errors import LinkageError
from linkage.evaluation.frames import add_flags, did_outcomes, did_sample, linked_crimes, public_crimes
from linkage.justice.link import LinkResult, link_outcomes
from linkage.justice.settings import LinkSettings
from linkage.quality import (
    QualityReport,
    ReviewEstimate,
    by_subgroup,
    draw_review_sample,
    estimate_from_review,
    mark_correct,
    read_review,
)
from linkage.quality import evaluate as evaluate_against_truth
from linkage.sources import LoadResult, LoadSummary, read_extract, read_police_uk
from linkage.sources.coverage import Coverage, area_coverage
from linkage.sources.extract_folder import combine_summaries, load_extracts
from linkage.synth import SyntheticWorld, generate, individual_effects

logger = logging.getLogger(__name__)

__all__ = [
    "Loaded",
    "Linked",
    "LinkQuality",
    "RunResult",
    "load",
    "link",
    "link_records",
    "measure",
    "evaluate",
    "run",
    "true_effects",
    "police_record",
]

_CONTRACT = ("crimes", "suspects", "cautions", "penalty_notices", "court_outcomes", "truth")


@dataclass(frozen=True)
class Loaded:
    """What :func:`load` read: the public views, and the restricted tables (extracts or a world)."""

    loads: dict[str, LoadSummary] = field(default_factory=dict)  # source label -> row accounting
    restricted_sources: frozenset[str] = frozenset()
    public: pd.DataFrame | None = None  # crime-level public view (real police.uk files)
    public_did: pd.DataFrame | None = None  # public view of the area and its public comparison areas
    public_months_complete: bool = False
    coverage: Coverage | None = None  # what the police.uk files supply, area by kind by month
    tables: dict[str, pd.DataFrame] | None = None  # restricted tables (accepted rows)
    world: SyntheticWorld | None = None
    world_public: pd.DataFrame | None = None  # the synthetic world's own police.uk view
    world_note: str = ""
    areas: pd.DataFrame | None = None  # force, crime_ref, area, treated (and role for a world)
    police: pd.DataFrame | None = None  # the police outcome on each crime record (a world)


@dataclass(frozen=True)
class Linked:
    """What :func:`link` made: the linkage result and the crime-level linked view."""

    result: LinkResult
    crimes: pd.DataFrame  # crime-level linked view, in the period (and, for a world, its areas)
    published_outcomes: pd.DataFrame | None = None
    outcomes_file_skipped: str | None = None  # why no published-style outcomes file


@dataclass(frozen=True)
class LinkQuality:
    """Linkage quality: against truth (synthetic data) and estimated from a clerical review."""

    truth: QualityReport | None = None
    subgroups: pd.DataFrame | None = None
    review: ReviewEstimate | None = None
    review_by_source: dict[str, ReviewEstimate] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame | None:
        """Precision, recall and F1 by source against truth (None without truth)."""
        return None if self.truth is None else self.truth.table


@dataclass(frozen=True)
class RunResult:
    """Everything a report is built from (record-level: never written out as is)."""

    config: TrailblazerConfig
    loads: dict[str, LoadSummary] = field(default_factory=dict)
    restricted_sources: frozenset[str] = frozenset()
    public: pd.DataFrame | None = None
    public_did: pd.DataFrame | None = None
    public_months_complete: bool = False
    coverage: Coverage | None = None  # what the police.uk files supply (linkage.sources.coverage)
    world_public: pd.DataFrame | None = None
    linked: pd.DataFrame | None = None
    link_result: LinkResult | None = None
    tables: dict[str, pd.DataFrame] | None = None
    quality: pd.DataFrame | None = None
    review: ReviewEstimate | None = None
    review_by_source: dict[str, ReviewEstimate] = field(default_factory=dict)  # the same review, per source
    subgroups: pd.DataFrame | None = None
    true_effects: dict[str, float] | None = None
    world: SyntheticWorld | None = None
    world_note: str = ""
    published_outcomes: pd.DataFrame | None = None
    outcomes_file_skipped: str | None = None


# --- load ----------------------------------------------------------------------------------------------


def _filter_area(frame: pd.DataFrame, config: TrailblazerConfig) -> pd.DataFrame:
    area = config.area
    keep = pd.Series(True, index=frame.index)
    if area.lsoa_codes:
        keep &= frame["lsoa_code"].isin(area.lsoa_codes)
    if area.lsoa_name_prefix and "lsoa_name" in frame.columns:
        keep &= frame["lsoa_name"].astype("string").str.startswith(area.lsoa_name_prefix).fillna(False)
    in_period = (frame["month"] >= config.start) & (frame["month"] <= config.end)
    return frame[keep & in_period].reset_index(drop=True)


def _read_public(
    paths: tuple[Path, ...],
    label: str,
    loads: dict[str, LoadSummary],
    releases: Mapping[str, str] | None = None,
) -> LoadResult:
    """One load of some police.uk files: a month supplied by two of them (two releases) is resolved to
    the newest release across all of them (linkage.sources.releases)."""
    result = read_police_uk(list(paths), releases=dict(releases or {}))
    loads[f"{label}: " + ", ".join(p.name for p in paths)] = result.summary
    return result


def _load_public(config: TrailblazerConfig, loads: dict[str, LoadSummary]) -> dict[str, object]:
    """The public view of the area (``public``), of it and its public comparison areas (``public_did``),
    whether the outcomes files cover every month (``public_months_complete``) and what the files cover
    (``coverage``; a public-only period with no street data at all is an error)."""
    result = _read_public(config.police_uk, "police.uk", loads, config.police_uk_releases)
    coverage = Coverage.for_period(config.start, config.end)
    coverage.add(
        area_coverage(config.area.name, "trailblazer", result.tables, result.file_releases),
        result.summary.releases,
    )
    if config.public_only:
        coverage.require_crime_data()
    street, outcome = result.tables.get("street"), result.tables.get("outcomes")
    if street is None:
        logger.warning("%s: no police.uk street files; the public view is empty", config.slug)
        return {"coverage": coverage}
    public = _filter_area(public_crimes(street, outcome, area=config.area.name), config)
    out: dict[str, object] = {"public": public, "coverage": coverage}
    if config.public_comparisons and config.go_live is not None:
        out["public_did"] = _load_public_comparisons(config, public, loads, coverage)
    if outcome is not None:
        months = set(pd.to_datetime(outcome["month"]).dt.to_period("M"))
        wanted = set(pd.period_range(config.start, config.end, freq="M"))
        out["public_months_complete"] = bool(wanted <= months)
    return out


def _load_public_comparisons(
    config: TrailblazerConfig, public: pd.DataFrame, loads: dict[str, LoadSummary], coverage: Coverage
) -> pd.DataFrame:
    """The public view of each public comparison area (its own police.uk files and LSOAs), stacked with
    the trailblazer area's (``treated`` 1) for the difference-in-differences; each area's coverage is
    added to ``coverage``."""
    frames = [public.assign(treated=1)]
    for comp in config.public_comparisons:
        result = _read_public(comp.police_uk, f"police.uk ({comp.name})", loads, dict(comp.releases))
        coverage.add(
            area_coverage(comp.name, "comparison", result.tables, result.file_releases),
            result.summary.releases,
        )
        street, outcome = result.tables.get("street"), result.tables.get("outcomes")
        if street is None:
            logger.warning("%s: comparison area %s has no street files", config.slug, comp.name)
            continue
        crimes = public_crimes(street, outcome, area=comp.name)
        keep = (crimes["month"] >= config.start) & (crimes["month"] <= config.end)
        if comp.lsoa_codes:
            keep &= crimes["lsoa_code"].isin(comp.lsoa_codes)
        if comp.lsoa_name_prefix:
            names = crimes.get("lsoa_name", pd.Series(pd.NA, index=crimes.index)).astype("string")
            keep &= names.str.startswith(comp.lsoa_name_prefix).fillna(False)
        frames.append(crimes[keep].assign(treated=0))
    return pd.concat(frames, ignore_index=True)


def police_record(truth: pd.DataFrame, config: TrailblazerConfig) -> pd.DataFrame:
    """The outcome on the force's own crime record at the extract date (the period end).

    In the synthetic world this is the 'last outcome' the force knows (what it publishes to police.uk)
    and the date of the police decision; decisions after the period end are not yet known.
    """
    end = config.period_end
    when = pd.to_datetime(truth["outcome_date"])
    known = when <= end
    return pd.DataFrame(
        {
            "force": truth["force"].astype("string"),
            "crime_ref": truth["crime_ref"].astype("string"),
            "police_outcome": truth["last_outcome"].astype("string"),
            "police_outcome_date": when.where(known),
        }
    )


def _table_summary(tables: dict[str, pd.DataFrame]) -> LoadSummary:
    """Validate in-memory extract tables with the same contracts as :func:`linkage.sources.read_extract`.

    Each table (except the truth table, which a real extract would not have) is written to a temporary
    Parquet file and read back with ``read_extract``, so the row accounting and quarantine reasons are
    the real ones. Quarantined rows are dropped from ``tables`` (in place) exactly as for real extracts;
    the in-memory columns and types of the accepted rows are kept.
    """
    by_file, reasons = [], {}
    with tempfile.TemporaryDirectory(prefix="linkage-synth-") as tmp:
        for kind, table in list(tables.items()):
            if kind == "truth":
                continue
            path = Path(tmp) / f"{kind}.parquet"
            write_parquet(path, table.reset_index(drop=True))
            result = read_extract(kind, path)
            files = result.summary.by_file.copy()
            files["file"] = f"synthetic {kind}"  # never the temporary path
            by_file.append(files)
            for reason, n in result.summary.by_reason.items():
                reasons[reason] = reasons.get(reason, 0) + int(n)
            if result.summary.quarantined:
                kept = result.accepted["source_row"].to_numpy() - 2  # source_row counts the header as 1
                tables[kind] = table.iloc[kept].reset_index(drop=True)
                logger.warning(
                    "synthetic %s: %d row(s) quarantined by the data contract",
                    kind,
                    result.summary.quarantined,
                )
    files = pd.concat(by_file, ignore_index=True).fillna(0)
    return LoadSummary(
        rows_read=int(files["rows_read"].sum()),
        accepted=int(files["accepted"].sum()),
        quarantined=int(files["quarantined"].sum()),
        by_reason=reasons,
        by_file=files,
    )


def _load_synthetic(config: TrailblazerConfig, loads: dict[str, LoadSummary]) -> dict[str, object]:
    """Generate the configured world; its restricted tables, roles, police record and public view."""
    spec = config.synthetic_world
    assert spec is not None  # for type checkers: only called with a world
    world = generate(spec, seed=config.seed)
    tables = {k: getattr(world, k) for k in _CONTRACT if getattr(world, k, None) is not None}
    loads["synthetic restricted extracts"] = _table_summary(tables)
    truth = world.crime_truth
    roles = truth[["force", "crime_ref", "area", "role"]].copy()
    roles["treated"] = (roles["role"] == "trailblazer").astype("int64")
    world_public = public_crimes(world.street, world.outcomes, area=config.area.name)
    world_public = world_public[
        (world_public["month"] >= config.start) & (world_public["month"] <= config.end)
    ].reset_index(drop=True)
    return {
        "tables": tables,
        "world": world,
        "areas": roles,
        "police": police_record(truth, config),
        "world_public": world_public,
        "world_note": (
            f"Synthetic world: {len(spec.areas)} area(s), {spec.months} months from {spec.start_month}, "
            f"noise profile {spec.noise_profile.name!r}, seed {config.seed}."
        ),
        "restricted_sources": frozenset({"synthetic restricted extracts"}),
    }


def _load_extracts(config: TrailblazerConfig, loads: dict[str, LoadSummary]) -> dict[str, object]:
    """The configured restricted extracts (the shared loader), and the trailblazer LSOAs as areas."""
    results = load_extracts(config.extracts)
    tables = {kind: result.tables[kind] for kind, result in results.items()}
    loads["restricted extracts"] = combine_summaries(r.summary for r in results.values())
    areas = None
    if config.area.lsoa_codes:
        crimes = tables["crimes"]
        inside = crimes["lsoa_code"].isin(config.area.lsoa_codes)
        areas = pd.DataFrame(
            {
                "force": crimes["force"],
                "crime_ref": crimes["crime_ref"],
                "area": np.where(inside, config.area.name, "other"),
                "treated": inside.astype("int64"),
            }
        )
    return {"tables": tables, "areas": areas, "restricted_sources": frozenset({"restricted extracts"})}


def load(config: TrailblazerConfig) -> Loaded:
    """Load and validate every source the configuration names (police.uk; extracts or a world)."""
    loads: dict[str, LoadSummary] = {}
    parts: dict[str, object] = {}
    if config.police_uk:
        parts.update(_load_public(config, loads))
    if config.synthetic_world is not None:
        parts.update(_load_synthetic(config, loads))
    elif config.extracts:
        parts.update(_load_extracts(config, loads))
    return Loaded(loads=loads, **parts)  # type: ignore[arg-type]


# --- link ----------------------------------------------------------------------------------------------


def link_records(
    tables: Mapping[str, pd.DataFrame],
    settings: LinkSettings,
    *,
    progress: bool = False,
    truth: pd.DataFrame | None = None,
) -> LinkResult:
    """Link outcome records to crimes and suspects (:func:`linkage.justice.link_outcomes`); ``truth`` adds
    the pair completeness of each blocking pass."""
    return link_outcomes(tables, settings=settings, progress=progress, truth=truth)


def _lsoa_names(config: TrailblazerConfig) -> dict[str, str] | None:
    """LSOA code -> name from the configured boundary file (None without one)."""
    if config.area.boundary_file is None:
        return None
    table = pyogrio.read_dataframe(config.area.boundary_file, read_geometry=False)
    if not {"LSOA21CD", "LSOA21NM"} <= set(table.columns):
        return None
    return dict(zip(table["LSOA21CD"].astype(str), table["LSOA21NM"].astype(str), strict=True))


def link(config: TrailblazerConfig, loaded: Loaded) -> Linked | None:
    """Link the loaded restricted tables (None without any): the crime-level linked view in the period
    (a world's trailblazer and comparison areas only, when it has a go-live month) and the
    published-style outcomes file (LSOA-located; keyed Crime IDs)."""
    if loaded.tables is None:
        return None
    result = link_records(loaded.tables, config.linkage)
    areas = loaded.areas
    if areas is not None and "role" in areas.columns:
        areas = areas[["force", "crime_ref", "area", "treated"]]
    crimes = linked_crimes(
        result.crime_outcomes, areas=areas, police_outcomes=loaded.police, default_area=config.area.name
    )
    crimes = crimes[(crimes["month"] >= config.start) & (crimes["month"] <= config.end)].reset_index(
        drop=True
    )
    roles = loaded.areas
    if (
        loaded.world is not None
        and roles is not None
        and config.go_live is not None
        and (roles["role"] == "trailblazer").any()
    ):
        keep = roles.loc[roles["role"].isin(["trailblazer", "comparison"]), ["force", "crime_ref"]]
        crimes = crimes.merge(keep.astype("string"), on=["force", "crime_ref"], how="inner")
    seed = config.seed if config.synthetic_world is not None else None
    try:
        published = result.to_police_uk_outcomes(_lsoa_names(config), synthetic_seed=seed)
    except LinkageError as err:  # real extracts and no publication key: no outcomes file, say why
        logger.warning("published-style outcomes file not written: %s", err)
        return Linked(result=result, crimes=crimes, outcomes_file_skipped=str(err))
    return Linked(result=result, crimes=crimes, published_outcomes=published)


# --- measure -------------------------------------------------------------------------------------------


def measure(
    result: LinkResult,
    tables: Mapping[str, pd.DataFrame],
    *,
    alpha: float = 0.05,
    clerical_review: Path | None = None,
    review_sample: int = 0,
    seed: int = 0,
) -> LinkQuality:
    """Linkage quality: precision, recall and F1 against ``tables['truth']`` when there is one (overall,
    by source and by subgroup), and precision and recall estimated from a clerical review.

    With a reviewed sample (``clerical_review``), that sample is used. Otherwise, when a truth table
    exists, a review of ``review_sample`` pairs is simulated - drawn exactly as for a real reviewer,
    labelled from the truth - so the estimate can be compared with the truth.
    """
    truth = tables.get("truth")
    report = subgroups = None
    if truth is not None:
        report = evaluate_against_truth(result.links, truth, alpha=alpha, ambiguous=result.ambiguous)
        subgroups = by_subgroup(result.links, truth, dict(tables), alpha=alpha)
    review = None
    labelled = None
    has_pairs = result.candidates is not None and not result.candidates.empty
    if clerical_review is not None:
        labelled = read_review(clerical_review)
        review = estimate_from_review(labelled, result.candidates, alpha=alpha, seed=seed)
    elif truth is not None and review_sample and has_pairs:
        labelled = draw_review_sample(result.candidates, n=review_sample, seed=seed)
        correct = mark_correct(labelled, truth)["correct"].to_numpy(bool)
        labelled["reviewer_label"] = np.where(correct, "Y", "N")
        review = estimate_from_review(labelled, result.candidates, alpha=alpha, seed=seed)
    by_source = {}
    if labelled is not None and "source" in labelled.columns and has_pairs:
        # The same reviewed pairs, per source (each source's strata and pairs only): for linked-only
        # rates, which need the recall of their own source (issue 16c).
        for source in sorted(labelled["source"].dropna().astype(str).unique()):
            mine = labelled[labelled["source"].astype(str) == source]
            pairs = result.candidates[result.candidates["source"].astype(str) == source]
            if len(mine) and len(pairs):
                by_source[source] = estimate_from_review(mine, pairs, alpha=alpha, seed=seed)
    return LinkQuality(truth=report, subgroups=subgroups, review=review, review_by_source=by_source)


# --- evaluate ------------------------------------------------------------------------------------------


def true_effects(
    world: SyntheticWorld | None, config: TrailblazerConfig, crimes: pd.DataFrame
) -> dict[str, float] | None:
    """The effect each DiD estimates, in display units: the ATT on the crimes that DiD uses.

    For each outcome of :func:`linkage.evaluation.did_outcomes`, take the rows the estimate uses
    (:func:`~linkage.evaluation.did_sample` of the flagged analysis frame ``crimes``), keep the treated ones
    (trailblazer area, recorded from its go-live month: the area's own when go-lives are staggered, the
    cohorts the staggered estimator averages over) and average each crime's effect from the world's
    factual and counterfactual outcomes (:func:`linkage.synth.individual_effects`, measured the way the
    flags measure them). So the estimate and the truth share population, window and measurement; only
    the comparison areas (standing in for the counterfactual) and linkage error separate them.
    None without a world effect or a go-live month.
    """
    if getattr(world, "true_effect", None) is None or config.go_live is None:
        return None
    assert world is not None  # for type checkers
    ev = config.evaluation
    flagged = add_flags(
        crimes,
        period_end=config.period_end,
        within_days=ev.outcome_within_days,
        followup_days=ev.followup_days,
    )
    effects = individual_effects(
        world.crime_truth, followup_days=ev.followup_days, within_days=ev.outcome_within_days
    )
    by_area = config.go_live_by_area if config.staggered else {}

    def go_live_of(sample: pd.DataFrame) -> pd.Series | pd.Timestamp:
        """Each crime's go-live month: its area's own with staggered go-lives, else the period's."""
        if not by_area:
            return config.go_live
        return pd.to_datetime(sample["area"].astype(str).map(by_area)).fillna(pd.Timestamp.max)

    out: dict[str, float] = {}
    for spec in did_outcomes(flagged, within_days=ev.outcome_within_days, followup_days=ev.followup_days):
        sample = did_sample(flagged, spec)
        treated = sample[(sample["treated"] > 0) & (sample["month"] >= go_live_of(sample))]
        if treated.empty:
            continue
        keyed = treated[["force", "crime_ref"]].astype("string")
        joined = keyed.merge(effects[["force", "crime_ref", spec.key]], on=["force", "crime_ref"], how="left")
        if joined[spec.key].isna().any():
            raise LinkageError(
                f"true_effects: {int(joined[spec.key].isna().sum())} treated crime(s) of {spec.key!r} "
                "are not in the world's crime_truth"
            )
        out[spec.key] = float(joined[spec.key].mean())
    return out


def evaluate(config: TrailblazerConfig, loaded: Loaded, linked: Linked | None) -> dict[str, float] | None:
    """The known effects a synthetic world's evaluation should recover (None for real data)."""
    if loaded.world is None or linked is None:
        return None
    return true_effects(loaded.world, config, linked.crimes)


# --- run -----------------------------------------------------------------------------------------------


def run(config: TrailblazerConfig) -> RunResult:
    """Load, link, measure quality and evaluate: everything a report is built from."""
    loaded = load(config)
    linked = link(config, loaded)
    quality = LinkQuality()
    if linked is not None and loaded.tables is not None:
        quality = measure(
            linked.result,
            loaded.tables,
            alpha=config.evaluation.alpha,
            clerical_review=config.clerical_review,
            review_sample=config.evaluation.review_sample,
            seed=config.seed,
        )
    return RunResult(
        config=config,
        loads=loaded.loads,
        restricted_sources=loaded.restricted_sources,
        public=loaded.public,
        public_did=loaded.public_did,
        public_months_complete=loaded.public_months_complete,
        coverage=loaded.coverage,
        world_public=loaded.world_public,
        linked=None if linked is None else linked.crimes,
        link_result=None if linked is None else linked.result,
        tables=loaded.tables,
        quality=quality.table,
        review=quality.review,
        review_by_source=quality.review_by_source,
        subgroups=quality.subgroups,
        true_effects=evaluate(config, loaded, linked),
        world=loaded.world,
        world_note=loaded.world_note,
        published_outcomes=None if linked is None else linked.published_outcomes,
        outcomes_file_skipped=None if linked is None else linked.outcomes_file_skipped,
    )
