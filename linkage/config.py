"""Trailblazer configuration: one YAML file per area, parsed once into typed, frozen objects.

A configuration names the area (force, optional LSOA selection and boundary file), the period and
go-live month, the comparison areas, the data sources (public police.uk files; optional restricted
extracts or a synthetic-world specification), linkage settings, disclosure settings and the seed.
:func:`load_config` checks every field and raises one :class:`~linkage.errors.ConfigError` listing every
problem, each naming the field and the bad value. Relative paths are resolved against the folder that
holds the YAML file. See docs/reports.md for the full schema and an example.

Facts are stated once: the period (``period.start``, ``period.end``, ``period.go_live``) is inherited by
the synthetic world (``sources.synthetic_world``), which therefore needs no ``start_month``, ``months`` or
``go_live_month`` of its own. Those keys are still accepted for backward compatibility when they agree
with the period (a mismatch is a problem naming both values); a world-only file (no ``period:``) takes its
period from them. The ``linkage:`` block becomes a :class:`~linkage.justice.settings.LinkSettings` and the
synthetic world a :class:`~linkage.synth.spec.WorldSpec`: nothing is parsed again downstream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from linkage.errors import ConfigError
from linkage.evaluation.did import CLUSTER_CHOICES
from linkage.evaluation.disclosure import DisclosureSettings
from linkage.justice.settings import LinkSettings
from linkage.reference.identifiers import unknown_force_problem
from linkage.sources.messages import police_uk_problems
from linkage.synth.spec import WorldSpec

logger = logging.getLogger(__name__)

__all__ = [
    "TrailblazerConfig",
    "AreaConfig",
    "ComparisonArea",
    "EvaluationSettings",
    "DisclosureSettings",
    "LinkSettings",
    "WorldSpec",
    "load_config",
    "config_from_dict",
    "read_link_settings",
]

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TOP = {
    "slug",
    "title",
    "summary",
    "area",
    "period",
    "comparison_areas",
    "sources",
    "linkage",
    "disclosure",
    "evaluation",
    "seed",
    "release",  # optional: status, owner, contact, revisions (report furniture; text values)
}
_EXTRACT_KINDS = ("crimes", "suspects", "cautions", "penalty_notices", "court_outcomes", "truth")


@dataclass(frozen=True)
class AreaConfig:
    """The trailblazer area: its name, force, optional LSOA selection and boundary file."""

    name: str
    force: str
    lsoa_codes: tuple[str, ...] = ()
    lsoa_name_prefix: str | None = None
    boundary_file: Path | None = None
    force_boundaries: Path | None = None


@dataclass(frozen=True)
class ComparisonArea:
    """A comparison area of a public-only configuration: its own police.uk files and LSOA selection."""

    name: str
    police_uk: tuple[Path, ...]
    lsoa_codes: tuple[str, ...] = ()
    lsoa_name_prefix: str | None = None
    releases: tuple[tuple[str, str], ...] = ()  # (path, release month) for {path, release} entries


@dataclass(frozen=True)
class EvaluationSettings:
    """Evaluation choices: clustering of the DiD, the time-to-outcome window, the interval level."""

    cluster: str = "lsoa"
    outcome_within_days: int = 30
    followup_days: int = 90
    alpha: float = 0.05
    review_sample: int = 300


@dataclass(frozen=True)
class TrailblazerConfig:
    """A validated trailblazer configuration (build with :func:`load_config`)."""

    slug: str
    title: str
    area: AreaConfig
    start: pd.Timestamp
    end: pd.Timestamp  # first day of the last month
    go_live: pd.Timestamp | None
    comparison_areas: tuple[str, ...]  # names (synthetic world areas, or the public areas below)
    police_uk: tuple[Path, ...]
    extracts: Mapping[str, Path]
    clerical_review: Path | None
    synthetic_world: WorldSpec | None  # months and go-live inherited from the period
    linkage: LinkSettings
    disclosure: DisclosureSettings
    evaluation: EvaluationSettings
    seed: int
    source: Path | None = None
    summary: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    public_comparisons: tuple[ComparisonArea, ...] = ()
    police_uk_releases: Mapping[str, str] = field(default_factory=dict)  # path -> release month

    @property
    def period_end(self) -> pd.Timestamp:
        """Last day of the period (censoring date)."""
        return self.end + pd.offsets.MonthEnd(0)

    @property
    def go_live_by_area(self) -> dict[str, pd.Timestamp]:
        """Trailblazer area -> its go-live month (a synthetic world's areas; an area's own
        ``go_live_month`` or else ``period.go_live``). Empty without a world or a go-live."""
        return {} if self.synthetic_world is None else self.synthetic_world.go_live_by_area

    @property
    def staggered(self) -> bool:
        """True when the trailblazer areas go live in more than one month (the report then uses the
        staggered estimator, :mod:`linkage.evaluation.staggered`)."""
        return len(set(self.go_live_by_area.values())) > 1

    @property
    def public_only(self) -> bool:
        """True when the config names no restricted extracts and no synthetic world."""
        return not self.extracts and self.synthetic_world is None

    @property
    def config_hash(self) -> str:
        """SHA-256 of the configuration as canonical JSON (key order and formatting do not matter)."""
        canon = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def input_files(self) -> list[Path]:
        """Every input file the report reads (folders expanded), sorted."""
        files: list[Path] = []
        for p in (*self.police_uk, *(q for c in self.public_comparisons for q in c.police_uk)):
            files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for area in self.synthetic_world.areas if self.synthetic_world is not None else ():
            folder = area.geography.get("police_uk")
            if folder and Path(folder).exists():
                p = Path(folder)
                files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        files += list(self.extracts.values())
        if self.clerical_review is not None:
            files.append(self.clerical_review)
        for extra in (self.area.boundary_file, self.area.force_boundaries):
            if extra is not None:
                files.append(extra)
                if extra.suffix == ".shp":
                    files += [
                        extra.with_suffix(s)
                        for s in (".dbf", ".shx", ".prj")
                        if extra.with_suffix(s).exists()
                    ]
        return sorted({f.resolve() for f in files})


def load_config(path: str | Path) -> TrailblazerConfig:
    """Read and validate a trailblazer YAML file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, [f"config file not found: {str(path)!r}"])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from exc
    return config_from_dict(data, base=path.parent, source=path, default_slug=path.stem)


