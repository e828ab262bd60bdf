"""Helpers shared by the report sections."""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

RESTRICTED_NEEDED = (
    "This section needs restricted record-level extracts (crimes, suspects and the cautions, penalty "
    "notices and court outcomes held by other systems) or a synthetic world; this configuration names "
    "only public police.uk files."
)


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.1f}%"


