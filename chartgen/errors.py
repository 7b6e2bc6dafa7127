"""Errors as data: every user-facing problem carries file, position and spec path.

The library raises these; only the CLI turns them into output and exit codes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about one input file, printed as ``FILE:LINE:COL: PATH: MESSAGE``."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def format(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {prefix}{self.message}"

    def as_dict(self) -> dict:
        return asdict(self)


class ChartgenError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code = 1


class SpecError(ChartgenError):
    """A spec file is invalid; carries all of its problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))


class RenderError(ChartgenError):
    """The chart could not be rendered or the rendered manifests are invalid."""


class PackageError(ChartgenError):
    """The chart could not be packaged."""


class PublishError(ChartgenError):
    """The chart could not be pushed to (or read from) a registry."""


def registry_hint(message: str) -> str:
    """A hint for registry errors Go reports in its own words (appended to the one-line message)."""
    if "server gave HTTP response to HTTPS client" in message:
        return " (the registry speaks plain HTTP: pass --plain-http for a local or test registry)"
    return ""