def _month(value: object, where: str, problems: list[str]) -> pd.Timestamp | None:
    if value is None:
        return None
    text = str(value)
    if not _MONTH.match(text):
        problems.append(f"{where}: must be a month 'YYYY-MM', got {value!r}")
        return None
    return pd.Timestamp(text + "-01")


def _path(
    value: object, where: str, base: Path, problems: list[str], *, must_exist: bool = True
) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: must be a path, got {value!r}")
        return None
    p = Path(value)
    p = p if p.is_absolute() else (base / p)
    if must_exist and not p.exists():
        problems.append(f"{where}: file or folder not found: {value!r}")
    return p


def _release_item(
    item: Mapping[str, Any], where: str, base: Path, problems: list[str], releases: dict[str, str]
) -> object:
    """A ``{path, release}`` police.uk entry: records the release month, returns the path value."""
    for key in sorted(set(item) - {"path", "release"}):
        problems.append(f"{where}.{key}: unknown field (known: ['path', 'release'])")
    release = item.get("release")
    if release is not None and not _MONTH.match(str(release)):
        problems.append(f"{where}.release: must be the release month 'YYYY-MM', got {release!r}")
    elif release is not None and isinstance(item.get("path"), str):
        p = Path(item["path"])
        releases[str(p if p.is_absolute() else base / p)] = str(release)
    return item.get("path")


