"""Every shipped report, read as a reader (or an intruder) would read its folder.

- Intruder check: no file in ``reports/<slug>/`` (the record-level outcomes file, the CSVs, the ODS
  workbook) gives back a cell that a published table withholds; every file is in the disclosure log.
- One count, one value: a quantity shown in two places (tables, key figures, main findings) agrees.
- Findings first: every report opens with main findings; each causal finding quotes its baseline from
  the before/after table, and a failed pre-trend test is stated beside the estimate.
- No broken tiles ("n/a (n/a to n/a)", "16 (16 to 16)"), no empty table, no raw code in a table.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from linkage.evaluation.rates import outcome_group

WITHHELD = "[c]"
RAW_CODES = ("offence_group", "court_outcomes", "penalty_notices", "age_band")


def _table(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / "tables" / f"{name}.csv"
    return pd.read_csv(path, na_values=[WITHHELD], keep_default_na=False) if path.exists() else None


def intruder_findings(folder: Path) -> list[str]:
    """Withheld cells a reader could recover from a record-level file in ``folder`` (empty = none).

    Worked out from the published CSV files alone, as an intruder would: a final-outcome label, an
    outcome group or an LSOA that a table withholds must not be countable in any ``*-outcomes.csv``.
    """
    labels, groups, lsoas = set(), set(), set()
    t = _table(folder, "outcomes_public_vs_linked")
    if t is not None:
        counts = [c for c in t.columns if c.startswith("count ")]
        labels |= set(t.loc[t[counts].isna().any(axis=1), "final outcome"])
    for name in ("outcomes_mix", "outcomes_real_police_uk"):
        t = _table(folder, name)
        if t is not None:
            groups |= set(t.loc[t["crimes"].isna(), "outcome"])
    t = _table(folder, "outcomes_by_crime_type_counts")
    if t is not None:
        total = t[t.iloc[:, 0] == "Total"].iloc[0, 1:]
        groups |= {g for g, v in total.items() if pd.isna(v) and g != "Total"}
    t = _table(folder, "maps_lsoa_action_rate")
    if t is not None:
        lsoas |= set(t.loc[t.drop(columns="LSOA").isna().any(axis=1), "LSOA"])
    found = []
    for path in folder.glob("*-outcomes.csv"):
        rows = pd.read_csv(path, dtype=str, keep_default_na=False)
        kinds = rows["Outcome type"]
        for label in sorted(set(kinds) & labels):
            found.append(f"{path.name}: {(kinds == label).sum()} row(s) of withheld outcome {label!r}")
        grouped = outcome_group(kinds[kinds != WITHHELD])
        for group in sorted(set(grouped) & groups):
            found.append(f"{path.name}: row(s) of withheld outcome group {group!r}")
        for lsoa in sorted(set(rows["LSOA code"]) & lsoas):
            found.append(f"{path.name}: row(s) in withheld LSOA {lsoa}")
    return found


def test_intruder_check_finds_no_withheld_cell(shipped_reports):
    for built in shipped_reports.values():
        assert list(built.folder.glob("*-outcomes.csv")), built.slug  # the file is published, gated
        assert intruder_findings(built.folder) == [], built.slug


def test_intruder_check_catches_an_ungated_file(shipped_reports, tmp_path):
    """The check can fail: a record of a withheld outcome planted in a copy of a report folder is found."""
    import shutil

    built = shipped_reports["london-east"]
    copy = tmp_path / "copy"
    shutil.copytree(built.folder, copy)
    pvl = _table(copy, "outcomes_public_vs_linked")
    withheld = pvl.loc[pvl["count linked"].isna(), "final outcome"]
    assert len(withheld), "this report withholds at least one outcome label"
    path = next(copy.glob("*-outcomes.csv"))
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    planted = rows.iloc[[0]].assign(**{"Outcome type": withheld.iloc[0]})
    pd.concat([rows, planted]).to_csv(path, index=False)
    assert intruder_findings(copy)


def test_every_published_file_is_gated_and_logged(shipped_reports):
    for built in shipped_reports.values():
        log = pd.read_csv(built.folder / "disclosure_log.csv", keep_default_na=False)
        listed = set(log.loc[log["action"] == "published file", "table"])
        on_disk = {p.relative_to(built.folder).as_posix() for p in built.folder.rglob("*") if p.is_file()}
        assert on_disk == listed, (built.slug, on_disk ^ listed)


# A number formatted as text: "21.3%", "1,230", "21.3% (19.4-23.4)", "17 (12 to 20)".
_FORMATTED_NUMBER = re.compile(r"^[-+]?(\d[\d,]*\.?\d*%?|\d[\d,]*\.?\d*%?\s*\(.*\d.*\))$")
_PLAIN_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$")


def test_downloads_hold_numbers_as_numbers(shipped_reports):
    """No CSV cell is a number in text form ("21.3% (19.4-23.4)", "1,230", "12%"): rates, intervals and
    counts are numeric columns a reader's software can sort and sum; a shown rate is 0 only when its
    count is."""
    for built in shipped_reports.values():
        for path in sorted((built.folder / "tables").glob("*.csv")):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            for col in frame.columns:
                text = [v for v in frame[col] if _FORMATTED_NUMBER.match(v) and not _PLAIN_NUMBER.match(v)]
                assert not text, (built.slug, path.name, col, text[:3])
        rates = _table(built.folder, "outcomes_rates_by_crime_type")
        for col in ("crimes", "crimes with outcome", "rate", "95% CI lower", "95% CI upper"):
            assert rates[col].dtype.kind in "if", (built.slug, col)
        shown = rates[rates["rate"].notna()]
        assert ((shown["rate"] == 0) == (shown["crimes with outcome"] == 0)).all(), built.slug
        assert (shown["95% CI lower"] <= shown["rate"]).all(), built.slug
        assert (shown["rate"] <= shown["95% CI upper"]).all(), built.slug
        pvl = _table(built.folder, "outcomes_public_vs_linked")
        for side in () if pvl is None else ("police.uk (public)", "linked"):
            rated = pvl[pvl[f"rate {side}"].notna()]
            assert not ((rated[f"rate {side}"] == 0) & (rated[f"count {side}"] > 0)).any(), (built.slug, side)


def test_workbook_holds_the_csv_tables(shipped_reports):
    """The ODS workbook has a cover sheet, notes and one sheet per table with exactly the CSV's cells
    ([c] included), so it withholds what the CSVs withhold."""
    built = shipped_reports["london-east"]
    sheets = pd.read_excel(built.folder / "tables.ods", engine="odf", sheet_name=None, header=None)
    assert list(sheets)[:2] == ["Cover", "Notes"]
    cover = sheets["Cover"].astype(str).to_string()
    assert "Status" in cover and "Contact" in cover
    names = re.findall(r'href="tables/(\w+)\.csv"', (built.folder / "report.html").read_text())
    assert len(names) == len(sheets) - 2
    for n, name in enumerate(names, start=1):
        csv = pd.read_csv(built.folder / "tables" / f"{name}.csv", dtype=str, keep_default_na=False)
        sheet = sheets[f"Table {n}"]
        body = sheet.iloc[4 : 4 + len(csv), : csv.shape[1]]
        assert list(sheet.iloc[3, : csv.shape[1]].astype(str)) == list(csv.columns), name
        assert (body.isna().to_numpy() == (csv == "").to_numpy()).all(), name
        withheld_csv = (csv == WITHHELD).to_numpy()
        withheld_ods = (body.astype(str) == WITHHELD).to_numpy()
        assert (withheld_csv == withheld_ods).all(), name


def _rounded_total(folder: Path) -> int:
    mix = _table(folder, "outcomes_mix")
    return int(mix["all crimes"].dropna().unique().item())


def test_one_count_one_value(shipped_reports):
    """Each count shown in more than one place has one value: crime totals, outcome-group counts and
    crimes by crime type across the tables, and the key figures and findings that quote them."""
    for built in shipped_reports.values():
        folder, html = built.folder, (built.folder / "report.html").read_text()
        total = _rounded_total(folder)
        counts = _table(folder, "outcomes_by_crime_type_counts").set_index("crime type")
        assert counts.loc["Total", "Total"] == total, built.slug
        mix = _table(folder, "outcomes_mix").set_index("outcome")
        for group, value in mix["crimes"].dropna().items():
            assert counts.loc["Total", group] == value, (built.slug, group)
        pvl = _table(folder, "outcomes_public_vs_linked")
        if pvl is not None:
            for col in (c for c in pvl.columns if c.startswith("n ")):
                assert set(pvl[col].dropna()) <= {total} or "public" in col, (built.slug, col)
        med = _table(folder, "time_to_outcome_medians_by_crime_type")
        if med is not None and "crimes" in med.columns:
            med = med.set_index("crime type")
            if "All crimes" in med.index:
                assert med.loc["All crimes", "crimes"] == total, built.slug
            for crime_type, value in med["crimes"].drop("All crimes", errors="ignore").dropna().items():
                assert counts.loc[crime_type, "Total"] == value, (built.slug, crime_type)
        assert f"Of {total:,} crimes (rounded)" in html, built.slug
        assert f"{total:,} (rounded)" in html, built.slug
        for group, rate in mix["rate"].dropna().items():
            assert f"{100 * rate:.1f}% {group.lower()}" in html, (built.slug, group)


def test_findings_first_with_baselines_and_warnings(shipped_reports):
    for built in shipped_reports.values():
        html = (built.folder / "report.html").read_text()
        body = html.split("<main>")[1]
        assert body.index('id="findings"') < body.index('id="contents"') < body.index('id="s-data"')
        did = _table(built.folder, "evaluation_did")
        if did is None:
            assert "makes no causal estimate" in html, built.slug
            continue
        for key in ("oocd", "days_capped", "within_n"):
            means = _table(built.folder, f"evaluation_means_{key}")
            col = "rate" if "rate" in means.columns else "mean"
            m = {(r.role, r.period): r[col] for _, r in means.iterrows()}

            def fmt(v, col=col):
                return f"{100 * v:.1f}%" if col == "rate" else f"{v:.1f} days"

            baseline = (
                f"from {fmt(m['trailblazer', 'before go-live'])} to {fmt(m['trailblazer', 'after go-live'])} "
                f"in the trailblazer, against {fmt(m['comparison', 'before go-live'])} to "
                f"{fmt(m['comparison', 'after go-live'])} in the comparison areas"
            )
            assert baseline in html, (built.slug, key, baseline)
        if (
            "pre-trend p" not in did.columns
        ):  # staggered go-lives: group-time ATTs, no single-go-live event study
            assert "not pooled two-way fixed effects" in html and "Goodman-Bacon" in html, built.slug
            continue
        for p in did["pre-trend p"]:
            flagged = f"pre-trend test (p = {p:.3f})" in html
            assert flagged == (p < 0.10), (built.slug, p)
    south = (shipped_reports["london-south"].folder / "report.html").read_text()
    findings = south.split('id="findings"')[1].split('id="contents"')[0]
    first = findings.split("<li>")[1]  # the headline effect and what is said beside it
    south_p = _table(shipped_reports["london-south"].folder, "evaluation_did")["pre-trend p"].iloc[0]
    assert south_p < 0.05  # london-south's world fails its out-of-court pre-trend test
    assert "Out-of-court disposals rose" in first and f"fails the pre-trend test (p = {south_p:.3f})" in first


class _Tables(HTMLParser):
    """Text of every table's body cells, and the tables' captions."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[str]] = []
        self.captions: list[str] = []
        self._cell = None
        self._in_caption = False
        self._in_body = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
            self.captions.append("")
        elif tag == "tbody":
            self._in_body = True
        elif tag in ("td", "th") and self._in_body:
            self._cell = ""
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1].append(self._cell.strip())
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._in_caption:
            self.captions[-1] += data


