"""The ``linkage`` command line: ``linkage <subcommand> --help``.

Each pipeline stage registers its own subcommands from a small ``commands`` module, so this file only
wires them together and configures logging (the only place that does).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from linkage import __version__
from linkage.errors import LinkageError

# Modules that define ``register(subparsers)``; order is the order shown in --help.
_COMMAND_MODULES = (
    "linkage.sources.commands",
    "linkage.synth.commands",
    "linkage.justice.commands",
    "linkage.reporting.commands",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="linkage",
        description="Justice outcome linkage workbench: load, synthesise, link, evaluate, report.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    subparsers.required = True
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``linkage`` and ``python -m linkage``; returns the exit code.

    0 success; 1 data loaded with problems (``validate``: rows quarantined or months missing); 2 an input
    or configuration error (a :class:`~linkage.errors.LinkageError` or an unreadable file), printed as one
    ``error:`` line naming the file, row and column; 3 an internal error (no traceback unless ``-v``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from linkage.sources.messages import OnceFilter  # the CLI wires logging; imported only here

    handlers = [(h, OnceFilter()) for h in logging.getLogger().handlers]  # each warning once per run
    for handler, once in handlers:
        handler.addFilter(once)
    try:
        return int(args.func(args) or 0)
    except LinkageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be opened, a full disk, a permission: say which
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback only with --verbose
        logging.getLogger("linkage").debug("traceback", exc_info=True)
        print(
            f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback; please report it)",
            file=sys.stderr,
        )
        return 3
    finally:
        for handler, once in handlers:
            handler.removeFilter(once)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
