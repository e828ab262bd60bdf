"""Calibration table: generated against published target rates, with stated tolerances and pass/fail.

:func:`calibration_table` measures a generated world (normally the ``essex-2018`` preset: an Essex-like
7-month world read at the end of July 2018, the shape of the published Essex street-file figures in
DOMAIN.md section 3). Rows whose target is a range or an older era are scored against the range.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from linkage._io import write_csv, write_text
from linkage.synth import targets as tg
from linkage.synth.world import SyntheticWorld

logger = logging.getLogger(__name__)

COLUMNS = ("check", "group", "item", "generated", "target", "low", "high", "passed", "source")
MARK_START = "<!-- calibration:start -->"
MARK_END = "<!-- calibration:end -->"


def _share_tolerance(target: float) -> float:
    """Absolute tolerance of a share: 3 pp for shares of 10% or more, 1.5 pp from 2%, else 0.5 pp."""
    if target >= 0.10:
        return 0.03
    if target >= 0.02:
        return 0.015
    return 0.005


def _row(check, group, item, generated, target, low, high, source) -> dict:
    return {
        "check": check,
        "group": group,
        "item": item,
        "generated": float(generated),
        "target": float(target),
        "low": max(float(low), 0.0),
        "high": float(high),
        "passed": bool(max(low, 0.0) <= generated <= high),
        "source": source,
    }


def calibration_table(world: SyntheticWorld) -> pd.DataFrame:
    """Generated vs target rates of ``world`` (see the module docstring); one row per measure."""
    rows: list[dict] = []
    essex = "DOMAIN.md s.3: Essex street files Jan-Jul 2018"
    # 1. Crime-type mix of the public view (ASB included).
    street = world.street
    mix = street["crime_type"].value_counts(normalize=True)
    for ctype, target in tg.ESSEX_2018_MIX.items():
        tol = _share_tolerance(target)
        rows.append(
            _row(
                "crime-type mix", "all", ctype, mix.get(ctype, 0.0), target, target - tol, target + tol, essex
            )
        )
    # 2. Last outcome at the end of the period (crimes only, as police.uk shows them).
    last = world.crime_truth["last_outcome"].value_counts(normalize=True)
    for label, target in tg.ESSEX_2018_LAST_OUTCOMES.items():
        tol = _share_tolerance(target)
        rows.append(
            _row(
                "last outcome",
                "all crimes",
                label,
                last.get(label, 0.0),
                target,
                target - tol,
                target + tol,
                essex,
            )
        )
    court_labels = [
        lbl
        for lbl in last.index
        if lbl
        not in (
            "Awaiting court outcome",
            "Court result unavailable",
            "Defendant sent to Crown Court",
        )
        and lbl.startswith(("Offender", "Defendant", "Court"))
        and lbl not in tg.ESSEX_2018_LAST_OUTCOMES
    ]
    court_share = float(last.reindex(court_labels).fillna(0).sum())
    rows.append(
        _row(
            "last outcome",
            "all crimes",
            "court disposals combined",
            court_share,
            tg.ESSEX_2018_COURT_DISPOSALS,
            0.0,
            0.02,
            essex + " ('about 1% combined')",
        )
    )
    # 3. Published by-type points.
    ct = world.crime_truth
    for ctype, label, target, source in tg.PUBLISHED_BY_TYPE:
        sub = ct.loc[ct["crime_type"] == ctype, "last_outcome"]
        gen = float((sub == label).mean()) if len(sub) else np.nan
        rows.append(_row("outcome by type", ctype, label, gen, target, target - 0.05, target + 0.05, source))
    shop = ct.assign(court=ct["outcome_key"].isin(["charge", "tic"])).groupby("crime_type")["court"].mean()
    rows.append(
        _row(
            "outcome by type",
            "Shoplifting",
            "highest charge share of the volume crimes (rank 1 = highest)",
            float((shop[shop.index.isin(_VOLUME_TYPES)] > shop.get("Shoplifting", 0)).sum() + 1),
            1,
            1,
            1,
            "DOMAIN.md s.3: shoplifting has the highest court and prison share",
        )
    )
    # 4. Time to outcome (final outcomes, uncensored).
    days = ct["days_to_outcome"]
    rows.append(
        _row(
            "time to outcome",
            "all crimes",
            "median days from recording to police outcome",
            float(days.median()),
            tg.MEDIAN_DAYS_TO_OUTCOME,
            tg.MEDIAN_DAYS_TO_OUTCOME - 4,
            tg.MEDIAN_DAYS_TO_OUTCOME + 4,
            "DOMAIN.md s.3: median 14 days from recording to outcome (2022/23)",
        )
    )
    by_key = ct.groupby("outcome_key")["days_to_outcome"].median()
    rows.append(
        _row(
            "time to outcome",
            "penalty notices",
            "median days",
            by_key.get("penalty_notice", np.nan),
            1,
            0,
            7,
            "DOMAIN.md s.3: penalty notices on the spot or within days",
        )
    )
    rows.append(
        _row(
            "time to outcome",
            "cautions",
            "median days",
            by_key.get("caution", np.nan),
            21,
            7,
            42,
            "DOMAIN.md s.3: cautions within weeks",
        )
    )
    court = world.court_outcomes
    if len(court):
        court_days = (court["hearing_date"] - court["offence_date"]).dt.days
        rows.append(
            _row(
                "time to outcome",
                "court outcomes",
                "median days from offence to hearing",
                float(court_days.median()),
                60,
                28,
                365,
                "DOMAIN.md s.3: court results weeks to many months",
            )
        )
    summary = ct[ct["crime_type"].isin(tg.SUMMARY_TYPES) & ct["outcome_key"].eq("charge")]
    rows.append(
        _row(
            "time to outcome",
            "summary-type charges",
            "share charged within 182 days of recording",
            float((summary["days_to_outcome"] <= tg.SUMMARY_CHARGE_LIMIT_DAYS).mean())
            if len(summary)
            else 1.0,
            1.0,
            1.0,
            1.0,
            "DOMAIN.md s.3: Magistrates' Courts Act 1980 s.127 (6 months)",
        )
    )
    # 5. Court: conviction ratio.
    if len(court):
        completed = court[court["verdict"] != "sent to Crown Court"]
        conv = float(completed["verdict"].isin(["guilty", "guilty plea"]).mean())
        rows.append(
            _row(
                "court",
                "all",
                "conviction ratio",
                conv,
                tg.CONVICTION_RATIO,
                0.80,
                0.90,
                "DOMAIN.md s.3: conviction ratio about 85%",
            )
        )
    # 6. Charge share by crime type against the national 2017/18 charge rate (a different force and year
    #    from the Essex targets the rates are tuned to, so the band is wide: within 50% of the national rate).
    national = tg.charge_rates().groupby("crime_type")[["charges", "offences"]].sum()
    national_rate = national["charges"] / national["offences"]
    charged = ct["outcome_key"].isin(["charge", "tic"]).groupby(ct["crime_type"]).mean()
    for ctype, target in national_rate.items():
        if ctype in charged.index:
            rows.append(
                _row(
                    "charge share",
                    ctype,
                    "final charge/summons share (national 2017/18 context)",
                    charged[ctype],
                    target,
                    0.5 * target,
                    1.5 * target,
                    "Home Office outcomes 2017/18 by offence code (charges_by_offence_code_...csv)",
                )
            )
    # 7. Offence-code mix within type: total variation distance to the national 2017/18 mix.
    mixes = tg.offence_mix()
    crimes = world.crimes
    for ctype, sub in mixes.groupby("crime_type", sort=True):
        got = crimes.loc[crimes["crime_type"] == ctype, "offence_code"].value_counts(normalize=True)
        if got.empty:
            continue
        want = sub.set_index("ho_code")["offences"] / sub["offences"].sum()
        tvd = 0.5 * float((got.reindex(want.index, fill_value=0) - want).abs().sum())
        rows.append(
            _row(
                "offence-code mix",
                ctype,
                "total variation distance to national 2017/18 mix",
                tvd,
                0.0,
                0.0,
                0.05,
                "Home Office PRC 2017/18 by offence code (data/reference/prc-pfa-201718_new.csv)",
            )
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


_VOLUME_TYPES = (
    "Shoplifting",
    "Burglary",
    "Vehicle crime",
    "Other theft",
    "Criminal damage and arson",
    "Bicycle theft",
    "Theft from the person",
    "Robbery",
)


def to_markdown(table: pd.DataFrame) -> str:
    """The calibration table as a Markdown table (shares as percentages, days as days)."""
    lines = [
        "| check | group | item | generated | target | tolerance band | pass |",
        "|---|---|---|---:|---:|---|---|",
    ]
    for r in table.itertuples(index=False):
        pct = r.check in ("crime-type mix", "last outcome", "outcome by type", "court", "charge share")
        pct = pct and r.high <= 1.0
        if pct and "rank" not in r.item:
            fmt = lambda v: f"{100 * v:.1f}%"  # noqa: E731
        elif r.check == "offence-code mix" or "share" in r.item:
            fmt = lambda v: f"{v:.3f}"  # noqa: E731
        else:
            fmt = lambda v: f"{v:.1f}"  # noqa: E731
        lines.append(
            f"| {r.check} | {r.group} | {r.item} | {fmt(r.generated)} | {fmt(r.target)} | "
            f"{fmt(r.low)} - {fmt(r.high)} | {'yes' if r.passed else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def write_calibration(
    table: pd.DataFrame, csv_path: str | Path, doc_path: str | Path | None, header: str
) -> None:
    """Write the CSV and, when ``doc_path`` exists, replace its marked calibration section."""
    write_csv(csv_path, table, float_format="%.6g")
    if doc_path is None:
        return
    doc = Path(doc_path)
    block = f"{MARK_START}\n{header}\n\n{to_markdown(table)}{MARK_END}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if MARK_START in text and MARK_END in text:
        text = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _m: block, text, flags=re.S)
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + block + "\n"
    write_text(doc, text)
