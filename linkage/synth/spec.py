"""World specification: what to generate (areas, months, noise, intervention), validated on load.

A :class:`WorldSpec` is plain data. Trailblazer YAML files embed it as a dict, so
:meth:`WorldSpec.from_dict` checks every field and raises one :class:`~linkage.errors.ConfigError`
listing every problem found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd

from linkage.errors import ConfigError
from linkage.reference import CRIME_TYPES

ROLES: tuple[str, ...] = ("trailblazer", "comparison", "other")
CRIME_MIXES: tuple[str, ...] = ("essex-2018", "police_uk")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class NoiseProfile:
    """Per-record fault rates of the outcome records (each a probability in [0, 1]).

    Rates apply independently per outcome record unless the field says otherwise. See
    docs/synthetic_world.md for what each fault does and the named profiles.
    """

    name: str = "typical"
    name_typo: float = 0.03  # one keyboard edit in forename or surname
    nickname: float = 0.05  # forename replaced by a nickname or spelling variant (when one exists)
    name_swap: float = 0.01  # forename and surname swapped
    alias: float = 0.005  # false particulars: another (frequency-weighted) surname given
    middle_name: float = 0.10  # middle name appended to the forename (when the person has one)
    dob_day_month_swap: float = 0.01  # day and month swapped (only when the day is 12 or less)
    dob_digit: float = 0.02  # one digit of the date of birth wrong
    sex_unknown: float = 0.01  # sex recorded as U
    pnc_missing_caution: float = 0.03
    pnc_missing_pnd: float = 0.80  # most penalty notices carry no PNC ID (DOMAIN.md section 4)
    pnc_missing_court: float = 0.08
    pnc_short: float = 0.15  # PNC ID written in short form YY/NNNNNNNC (of those present)
    suspect_pnc_missing: float = 0.10  # suspects table: PNC ID not recorded against the suspect
    offence_altered_caution: float = 0.05  # CJS code from a different but compatible Home Office offence
    offence_altered_court: float = 0.15  # charge altered from the recorded offence
    offence_date_shift: float = 0.10  # offence date off by 1-14 days
    disposal_date_shift: float = 0.05  # caution / issue / hearing date off by 1-7 days from the truth
    crime_ref_blank: float = 0.40  # cautions: hand-typed crime_ref left blank
    crime_ref_wrong: float = 0.10  # cautions: crime_ref mistyped (of those not blank)
    # Faults added for linkage generalisation (issue 13); drawn from a spawned generator, so the draws of
    # the faults above are unchanged.
    dob_blank: float = 0.04  # outcome record: date of birth left blank
    suspect_dob_blank: float = 0.02  # suspects table: date of birth not recorded
    dob_year_slip: float = 0.005  # year of birth: century slip (19xx/20xx), tens digit wrong, or off by one
    dob_transpose: float = 0.005  # two adjacent digits of yyyymmdd transposed (when still a real date)
    dob_month_digit: float = 0.005  # one digit of the month wrong (still a real date)
    surname_change: float = 0.01  # married or double-barrelled surname (new one, or old-new hyphenated)
    cjs_unlisted: float = 0.05  # court / caution CJS code of the same statute family, not in the crosswalk

    @property
    def rates(self) -> dict[str, float]:
        """Every rate by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}


_CLEAN = {k: 0.0 for k in NoiseProfile().rates}
NOISE_PROFILES: dict[str, NoiseProfile] = {
    "clean": NoiseProfile(name="clean", **_CLEAN),
    "typical": NoiseProfile(name="typical"),
    "hard": NoiseProfile(
        name="hard",
        name_typo=0.10,
        nickname=0.15,
        name_swap=0.04,
        alias=0.02,
        middle_name=0.25,
        dob_day_month_swap=0.04,
        dob_digit=0.06,
        sex_unknown=0.05,
        pnc_missing_caution=0.15,
        pnc_missing_pnd=0.95,
        pnc_missing_court=0.25,
        pnc_short=0.40,
        suspect_pnc_missing=0.30,
        offence_altered_caution=0.15,
        offence_altered_court=0.35,
        offence_date_shift=0.25,
        disposal_date_shift=0.15,
        crime_ref_blank=0.70,
        crime_ref_wrong=0.25,
        dob_blank=0.10,
        suspect_dob_blank=0.05,
        dob_year_slip=0.02,
        dob_transpose=0.02,
        dob_month_digit=0.02,
        surname_change=0.03,
        cjs_unlisted=0.15,
    ),
}
"""The named noise profiles: ``clean`` (no faults), ``typical`` and ``hard``."""


