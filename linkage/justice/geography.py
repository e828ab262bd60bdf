"""Court geography: the area a court serves against the area of the crime.

A court's area is its name without the court type (``Southwark Magistrates' Court`` -> ``southwark``); a
crime's area is the local authority of its LSOA, from the bundled ONS LSOA 2021 boundaries for London
(``data/boundaries/london-2021-lsoa-gen20.shp``, field ``LAD22NM``). Crimes outside the bundled
boundaries get no area, so the comparison is neutral for them.
"""

from __future__ import annotations

import logging
from functools import cache

import pandas as pd

from linkage.geography import LONDON_LSOA_BOUNDARIES, bundled_path

logger = logging.getLogger(__name__)

__all__ = ["LSOA_BOUNDARIES", "court_area", "lsoa_area"]

LSOA_BOUNDARIES = LONDON_LSOA_BOUNDARIES
_COURT_SUFFIX = r"\s+(?:magistrates'?|crown|youth|county|combined)?\s*courts?(?:\s+centre)?$"


@cache
def _lsoa_table() -> pd.Series:
    import pyogrio

    path = bundled_path(LSOA_BOUNDARIES)
    if not path.exists():
        logger.warning("LSOA boundaries %s not found; court geography is neutral", LSOA_BOUNDARIES)
        return pd.Series(dtype="string")
    frame = pyogrio.read_dataframe(path, columns=["LSOA21CD", "LAD22NM"], read_geometry=False)
    return pd.Series(
        frame["LAD22NM"].str.strip().str.casefold().to_numpy(), index=frame["LSOA21CD"], dtype="string"
    )


def lsoa_area(lsoa_codes: pd.Series) -> pd.Series:
    """Local authority (casefolded) of each LSOA code; missing where the code is not in the boundaries."""
    return pd.Series(lsoa_codes).astype("string").str.strip().map(_lsoa_table()).astype("string")


def court_area(courts: pd.Series) -> pd.Series:
    """The place a court is named after, casefolded: the name without 'Magistrates' Court' etc."""
    text = pd.Series(courts).astype("string").str.strip().str.casefold()
    area = text.str.replace(_COURT_SUFFIX, "", regex=True).str.strip()
    return area.mask(area == "")
