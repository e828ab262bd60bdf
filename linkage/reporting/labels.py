"""One map of display labels: the raw codes that reach a published table, in words a reader understands.

Applied after disclosure control and the cross-table audit (which work on the codes), to the HTML tables,
the CSV files, the workbook and the disclosure log alike (:mod:`linkage.reporting.publish`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["DISPLAY_LABELS", "SEX_LABELS", "display_frame"]

# One map of display labels: raw codes that reach a published table -> words a reader understands.
DISPLAY_LABELS: dict[str, str] = {
    "offence_group": "Offence group",
    "age_band": "Age band",
    "sex": "Sex",
    "source": "Source",
    "force": "Force",
    "cautions": "Cautions",
    "penalty_notices": "Penalty notices",
    "court_outcomes": "Court outcomes",
    "all": "All sources",
    "lsoa": "LSOA",
    "area-month": "area-month",
    "variable": "breakdown",
    "evaluation group": "Evaluation group (trailblazer or comparison; before or after go-live)",
    "role": "area",
    "period": "period",
}
SEX_LABELS = {"F": "Female", "M": "Male", "U": "Not recorded"}
_LABEL_COLUMNS = ("variable", "group", "source", "kind", "clustered on", "role")


def display_frame(block: Any, *, download: bool = False) -> pd.DataFrame:
    """The table of a :class:`~linkage.reporting.document.TableBlock` as published (typed ``Any``:
    document imports this module): index reset if it carries the row labels, display labels applied.
    ``download`` picks the block's all-numeric download frame when it has one (CSV, workbook)."""
    if download and getattr(block, "download", None) is not None:
        frame = block.download.copy()
    else:
        frame = block.frame.reset_index() if block.index else block.frame.copy()
    sex = frame["variable"].astype(str).eq("sex") if "variable" in frame.columns else None
    for col in _LABEL_COLUMNS:
        if col not in frame.columns or frame[col].dtype.kind in "biufc":
            continue
        values = frame[col].astype(object)
        if col == "group" and sex is not None:
            values = values.where(~sex, values.map(lambda v: SEX_LABELS.get(str(v), v)))
        frame[col] = values.map(lambda v: DISPLAY_LABELS.get(v, v) if isinstance(v, str) else v)
    return frame.rename(columns={c: DISPLAY_LABELS.get(c, c) for c in frame.columns if c in ("variable",)})


