"""The disclosure gate: every file a report publishes is written here, and only here.

Sections protect their count tables (primary and secondary suppression, rounding) and the builder audits
the outcome tables across each other (:func:`linkage.reporting.builder.cross_table_audit`); this module
then

1. reads back from the protected tables which cells are withheld (:func:`withheld_values`);
2. gates every record-level file against them (:func:`gate_record_file`): a row may not show a category
   (an outcome, an outcome group or an LSOA) that a published table withholds, or counting rows would
   give the withheld cell back;
3. applies one map of display labels (:data:`DISPLAY_LABELS`) to what is written, after protection and
   audit, so audits always work on the codes;
4. writes the CSV files (``[c]`` for withheld cells, numbers as numbers), the ODS workbook (cover sheet,
   notes, one sheet per table) and the record-level outcomes file, and lists every file it wrote in the
   disclosure log.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from linkage._io import write_bytes, write_csv
from linkage.evaluation.disclosure import LOG_COLUMNS
from linkage.evaluation.rates import outcome_group
from linkage.reporting.document import Report, TableBlock
from linkage.reporting.labels import DISPLAY_LABELS, SEX_LABELS, display_frame

__all__ = [
    "WITHHELD",
    "DISPLAY_LABELS",
    "SEX_LABELS",
    "display_frame",
    "csv_frame",
    "withheld_values",
    "gate_record_file",
    "workbook_bytes",
    "file_log",
]

WITHHELD = "[c]"


def csv_frame(block: TableBlock) -> pd.DataFrame:
    """The table for a CSV or a spreadsheet: ``[c]`` where a cell is withheld, the block's own text where a
    blank means 'not applicable' (``na_text``), numbers left as numbers."""
    frame = display_frame(block)
    out = frame.astype(object)
    for col in frame.columns:
        blank = frame[col].isna().to_numpy()
        if blank.any():
            out.loc[blank, col] = block.na_text.get(str(col), WITHHELD)
    return out


def _blank(frame: pd.DataFrame, col: str) -> pd.Series:
    return frame[col].isna() if col in frame.columns else pd.Series(False, index=frame.index)


def withheld_values(tables: Mapping[str, pd.DataFrame]) -> dict[str, set[str]]:
    """Categories some published table withholds, by the dimension a record-level file would show them in:
    ``outcome`` (final-outcome labels, directly or through their withheld outcome group) and ``lsoa``."""
    labels: set[str] = set()
    groups: set[str] = set()
    lsoas: set[str] = set()
    t = tables.get("outcomes_public_vs_linked")
    if t is not None:
        hidden = np.zeros(len(t), dtype=bool)
        for col in t.columns:
            if str(col).startswith("count "):
                hidden |= _blank(t, col).to_numpy()
        labels |= set(t.loc[hidden, "final outcome"].astype(str))
    for name in ("outcomes_mix", "outcomes_real_police_uk"):
        t = tables.get(name)
        if t is not None and "crimes" in t.columns:
            groups |= set(t.loc[_blank(t, "crimes"), "outcome"].astype(str))
    t = tables.get("outcomes_by_crime_type_counts")
    if t is not None and "Total" in t.index:
        total = t.loc["Total"]
        groups |= {str(g) for g, v in total.items() if pd.isna(v) and g != "Total"}
    t = tables.get("maps_lsoa_action_rate")
    if t is not None:
        hidden = np.zeros(len(t), dtype=bool)
        for col in t.columns:
            if col != "LSOA":
                hidden |= _blank(t, col).to_numpy()
        lsoas |= set(t.loc[hidden, "LSOA"].astype(str))
    return {"outcome": labels, "outcome_group": groups, "lsoa": lsoas}


def gate_record_file(
    frame: pd.DataFrame, withheld: Mapping[str, set], name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A police.uk-style record-level outcomes file with every withheld category recoded to ``[c]``.

    A row whose outcome (or its outcome group) is withheld in a published table shows ``[c]`` as its
    outcome type; a row in a withheld LSOA shows ``[c]`` for its LSOA and no coordinates. Returns the file
    and its disclosure log rows (one per recoded category, never the number of rows it held).
    """
    out = frame.copy()
    log = []
    if "Outcome type" in out.columns:
        kind = out["Outcome type"].astype("string")
        group = outcome_group(kind).set_axis(out.index)
        hide = kind.isin(list(withheld.get("outcome", ()))) | group.isin(
            list(withheld.get("outcome_group", ()))
        )
        hide = hide.fillna(False).to_numpy(dtype=bool)
        for label in sorted(set(kind[hide].dropna())):
            log.append(
                {
                    "table": name,
                    "row": "rows with this outcome",
                    "column": "Outcome type",
                    "action": "recoded",
                    "reason": f"'{label}' is withheld in a published table; shown as {WITHHELD}",
                }
            )
        out["Outcome type"] = out["Outcome type"].astype(object).where(~hide, WITHHELD)
    if "LSOA code" in out.columns and withheld.get("lsoa"):
        hide = out["LSOA code"].astype("string").isin(list(withheld["lsoa"])).fillna(False).to_numpy(bool)
        if hide.any():
            for col in ("LSOA code", "LSOA name"):
                if col in out.columns:
                    out[col] = out[col].astype(object).where(~hide, WITHHELD)
            for col in ("Longitude", "Latitude", "Location"):
                if col in out.columns:
                    out[col] = out[col].astype(object).where(~hide, None)
            log.append(
                {
                    "table": name,
                    "row": "rows in withheld LSOAs",
                    "column": "LSOA code",
                    "action": "recoded",
                    "reason": f"LSOAs withheld in the map table shown as {WITHHELD}, without coordinates",
                }
            )
    return out, pd.DataFrame(log, columns=LOG_COLUMNS)


