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




# Okabe-Ito colours (colour-blind safe) crossed with line styles: up to 28 lines, no two alike.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
LINE_STYLES = ("-", "--", ":", "-.")


def line_style(i: int) -> dict[str, object]:
    """Colour and dash of the i-th line: the colour cycles fastest, the dash changes every 7 lines."""
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "linestyle": LINE_STYLES[(i // len(OKABE_ITO)) % 4]}
