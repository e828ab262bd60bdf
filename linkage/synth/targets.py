"""Calibration targets and process parameters of the synthetic world.

Published figures (DOMAIN.md section 3, Home Office open data) are stated as targets here once; the
generator and ``linkage calibrate`` both read them from this module. Parameters that no published
figure pins down are marked as modelling choices. docs/synthetic_world.md lists all of them.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from linkage._io import write_csv
from linkage.reference import CRIME_TYPES, offence_codes

logger = logging.getLogger(__name__)

# --- Published: Essex street files Jan-Jul 2018, 115,065 rows (DOMAIN.md section 3) -------------------
ESSEX_2018_MIX: dict[str, float] = {
    "Violence and sexual offences": 0.275,
    "Anti-social behaviour": 0.25,
    "Criminal damage and arson": 0.081,
    "Vehicle crime": 0.076,
    "Other theft": 0.070,
    "Public order": 0.060,
    "Burglary": 0.060,
    "Shoplifting": 0.054,
    "Drugs": 0.018,
    "Other crime": 0.017,
    "Possession of weapons": 0.011,
    "Bicycle theft": 0.011,
    "Robbery": 0.008,
    "Theft from the person": 0.008,
}
"""Share of street-file rows by crime type (ASB included); sums to 0.999 as published (rounding)."""

ESSEX_2018_LAST_OUTCOMES: dict[str, float] = {
    "Investigation complete; no suspect identified": 0.407,
    "Under investigation": 0.211,
    "Unable to prosecute suspect": 0.172,
    "Awaiting court outcome": 0.051,
    "Formal action is not in the public interest": 0.045,
    "Local resolution": 0.036,
    "Offender given a caution": 0.007,
    "Offender given a drugs possession warning": 0.007,
    "Offender given penalty notice": 0.002,
}
"""Last outcome category shares of Essex crimes Jan-Jul 2018 as published (court disposals ~1% combined)."""

ESSEX_2018_COURT_DISPOSALS = 0.01
ESSEX_2018_RESOLVED = 1.0 - ESSEX_2018_LAST_OUTCOMES["Under investigation"]

PUBLISHED_BY_TYPE: tuple[tuple[str, str, float, str], ...] = (
    (
        "Burglary",
        "Investigation complete; no suspect identified",
        0.76,
        "Essex 2018: burglary 76% no suspect",
    ),
    ("Drugs", "Offender given a drugs possession warning", 0.28, "Essex 2018: drugs 28% drugs warnings"),
    ("Drugs", "Awaiting court outcome", 0.19, "Essex 2018: drugs 19% awaiting court"),
    ("Drugs", "Offender given a caution", 0.05, "Essex 2018: drugs 5% cautions"),
    ("Possession of weapons", "Local resolution", 0.35, "Essex 2018: weapons 35% local resolution"),
)
"""Published by-type shares of the last outcome (snapshot, as police.uk shows them)."""

MEDIAN_DAYS_TO_OUTCOME = 14.0
"""Median days from recording to outcome, all crimes (DOMAIN.md section 3, 2022/23)."""
CONVICTION_RATIO = 0.85
"""Convictions / completed prosecutions (DOMAIN.md section 3)."""

# --- Outcome process ------------------------------------------------------------------------------------
OUTCOME_KEYS: tuple[str, ...] = (
    "no_suspect",
    "evidential",
    "formal_action_npi",
    "further_investigation_npi",
    "further_action_npi",
    "another_org",
    "local_resolution",
    "caution",
    "drugs_warning",
    "penalty_notice",
    "charge",
    "tic",
)
OUTCOME_LABEL: dict[str, str] = {
    "no_suspect": "Investigation complete; no suspect identified",
    "evidential": "Unable to prosecute suspect",
    "formal_action_npi": "Formal action is not in the public interest",
    "further_investigation_npi": "Further investigation is not in the public interest",
    "further_action_npi": "Further action is not in the public interest",
    "another_org": "Action to be taken by another organisation",
    "local_resolution": "Local resolution",
    "caution": "Offender given a caution",
    "drugs_warning": "Offender given a drugs possession warning",
    "penalty_notice": "Offender given penalty notice",
    "charge": "Suspect charged",
    "tic": "Suspect charged as part of another case",
}
"""Police-stage police.uk label of each outcome key (charged crimes later take their court label)."""
HO_OUTCOME_TYPE: dict[str, int] = {
    "no_suspect": 18,
    "evidential": 15,
    "formal_action_npi": 10,
    "further_investigation_npi": 21,
    "further_action_npi": 9,
    "another_org": 20,
    "local_resolution": 8,
    "caution": 3,
    "drugs_warning": 7,
    "penalty_notice": 6,
    "charge": 1,
    "tic": 4,
}
"""Home Office outcome type number of each key (DOMAIN.md section 2; youth cautions are type 2)."""
OOCD_KEYS: tuple[str, ...] = ("local_resolution", "caution", "drugs_warning", "penalty_notice")
"""Out-of-court disposals: the outcomes the intervention moves crimes into or out of."""

# Final (eventual) outcome probabilities by crime type, in percent, columns in OUTCOME_KEYS order.
# Modelling choice, tuned so that the generated end-of-period mix of an Essex-like 7-month world matches
# ESSEX_2018_LAST_OUTCOMES and PUBLISHED_BY_TYPE (see the calibration table in docs/synthetic_world.md).
_RATES = {
    #                              nosus  evid  fanpi  finpi  fapi  org   LR    caut  DW    PND   chg   tic
    "Violence and sexual offences": (26.0, 44.6, 7.0, 4.0, 1.2, 3.0, 4.0, 0.8, 0.0, 0.1, 9.3, 0.0),
    "Criminal damage and arson": (62.0, 17.4, 5.0, 3.0, 0.5, 1.0, 5.0, 0.6, 0.0, 0.3, 5.0, 0.2),
    "Vehicle crime": (88.0, 5.0, 1.0, 2.0, 0.0, 0.5, 0.3, 0.2, 0.0, 0.0, 2.5, 0.5),
    "Other theft": (72.0, 13.0, 3.0, 4.0, 0.0, 2.0, 2.0, 0.5, 0.0, 0.0, 3.2, 0.3),
    "Public order": (35.0, 30.0, 7.0, 5.0, 1.0, 2.0, 9.0, 1.5, 0.0, 0.8, 8.7, 0.0),
    "Burglary": (87.0, 4.0, 1.0, 2.0, 0.0, 0.5, 0.5, 0.3, 0.0, 0.0, 4.0, 0.7),
    "Shoplifting": (40.0, 10.0, 5.0, 5.0, 0.5, 1.0, 10.0, 3.0, 0.0, 1.2, 23.3, 1.0),
    "Drugs": (2.0, 7.0, 9.0, 4.0, 0.0, 2.0, 11.0, 6.0, 30.0, 1.0, 28.0, 0.0),
    "Other crime": (25.0, 31.7, 8.0, 6.0, 1.0, 6.0, 5.0, 2.0, 0.0, 0.3, 15.0, 0.0),
    "Possession of weapons": (3.0, 15.0, 6.0, 3.0, 1.0, 2.0, 35.0, 5.0, 0.0, 0.0, 30.0, 0.0),
    "Bicycle theft": (90.0, 4.0, 1.0, 2.5, 0.0, 0.5, 0.3, 0.2, 0.0, 0.0, 1.3, 0.2),
    "Robbery": (55.0, 25.0, 2.0, 3.0, 0.0, 1.0, 1.0, 0.5, 0.0, 0.0, 12.0, 0.5),
    "Theft from the person": (86.0, 6.0, 1.0, 4.0, 0.0, 0.5, 0.3, 0.2, 0.0, 0.0, 1.8, 0.2),
}


def outcome_rates() -> pd.DataFrame:
    """Final outcome probabilities: rows are the 13 crime types, columns :data:`OUTCOME_KEYS`."""
    frame = pd.DataFrame.from_dict(_RATES, orient="index", columns=list(OUTCOME_KEYS)) / 100.0
    return frame.div(frame.sum(axis=1), axis=0)


# Days from recording to the police outcome: log-normal (median, sigma). Modelling choice shaped on
# DOMAIN.md section 3: penalty notices within days, cautions within weeks, median 14 days overall.
DAYS_TO_OUTCOME: dict[str, tuple[float, float]] = {
    "no_suspect": (6.0, 2.0),
    "evidential": (50.0, 1.4),
    "formal_action_npi": (30.0, 1.1),
    "further_investigation_npi": (30.0, 1.1),
    "further_action_npi": (60.0, 1.0),
    "another_org": (20.0, 1.1),
    "local_resolution": (5.0, 1.1),
    "caution": (21.0, 0.8),
    "drugs_warning": (0.5, 1.0),
    "penalty_notice": (1.0, 0.9),
    "charge": (20.0, 1.3),
}
DAYS_CHARGE_TO_HEARING = (28.0, 0.7)
"""Charge to magistrates' hearing, days (log-normal median, sigma). Modelling choice: courts within months."""
DAYS_TO_CROWN_COURT = (150.0, 0.6)
"""Magistrates' sending to the Crown Court hearing, days (log-normal). Modelling choice."""
MAX_DAYS_TO_OUTCOME = 3652
"""A generator bound, not a calibration figure: a log-normal draw of days to outcome beyond ten years is set
to ten years. Such an outcome falls outside every evaluation window; unbounded, a draw in the far tail (about
one crime in a million) put its date past 2262 and overflowed nanosecond timestamps."""

