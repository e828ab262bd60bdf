"""Named world specifications (plain dicts, so trailblazer YAML files can embed or reference them).

``preset(name)`` returns a validated :class:`~linkage.synth.spec.WorldSpec`; ``PRESETS[name]`` is the dict.
"""

from __future__ import annotations

import copy
from typing import Any

from linkage.errors import ConfigError
from linkage.synth.spec import WorldSpec
from linkage.synth.targets import force_volumes

MET = "Metropolitan Police Service"

PRESETS: dict[str, dict[str, Any]] = {
    # The bundled City of London street files: real map points and the City's own crime mix, 2024.
    "city-of-london": {
        "start_month": "2024-01",
        "months": 12,
        "noise": "typical",
        "areas": [
            {
                "name": "City of London",
                "force": "City of London Police",
                "role": "other",
                "crimes_per_month": 800,
                "geography": {"police_uk": "data/police-uk/city-of-london"},
                "crime_mix": "police_uk",
            }
        ],
    },
    # Two trailblazer boroughs and two comparison boroughs with a known effect from July 2024:
    # +10 percentage points on the chance that a crime with an identified suspect gets an out-of-court
    # disposal, and outcomes 5 days faster for those crimes.
    "london-trailblazers": {
        "start_month": "2024-01",
        "months": 12,
        "go_live_month": "2024-07",
        "noise": "typical",
        "intervention": {"oocd_pp": 10.0, "days_to_outcome": -5.0},
        "areas": [
            {
                "name": "Southwark",
                "force": MET,
                "role": "trailblazer",
                "crimes_per_month": 2500,
                "geography": {"lsoa_prefix": "Southwark"},
            },
            {
                "name": "Lambeth",
                "force": MET,
                "role": "trailblazer",
                "crimes_per_month": 2600,
                "geography": {"lsoa_prefix": "Lambeth"},
            },
            {
                "name": "Lewisham",
                "force": MET,
                "role": "comparison",
                "crimes_per_month": 2000,
                "geography": {"lsoa_prefix": "Lewisham"},
            },
            {
                "name": "Wandsworth",
                "force": MET,
                "role": "comparison",
                "crimes_per_month": 1900,
                "geography": {"lsoa_prefix": "Wandsworth"},
            },
        ],
    },
    # A small world for tests and notebooks: one trailblazer and one comparison borough, 6 months.
    "small": {
        "start_month": "2024-01",
        "months": 6,
        "go_live_month": "2024-04",
        "noise": "typical",
        "intervention": {"oocd_pp": 10.0},
        "areas": [
            {
                "name": "Southwark",
                "force": MET,
                "role": "trailblazer",
                "crimes_per_month": 400,
                "geography": {"lsoa_prefix": "Southwark"},
            },
            {
                "name": "Lewisham",
                "force": MET,
                "role": "comparison",
                "crimes_per_month": 400,
                "geography": {"lsoa_prefix": "Lewisham"},
            },
        ],
    },
    # Calibration world: Essex-like volumes (115,065 rows over Jan-Jul 2018, a quarter of them ASB, so
    # about 12,300 crimes a month), the Essex mix, snapshot at the end of July 2018.
    "essex-2018": {
        "start_month": "2018-01",
        "months": 7,
        "noise": "typical",
        "areas": [
            {
                "name": "Essex",
                "force": "Essex Police",
                "role": "other",
                "crimes_per_month": 12300,
                "geography": {"lsoa_prefix": "Havering"},
                "crime_mix": "essex-2018",
            },
        ],
    },
}