@pytest.mark.parametrize("slug", ["city-of-london", "city-of-london-public", "london-east", "london-south"])
def test_no_broken_tiles_empty_tables_or_raw_codes(shipped_reports, slug):
    html = (shipped_reports[slug].folder / "report.html").read_text()
    assert "n/a (n/a to n/a)" not in html
    degenerate = re.findall(r"(-?\d[\d,.]*)\s*\((?:95% CI )?(\1) to (\1)\)", html)
    assert not degenerate, degenerate[:3]
    parser = _Tables()
    parser.feed(html)
    assert all(parser.captions), "every table has a caption"
    empty = {"", WITHHELD, "not reached", "n/a", "not set"}
    for caption, cells in zip(parser.captions, parser.tables, strict=True):
        values = [c for c in cells[1:] if c not in empty]
        assert values, f"empty table: {caption}"
        for code in RAW_CODES:
            assert code not in cells, (caption, code)
        assert not {"F", "M", "U", "lsoa"} & set(cells), caption


def test_staggered_report_runs_no_single_go_live_linkage_did(shipped_reports):
    """The DiD of a linkage-only outcome uses one go-live month, so with staggered go-lives it would count a
    trailblazer's live months as 'before': the staggered report says it is not run, the others run it."""
    staggered = shipped_reports["london-staggered"].folder
    assert not (staggered / "tables" / "evaluation_linkage_did.csv").exists()
    assert "went live in different months, and this check uses one go-live month" in (
        staggered / "report.html"
    ).read_text()
    assert (shipped_reports["london-south"].folder / "tables" / "evaluation_linkage_did.csv").exists()