SUMMARY_CHARGE_LIMIT_DAYS = 182
"""Summary-only offences must be charged within 6 months (Magistrates' Courts Act 1980 s.127)."""
SUMMARY_TYPES: tuple[str, ...] = ("Public order", "Shoplifting", "Criminal damage and arson", "Other theft")
"""Crime types whose charges are capped at :data:`SUMMARY_CHARGE_LIMIT_DAYS` (mostly summary-only)."""

RECORDING_LAG_SAME_DAY = 0.6
"""Share of crimes recorded on the day committed; the rest lag log-normal(median 7 days, sigma 1.2)."""

# Suspects and people. Modelling choices.
EXTRA_SUSPECT_SHARE = 0.12  # crimes with an identified suspect that have a second suspect
THIRD_SUSPECT_SHARE = 0.25  # of those, share with a third (and so on, geometric)
CO_SUSPECT_SAME_OUTCOME = 0.7  # a second or later suspect shares the crime's disposal; else no further action
POOL_PER_SUSPECT = 0.6  # people in an area's suspect pool per suspect slot
PROPENSITY_PARETO = 1.5  # Pareto shape of offending propensity: a few people offend many times
CASE_WINDOW_DAYS = 28  # a person's charges within this many days of the previous join one court case
TIC_HOST_MIN_DAYS = 7  # a TIC crime joins a court case heard at least this long after it was committed