def _parse_sources(
    data: Mapping[str, Any], base: Path, problems: list[str], releases: dict[str, str] | None = None
) -> tuple[list[Path], dict[str, Path], dict[str, Any] | None, Path | None]:
    """The ``sources:`` block: police.uk paths, extract paths, world spec, clerical review path.

    ``releases`` collects ``{path, release}`` entries (path -> release month)."""
    releases = {} if releases is None else releases
    sources = data.get("sources")
    police_uk: list[Path] = []
    extracts: dict[str, Path] = {}
    world: Mapping[str, Any] | None = None
    if not isinstance(sources, Mapping) or not sources:
        problems.append(f"sources: must name police_uk files, extracts or a synthetic_world, got {sources!r}")
        sources = {}
    for key in sorted(set(sources) - {"police_uk", "extracts", "synthetic_world", "clerical_review"}):
        problems.append(
            f"sources.{key}: unknown field (known: ['clerical_review', 'extracts', 'police_uk', "
            "'synthetic_world'])"
        )
    raw_pu = sources.get("police_uk", [])
    if isinstance(raw_pu, str):
        raw_pu = [raw_pu]
    if not isinstance(raw_pu, list):
        problems.append(f"sources.police_uk: must be a path or a list of paths, got {raw_pu!r}")
        raw_pu = []
    for i, item in enumerate(raw_pu):
        if isinstance(item, Mapping):  # {path, release}: a police.uk archive whose path does not say it
            item = _release_item(item, f"sources.police_uk[{i}]", base, problems, releases)
        p = _path(item, f"sources.police_uk[{i}]", base, problems)
        if p is not None:
            police_uk.append(p)
    raw_ex = sources.get("extracts", {}) or {}
    if not isinstance(raw_ex, Mapping):
        problems.append(f"sources.extracts: must map table kind to path, got {raw_ex!r}")
        raw_ex = {}
    for kind, item in raw_ex.items():
        if kind not in _EXTRACT_KINDS:
            problems.append(f"sources.extracts.{kind}: unknown extract kind (known: {list(_EXTRACT_KINDS)})")
            continue
        p = _path(item, f"sources.extracts.{kind}", base, problems)
        if p is not None:
            extracts[kind] = p
    if raw_ex and not {"crimes", "suspects"} <= set(raw_ex):
        problems.append(f"sources.extracts: need at least 'crimes' and 'suspects', got {sorted(raw_ex)}")
    if "synthetic_world" in sources:
        world = sources["synthetic_world"]
        if not isinstance(world, Mapping):
            problems.append(f"sources.synthetic_world: must be a world specification mapping, got {world!r}")
            world = None
        else:
            world = _resolve_world_paths(world, base)  # validated with the period (_parse_world)
    review_path = None
    if "clerical_review" in sources:
        review_path = _path(sources["clerical_review"], "sources.clerical_review", base, problems)
        if not extracts:
            problems.append(
                "sources.clerical_review: needs restricted extracts (the review labels their links)"
            )
    if extracts and world is not None:
        problems.append("sources: give restricted extracts or a synthetic_world, not both")
    if sources and not police_uk and not extracts and world is None:
        problems.append("sources: name at least one of police_uk, extracts, synthetic_world")
    return police_uk, extracts, world, review_path


