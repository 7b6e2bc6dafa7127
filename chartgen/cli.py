"""The chartgen command line: parses arguments, prints, maps errors to exit codes. No logic lives here."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
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



def _progress(items: list[str], label: str):
    """A progress bar on a terminal, nothing extra in CI logs (each item prints its own line there)."""
    if len(items) > 1 and sys.stderr.isatty() and not _State.quiet and not os.environ.get("CI"):
        return typer.progressbar(items, label=label, file=sys.stderr)
    from contextlib import nullcontext

    return nullcontext(items)


@app.command()
def render(
    specs: List[str] = typer.Argument(..., metavar="SPEC...", help="Spec files (globs are expanded by the shell)."),
    out: str = typer.Option("dist", "--out", "-o", help="Output directory; each chart goes to OUT/<chart name>/."),
    version: Optional[str] = typer.Option(None, "--version", help="Chart version (overrides chart.version)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 with a diff when OUT is not up to date."),
    output: Output = typer.Option(Output.text, "--output", help="text, or json for CI."),
) -> None:
    """Render specs into versioned Helm charts, validated with the Helm engine before anything is written."""
    from . import render as render_mod

    results, failed, stale = [], 0, 0
    with _progress(specs, "rendering") as items:
        for file in items:
            try:
                result = render_mod.build(file, version)
            except ChartgenError as exc:
                failed += 1
                _report_error(exc, output, results, file)
                continue
            print_problems(result.spec.warnings, output)
            entry = {"spec": file, "chart": result.name, "version": result.version}
            if check:
                diff_text = render_mod.check(result, out)
                entry["upToDate"] = not diff_text
                if diff_text:
                    stale += 1
                    if output is Output.text:
                        typer.echo(diff_text, nl=False)
                        typer.echo(f"{file}: {out}/{result.name} is out of date", err=True)
                elif output is Output.text and not _State.quiet:
                    typer.echo(f"{file}: {out}/{result.name} is up to date")
            else:
                path = render_mod.write(result, out)
                entry["path"] = str(path)
                if output is Output.text and not _State.quiet:
                    typer.echo(f"{file}: rendered {result.name} {result.version} -> {path}")
            results.append(entry)
    if output is Output.json:
        typer.echo(json.dumps(results, indent=2))
    if failed or stale:
        raise typer.Exit(1)


def _report_error(exc: ChartgenError, output: Output, results: list, file: str) -> None:
    problems = getattr(exc, "problems", None)
    if output is Output.json:
        results.append({"spec": file, "errors": [p.as_dict() for p in problems] if problems else [str(exc)]})
    elif problems:
        print_problems(problems, output)
    else:
        typer.echo(_color(f"{file}: error: {exc}", "31", sys.stderr), err=True)


def _load_or_fail(file: str, output: Output = Output.text):
    try:
        return spec_mod.load(file)
    except ChartgenError as exc:
        fail(exc, output)


@app.command("values")
def values_cmd(
    spec: str = typer.Argument(..., metavar="SPEC"),
    output: Output = typer.Option(Output.text, "--output", help="text (YAML), or json."),
) -> None:
    """Print the chart values a spec gives, for installing the published base chart with -f."""
    from . import values as values_mod
    from .chart import commented_yaml

    s = _load_or_fail(spec, output)
    print_problems(s.warnings, output)
    vals = values_mod.build(s)
    if output is Output.json:
        typer.echo(json.dumps(vals.data, indent=2, sort_keys=True))
    else:
        typer.echo(commented_yaml(vals.data, vals.sources), nl=False)


@app.command()
def explain(
    spec: str = typer.Argument(..., metavar="SPEC"),
    path: str = typer.Option(..., "--path", "-p", help="A values key, e.g. postgresql.parameters.shared_buffers."),
    output: Output = typer.Option(Output.text, "--output"),
) -> None:
    """Say where a chart value comes from: a spec field, a preset, a formula, or the chart's default."""
    from . import chart, values as values_mod

    s = _load_or_fail(spec, output)
    vals = values_mod.build(s)
    merged = chart.deep_merge(chart.base_values(), vals.data)
    node = merged
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            fail(ChartgenError(f"{path}: no such values key{schema.suggest(part, list(node) if isinstance(node, dict) else [])}"), output)
        node = node[part]
    source = vals.source(path) or "chart default (charts/spilo-supabase/values.yaml)"
    if output is Output.json:
        typer.echo(json.dumps({"path": path, "value": node, "source": source}, indent=2))
    else:
        typer.echo(f"{path} = {json.dumps(node)}")
        typer.echo(f"  from: {source}")