# Court. VERDICT_P over reference VERDICTS; conviction ratio 0.80 / 0.95 = 84% (target 85%).
VERDICT_P: dict[str, float] = {
    "guilty plea": 0.68,
    "guilty": 0.12,
    "not guilty": 0.07,
    "dismissed": 0.02,
    "withdrawn": 0.06,
    "sent to Crown Court": 0.05,
}
CROWN_VERDICT_P: dict[str, float] = {
    "guilty plea": 0.55,
    "guilty": 0.25,
    "not guilty": 0.15,
    "withdrawn": 0.05,
}
DISPOSAL_P: dict[str, float] = {
    "immediate custody": 0.12,
    "suspended sentence": 0.10,
    "community order": 0.18,
    "fine": 0.38,
    "conditional discharge": 0.12,
    "absolute discharge": 0.01,
    "compensation": 0.04,
    "otherwise dealt with": 0.05,
}
CUSTODY_FACTOR: dict[str, float] = {
    "Shoplifting": 2.0,
    "Burglary": 2.5,
    "Robbery": 3.0,
    "Violence and sexual offences": 1.3,
    "Possession of weapons": 1.5,
    "Drugs": 0.8,
    "Public order": 0.6,
    "Criminal damage and arson": 0.6,
}
"""Multiplier of the custody weight by crime type (shoplifting has a high prison share, DOMAIN.md s.3)."""
CONDITIONAL_CAUTION_SHARE = 0.15
"""Share of adult cautions that are conditional (modelling choice)."""
YOUTH_CONDITIONAL_CAUTION_SHARE = 0.10
"""Share of youth cautions that are conditional (modelling choice)."""
PND_STATUS_P: dict[str, float] = {
    "paid": 0.55,
    "unpaid": 0.10,
    "registered fine": 0.25,
    "court hearing requested": 0.05,
    "cancelled": 0.05,
}
PUBLIC_COURT_LAG_DAYS = (120.0, 0.8)
"""Hearing to the result showing on police.uk, days (log-normal median, sigma). Modelling choice ("results
arriving months later", DOMAIN.md section 4), tuned to the Essex awaiting-court vs court-disposal split."""
COURT_RESULT_UNAVAILABLE_FROM = pd.Timestamp("2019-07-01")
COURT_RESULT_UNAVAILABLE_SHARE = 0.9
"""From mid-2019 police.uk mostly shows ``Court result unavailable`` (DOMAIN.md section 1)."""
PUBLIC_DUPLICATE_SHARE = 0.005
"""Share of outcomes-file rows published twice (exact duplicates occur, DOMAIN.md section 1)."""