_LOG_COLUMN_LABELS = {"tp": "correct links", "n_true": "true matches", "n_links": "links"}


def label_log(log: pd.DataFrame) -> pd.DataFrame:
    """The disclosure log with the display labels its tables use ("Sex / Female", "Court outcomes")."""

    def row(value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = value.split(" / ")
        if len(parts) == 2 and parts[0] == "sex":
            return f"{DISPLAY_LABELS['sex']} / {SEX_LABELS.get(parts[1], parts[1])}"
        return " / ".join(DISPLAY_LABELS.get(x, x) for x in parts)

    out = log.copy()
    out["row"] = out["row"].map(row)
    out["column"] = out["column"].map(
        lambda v: "\n".join(_LOG_COLUMN_LABELS.get(x, x) for x in v.split("\n")) if isinstance(v, str) else v
    )
    return out


def file_log(files: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """One disclosure-log row per published file: (path, what the gate did to it)."""
    return pd.DataFrame(
        [
            {
                "table": path,
                "row": "whole file",
                "column": "whole file",
                "action": "published file",
                "reason": how,
            }
            for path, how in files
        ],
        columns=LOG_COLUMNS,
    )


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip (an ODS file) with fixed timestamps, ``mimetype`` first and stored, so the same
    tables always give the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        names = sorted(src.namelist(), key=lambda n: (n != "mimetype", n))
        for n in names:
            info = zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if n == "mimetype" else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(n))
    return buf.getvalue()


def workbook_bytes(report: Report, numbered: list[tuple[int, TableBlock]], notes: list[str]) -> bytes:
    """The ODS workbook: a cover sheet, a notes sheet and one sheet per table (title in A1, [c] kept)."""
    buf = io.BytesIO()
    rel = report.release
    cover = [
        [report.title],
        [report.subtitle],
        [""],
        ["Status", rel.get("status", "")],
        ["Produced", rel.get("produced", "")],
        ["Owner", rel.get("owner", "")],
        ["Contact", rel.get("contact", "")],
        ["Revisions", rel.get("revisions", "")],
        [""],
        ["Sheet", "Table"],
        *[[f"Table {n}", b.caption] for n, b in numbered],
        [""],
        ["Notes are on the Notes sheet. [c] = withheld for disclosure control."],
    ]
    with pd.ExcelWriter(buf, engine="odf") as xl:
        pd.DataFrame(cover).to_excel(xl, sheet_name="Cover", header=False, index=False)
        pd.DataFrame({"Notes": notes}).to_excel(xl, sheet_name="Notes", index=False)
        for n, block in numbered:
            frame = csv_frame(block)
            width = max(len(frame.columns), 1)
            pad = [""] * (width - 1)
            rows = [
                [f"Table {n}. {block.caption}", *pad],
                [block.note or "", *pad],
                ["", *pad],
                [str(c) for c in frame.columns],
                *frame.to_numpy().tolist(),
            ]
            sheet = pd.DataFrame(rows, columns=range(width)).replace({"": None})
            sheet.to_excel(xl, sheet_name=f"Table {n}", header=False, index=False)
    return _deterministic_zip(buf.getvalue())


def write_published(
    report: Report, record_files: Mapping[str, pd.DataFrame], out: Path
) -> tuple[list[str], pd.DataFrame]:
    """Write every published data file of a report through the gate: the table CSVs, the record-level
    files (gated) and the ODS workbook. Returns the relative paths written and their log rows."""
    tables = {b.name: b.frame for s in report.sections for b in s.tables}
    withheld = withheld_values(tables)
    numbered = [(i, b) for i, b in enumerate((b for s in report.sections for b in s.tables), start=1)]
    written: list[tuple[str, str]] = []
    logs = []
    for n, block in numbered:
        path = f"tables/{block.name}.csv"
        write_csv(out / path, csv_frame(block), float_format="%.6g")
        written.append((path, f"Table {n}: protected and audited in the report; [c] = withheld"))
    for name, frame in record_files.items():
        gated, log = gate_record_file(frame, withheld, name)
        logs.append(log)
        write_csv(out / name, gated, float_format="%.6f")
        written.append(
            (
                name,
                "record-level file: every category withheld in a published table recoded to [c] "
                f"({len(log)} recoding(s)); checked by the intruder test",
            )
        )
    notes = [*report.caveats, *report.methods, "[c] = withheld for disclosure control."]
    write_bytes(out / "tables.ods", workbook_bytes(report, numbered, notes))
    written.append(("tables.ods", "every published table, as in the CSV files"))
    logs.append(file_log(written))
    log = pd.concat([x for x in logs if len(x)], ignore_index=True) if logs else pd.DataFrame()
    return [p for p, _ in written], log