def _parse_area(data: Mapping[str, Any], base: Path, problems: list[str]) -> AreaConfig | None:
    """The ``area:`` block (None when it is not a mapping; problems appended)."""
    area_raw = data.get("area")
    area = None
    if not isinstance(area_raw, Mapping):
        problems.append(f"area: must be a mapping with name and force, got {area_raw!r}")
    else:
        known = {"name", "force", "lsoa_codes", "lsoa_name_prefix", "boundary_file", "force_boundaries"}
        for key in sorted(set(area_raw) - known):
            problems.append(f"area.{key}: unknown field (known: {sorted(known)})")
        for key in ("name", "force"):
            if not isinstance(area_raw.get(key), str) or not area_raw.get(key, "").strip():
                problems.append(f"area.{key}: must be a non-empty string, got {area_raw.get(key)!r}")
        force_problem = (
            unknown_force_problem(area_raw["force"].strip(), "area.force")
            if isinstance(area_raw.get("force"), str) and area_raw["force"].strip()
            else None
        )
        if force_problem:
            problems.append(force_problem)
        codes = area_raw.get("lsoa_codes", []) or []
        if not isinstance(codes, list) or not all(
            isinstance(c, str) and re.match(r"^[EW]0\d{7}$", c) for c in codes
        ):
            bad = (
                codes
                if not isinstance(codes, list)
                else [c for c in codes if not isinstance(c, str) or not re.match(r"^[EW]0\d{7}$", c)]
            )
            problems.append(f"area.lsoa_codes: must be a list of LSOA codes like 'E01000001', got {bad!r}")
            codes = []
        prefix = area_raw.get("lsoa_name_prefix")
        if prefix is not None and (not isinstance(prefix, str) or not prefix.strip()):
            problems.append(f"area.lsoa_name_prefix: must be a non-empty string, got {prefix!r}")
        boundary = force_b = None
        if "boundary_file" in area_raw:
            boundary = _path(area_raw["boundary_file"], "area.boundary_file", base, problems)
        if "force_boundaries" in area_raw:
            force_b = _path(area_raw["force_boundaries"], "area.force_boundaries", base, problems)
        area = AreaConfig(
            name=str(area_raw.get("name", "")),
            force=str(area_raw.get("force", "")),
            lsoa_codes=tuple(codes),
            lsoa_name_prefix=prefix if isinstance(prefix, str) else None,
            boundary_file=boundary,
            force_boundaries=force_b,
        )
    return area


def _parse_period(
    data: Mapping[str, Any], world: Mapping[str, Any] | None, problems: list[str]
) -> tuple[pd.Timestamp | None, pd.Timestamp | None, pd.Timestamp | None]:
    """The ``period:`` block (or, in a world-only file, the synthetic world's months): start, end and
    go-live months. A world that restates the period must agree with it."""
    period = data.get("period")
    start = end = go_live = None
    if period is None and world is not None and not _world_problems(world):
        start = pd.Timestamp(str(world["start_month"]) + "-01")
        end = start + pd.DateOffset(months=int(world["months"]) - 1)
        go_live = pd.Timestamp(str(world["go_live_month"]) + "-01") if world.get("go_live_month") else None
    elif not isinstance(period, Mapping):
        problems.append(f"period: must be a mapping with start and end months, got {period!r}")
    else:
        for key in sorted(set(period) - {"start", "end", "go_live"}):
            problems.append(f"period.{key}: unknown field (known: ['end', 'go_live', 'start'])")
        start = _month(period.get("start"), "period.start", problems)
        end = _month(period.get("end"), "period.end", problems)
        go_live = _month(period.get("go_live"), "period.go_live", problems)
        if period.get("start") is None:
            problems.append("period.start: required, got None")
        if period.get("end") is None:
            problems.append("period.end: required, got None")
        if start is not None and end is not None and end < start:
            problems.append(
                f"period.end: {period.get('end')!r} is before period.start {period.get('start')!r}"
            )
        if go_live is not None and start is not None and end is not None and not start < go_live <= end:
            problems.append(
                f"period.go_live: {period.get('go_live')!r} must be after period.start and no later "
                "than period.end"
            )
        stated = world is not None and ("start_month" in world or "months" in world)
        if stated and start is not None and not _world_problems(_inherit_period(world, start, end, go_live)):
            w = _inherit_period(world, start, end, go_live)
            w_start = pd.Timestamp(str(w["start_month"]) + "-01")
            w_end = w_start + pd.DateOffset(months=int(w["months"]) - 1)
            if start != w_start or (end is not None and end != w_end):
                problems.append(
                    f"period: {period.get('start')!r}..{period.get('end')!r} differs from the "
                    "synthetic world's "
                    f"{w['start_month']!r} + {w['months']} months"
                )
        w_go = world.get("go_live_month") if world is not None else None
        if (
            go_live is not None
            and _MONTH.match(str(w_go or ""))
            and go_live != pd.Timestamp(str(w_go) + "-01")
        ):
            problems.append(f"period.go_live: {period.get('go_live')!r} differs from the world's {w_go!r}")
    return start, end, go_live