FRAUD_FORCES = (
    "Action Fraud",
    "CIFAS",
    "UK Finance",
    "Financial Fraud Action UK",
    "British Transport Police",
)


def derive_offence_mix(prc_csv: str | Path) -> pd.DataFrame:
    """National recorded crime 2017/18 by Home Office code (fraud bodies and BTP dropped).

    Returns ``ho_code, crime_type, offences`` (positive counts only), the within-type offence mix.
    """
    prc = pd.read_csv(prc_csv, dtype={"Offence_Code": str})
    prc = prc[~prc["Force_Name"].isin(FRAUD_FORCES)]
    counts = prc.groupby("Offence_Code")["Number_of_Offences"].sum()
    counts = counts[counts > 0]
    types = offence_codes().set_index("ho_code")["police_uk_category"]
    frame = pd.DataFrame({"ho_code": counts.index, "offences": counts.to_numpy(np.int64)})
    frame["crime_type"] = frame["ho_code"].map(types)
    frame = frame.dropna(subset=["crime_type"])
    return frame[["ho_code", "crime_type", "offences"]].sort_values(["crime_type", "ho_code"], kind="stable")


def derive_force_volumes(prc_csv: str | Path) -> pd.DataFrame:
    """Recorded crimes per month by force in 2017/18 (fraud bodies and BTP dropped): ``force, per_month``."""
    prc = pd.read_csv(prc_csv)
    prc = prc[~prc["Force_Name"].isin(FRAUD_FORCES)]
    per_year = prc.groupby("Force_Name")["Number_of_Offences"].sum()
    return pd.DataFrame({"force": per_year.index, "per_month": (per_year / 12.0).round(1).to_numpy()})


def derive_charge_rates(charges_csv: str | Path, prc_csv: str | Path) -> pd.DataFrame:
    """Charge/summons rate by Home Office code in 2017/18: ``ho_code, crime_type, offences, charges, rate``.

    Charges are the outcomes of the four quarters ending 30 June 2017 to 31 March 2018 in
    ``charges_by_offence_code_and_crime_severity.csv``; offences are the 2017/18 recorded crimes.
    """
    raw = pd.read_csv(charges_csv, dtype={"Offence Code": str})
    when = pd.to_datetime(raw["Date"], format="%d/%m/%Y")
    year = raw[(when >= "2017-06-30") & (when <= "2018-03-31")]
    charges = year.groupby("Offence Code")["Outcomes for investigations closed in the quarter"].sum()
    frame = derive_offence_mix(prc_csv)
    frame["charges"] = frame["ho_code"].map(charges).fillna(0).astype(np.int64)
    frame["rate"] = (frame["charges"] / frame["offences"]).round(6)
    return frame


