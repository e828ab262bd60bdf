"""Helpers shared by the report sections."""

from __future__ import annotations

import logging
from functools import cache

import jinja2
import numpy as np

logger = logging.getLogger(__name__)

RESTRICTED_NEEDED = (
    "This section needs restricted record-level extracts (crimes, suspects and the cautions, penalty "
    "notices and court outcomes held by other systems) or a synthetic world; this configuration names "
    "only public police.uk files."
)


# Section prose lives in templates/prose/<section>.txt.j2, one macro per paragraph. Rendered as plain text
# (the report template escapes it), whitespace collapsed so a template can wrap its lines freely.
_PROSE = jinja2.Environment(
    loader=jinja2.PackageLoader("linkage.reporting", "templates"),
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@cache
def _prose_module(section: str) -> object:
    return _PROSE.get_template(f"prose/{section}.txt.j2").module


def prose(section: str, paragraph: str, **values: object) -> str:
    """One paragraph of a section's prose: macro ``paragraph`` of ``templates/prose/<section>.txt.j2``
    called with ``values``, as one line of plain text."""
    macro = getattr(_prose_module(section), paragraph)
    return " ".join(str(macro(**values)).split())


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.1f}%"




# Okabe-Ito colours (colour-blind safe) crossed with line styles: up to 28 lines, no two alike.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
LINE_STYLES = ("-", "--", ":", "-.")


def line_style(i: int) -> dict[str, object]:
    """Colour and dash of the i-th line: the colour cycles fastest, the dash changes every 7 lines."""
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "linestyle": LINE_STYLES[(i // len(OKABE_ITO)) % 4]}
