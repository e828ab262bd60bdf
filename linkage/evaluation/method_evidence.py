"""What the coverage benchmark measured about each inference method for few treated areas.

``benchmarks/bench_did_coverage.py --harder ... --record`` writes ``data/method_coverage.json`` beside this
module: per method, how many synthetic worlds (area-month shocks, hard-noise linkage) it was run on, how
many of its 95% intervals covered the true effect, and how often it rejected a true null. The report's
prose quotes these figures through :func:`load_method_evidence`, so a re-run of the benchmark changes the
report's words and no figure is typed into a template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from statsmodels.stats.proportion import proportion_confint

from linkage._io import write_text

__all__ = [
    "EVIDENCE_PATH",
    "METHOD_KEYS",
    "CoverageEvidence",
    "MethodRecord",
    "load_method_evidence",
    "write_method_evidence",
]

EVIDENCE_PATH = Path(__file__).with_name("data") / "method_coverage.json"

# The benchmark's method labels -> the short keys the prose asks for.
METHOD_KEYS: Mapping[str, str] = {
    "placebo in space (randomisation)": "placebo_space",
    "synthetic DiD (placebo variance)": "synthetic_did",
    "wild cluster bootstrap (area, Webb)": "wild_bootstrap",
    "DiD, lsoa clusters": "did_lsoa",
    "DiD, area-month clusters": "did_area_month",
}


@dataclass(frozen=True)
class MethodRecord:
    """One method over the benchmark's worlds: coverage of the true effect and rejections, by setting."""

    method: str
    worlds: int
    covered: int
    effect_worlds: int
    rejected_effect: int
    null_worlds: int
    rejected_null: int
    median_halfwidth_pp: float

    @property
    def coverage(self) -> float:
        return self.covered / self.worlds

    @property
    def coverage_interval(self) -> tuple[float, float]:
        """Wilson 95% interval of the coverage rate."""
        lo, hi = proportion_confint(self.covered, self.worlds, alpha=0.05, method="wilson")
        return float(lo), float(hi)

    @property
    def size(self) -> float:
        """Share of the no-effect worlds in which the method rejected the (true) null at 5%."""
        return self.rejected_null / self.null_worlds


@dataclass(frozen=True)
class CoverageEvidence:
    """The recorded run: its worlds' design, the command that produced it, one record per method."""

    areas: int
    treated: int
    shock_sd_pp: float
    noise: str
    effect_pp: float
    command: str
    methods: Mapping[str, MethodRecord]

    def method(self, key: str) -> MethodRecord | None:
        """The record for a short key of :data:`METHOD_KEYS` (``None`` if that method was not run)."""
        return self.methods.get(key)


def write_method_evidence(evidence: CoverageEvidence, path: Path = EVIDENCE_PATH) -> Path:
    """Write ``evidence`` as JSON (sorted keys, atomically: a stopped run leaves the old file)."""
    payload = {k: v for k, v in asdict(evidence).items() if k != "methods"}
    payload["methods"] = {k: asdict(m) for k, m in sorted(evidence.methods.items())}
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def load_method_evidence(path: Path = EVIDENCE_PATH) -> CoverageEvidence | None:
    """The recorded coverage run, or ``None`` when none is recorded (the prose then says so)."""
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        methods = {k: MethodRecord(**m) for k, m in raw.pop("methods").items()}
        return CoverageEvidence(**raw, methods=methods)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{path}: not a method coverage record ({exc})") from exc
