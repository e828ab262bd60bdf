"""Render reports in headless Chromium (Debian's ``chromium``, driven by Playwright for Python through its
``executable_path``; ``playwright install`` is never used) and audit them with axe-core.

``python tools/browser.py [reports/]`` writes a full-page PNG of every ``reports/<slug>/report.html`` at
1400 px into ``reports/screenshots/<slug>.png`` (``make screenshots``); the browser tests import
:func:`open_browser`, :func:`check_page` and :func:`axe_violations`. Run ``tools/ensure_browser.sh`` first
on a fresh machine.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / ".browser" / "node_modules" / "axe-core" / "axe.min.js"
WIDTH = 1400


def missing() -> list[str]:
    """What the browser checks need and this machine lacks (empty when ready)."""
    out = []
    if not CHROMIUM.exists():
        out.append(f"{CHROMIUM} (apt-get install chromium)")
    if not AXE.exists():
        out.append(f"{AXE.relative_to(ROOT)} (npm install --prefix .browser axe-core@4)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        out.append("playwright (pip install playwright: the Python package only)")
    return out


@contextmanager
def open_browser() -> Iterator[object]:
    """A headless Chromium browser (Playwright) on the system chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            browser.close()


def check_page(browser, html: Path, png: Path | None = None) -> dict[str, object]:
    """Open ``html`` at 1400 px: page errors, images that failed to decode, heading levels, and
    (``png``) a full-page screenshot at 2x device scale."""
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, device_scale_factor=1)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(html.resolve().as_uri(), wait_until="load")
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
    )
    info = page.evaluate(
        """() => ({
            title: document.title,
            h1: Array.from(document.querySelectorAll('h1')).map(h => h.textContent.trim()),
            headings: Array.from(document.querySelectorAll('h1,h2,h3,h4')).map(h => +h.tagName[1]),
            first: (document.querySelector('main h2') || {}).textContent,
            tables: document.querySelectorAll('table').length,
            captions: document.querySelectorAll('table > caption').length,
            images: document.images.length,
            height: document.body.scrollHeight,
        })"""
    )
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png), full_page=True)
    page.close()
    return {**info, "errors": errors, "broken_images": broken}


def axe_violations(browser, html: Path) -> list[dict[str, object]]:
    """axe-core's violations on the page (each with ``id``, ``impact``, ``help`` and the node count)."""
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    page.goto(html.resolve().as_uri(), wait_until="load")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    page.close()
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": len(v["nodes"])}
        for v in result["violations"]
    ]


def main(argv: list[str] | None = None) -> int:
    """Screenshot every report under the given folder (default ``reports/``)."""
    root = Path((argv or sys.argv[1:] or ["reports"])[0])
    need = missing()
    if need:
        print("missing: " + "; ".join(need) + " (run tools/ensure_browser.sh)", file=sys.stderr)
        return 1
    pages = sorted(root.glob("*/report.html"))
    if not pages:
        print(f"no reports under {root}/ (run `make report` first)", file=sys.stderr)
        return 1
    with open_browser() as browser:
        for html in pages:
            png = root / "screenshots" / f"{html.parent.name}.png"
            info = check_page(browser, html, png)
            serious = [v for v in axe_violations(browser, html) if v["impact"] in ("serious", "critical")]
            print(f"{png}  ({info['height']} px tall; axe serious/critical: {len(serious)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
