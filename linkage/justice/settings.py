"""Linkage settings: thresholds and time windows per outcome source, validated on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from linkage.errors import ConfigError
from linkage.sources.contracts import OUTCOME_SOURCES

__all__ = ["LinkSettings", "SourceSettings", "DEFAULT_SOURCES"]


@dataclass(frozen=True)
class SourceSettings:
    """Settings for one outcome source.

    ``threshold``: minimum match probability for a model link. ``typical_days``/``long_days``: the lag
    windows of the directional time comparison (outcome date minus offence date). ``tolerance_days``: how
    far an outcome may precede the offence before it counts as 'before offence' (recording error).
    ``rules``: run the deterministic rules before the model. ``max_em_iterations``: EM iteration cap.
    """

    threshold: float = 0.5
    typical_days: int = 30
    long_days: int = 365
    tolerance_days: int = 3
    rules: bool = True
    max_em_iterations: int = 100

    def problems(self, where: str) -> list[str]:
        """Every problem with these values, each naming the field and the value."""
        out = []
        if not 0.0 < float(self.threshold) < 1.0:
            out.append(f"{where}.threshold must be in (0, 1), got {self.threshold!r}")
        if int(self.tolerance_days) < 0:
            out.append(f"{where}.tolerance_days must be >= 0, got {self.tolerance_days!r}")
        if int(self.typical_days) < 0:
            out.append(f"{where}.typical_days must be >= 0, got {self.typical_days!r}")
        if int(self.long_days) < int(self.typical_days):
            out.append(
                f"{where}.long_days must be >= typical_days ({self.typical_days}), got {self.long_days!r}"
            )
        if int(self.max_em_iterations) < 1:
            out.append(f"{where}.max_em_iterations must be >= 1, got {self.max_em_iterations!r}")
        return out


DEFAULT_SOURCES: dict[str, SourceSettings] = {
    # Penalty notices are issued on the spot or within days.
    "penalty_notices": SourceSettings(threshold=0.5, typical_days=14, long_days=120),
    # Cautions follow within weeks.
    "cautions": SourceSettings(threshold=0.5, typical_days=8 * 7, long_days=365),
    # Court results arrive weeks to many months later.
    "court_outcomes": SourceSettings(threshold=0.5, typical_days=270, long_days=3 * 365),
}


@dataclass(frozen=True)
class LinkSettings:
    """Settings of :func:`linkage.justice.link_outcomes`: one :class:`SourceSettings` per outcome source."""

    sources: Mapping[str, SourceSettings] = field(default_factory=lambda: dict(DEFAULT_SOURCES))
    seed: int = 0

    def for_source(self, source: str) -> SourceSettings:
        """The settings of ``source`` (defaults when not given)."""
        if source in self.sources:
            return self.sources[source]
        return DEFAULT_SOURCES[source]

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (what :meth:`from_dict` reads)."""
        return {"seed": self.seed, "sources": {k: asdict(v) for k, v in self.sources.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, source: object = "link settings") -> LinkSettings:
        """Build settings from plain data (e.g. the ``linkage:`` block of a trailblazer YAML).

        Unknown keys, wrong types and out-of-range values are all collected and raised together as one
        :class:`~linkage.errors.ConfigError`.
        """
        data = {} if data is None else data
        problems: list[str] = []
        if not isinstance(data, Mapping):
            raise ConfigError(source, [f"settings must be a mapping, got {type(data).__name__}"])
        for key in data:
            if key not in ("sources", "seed"):
                problems.append(f"unknown key {key!r} (expected 'sources', 'seed')")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            problems.append(f"seed must be a non-negative integer, got {seed!r}")
        raw_sources = data.get("sources", {}) or {}
        sources = dict(DEFAULT_SOURCES)
        if not isinstance(raw_sources, Mapping):
            problems.append(f"sources must be a mapping, got {type(raw_sources).__name__}")
            raw_sources = {}
        known = {f.name: f.type for f in fields(SourceSettings)}
        for name, values in raw_sources.items():
            where = f"sources.{name}"
            if name not in OUTCOME_SOURCES:
                problems.append(f"unknown source {name!r} (expected one of {list(OUTCOME_SOURCES)})")
                continue
            if not isinstance(values, Mapping):
                problems.append(f"{where} must be a mapping, got {type(values).__name__}")
                continue
            kwargs: dict[str, Any] = {}
            for key, value in values.items():
                if key not in known:
                    problems.append(f"unknown key {where}.{key} (expected one of {sorted(known)})")
                    continue
                expected = known[key]
                if expected == "bool":
                    ok = isinstance(value, bool)
                elif expected == "int":
                    ok = isinstance(value, int) and not isinstance(value, bool)
                else:
                    ok = isinstance(value, int | float) and not isinstance(value, bool)
                if not ok:
                    problems.append(f"{where}.{key} must be {expected}, got {value!r}")
                    continue
                kwargs[key] = value
            candidate = replace(DEFAULT_SOURCES[name], **kwargs)
            problems.extend(candidate.problems(where))
            sources[name] = candidate
        if problems:
            raise ConfigError(source, problems)
        return cls(sources=sources, seed=int(seed))
