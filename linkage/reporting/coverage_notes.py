"""Coverage in the report: the strip in the data summary, the headline, and the DiD refusal.

The coverage model itself is :mod:`linkage.sources.coverage`; this module only places it in a report.
"""

from __future__ import annotations

import pandas as pd

from linkage.reporting.document import Section, TableBlock
from linkage.sources.coverage import Coverage, spans


def add_to_data_summary(section: Section, coverage: Coverage | None) -> None:
    """The coverage strip (area x kind x month: release used or missing) and its one-line statement."""
    if coverage is None or not coverage.areas:
        return
    section.paragraphs.append(coverage.statement())
    if coverage.releases:
        section.paragraphs.append(
            "Months supplied by more than one file (re-releases): "
            + "; ".join(coverage.releases)
            + ". The newest release is used; the older file's rows are quarantined, not counted."
        )
    section.add_table(
        TableBlock(
            "data_coverage",
            "police.uk coverage of the period: for each area, file kind and month, the release used "
            "('yes' where the release month is not known) or 'missing'",
            coverage.strip(),
        )
    )


def headline(coverage: Coverage | None) -> tuple[str, str] | None:
    """A 'Coverage' headline item when the trailblazer's street files do not cover the whole period."""
    if coverage is None or not coverage.areas:
        return None
    area = coverage.areas[0]
    have = coverage.supplied(area, "street")
    if len(have) == len(coverage.period):
        return ("Coverage", f"street data for every month of the period ({len(have)})")
    return (
        "Coverage",
        f"street data for {len(have)} of {len(coverage.period)} months ({spans(have)}); "
        f"missing {spans(coverage.missing(area, 'street'))}",
    )


def did_refusal(coverage: Coverage | None, public_did: pd.DataFrame | None) -> Section | None:
    """The evaluation section saying why a public-only DiD is not estimable, or None when it is."""
    if coverage is None or public_did is None:
        return None
    problem = coverage.did_problem()
    if problem is None:
        return None
    sec = Section("evaluation", "Trailblazer evaluation")
    sec.needs = "Difference-in-differences " + problem
    sec.headline.append(("DiD", "not estimable: outcomes coverage incomplete (see the evaluation section)"))
    return sec
