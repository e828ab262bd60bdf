"""Justice outcome linkage workbench.

The pipeline reads left to right, one subpackage a stage::

    sources     read police.uk files (every vintage) and restricted extracts, with quarantine
    reference   offence crosswalks (Home Office codes, CJS codes, penalty notice offences)
    synth       a calibrated synthetic world with known truth
    engine      a generic Fellegi-Sunter linkage engine on recordlinkage (blocking, comparisons, EM)
    justice     the justice linkage: outcome records -> crimes and suspects, with justice constraints
    quality     precision / recall against truth or clerical review
    evaluation  outcome rates, time to outcome, maps, difference-in-differences, disclosure control
    config      the trailblazer configuration, parsed once into typed, frozen objects
    pipeline    run(config) -> RunResult: load, link, measure quality, evaluate (one stage a function)
    reporting   the HTML report, rendered from a RunResult

Public names are imported lazily so ``import linkage`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "read_police_uk": "linkage.sources",
    "read_extract": "linkage.sources",
    "LoadResult": "linkage.sources",
    "LinkageError": "linkage.errors",
    "DataContractError": "linkage.errors",
    "ConfigError": "linkage.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'linkage' has no attribute {name!r}")
