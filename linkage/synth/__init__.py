"""The synthetic world: calibrated crimes, people, outcomes and outcome records with known truth.

``generate(WorldSpec.from_dict(d), seed)`` returns a :class:`SyntheticWorld`; see docs/synthetic_world.md.
"""

from __future__ import annotations

from linkage.synth.calibration import calibration_table
from linkage.synth.people import format_pnc, pnc_check_letter, pnc_is_valid
from linkage.synth.presets import PRESETS, preset
from linkage.synth.spec import (
    NOISE_PROFILES,
    AreaSpec,
    InterventionSpec,
    NoiseProfile,
    ShockSpec,
    WorldSpec,
    resolve_noise,
)
from linkage.synth.world import (
    CONTRACT_TABLES,
    SyntheticWorld,
    TrueEffect,
    generate,
    individual_effects,
    write_world_chunked,
)

__all__ = [
    "CONTRACT_TABLES",
    "NOISE_PROFILES",
    "PRESETS",
    "AreaSpec",
    "InterventionSpec",
    "ShockSpec",
    "NoiseProfile",
    "SyntheticWorld",
    "TrueEffect",
    "WorldSpec",
    "calibration_table",
    "format_pnc",
    "generate",
    "individual_effects",
    "pnc_check_letter",
    "pnc_is_valid",
    "preset",
    "resolve_noise",
    "write_world_chunked",
]
