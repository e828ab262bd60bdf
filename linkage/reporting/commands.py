"""``linkage report``: regenerate trailblazer reports from their YAML configurations."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from linkage.config import load_config
from linkage.errors import ConfigError, LinkageError
from linkage.reporting.builder import run_report

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="build trailblazer evaluation reports (reports/<slug>/report.html)",
        description="Build one report per trailblazer configuration: reports/<slug>/report.html, "
        "tables/*.csv, "
        "the published-style outcomes file, disclosure_log.csv and manifest.json.",
    )
    p.add_argument("configs", nargs="*", type=Path, help="trailblazers/<slug>.yaml file(s)")
    p.add_argument("--all", action="store_true", help="every trailblazers/*.yaml (see --dir)")
    p.add_argument("--dir", type=Path, default=Path("trailblazers"), help="folder searched by --all")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output root (default: reports)")
    p.add_argument("--check", action="store_true", help="only validate the configurations")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate every named configuration first (all problems at once), then build each report."""

    paths = list(args.configs)
    if args.all:
        paths += sorted(args.dir.glob("*.yaml"))
    if not paths:
        raise LinkageError("report: name at least one configuration or use --all")
    configs, errors = [], []
    for path in paths:
        try:
            configs.append(load_config(path))
        except ConfigError as exc:
            errors += [f"{exc.source}: {problem}" for problem in exc.problems]
    if errors:
        raise ConfigError(f"report ({len(paths)} configuration(s))", errors)
    slugs = [c.slug for c in configs]
    dups = sorted({s for s in slugs if slugs.count(s) > 1})
    if dups:
        raise ConfigError("report", [f"slug: {d!r} used by more than one configuration" for d in dups])
    if args.check:
        logger.info("%d configuration(s) valid", len(configs))
        return 0
    for cfg in configs:
        path = run_report(cfg, args.out)
        logger.info("report written: %s", path)
    return 0