@dataclass(frozen=True)
class AreaSpec:
    """One area of the world (a borough, a force, ...).

    ``geography`` is ``{'police_uk': folder}`` (reuse the published map points of that folder's street
    files), ``{'lsoa_prefix': 'Southwark'}`` or ``{'lsoa_codes': [...]}`` (generate a street geography
    inside real London 2021 LSOA polygons). ``crime_mix`` is ``'essex-2018'`` (DOMAIN.md section 3),
    ``'police_uk'`` (the mix of the folder's street files; police_uk geography only) or a dict of shares.
    """

    name: str
    force: str
    role: str = "other"
    crimes_per_month: float = 1000.0
    geography: Mapping[str, Any] = field(default_factory=dict)
    crime_mix: str | Mapping[str, float] = "essex-2018"
    go_live: str | None = None  # 'YYYY-MM', trailblazer only: its own go-live (staggered); None = the world's


@dataclass(frozen=True)
class InterventionSpec:
    """The known intervention, applied to crimes recorded in trailblazer areas from the go-live month.

    ``oocd_pp``: change, in percentage points, of the probability that a crime with an identified suspect
    ends in an out-of-court disposal (caution, penalty notice, community resolution, drugs warning).
    ``days_to_outcome``: change in days from recording to the police outcome of crimes with an identified
    suspect (negative is faster; times never go below zero).
    """

    oocd_pp: float = 0.0
    days_to_outcome: float = 0.0


@dataclass(frozen=True)
class ShockSpec:
    """Area-level departures from parallel trends, in the chance that a crime with a named suspect ends in
    an out-of-court disposal (percentage points). They are not the intervention, so they move outcomes with
    and without it alike and are not part of the true effect.

    ``area_month_sd_pp``: each area's shock follows its own random walk over the months, with monthly
    steps of this standard deviation (0 = none; a walk starts at one step's draw in the first month).
    ``trailblazer_trend_pp``: a linear trend, in percentage points per month from the first month, added
    in trailblazer areas only: a trailblazer whose pre-trend differs from the comparison areas'.
    Defaults leave a world exactly as without this block (no random numbers are drawn).
    """

    area_month_sd_pp: float = 0.0
    trailblazer_trend_pp: float = 0.0

    @property
    def active(self) -> bool:
        """True when any shock is set."""
        return self.area_month_sd_pp != 0.0 or self.trailblazer_trend_pp != 0.0


