"""One exception family for the workbench.

Every error the workbench raises on purpose derives from :class:`LinkageError`, so callers can catch
the family. Errors about input data name the file, row and column; configuration errors carry every
problem found, not just the first.
"""

from __future__ import annotations

from collections.abc import Sequence


class LinkageError(Exception):
    """Base class of all workbench errors."""


class DataContractError(LinkageError):
    """An input file cannot be read as the table it claims to be (wrong header, not CSV, empty, ...)."""

    def __init__(self, path: object, problem: str, *, row: int | None = None, column: str | None = None):
        self.path = str(path)
        self.problem = problem
        self.row = row
        self.column = column
        where = self.path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")


class ConfigError(LinkageError):
    """A configuration is invalid. ``problems`` lists every problem found, each naming field and value."""

    def __init__(self, source: object, problems: Sequence[str]):
        self.source = str(source)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.source}: {len(self.problems)} problem(s)\n{lines}")