@app.command()
def diff(
    spec: str = typer.Argument(..., metavar="SPEC"),
    against: str = typer.Option(..., "--against", help="A rendered chart dir, a .tgz, or oci://HOST/PATH/NAME:VERSION."),
    plain_http: bool = typer.Option(False, "--plain-http", help="Talk HTTP to the registry (local registries)."),
    output: Output = typer.Option(Output.text, "--output"),
) -> None:
    """Show what upgrading to this spec changes in the rendered manifests, and warn on dangerous changes.

    Exit 0 when nothing changes, 1 when something does (like diff(1))."""
    from . import diff as diff_mod, manifests, render as render_mod

    try:
        new = render_mod.build(spec)
        target = diff_mod.load_against(against if not Path(against, new.name).is_dir() else str(Path(against, new.name)),
                                       plain_http=plain_http)
        old = manifests.render(target, {}, release=new.name, namespace=new.namespace,
                               kube_version=render_mod.KUBE_VERSION, api_versions=render_mod.api_versions_for(new.spec))
    except ChartgenError as exc:
        fail(exc, output)
    result = diff_mod.manifest_diff(old, new.manifests)
    if output is Output.json:
        typer.echo(json.dumps({"changed": result.changed, "dangers": result.dangers, "diff": result.text}, indent=2))
    else:
        typer.echo(result.text, nl=False)
        for danger in result.dangers:
            typer.echo(_color(f"warning: {danger}", "33", sys.stderr), err=True)
        if not result.changed and not _State.quiet:
            typer.echo("no changes")
    if result.changed:
        raise typer.Exit(1)


@app.command()
def package(
    sources: List[str] = typer.Argument(..., metavar="SPEC|CHART_DIR...", help="Specs or rendered chart directories."),
    destination: str = typer.Option(".", "--destination", "-d", help="Where <name>-<version>.tgz is written."),
    version: Optional[str] = typer.Option(None, "--version", help="Chart version, for specs."),
    output: Output = typer.Option(Output.text, "--output"),
) -> None:
    """Package charts into reproducible .tgz archives (same input, same bytes)."""
    from . import package as package_mod

    written = []
    for src in sources:
        try:
            files = _chart_files(src, version)
            archive = package_mod.write_archive(files, Path(destination))
        except ChartgenError as exc:
            fail(exc, output)
        written.append({"source": src, "archive": str(archive), "sha256": _file_sha(archive)})
        if output is Output.text and not _State.quiet:
            typer.echo(f"{src}: packaged {archive}")
    if output is Output.json:
        typer.echo(json.dumps(written, indent=2))


def _file_sha(path: Path) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _chart_files(src: str, version: Optional[str]) -> dict:
    from . import package as package_mod, render as render_mod

    path = Path(src)
    if path.is_dir():
        return package_mod.read_chart_dir(path)
    return render_mod.build(src, version).files


@app.command()
def publish(
    source: str = typer.Argument(..., metavar="SPEC|TGZ|CHART_DIR"),
    remote: str = typer.Argument(..., metavar="oci://HOST/PATH"),
    version: Optional[str] = typer.Option(None, "--version", help="Chart version, for specs."),
    username: Optional[str] = typer.Option(None, "--username", "-u", help="Registry user (with --password-stdin)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the registry password from stdin."),
    registry_config: Optional[str] = typer.Option(None, "--registry-config", help="Docker/Helm registry config file."),
    plain_http: bool = typer.Option(False, "--plain-http", help="Use HTTP, for local registries."),
    output: Output = typer.Option(Output.text, "--output"),
) -> None:
    """Push a chart to an OCI registry. An existing version is never overwritten."""
    import tempfile

    from . import oci, package as package_mod

    if password_stdin and username is None:
        fail(ChartgenError("--password-stdin needs --username"), output)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        with tempfile.TemporaryDirectory(prefix="chartgen-publish-") as tmp:
            path = Path(source)
            archive = path if path.is_file() and path.suffix == ".tgz" else \
                package_mod.write_archive(_chart_files(source, version), Path(tmp))
            result = oci.publish(archive, remote, plain_http=plain_http, username=username, password=password,
                                 registry_config=registry_config)
    except ChartgenError as exc:
        fail(exc, output)
    if output is Output.json:
        typer.echo(json.dumps({"ref": result.ref, "digest": result.digest, "contentDigest": result.content_digest,
                               "pushed": result.pushed}, indent=2))
    else:
        what = "pushed" if result.pushed else "already published (identical), nothing pushed"
        typer.echo(f"{result.ref}: {what}")
        typer.echo(f"Digest: {result.digest}")


def main() -> None:
    try:
        app()
    except ChartgenError as exc:  # pragma: no cover - commands catch their own; this is the last net
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
