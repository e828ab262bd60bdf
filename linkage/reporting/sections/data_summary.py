"""Report section 1. Data summary."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from linkage.evaluation.disclosure import (
    DisclosureSettings,
    round_to_base,
)
from linkage.reporting.document import Section, TableBlock
from linkage.reporting.sections._common import prose

logger = logging.getLogger(__name__)



def data_summary_section(
    loads: Mapping[str, object],
    settings: DisclosureSettings,
    *,
    restricted: frozenset[str] = frozenset(),
) -> Section:
    """Rows read, accepted and quarantined (and why) by source.

    ``loads`` maps a source label to a :class:`~linkage.sources.LoadSummary` (or an object with
    ``by_file``). Public police.uk files are accounted exactly (they are published row counts, and the
    identity read = accepted + quarantined should be checkable); sources named in ``restricted`` are
    rounded and small quarantine counts suppressed.
    """
    sec = Section("data", "Data summary")
    rows, reasons = [], []
    for label, summary in loads.items():
        by_file = summary.by_file
        for rec in by_file.to_dict("records"):
            rows.append(
                {
                    "source": label,
                    "file": str(rec.get("file", "")).split("/")[-1],
                    "kind": rec.get("kind", ""),
                    "rows read": int(rec["rows_read"]),
                    "accepted": int(rec["accepted"]),
                    "quarantined": int(rec["quarantined"]),
                }
            )
        for reason, count in summary.by_reason.items():
            reasons.append({"source": label, "reason": reason, "rows": int(count)})
    files = pd.DataFrame(rows, columns=["source", "file", "kind", "rows read", "accepted", "quarantined"])
    why = pd.DataFrame(reasons, columns=["source", "reason", "rows"])
    log = []
    if restricted and len(files):
        mask = files["source"].isin(restricted)
        for col in ("rows read", "accepted", "quarantined"):
            files.loc[mask, col] = round_to_base(files.loc[mask, col], settings.rounding_base)
        rmask = why["source"].isin(restricted)
        small = rmask & (why["rows"] < settings.threshold) & (why["rows"] > 0)
        why["rows"] = why["rows"].astype("Int64")
        why.loc[rmask, "rows"] = round_to_base(why.loc[rmask, "rows"].astype(float), settings.rounding_base)
        why.loc[small, "rows"] = pd.NA
        for r in why[small].itertuples():
            log.append(
                {
                    "table": "data_quarantine_reasons",
                    "row": f"{r.source} / {r.reason}",
                    "column": "rows",
                    "action": "primary suppression",
                    "reason": f"count below threshold {settings.threshold}",
                }
            )
    totals = files.groupby("source", sort=False)[["rows read", "accepted", "quarantined"]].sum()
    sec.paragraphs.append(prose("data_summary", "validation"))
    for source, t in totals.iterrows():
        sec.paragraphs.append(
            prose(
                "data_summary",
                "source_totals",
                source=source,
                rows_read=int(t["rows read"]),
                files=int((files["source"] == source).sum()),
                accepted=int(t["accepted"]),
                quarantined=int(t["quarantined"]),
            )
        )
    if restricted:
        sec.paragraphs.append(prose("data_summary", "rounded", base=settings.rounding_base))
    sec.add_table(TableBlock("data_files", "Rows read, accepted and quarantined by file", files))
    if len(why):
        sec.add_table(
            TableBlock("data_quarantine_reasons", "Quarantined rows by reason", why),
            pd.DataFrame(log, columns=["table", "row", "column", "action", "reason"]),
        )
    else:
        sec.paragraphs.append(prose("data_summary", "none_quarantined"))
    return sec
