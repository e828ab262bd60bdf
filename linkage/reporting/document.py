"""The report as data: sections holding paragraphs, published tables and embedded figures.

Section builders (linkage.reporting.sections) return :class:`Section` objects; notebooks can call them
and look at ``.tables`` and ``.figures`` directly. :func:`render_html` turns a :class:`Report` into one
self-contained HTML file (figures are base64 PNG, styles inline).
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass, field
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup, escape
from matplotlib.figure import Figure

from linkage.reporting.labels import display_frame

logger = logging.getLogger(__name__)

__all__ = ["TableBlock", "FigureBlock", "Section", "Report", "figure_png", "render_html", "format_table"]


@dataclass
class TableBlock:
    """A published table: ``frame`` is already disclosure-controlled; ``name`` is its CSV file stem."""

    name: str
    caption: str
    frame: pd.DataFrame
    note: str = ""
    percent_columns: tuple[str, ...] = ()
    index: bool = False
    max_rows: int | None = None  # HTML shows at most this many rows (the CSV always has every row)
    na_text: dict[str, str] = field(default_factory=dict)  # column -> text for blanks that are not [c]


@dataclass
class FigureBlock:
    """A figure embedded as a base64 PNG."""

    caption: str
    png_base64: str
    alt: str = ""

    @property
    def css_width(self) -> int:
        """Display width in CSS pixels: half the PNG's width, as figures are drawn at 2x resolution."""
        head = base64.b64decode(self.png_base64[:64])
        return int.from_bytes(head[16:20], "big") // 2


@dataclass
class Section:
    """One numbered report section."""

    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[TableBlock] = field(default_factory=list)
    figures: list[FigureBlock] = field(default_factory=list)
    needs: str = ""  # what the section needs that this configuration lacks (restricted extracts, ...)
    log: pd.DataFrame | None = None  # disclosure log entries for this section's tables
    headline: list[tuple[str, str]] = field(default_factory=list)
    # Published (disclosure-controlled) results the main findings are written from, one dict per result:
    # ``kind`` ("effect" for a causal estimate, "descriptive" otherwise) and the values its sentence quotes.
    results: list[dict[str, Any]] = field(default_factory=list)

    def add_table(self, block: TableBlock, log: pd.DataFrame | None = None) -> None:
        """Add a table (and its disclosure log rows)."""
        self.tables.append(block)
        if log is not None and len(log):
            self.log = log if self.log is None else pd.concat([self.log, log], ignore_index=True)


@dataclass
class Report:
    """A whole report: metadata, numbered sections and the appendix material."""

    title: str
    subtitle: str
    summary: str
    sections: list[Section]
    headline: list[tuple[str, str]]
    caveats: list[str]
    methods: list[str]
    data_sources: list[str]
    disclosure_log: pd.DataFrame
    manifest: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    findings: list[Any] = field(default_factory=list)  # linkage.reporting.findings.Finding, causal first
    data_warnings: list[str] = field(default_factory=list)  # beside every finding (coverage, last month)
    release: dict[str, str] = field(default_factory=dict)  # status, owner, contact, produced, revisions


def figure_png(fig: Figure, *, dpi: int = 220) -> str:
    """Render a matplotlib figure to a base64 PNG (no timestamp metadata, so bytes are reproducible).

    Figures are built with the object API (``matplotlib.figure.Figure``), so rendering needs no pyplot
    state and no backend choice: ``savefig`` on a bare Figure uses the Agg canvas for PNG.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt_value(value: object, percent: bool, column: str = "") -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "[c]"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if percent:
            return f"{100 * v:.1f}%"
        if column == "p" or column.endswith(" p"):
            return "<0.001" if v < 0.001 else f"{v:.3f}"
        if column.startswith("difference") and column.endswith("(pp)"):
            return f"{v:+.1f}"
        if v.is_integer():  # counts and whole days held as floats (a column with withheld cells)
            return f"{int(v):,}"
        return f"{v:,.2f}"  # one number of decimals for every non-count, non-rate column
    return str(value)


def format_table(block: TableBlock, number: int | None = None) -> Markup:
    """HTML for a table block: a ``<caption>``, column headers ``<th scope="col">``, the first column as
    row headers ``<th scope="row">``, numbers right-aligned, ``percent_columns`` as %, [c] for withheld
    cells. Display labels come from the one map in :mod:`linkage.reporting.publish`."""
    frame = display_frame(block)
    head = "".join(f'<th scope="col">{escape(str(c))}</th>' for c in frame.columns)
    title = f"Table {number}. {block.caption}" if number is not None else block.caption
    rows = []
    hidden_rows = 0
    if block.max_rows is not None and len(frame) > block.max_rows:
        hidden_rows = len(frame) - block.max_rows
        frame = frame.head(block.max_rows)
    for rec in frame.itertuples(index=False):
        cells = []
        for i, (col, value) in enumerate(zip(frame.columns, rec, strict=True)):
            blank = value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
            if blank and col in block.na_text:
                text = block.na_text[col]
            else:
                text = _fmt_value(value, col in block.percent_columns, str(col))
            numeric = isinstance(value, int | float | np.integer | np.floating) or text == "[c]"
            cls = ' class="num"' if numeric else ""
            tag = "th" if i == 0 else "td"
            scope = ' scope="row"' if i == 0 else ""
            cells.append(f"<{tag}{scope}{cls}>{escape(text)}</{tag}>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if hidden_rows:
        rows.append(
            f'<tr><td colspan="{len(frame.columns)}">'
            f"<em>... {hidden_rows:,} more rows in the CSV file.</em></td></tr>"
        )
    return Markup(
        f"<table><caption>{escape(title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("linkage.reporting", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["table"] = format_table


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    template = _ENV.get_template("report.html.j2")
    return template.render(report=report, Markup=Markup)