def _inherit_period(
    world: Mapping[str, Any],
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    go_live: pd.Timestamp | None,
) -> dict[str, Any]:
    """The world mapping with ``start_month``, ``months`` and ``go_live_month`` taken from the period
    where the world does not state them (stated values are kept, and checked by :func:`_parse_period`)."""
    out = dict(world)
    if start is not None:
        out.setdefault("start_month", f"{start:%Y-%m}")
        if end is not None and end >= start:
            out.setdefault("months", (end.year - start.year) * 12 + end.month - start.month + 1)
    if go_live is not None:
        out.setdefault("go_live_month", f"{go_live:%Y-%m}")
    return out


def _parse_world(
    world: Mapping[str, Any] | None,
    period: tuple[pd.Timestamp | None, pd.Timestamp | None, pd.Timestamp | None],
    problems: list[str],
) -> WorldSpec | None:
    """The synthetic world as a :class:`WorldSpec`, its months and go-live inherited from the period
    (None without a world, or when the world or the period has problems; problems appended)."""
    if world is None:
        return None
    start, end, go_live = period
    if start is None and "start_month" not in world:
        return None  # the period's own problem is reported; the world has nothing to inherit
    try:
        return WorldSpec.from_dict(
            _inherit_period(world, start, end, go_live), source="sources.synthetic_world"
        )
    except ConfigError as exc:
        problems += [f"sources.synthetic_world.{p}" for p in exc.problems]
        return None


def _parse_evaluation(data: Mapping[str, Any], problems: list[str]) -> EvaluationSettings:
    """The ``evaluation:`` block (defaults when absent or invalid; problems appended)."""
    ev_raw = data.get("evaluation", {}) or {}
    evaluation = EvaluationSettings()
    if not isinstance(ev_raw, Mapping):
        problems.append(f"evaluation: must be a mapping, got {ev_raw!r}")
    else:
        for key in sorted(
            set(ev_raw) - {"cluster", "outcome_within_days", "followup_days", "alpha", "review_sample"}
        ):
            problems.append(
                f"evaluation.{key}: unknown field (known: ['alpha', 'cluster', 'followup_days', "
                "'outcome_within_days', 'review_sample'])"
            )
        cluster = ev_raw.get("cluster", "lsoa")
        if cluster not in CLUSTER_CHOICES:
            problems.append(f"evaluation.cluster: must be one of {list(CLUSTER_CHOICES)}, got {cluster!r}")
        days = ev_raw.get("outcome_within_days", 30)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            problems.append(f"evaluation.outcome_within_days: must be a whole number 1-365, got {days!r}")
        follow = ev_raw.get("followup_days", 90)
        if isinstance(follow, bool) or not isinstance(follow, int) or not 1 <= follow <= 365:
            problems.append(f"evaluation.followup_days: must be a whole number 1-365, got {follow!r}")
        review_n = ev_raw.get("review_sample", 300)
        if isinstance(review_n, bool) or not isinstance(review_n, int) or not 0 <= review_n <= 100_000:
            problems.append(f"evaluation.review_sample: must be a whole number 0-100000, got {review_n!r}")
        alpha = ev_raw.get("alpha", 0.05)
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 0.5:
            problems.append(f"evaluation.alpha: must be a number in (0, 0.5), got {alpha!r}")
        if not any(p.startswith("evaluation.") for p in problems):
            evaluation = EvaluationSettings(
                cluster=cluster,
                outcome_within_days=days,
                followup_days=follow,
                alpha=float(alpha),
                review_sample=review_n,
            )
    return evaluation


