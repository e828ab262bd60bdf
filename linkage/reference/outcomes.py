"""police.uk crime types and outcome categories, their history, and the court/out-of-court vocabulary.

Everything here is plain data plus a few vectorised helpers. Sources: data.police.uk "About" and
changelog pages, summarised in docs/reference_data.md (crime-type history, the June 2014 outcome
relabelling, the "last outcome" rule).

Decisions (documented in docs/reference_data.md):

* ``Public disorder and weapons`` (Sep 2011 - Apr 2013) has no one-to-one forward mapping: it was split
  into ``Public order`` and ``Possession of weapons``. It maps to ``Public order`` (the larger share) and
  :func:`crime_type_is_coarse` flags such rows so analyses can drop or pool them.
* Likewise ``Other theft`` before May 2013 still contained bicycle theft and theft from the person, and
  ``Other crime`` before Sep 2011 contained criminal damage, drugs, shoplifting and more; both keep their
  name and are flagged coarse for those months.
* ``No further action at this time`` (before June 2014) maps to ``Investigation complete; no suspect
  identified``; ``Offender sentenced as part of another case`` maps to ``Offender otherwise dealt with``.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from linkage.errors import DataContractError, LinkageError

logger = logging.getLogger(__name__)

CRIME_TYPES: tuple[str, ...] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)
"""The 14 police.uk crime categories in use since May 2013."""

LEGACY_CRIME_TYPES: dict[str, str] = {
    # Dec 2010 - Aug 2011 (six categories) and Sep 2011 - Apr 2013 (eleven categories).
    "Violent crime": "Violence and sexual offences",
    "Public disorder and weapons": "Public order",  # no one-to-one mapping: flagged coarse
    "Anti-social behaviour": "Anti-social behaviour",
    "Burglary": "Burglary",
    "Robbery": "Robbery",
    "Vehicle crime": "Vehicle crime",
    "Other crime": "Other crime",
    "Criminal damage and arson": "Criminal damage and arson",
    "Drugs": "Drugs",
    "Other theft": "Other theft",
    "Shoplifting": "Shoplifting",
}
"""Every pre-May-2013 category name -> its current name."""

SIX_CATEGORY_END = pd.Timestamp("2011-08-01")
"""Last month of the six-category scheme."""
ELEVEN_CATEGORY_END = pd.Timestamp("2013-04-01")
"""Last month of the eleven-category scheme."""
OUTCOME_RELABEL_MONTH = pd.Timestamp("2014-06-01")
"""First month with the current outcome labels."""

OUTCOME_VOCABULARY_FILE = "outcomes.csv"
"""The outcome vocabulary, one row per current police.uk label, under ``linkage/reference/data/``."""
OUTCOME_STAGES: tuple[str, ...] = ("police", "court")
# The "last outcome" hierarchy (column ``rank``): a later stage beats an earlier one, whatever the order
# of the rows. 0 open; 1 no information; 2 police closed the case without a disposal; 3 out-of-court
# disposal; 4 charged; 5 awaiting court; 6 court stage without a final result; 7 final court result.
OUTCOME_RANKS = range(0, 8)


@dataclass(frozen=True)
class OutcomeLabel:
    """One current police.uk outcome label and what the workbench knows about it."""

    label: str
    stage: str
    """``police`` or ``court``."""
    rank: int
    """Rank in the "last outcome" hierarchy (higher wins)."""
    group: str
    """Reporting group (:func:`linkage.evaluation.rates.outcome_group`)."""
    legacy_aliases: tuple[str, ...]
    """Labels used for it before June 2014."""


def read_outcome_vocabulary(path: str | Path | None = None) -> tuple[OutcomeLabel, ...]:
    """The outcome vocabulary table (the bundled ``outcomes.csv`` unless ``path``), checked row by row.

    Columns: ``label``, ``stage`` (police/court), ``rank`` (0-7), ``group`` and ``legacy_aliases``
    (pre-June-2014 labels, ``;``-separated). Rows keep the file's order: police stage, then court stage.
    """
    if path is None:
        source = resources.files("linkage.reference").joinpath("data", OUTCOME_VOCABULARY_FILE)
        with resources.as_file(source) as bundled:
            return read_outcome_vocabulary(bundled)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    header = ["label", "stage", "rank", "group", "legacy_aliases"]
    if not rows or list(rows[0]) != header:
        raise DataContractError(path, f"expected the header {header}")
    labels: list[OutcomeLabel] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        if None in row or any(value is None for value in row.values()):
            raise DataContractError(path, "wrong number of fields", row=number)
        label, stage, rank, group = (row[c].strip() for c in header[:4])
        aliases = tuple(a.strip() for a in row["legacy_aliases"].split(";") if a.strip())
        known = seen | {label.casefold()}
        problems = {
            "label": f"blank or repeated label {label!r}" if not label or label.casefold() in seen else "",
            "stage": f"stage {stage!r} not in {OUTCOME_STAGES}" if stage not in OUTCOME_STAGES else "",
            "rank": "" if rank.isdigit() and int(rank) in OUTCOME_RANKS else f"rank {rank!r} is not 0-7",
            "group": "" if group else "blank group",
            "legacy_aliases": next((f"repeated label {a!r}" for a in aliases if a.casefold() in known), ""),
        }
        for column, problem in problems.items():
            if problem:
                raise DataContractError(path, problem, row=number, column=column)
        seen.update(name.casefold() for name in (label, *aliases))
        labels.append(OutcomeLabel(label, stage, int(rank), group, aliases))
    return tuple(labels)


OUTCOME_VOCABULARY: tuple[OutcomeLabel, ...] = read_outcome_vocabulary()
"""Every current police.uk outcome label (police stage, then court stage), from ``outcomes.csv``."""

POLICE_OUTCOMES: tuple[str, ...] = tuple(o.label for o in OUTCOME_VOCABULARY if o.stage == "police")
COURT_OUTCOMES: tuple[str, ...] = tuple(o.label for o in OUTCOME_VOCABULARY if o.stage == "court")
OUTCOME_CATEGORIES: tuple[str, ...] = POLICE_OUTCOMES + COURT_OUTCOMES
"""Every current police.uk outcome string (police stage, then court stage)."""

LEGACY_OUTCOME_LABELS: dict[str, str] = {
    alias: o.label for o in OUTCOME_VOCABULARY for alias in o.legacy_aliases
}
"""Outcome labels used before June 2014 -> current label."""

OUTCOME_STAGE: dict[str, str] = {o.label: o.stage for o in OUTCOME_VOCABULARY}
"""Current outcome label -> ``'police'`` or ``'court'``."""

OUTCOME_RANK: dict[str, int] = {o.label: o.rank for o in OUTCOME_VOCABULARY}
"""Current outcome label -> rank in the "last outcome" hierarchy (higher wins)."""

OUTCOME_GROUP: dict[str, str] = {o.label: o.group for o in OUTCOME_VOCABULARY}
"""Current outcome label -> reporting group (court results count as charged or summonsed)."""

# Court vocabulary of the synthetic world and the linkage.
VERDICTS: tuple[str, ...] = (
    "guilty",
    "guilty plea",
    "not guilty",
    "dismissed",
    "withdrawn",
    "sent to Crown Court",
)
DISPOSALS: tuple[str, ...] = (
    "immediate custody",
    "suspended sentence",
    "community order",
    "fine",
    "conditional discharge",
    "absolute discharge",
    "compensation",
    "otherwise dealt with",
)
DISPOSAL_LABELS: dict[str, str] = {
    "immediate custody": "Offender sent to prison",
    "suspended sentence": "Offender given suspended prison sentence",
    "community order": "Offender given community sentence",
    "fine": "Offender fined",
    "conditional discharge": "Offender given conditional discharge",
    "absolute discharge": "Offender given absolute discharge",
    "compensation": "Offender ordered to pay compensation",
    "otherwise dealt with": "Offender otherwise dealt with",
}
"""Court disposal (sentence) -> police.uk outcome label."""
VERDICT_LABELS: dict[str, str] = {
    "not guilty": "Defendant found not guilty",
    "dismissed": "Defendant found not guilty",
    "withdrawn": "Court case unable to proceed",
    "sent to Crown Court": "Defendant sent to Crown Court",
}
"""Verdicts that decide the label on their own (no disposal) -> police.uk outcome label."""
CONVICTING_VERDICTS: tuple[str, ...] = ("guilty", "guilty plea")

CAUTION_TYPES: tuple[str, ...] = (
    "adult simple caution",
    "youth caution",
    "adult conditional caution",
    "youth conditional caution",
)
CAUTION_LABEL = "Offender given a caution"
PND_STATUSES: tuple[str, ...] = ("paid", "unpaid", "court hearing requested", "registered fine", "cancelled")
PND_LABEL = "Offender given penalty notice"


def _norm(values: pd.Series) -> pd.Series:
    """Lower-case, trim and collapse internal whitespace; blanks become NA."""
    text = values.astype("string").str.strip().str.replace(r"\s+", " ", regex=True).str.lower()
    return text.mask(text == "")


def _lookup(values: pd.Series, table: dict[str, str]) -> pd.Series:
    """Normalise and look up each distinct value once, then broadcast (columns repeat a few labels)."""
    keyed = {" ".join(k.split()).lower(): v for k, v in table.items()}
    values = pd.Series(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = _norm(pd.Series(uniques, dtype="object")).map(keyed).to_numpy(dtype=object)
    out = np.full(len(values), None, dtype=object)
    hit = codes >= 0
    out[hit] = mapped[codes[hit]]
    return pd.Series(out, index=values.index, dtype="string")


_CRIME_TYPE_TABLE: dict[str, str] = {
    **LEGACY_CRIME_TYPES,
    **{c: c for c in CRIME_TYPES},
    # Spellings seen in reference files (e.g. CrimeCatMappings.csv); case is handled by _norm.
    "Anti social behaviour": "Anti-social behaviour",
    "Antisocial behaviour": "Anti-social behaviour",
    "Criminal damage & arson": "Criminal damage and arson",
    "Violence & sexual offences": "Violence and sexual offences",
}
_OUTCOME_TABLE: dict[str, str] = {**LEGACY_OUTCOME_LABELS, **{o: o for o in OUTCOME_CATEGORIES}}


def canonical_crime_type(values: pd.Series) -> pd.Series:
    """Map crime-type strings (any vintage, any case/spacing) to the 14 current names; unknown -> NA."""
    return _lookup(pd.Series(values), _CRIME_TYPE_TABLE)


def canonical_outcome(values: pd.Series) -> pd.Series:
    """Map outcome strings (current or pre-June-2014, any case/spacing) to current labels; unknown -> NA."""
    return _lookup(pd.Series(values), _OUTCOME_TABLE)


def crime_type_is_coarse(original: pd.Series, month: pd.Series) -> pd.Series:
    """True where the original category is coarser than its canonical one in that month.

    ``Public disorder and weapons`` always; ``Other theft`` up to Apr 2013; ``Other crime`` up to Aug 2011.
    """
    original = pd.Series(original)
    codes, uniques = pd.factorize(original, use_na_sentinel=True)
    # A trailing None answers the missing code (-1), so an all-missing column needs no special case.
    normed = np.append(_norm(pd.Series(uniques, dtype="object")).to_numpy(dtype=object), None)
    text = pd.Series(normed[codes], index=original.index)
    when = pd.to_datetime(pd.Series(month, index=text.index))
    coarse = (
        (text == "public disorder and weapons")
        | ((text == "other theft") & (when <= ELEVEN_CATEGORY_END))
        | ((text == "other crime") & (when <= SIX_CATEGORY_END))
    )
    return coarse.fillna(False).astype(bool)


def outcome_rank(values: pd.Series) -> pd.Series:
    """Rank of each outcome in the last-outcome hierarchy (legacy labels accepted); unknown -> NA."""
    return canonical_outcome(values).map(OUTCOME_RANK).astype("Int8")


def final_outcome_per_group(
    frame: pd.DataFrame,
    group_cols: str | Sequence[str],
    label_col: str,
    order_cols: str | Sequence[str] | None = None,
    *,
    keep_unknown: bool = False,
) -> pd.DataFrame:
    """The row holding each group's police.uk "last outcome", for every group at once.

    The highest rank in :data:`OUTCOME_RANK` (:func:`outcome_rank`; legacy labels translated) wins; ties
    go to the row that comes last by ``order_cols`` (e.g. the outcome date, then ids for determinism),
    then by row order (``order_cols=None``: row order alone). Rows with a blank or unknown label are
    dropped, so a group with no known label has no row; with ``keep_unknown`` they rank below every
    known label instead (such a group keeps its last row). Returns the chosen rows of ``frame`` (all
    columns, original index) sorted by ``group_cols``.
    """
    groups = [group_cols] if isinstance(group_cols, str) else list(group_cols)
    order = [] if order_cols is None else [order_cols] if isinstance(order_cols, str) else list(order_cols)
    missing = [c for c in [*groups, label_col, *order] if c not in frame.columns]
    if missing:
        raise LinkageError(f"frame lacks column(s) {missing}; has {list(frame.columns)}")
    if not groups:
        raise LinkageError("group_cols must name at least one column, got []")
    rank = outcome_rank(frame[label_col]).astype("float")
    work = frame.assign(_rank=rank.fillna(-1.0).to_numpy(), _row=np.arange(len(frame)))
    if not keep_unknown:
        work = work[rank.notna().to_numpy()]
    picked = work.sort_values([*groups, "_rank", *order, "_row"], kind="mergesort").drop_duplicates(
        groups, keep="last"
    )
    return picked.drop(columns=["_rank", "_row"])


def final_outcome(labels: Iterable[str | None]) -> str | None:
    """The police.uk "last outcome" of one crime from its outcome labels.

    The highest rank in :data:`OUTCOME_RANK` wins; ties go to the label given last (pass labels in
    date order). Legacy labels are translated; blanks and unknown labels are ignored. Returns ``None``
    when no label is known. The rule is :func:`final_outcome_per_group` on a single group.
    """
    series = pd.Series(list(labels), dtype="object")
    picked = final_outcome_per_group(pd.DataFrame({"_group": 0, "label": series}), "_group", "label")
    if picked.empty:
        return None
    return str(canonical_outcome(picked["label"]).iloc[0])


def court_outcome_label(verdict: pd.Series, disposal: pd.Series) -> pd.Series:
    """police.uk outcome label of court rows from verdict and disposal (vectorised).

    Convictions (``guilty``, ``guilty plea``) take the disposal's label; other verdicts decide the
    label on their own. A conviction without a known disposal, or an unknown verdict, gives NA.
    """
    verdict = pd.Series(verdict)
    disposal = pd.Series(disposal, index=verdict.index)
    v = _norm(verdict)
    d = _norm(disposal)
    by_verdict = v.map({k.lower(): val for k, val in VERDICT_LABELS.items()})
    by_disposal = d.map(DISPOSAL_LABELS)
    convicted = v.isin(CONVICTING_VERDICTS)
    out = pd.Series(np.where(convicted, by_disposal, by_verdict), index=verdict.index)
    return out.astype("string")


def caution_outcome_label(caution_type: pd.Series) -> pd.Series:
    """``Offender given a caution`` for every known caution type; unknown -> NA."""
    return _lookup(pd.Series(caution_type), dict.fromkeys(CAUTION_TYPES, CAUTION_LABEL))


def pnd_outcome_label(status: pd.Series) -> pd.Series:
    """``Offender given penalty notice`` for every known penalty notice status; unknown -> NA."""
    return _lookup(pd.Series(status), dict.fromkeys(PND_STATUSES, PND_LABEL))


def _check() -> None:
    if len(CRIME_TYPES) != 14 or len(set(OUTCOME_CATEGORIES)) != len(OUTCOME_CATEGORIES):
        raise LinkageError("reference tables are inconsistent")
    if set(OUTCOME_RANK) != set(OUTCOME_CATEGORIES):
        raise LinkageError(f"OUTCOME_RANK misses {set(OUTCOME_CATEGORIES) - set(OUTCOME_RANK)}")


_check()