@dataclass(frozen=True)
class WorldSpec:
    """What to generate. Build from a dict with :meth:`from_dict` (validated)."""

    start_month: str
    months: int
    areas: tuple[AreaSpec, ...]
    go_live_month: str | None = None
    noise: str | Mapping[str, float] = "typical"
    intervention: InterventionSpec = field(default_factory=InterventionSpec)
    shocks: ShockSpec = field(default_factory=ShockSpec)

    @property
    def noise_profile(self) -> NoiseProfile:
        """The resolved :class:`NoiseProfile` (a named profile, or ``typical`` overridden by a dict)."""
        return resolve_noise(self.noise)

    @property
    def month_starts(self) -> pd.DatetimeIndex:
        """First day of every month of the period."""
        return pd.date_range(pd.Timestamp(self.start_month + "-01"), periods=self.months, freq="MS")

    @property
    def end_date(self) -> pd.Timestamp:
        """Last day of the period: the date the extracts are taken (later events are not yet known)."""
        return self.month_starts[-1] + pd.offsets.MonthEnd(0)

    @property
    def go_live(self) -> pd.Timestamp | None:
        """First day of the go-live month, or None."""
        return None if self.go_live_month is None else pd.Timestamp(self.go_live_month + "-01")

    def area_go_live(self, area: AreaSpec) -> pd.Timestamp | None:
        """First day of ``area``'s go-live month: its own (staggered go-lives), else the world's; None for
        an area that is not a trailblazer."""
        if area.role != "trailblazer":
            return None
        return pd.Timestamp(area.go_live + "-01") if area.go_live else self.go_live

    @property
    def go_live_by_area(self) -> dict[str, pd.Timestamp]:
        """Trailblazer area name -> first day of its go-live month (empty without a go-live)."""
        out = {a.name: self.area_go_live(a) for a in self.areas}
        return {k: v for k, v in out.items() if v is not None}

    @property
    def staggered(self) -> bool:
        """True when the trailblazer areas go live in more than one month."""
        return len(set(self.go_live_by_area.values())) > 1

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (round-trips through :meth:`from_dict`)."""
        out = asdict(self)
        out["areas"] = [dict(a, geography=dict(a["geography"])) for a in out["areas"]]
        for a in out["areas"]:  # areas without their own go-live keep their earlier manifest
            if a["go_live"] is None:
                del a["go_live"]
        if not self.shocks.active:  # worlds without shocks keep their earlier manifest
            del out["shocks"]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "world spec") -> WorldSpec:
        """Validate ``data`` and build a spec; raise ConfigError listing every problem."""
        problems: list[str] = []
        if not isinstance(data, Mapping):
            raise ConfigError(source, [f"spec must be a mapping, got {type(data).__name__}"])
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                problems.append(f"unknown field {key!r} (known: {sorted(known)})")
        start = data.get("start_month")
        if not isinstance(start, str) or not _MONTH.match(start):
            problems.append(f"start_month must be 'YYYY-MM', got {start!r}")
        months = data.get("months")
        if not isinstance(months, int) or isinstance(months, bool) or months < 1:
            problems.append(f"months must be a positive integer, got {months!r}")
        go_live = data.get("go_live_month")
        if go_live is not None:
            if not isinstance(go_live, str) or not _MONTH.match(go_live):
                problems.append(f"go_live_month must be 'YYYY-MM' or absent, got {go_live!r}")
            elif isinstance(start, str) and _MONTH.match(start) and isinstance(months, int) and months >= 1:
                first = pd.Period(start, "M")
                if not first <= pd.Period(go_live, "M") <= first + (months - 1):
                    problems.append(f"go_live_month {go_live!r} is outside the period starting {start}")
        noise = data.get("noise", "typical")
        problems += _check_noise(noise)
        intervention = data.get("intervention", {}) or {}
        problems += _check_intervention(intervention)
        shocks = data.get("shocks", {}) or {}
        problems += _check_shocks(shocks)
        areas_raw = data.get("areas")
        areas: list[AreaSpec] = []
        if not isinstance(areas_raw, list | tuple) or not areas_raw:
            problems.append(f"areas must be a non-empty list, got {areas_raw!r}")
        else:
            names = [a.get("name") if isinstance(a, Mapping) else None for a in areas_raw]
            for i, area in enumerate(areas_raw):
                built, errs = _check_area(area, i, start, months)
                problems += errs
                if built is not None:
                    areas.append(built)
            dups = sorted({n for n in names if n is not None and names.count(n) > 1})
            if dups:
                problems.append(f"areas: duplicate area names {dups}")
            roles = [a.get("role") for a in areas_raw if isinstance(a, Mapping)]
            if "trailblazer" in roles and go_live is None:
                problems.append("go_live_month is required when an area has role 'trailblazer'")
        if problems:
            raise ConfigError(source, problems)
        if isinstance(intervention, InterventionSpec):
            intervention_spec = intervention
        else:
            intervention_spec = InterventionSpec(**{k: float(v) for k, v in intervention.items()})
        shock_spec = (
            shocks if isinstance(shocks, ShockSpec) else ShockSpec(**{k: float(v) for k, v in shocks.items()})
        )
        return cls(
            start_month=start,
            months=months,
            areas=tuple(areas),
            go_live_month=go_live,
            noise=noise if isinstance(noise, str) else dict(noise),
            intervention=intervention_spec,
            shocks=shock_spec,
        )


def resolve_noise(noise: str | Mapping[str, float] | NoiseProfile) -> NoiseProfile:
    """A :class:`NoiseProfile` from a profile name, a dict of overrides, or a profile."""
    if isinstance(noise, NoiseProfile):
        return noise
    problems = _check_noise(noise)
    if problems:
        raise ConfigError("noise", problems)
    if isinstance(noise, str):
        return NOISE_PROFILES[noise]
    base = dict(noise)
    profile = NOISE_PROFILES[str(base.pop("profile", "typical"))]
    rates = {**profile.rates, **{k: float(v) for k, v in base.items()}}
    return NoiseProfile(name=f"{profile.name}+custom", **rates)


def _check_noise(noise: object) -> list[str]:
    if isinstance(noise, str):
        if noise not in NOISE_PROFILES:
            return [f"noise must be one of {sorted(NOISE_PROFILES)} or a dict of rates, got {noise!r}"]
        return []
    if not isinstance(noise, Mapping):
        return [f"noise must be a profile name or a dict, got {noise!r}"]
    problems = []
    rates = set(NoiseProfile().rates)
    for key, value in noise.items():
        if key == "profile":
            if value not in NOISE_PROFILES:
                problems.append(f"noise.profile must be one of {sorted(NOISE_PROFILES)}, got {value!r}")
        elif key not in rates:
            problems.append(f"noise: unknown rate {key!r} (known: {sorted(rates)})")
        elif not _is_number(value) or not 0.0 <= float(value) <= 1.0:
            problems.append(f"noise.{key} must be a number in [0, 1], got {value!r}")
    return problems


def _check_intervention(intervention: object) -> list[str]:
    if isinstance(intervention, InterventionSpec):
        return []
    if not isinstance(intervention, Mapping):
        return [f"intervention must be a dict, got {intervention!r}"]
    problems = []
    known = {f.name for f in fields(InterventionSpec)}
    for key, value in intervention.items():
        if key not in known:
            problems.append(f"intervention: unknown field {key!r} (known: {sorted(known)})")
        elif not _is_number(value):
            problems.append(f"intervention.{key} must be a number, got {value!r}")
    pp = intervention.get("oocd_pp", 0.0)
    if _is_number(pp) and not -100.0 <= float(pp) <= 100.0:
        problems.append(f"intervention.oocd_pp must be in [-100, 100] percentage points, got {pp!r}")
    return problems


def _check_shocks(shocks: object) -> list[str]:
    if isinstance(shocks, ShockSpec):
        return []
    if not isinstance(shocks, Mapping):
        return [f"shocks must be a dict, got {shocks!r}"]
    problems = []
    known = {f.name for f in fields(ShockSpec)}
    for key, value in shocks.items():
        if key not in known:
            problems.append(f"shocks: unknown field {key!r} (known: {sorted(known)})")
        elif not _is_number(value):
            problems.append(f"shocks.{key} must be a number, got {value!r}")
    sd = shocks.get("area_month_sd_pp", 0.0)
    if _is_number(sd) and not 0.0 <= float(sd) <= 20.0:
        problems.append(f"shocks.area_month_sd_pp must be in [0, 20] percentage points, got {sd!r}")
    trend = shocks.get("trailblazer_trend_pp", 0.0)
    if _is_number(trend) and not -10.0 <= float(trend) <= 10.0:
        problems.append(f"shocks.trailblazer_trend_pp must be in [-10, 10] pp per month, got {trend!r}")
    return problems


def _check_area_go_live(area: Mapping[str, Any], where: str, start: object, months: object) -> list[str]:
    """An area's own ``go_live``: a month, on a trailblazer only, after the first month of the period
    (the estimate needs a month before it) and no later than its last month."""
    value = area.get("go_live")
    if value is None:
        return []
    if not isinstance(value, str) or not _MONTH.match(value):
        return [f"{where}.go_live must be 'YYYY-MM', got {value!r}"]
    if area.get("role", "other") != "trailblazer":
        return [
            f"{where}.go_live: only a trailblazer area has its own go-live month, but the role is "
            f"{area.get('role', 'other')!r}"
        ]
    if not (isinstance(start, str) and _MONTH.match(start) and isinstance(months, int) and months >= 1):
        return []  # the period's own problem is reported
    first = pd.Period(start, "M")
    last = first + (months - 1)
    if pd.Period(value, "M") <= first:
        return [f"{where}.go_live {value!r} must be after the first month of the period ({start})"]
    if pd.Period(value, "M") > last:
        return [f"{where}.go_live {value!r} must be no later than the last month of the period ({last})"]
    return []


def _check_area(
    area: object, i: int, start: object = None, months: object = None
) -> tuple[AreaSpec | None, list[str]]:
    where = f"areas[{i}]"
    if not isinstance(area, Mapping):
        return None, [f"{where} must be a dict, got {area!r}"]
    problems = []
    known = {f.name for f in fields(AreaSpec)}
    for key in area:
        if key not in known:
            problems.append(f"{where}: unknown field {key!r} (known: {sorted(known)})")
    name = area.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}.name must be a non-empty string, got {name!r}")
    force = area.get("force")
    if not isinstance(force, str) or not force.strip():
        problems.append(f"{where}.force must be a non-empty string, got {force!r}")
    role = area.get("role", "other")
    if role not in ROLES:
        problems.append(f"{where}.role must be one of {list(ROLES)}, got {role!r}")
    cpm = area.get("crimes_per_month", 1000.0)
    if not _is_number(cpm) or float(cpm) <= 0:
        problems.append(f"{where}.crimes_per_month must be a positive number, got {cpm!r}")
    geo = area.get("geography")
    geo_kinds = ("police_uk", "lsoa_prefix", "lsoa_codes")
    if not isinstance(geo, Mapping) or len(geo) != 1 or next(iter(geo)) not in geo_kinds:
        problems.append(
            f"{where}.geography must be a dict with exactly one of {list(geo_kinds)}, got {geo!r}"
        )
    else:
        kind, value = next(iter(geo.items()))
        if kind == "lsoa_codes":
            if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) for v in value):
                problems.append(
                    f"{where}.geography.lsoa_codes must be a non-empty list of codes, got {value!r}"
                )
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"{where}.geography.{kind} must be a non-empty string, got {value!r}")
    mix = area.get("crime_mix", "essex-2018")
    if isinstance(mix, str):
        if mix not in CRIME_MIXES:
            problems.append(f"{where}.crime_mix must be one of {list(CRIME_MIXES)} or a dict, got {mix!r}")
        elif mix == "police_uk" and not (isinstance(geo, Mapping) and "police_uk" in geo):
            problems.append(f"{where}.crime_mix 'police_uk' needs a police_uk geography")
    elif isinstance(mix, Mapping):
        bad = [k for k in mix if k not in CRIME_TYPES or k == "Anti-social behaviour"]
        if bad:
            problems.append(f"{where}.crime_mix: unknown or non-crime types {bad}")
        if not all(_is_number(v) and float(v) >= 0 for v in mix.values()) or not any(
            _is_number(v) and float(v) > 0 for v in mix.values()
        ):
            problems.append(f"{where}.crime_mix shares must be non-negative numbers, not all zero")
    else:
        problems.append(f"{where}.crime_mix must be a name or a dict, got {mix!r}")
    problems += _check_area_go_live(area, where, start, months)
    if problems:
        return None, problems
    geography = {k: (list(v) if isinstance(v, list | tuple) else v) for k, v in geo.items()}
    return (
        AreaSpec(
            name=name,
            force=force,
            role=role,
            crimes_per_month=float(cpm),
            geography=geography,
            crime_mix=mix if isinstance(mix, str) else {k: float(v) for k, v in mix.items()},
            go_live=area.get("go_live"),
        ),
        [],
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