# police.uk force name of each force in the 2017/18 recorded-crime table (force_volumes.csv): all 43.
_POLICE_UK_NAMES = {
    "London, City of": "City of London Police",
    "Metropolitan Police": MET,
    "Devon and Cornwall": "Devon & Cornwall Police",
    "Dyfed-Powys": "Dyfed-Powys Police",
    "Greater Manchester": "Greater Manchester Police",
    "North Wales": "North Wales Police",
    "South Wales": "South Wales Police",
    "West Midlands": "West Midlands Police",
    "Thames Valley": "Thames Valley Police",
    "Merseyside": "Merseyside Police",
    "Essex": "Essex Police",
    "Kent": "Kent Police",
    "Sussex": "Sussex Police",
    "Surrey": "Surrey Police",
    "Gwent": "Gwent Police",
    "Hampshire": "Hampshire Constabulary",
    "West Mercia": "West Mercia Police",
    "Northumbria": "Northumbria Police",
    "South Yorkshire": "South Yorkshire Police",
    "West Yorkshire": "West Yorkshire Police",
    "Wiltshire": "Wiltshire Police",
    "Cleveland": "Cleveland Police",
    "Dorset": "Dorset Police",
    "Durham": "Durham Constabulary",
    "Humberside": "Humberside Police",
    "Lincolnshire": "Lincolnshire Police",
    "Northamptonshire": "Northamptonshire Police",
    "Cheshire": "Cheshire Constabulary",
    "Avon and Somerset": "Avon and Somerset Constabulary",
    "Bedfordshire": "Bedfordshire Police",
    "Cambridgeshire": "Cambridgeshire Constabulary",
    "Cumbria": "Cumbria Constabulary",
    "Derbyshire": "Derbyshire Constabulary",
    "Gloucestershire": "Gloucestershire Constabulary",
    "Hertfordshire": "Hertfordshire Constabulary",
    "Lancashire": "Lancashire Constabulary",
    "Leicestershire": "Leicestershire Police",
    "Norfolk": "Norfolk Constabulary",
    "North Yorkshire": "North Yorkshire Police",
    "Nottinghamshire": "Nottinghamshire Police",
    "Staffordshire": "Staffordshire Police",
    "Suffolk": "Suffolk Constabulary",
    "Warwickshire": "Warwickshire Police",
}


NATIONAL_CRIMES_PER_YEAR = 6_000_000
"""Size of the ``national`` preset: about 6 million crimes a year (the issue's national benchmark; 5.5
million recorded crimes excluding fraud in 2022/23, DOMAIN.md section 3)."""


def national_spec(
    year: int = 2024, noise: str = "typical", crimes_per_year: float = NATIONAL_CRIMES_PER_YEAR
) -> dict[str, Any]:
    """A national year: the 43 territorial forces in their 2017/18 recorded-crime proportions (4.8M
    crimes excluding fraud, scaled to ``crimes_per_year``), each on a generated geography (only London
    boundaries are bundled, so every force uses the LSOA polygons of a London borough as a stand-in)."""
    volumes = force_volumes()
    volumes["per_month"] *= crimes_per_year / (12.0 * volumes["per_month"].sum())
    prefixes = ["Southwark", "Lambeth", "Lewisham", "Wandsworth", "Croydon", "Camden", "Hackney", "Barnet"]
    areas = []
    for i, row in enumerate(volumes.itertuples(index=False)):
        force = _POLICE_UK_NAMES[row.force]
        areas.append(
            {
                "name": row.force,
                "force": force,
                "role": "other",
                "crimes_per_month": round(float(row.per_month), 1),
                "geography": {"lsoa_prefix": prefixes[i % len(prefixes)]},
            }
        )
    return {"start_month": f"{year}-01", "months": 12, "noise": noise, "areas": areas}


def preset(name: str) -> WorldSpec:
    """The validated :class:`WorldSpec` of a named preset (``national`` included)."""
    if name == "national":
        return WorldSpec.from_dict(national_spec(), source="preset 'national'")
    if name not in PRESETS:
        raise ConfigError("preset", [f"name must be one of {sorted([*PRESETS, 'national'])}, got {name!r}"])
    return WorldSpec.from_dict(copy.deepcopy(PRESETS[name]), source=f"preset {name!r}")
