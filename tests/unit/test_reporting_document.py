"""Report rendering: table formatting, suppression markers, and the HTML document's structure."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from linkage.reporting.document import (
    FigureBlock,
    Report,
    Section,
    TableBlock,
    figure_png,
    format_table,
    render_html,
)


def _fig() -> str:
    fig = Figure()
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    return figure_png(fig)


def test_format_table_markers_percentages_and_row_limit():
    frame = pd.DataFrame(
        {
            "group": ["a", "b", "c"],
            "count": pd.array([1200, pd.NA, 30], dtype="Int64"),
            "rate": [0.1234, np.nan, 0.5],
            "p": [0.0001, 0.2, 0.03],
            "median": [np.nan, 3.0, 4.0],
        }
    )
    html = str(
        format_table(
            TableBlock(
                "t", "cap", frame, percent_columns=("rate",), max_rows=2, na_text={"median": "not reached"}
            )
        )
    )
    assert "1,200" in html and "12.3%" in html
    assert html.count("[c]") == 2  # the suppressed count and rate of row b
    assert "&lt;0.001" in html and "not reached" in html
    assert "1 more rows in the CSV" in html and ">c<" not in html


def test_figure_png_is_reproducible():
    assert _fig() == _fig()


def test_library_modules_leave_the_matplotlib_backend_alone():
    # Before the fix maps.py, document.py and sections.py called matplotlib.use("Agg") on import, which
    # replaced whatever backend the caller (a notebook, a GUI session) had chosen. Run in a fresh
    # interpreter so modules already imported by this test session cannot hide it.
    code = (
        "import matplotlib; matplotlib.use('template'); "
        "import linkage.evaluation, linkage.evaluation.maps, linkage.reporting, linkage.reporting.sections, "
        "linkage.engine.charts; "
        "print(matplotlib.get_backend())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "template"


def test_render_html_document_structure():
    sec = Section("outcomes", "Outcomes", paragraphs=["Text <b>escaped</b>."])
    sec.tables.append(TableBlock("outcomes_mix", "Mix", pd.DataFrame({"x": [1]})))
    sec.figures.append(FigureBlock("A caption.", _fig(), alt="alt text"))
    gap = Section("linkage", "Linkage quality", needs="Needs restricted extracts.")
    report = Report(
        title="T",
        subtitle="S",
        summary="Summary.",
        sections=[gap, sec],
        headline=[("Crimes", "100")],
        caveats=["Caveat one."],
        methods=["Method one."],
        data_sources=["Source.", "OGL line."],
        disclosure_log=pd.DataFrame(columns=["table", "row", "column", "action", "reason"]),
        manifest={
            "config_file": "t.yaml",
            "config_sha256": "0" * 64,
            "package_version": "0.1.0",
            "git_commit": "unknown",
            "seed": 1,
        },
    )
    html = render_html(report)
    assert html.startswith("<!DOCTYPE html>")
    assert '<h2 id="s-linkage">1. Linkage quality</h2>' in html
    assert '<h2 id="s-outcomes">2. Outcomes</h2>' in html
    assert "3. Caveats" in html and "6. Data sources and reproducibility" in html
    assert "Figure 1.</strong> A caption." in html and "Table 1. Mix" in html
    assert "Needs restricted extracts." in html
    assert "&lt;b&gt;escaped&lt;/b&gt;" in html  # paragraphs are escaped
    assert 'src="data:image/png;base64,' in html and "<script" not in html