def _parse_public_comparisons(items: list[Any], base: Path, problems: list[str]) -> list[ComparisonArea]:
    """``comparison_areas`` of a public-only configuration: each names its police.uk files and LSOAs."""
    known = {"name", "police_uk", "lsoa_codes", "lsoa_name_prefix"}
    out: list[ComparisonArea] = []
    for i, item in enumerate(items):
        where = f"comparison_areas[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be a mapping like the others, got {item!r}")
            continue
        for key in sorted(set(item) - known):
            problems.append(f"{where}.{key}: unknown field (known: {sorted(known)})")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}.name: must be a non-empty string, got {name!r}")
            continue
        raw_paths = item.get("police_uk")
        if isinstance(raw_paths, str):
            raw_paths = [raw_paths]
        releases: dict[str, str] = {}
        if isinstance(raw_paths, list):  # {path, release} entries, as in sources.police_uk
            raw_paths = [
                _release_item(x, f"{where}.police_uk[{j}]", base, problems, releases)
                if isinstance(x, Mapping)
                else x
                for j, x in enumerate(raw_paths)
            ]
        if not isinstance(raw_paths, list) or not raw_paths or not all(isinstance(x, str) for x in raw_paths):
            problems.append(
                f"{where}.police_uk: must be a list of police.uk files or folders, got {raw_paths!r}"
            )
            continue
        paths = [(base / x).resolve() if not Path(x).is_absolute() else Path(x) for x in raw_paths]
        for raw, path in zip(raw_paths, paths, strict=True):
            if not path.exists():
                problems.append(f"{where}.police_uk: {raw!r} does not exist (resolved to {path})")
        codes = item.get("lsoa_codes", []) or []
        if not isinstance(codes, list) or not all(
            isinstance(c, str) and re.match(r"^[EW]0\d{7}$", c) for c in codes
        ):
            problems.append(
                f"{where}.lsoa_codes: must be a list of LSOA codes like 'E01000001', got {codes!r}"
            )
            codes = []
        prefix = item.get("lsoa_name_prefix")
        if prefix is not None and (not isinstance(prefix, str) or not prefix.strip()):
            problems.append(f"{where}.lsoa_name_prefix: must be a non-empty string, got {prefix!r}")
            prefix = None
        keys = [str(Path(x) if Path(x).is_absolute() else base / x) for x in raw_paths]
        given = tuple((str(p), releases[k]) for k, p in zip(keys, paths, strict=True) if k in releases)
        out.append(ComparisonArea(name.strip(), tuple(paths), tuple(codes), prefix, given))
    names = [c.name for c in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        problems.append(f"comparison_areas: names must be unique, got duplicates {dup}")
    return out


def config_from_dict(
    data: object, *, base: str | Path = ".", source: object = "config", default_slug: str | None = None
) -> TrailblazerConfig:
    """Validate a configuration mapping and build a :class:`TrailblazerConfig` (all problems at once)."""
    base = Path(base)
    if not isinstance(data, Mapping):
        raise ConfigError(source, [f"top level must be a mapping, got {type(data).__name__}"])
    problems: list[str] = []
    for key in sorted(set(data) - _TOP):
        problems.append(f"{key}: unknown field (known: {sorted(_TOP)})")

    slug = data.get("slug", default_slug)
    if not isinstance(slug, str) or not _SLUG.match(slug):
        problems.append(f"slug: must be lower-case letters, digits and hyphens, got {slug!r}")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(f"title: must be a non-empty string, got {title!r}")
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        problems.append(f"summary: must be text, got {summary!r}")

    release = data.get("release") or {}
    if not isinstance(release, Mapping) or any(
        k not in ("status", "owner", "contact", "revisions") or not isinstance(v, str)
        for k, v in release.items()
    ):
        problems.append(
            f"release: must map some of ['contact', 'owner', 'revisions', 'status'] to text, got {release!r}"
        )

    police_uk_releases: dict[str, str] = {}
    police_uk, extracts, world, review_path = _parse_sources(data, base, problems, police_uk_releases)

    area = _parse_area(data, base, problems)

    start, end, go_live = _parse_period(data, world, problems)
    world_spec = _parse_world(world, (start, end, go_live), problems)

    comparison = data.get("comparison_areas", []) or []
    public_comparisons: list[ComparisonArea] = []
    if isinstance(comparison, list) and world is None and any(isinstance(c, Mapping) for c in comparison):
        public_comparisons = _parse_public_comparisons(comparison, base, problems)
        comparison = [c.name for c in public_comparisons]
    elif not isinstance(comparison, list) or not all(isinstance(c, str) for c in comparison):
        problems.append(
            "comparison_areas: must be a list of area names (synthetic world), or of mappings "
            f"{{name, police_uk, lsoa_codes or lsoa_name_prefix}} (public-only), got {comparison!r}"
        )
        comparison = []
    if world_spec is not None:
        world_names = {a.name for a in world_spec.areas}
        missing = [c for c in comparison if c not in world_names]
        if missing:
            problems.append(
                f"comparison_areas: {missing} not among the synthetic world's areas {sorted(world_names)}"
            )

    # linkage, disclosure, evaluation, seed ---------------------------------------------------------------
    linkage_raw = data.get("linkage", {}) or {}
    link_settings = LinkSettings()
    if not isinstance(linkage_raw, Mapping):
        problems.append(f"linkage: must be a mapping of link settings, got {linkage_raw!r}")
    else:
        try:
            link_settings = LinkSettings.from_dict(linkage_raw, source="linkage")
        except ConfigError as exc:
            problems += [p if p.startswith("linkage") else f"linkage.{p}" for p in exc.problems]
    disclosure = DisclosureSettings()
    d_raw = data.get("disclosure", {}) or {}
    if not isinstance(d_raw, Mapping):
        problems.append(f"disclosure: must be a mapping, got {d_raw!r}")
    else:
        try:
            disclosure = DisclosureSettings.from_dict(dict(d_raw))
        except ConfigError as exc:
            problems += exc.problems
        except TypeError as exc:
            problems.append(f"disclosure: {exc}")
    evaluation = _parse_evaluation(data, problems)
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.append(f"seed: must be a whole number >= 0, got {seed!r}")

    if not problems and police_uk:  # issue 14: the files hold crimes, of the force named
        problems += police_uk_problems(
            police_uk, area.force if area is not None else None, need_street=not extracts and world is None
        )
    if problems:
        raise ConfigError(source, problems)
    assert area is not None and start is not None and end is not None  # for type checkers
    return TrailblazerConfig(
        slug=slug,
        title=title.strip(),
        summary=summary.strip(),
        area=area,
        start=start,
        end=end,
        go_live=go_live,
        comparison_areas=tuple(comparison),
        police_uk=tuple(police_uk),
        extracts=extracts,
        clerical_review=review_path,
        synthetic_world=world_spec,
        linkage=link_settings,
        disclosure=disclosure,
        evaluation=evaluation,
        seed=seed,
        source=Path(source) if isinstance(source, str | Path) else None,
        raw=dict(data),
        public_comparisons=tuple(public_comparisons),
        police_uk_releases=police_uk_releases,
    )


def _resolve_world_paths(world: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Make ``geography.police_uk`` folders in a world spec absolute (relative to the YAML file)."""
    out = dict(world)
    areas = []
    for area in world.get("areas", []) or []:
        if isinstance(area, Mapping) and isinstance(area.get("geography"), Mapping):
            geo = dict(area["geography"])
            if isinstance(geo.get("police_uk"), str) and not Path(geo["police_uk"]).is_absolute():
                geo["police_uk"] = str((base / geo["police_uk"]).resolve())
            area = {**area, "geography": geo}
        areas.append(area)
    if areas:
        out["areas"] = areas
    return out


def _world_problems(world: Mapping[str, Any]) -> list[str]:
    """Problems in an embedded world spec, via the synth package's own validator (prefixed)."""
    try:
        WorldSpec.from_dict(world, source="sources.synthetic_world")
    except ConfigError as exc:
        return [f"sources.synthetic_world.{p}" for p in exc.problems]
    return []


def read_link_settings(path: Path | None) -> LinkSettings:
    """Link settings from a YAML file (a ``linkage:`` block of a trailblazer YAML, or the block itself);
    defaults without a file."""
    if path is None:
        return LinkSettings()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(path, [f"cannot read settings YAML: {exc}"]) from exc
    if isinstance(data, dict) and "linkage" in data:
        data = data["linkage"]
    return LinkSettings.from_dict(data, source=path)
