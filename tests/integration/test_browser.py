"""Every shipped report in a real browser: headless Chromium renders it (no script error, every figure
decodes, every table captioned, headings in order) and axe-core finds no serious or critical violation.

The browser comes from Debian (``chromium``) and axe-core from npm; ``tools/ensure_browser.sh`` installs
both (``make test`` runs it; this module runs it too when something is missing). In CI (``CI`` set) a
missing browser is a failure, never a skip; elsewhere the test skips and says what is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import browser as B  # noqa: E402, N812

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium (Playwright on /usr/bin/chromium), installed first if it is missing."""
    if B.missing():
        subprocess.run(["sh", str(ROOT / "tools" / "ensure_browser.sh")], check=False, timeout=900)
    need = B.missing()
    if need:
        message = "browser checks need: " + "; ".join(need) + " (tools/ensure_browser.sh installs them)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with B.open_browser() as browser:
        yield browser


def test_every_shipped_report_renders_and_passes_axe(shipped_reports, chromium):
    problems = {}
    for slug, built in sorted(shipped_reports.items()):
        html = built.folder / "report.html"
        info = B.check_page(chromium, html)
        assert info["errors"] == [] and info["broken_images"] == 0, (slug, info)
        assert info["first"] == "Main findings", slug  # what a reader sees first
        assert info["tables"] == info["captions"] > 0, slug
        levels = info["headings"]
        assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), slug
        serious = [v for v in B.axe_violations(chromium, html) if v["impact"] in ("serious", "critical")]
        if serious:
            problems[slug] = serious
    assert problems == {}


def test_axe_finds_a_planted_violation(chromium, tmp_path):
    """The audit can fail: an image without alt text and a low-contrast paragraph are reported."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><main><h1>t</h1>'
        '<img src="pixel.png">'
        '<p style="color:#eee;background:#fff">faint</p></main></body></html>'
    )
    ids = {v["id"] for v in B.axe_violations(chromium, page) if v["impact"] in ("serious", "critical")}
    assert {"image-alt", "color-contrast"} <= ids
