"""The chartgen command line: parses arguments, prints, maps errors to exit codes. No logic lives here."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from typing import List, Optional

import typer

from . import __version__, schema
from . import spec as spec_mod
from .errors import ChartgenError, Problem

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Render versioned Helm charts for Supabase's database layer on the Zalando Postgres Operator.",
)


class Output(str, Enum):
    text = "text"
    json = "json"


class _State:
    quiet = False
    verbose = False


def _color(text: str, code: str, stream=sys.stdout) -> str:
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return f"\033[{code}m{text}\033[0m"


def print_problems(problems: list[Problem], output: Output) -> None:
    if output is Output.json:
        return
    for p in problems:
        if p.severity == "warning" and _State.quiet:
            continue
        line = p.format()
        typer.echo(_color(line, "33" if p.severity == "warning" else "31", sys.stderr), err=True)


def fail(exc: ChartgenError, output: Output = Output.text) -> None:
    problems = getattr(exc, "problems", None)
    if output is Output.json:
        payload = [p.as_dict() for p in problems] if problems else [{"severity": "error", "message": str(exc)}]
        typer.echo(json.dumps(payload, indent=2))
    elif problems:
        print_problems(problems, output)
    else:
        typer.echo(_color(f"error: {exc}", "31", sys.stderr), err=True)
    raise typer.Exit(exc.exit_code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chartgen {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print errors only."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Print more detail."),
) -> None:
    _State.quiet, _State.verbose = quiet, verbose


@app.command()
def validate(
    specs: List[str] = typer.Argument(..., metavar="SPEC...", help="Spec files (globs are expanded by the shell)."),
    output: Output = typer.Option(Output.text, "--output", "-o", help="text, or json for CI."),
) -> None:
    """Validate deployment specs: schema and semantic checks, one line per problem."""
    all_problems: list[Problem] = []
    bad = 0
    for file in specs:
        spec, problems = spec_mod.check_file(file)
        all_problems.extend(problems)
        bad += spec is None
        if spec is not None and output is Output.text and not _State.quiet:
            typer.echo(f"{file}: valid")
    print_problems(all_problems, output)
    if output is Output.json:
        typer.echo(json.dumps([p.as_dict() for p in all_problems], indent=2))
    if bad:
        raise typer.Exit(1)


@app.command("schema")
def print_schema() -> None:
    """Print the deployment spec's JSON Schema."""
    typer.echo(json.dumps(schema.schema(), indent=2, ensure_ascii=False))


def main() -> None:
    try:
        app()
    except ChartgenError as exc:  # pragma: no cover - commands catch their own; this is the last net
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