def write_derived(prc_csv: str | Path, folder: str | Path, charges_csv: str | Path | None = None) -> None:
    """Regenerate the shipped ``offence_mix.csv``, ``force_volumes.csv`` (and ``charge_rates.csv``)."""
    write_csv(Path(folder) / "offence_mix.csv", derive_offence_mix(prc_csv))
    write_csv(Path(folder) / "force_volumes.csv", derive_force_volumes(prc_csv))
    if charges_csv is not None:
        write_csv(Path(folder) / "charge_rates.csv", derive_charge_rates(charges_csv, prc_csv))


CHARGE_MULTIPLIER_RANGE = (0.2, 4.0)
"""Clip of an offence code's charge rate relative to its crime type's (keeps rare codes sane)."""
MAX_CHARGE_SHARE = 0.9
"""Upper bound of any crime's charge probability after the offence-code scaling."""


@cache
def charge_multipliers() -> pd.Series:
    """Charge rate of each Home Office code relative to its crime type's, offence-weighted mean 1 per type.

    From ``charge_rates.csv`` (national 2017/18). Codes with no charges get the lower clip.
    """
    table = _shipped("charge_rates.csv")
    type_rate = table.groupby("crime_type")["charges"].transform("sum") / table.groupby("crime_type")[
        "offences"
    ].transform("sum")
    raw = (table["rate"] / type_rate).clip(*CHARGE_MULTIPLIER_RANGE)
    weighted = (raw * table["offences"]).groupby(table["crime_type"]).transform("sum") / table.groupby(
        "crime_type"
    )["offences"].transform("sum")
    return pd.Series((raw / weighted).to_numpy(), index=table["ho_code"].to_numpy())


@cache
def _shipped(name: str) -> pd.DataFrame:
    source = resources.files("linkage.synth").joinpath("data", name)
    with resources.as_file(source) as path:
        return pd.read_csv(path, dtype={"ho_code": str}, keep_default_na=False)


def charge_rates() -> pd.DataFrame:
    """``ho_code, crime_type, offences, charges, rate``: national 2017/18 charge/summons rate by code."""
    return _shipped("charge_rates.csv").copy()


def offence_mix() -> pd.DataFrame:
    """``ho_code, crime_type, offences``: national 2017/18 offence-code mix within each crime type."""
    return _shipped("offence_mix.csv").copy()


def force_volumes() -> pd.DataFrame:
    """``force, per_month``: national 2017/18 recorded crime per month by force (PRC names)."""
    return _shipped("force_volumes.csv").copy()


def crime_mix(name_or_shares, observed: pd.Series | None = None) -> pd.Series:
    """Crime-type shares of recorded crime (ASB excluded), indexed by the 13 crime types, summing to 1."""
    crimes = [t for t in CRIME_TYPES if t != "Anti-social behaviour"]
    if isinstance(name_or_shares, str) and name_or_shares == "police_uk":
        shares = observed.reindex(crimes).fillna(0.0)
    elif isinstance(name_or_shares, str):
        shares = pd.Series(ESSEX_2018_MIX).reindex(crimes)
    else:
        shares = pd.Series(dict(name_or_shares), dtype=float).reindex(crimes).fillna(0.0)
    return shares / shares.sum()


def asb_ratio(name_or_shares, observed: pd.Series | None = None) -> float:
    """ASB incidents per recorded crime in the public view (Essex 2018: 25% of rows, so 0.25 / 0.75)."""
    if isinstance(name_or_shares, str) and name_or_shares == "police_uk":
        asb = float(observed.get("Anti-social behaviour", 0.0))
    else:
        asb = ESSEX_2018_MIX["Anti-social behaviour"]
    return asb / (1.0 - asb)
