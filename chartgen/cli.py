"""The chartgen command line: parses arguments, prints, maps errors to exit codes. No logic lives here."""

from __future__ import annotations

import json
import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from . import __version__, atomic, schema
from . import spec as spec_mod
from .errors import ChartgenError, Problem

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Render versioned Helm charts for Supabase's database layer on the Zalando Postgres Operator.\n\n"
         "Shell completion: chartgen --install-completion (bash, zsh, fish, PowerShell), then open a new shell.",
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


FORMATS = tuple(o.value for o in Output)


def _formats(incomplete: str) -> list[str]:
    return [f for f in FORMATS if f.startswith(incomplete)]


def _format(value: str, new_flag: str | None = None) -> tuple[Output, str | None]:
    """``-o/--output``: the output format, as in Helm (``helm status -o json``).

    ``new_flag`` is set for commands whose ``-o`` used to name a path (render's directory, restore-spec's and
    init's file): a value that is not a format is still taken as that path, with a deprecation warning.
    """
    if value in FORMATS:
        return Output(value), None
    if new_flag is None:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(repr(f) for f in FORMATS)}",
                                 param_hint="'-o' / '--output'")
    warn(f"-o {value}: -o/--output is the output format (text, json) in every command now; {value!r} is read as "
         f"{new_flag} {value} for this release, write {new_flag} {value}")
    return Output.text, value


def _renamed(old_flag: str, new_flag: str, value: str | None) -> str | None:
    """A renamed flag keeps working for a release, with a warning."""
    if value is not None:
        warn(f"{old_flag} is deprecated: use {new_flag}")
    return value


def detail(message: str, output: Output = Output.text) -> None:
    """A line for -v/--verbose only, on stderr so it never mixes with output meant for other programs."""
    if _State.verbose and not _State.quiet:
        typer.echo(message, err=True)


def warn(message: str) -> None:
    if not _State.quiet:
        typer.echo(_color(f"warning: {message}", "33", sys.stderr), err=True)


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
def print_schema(
    output: Output = typer.Option(Output.json, "--output", "-o", help="json (the schema is JSON either way)."),
) -> None:
    """Print the deployment spec's JSON Schema (for editors: yaml-language-server, IDE plugins)."""
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
    output_dir: Optional[str] = typer.Option(None, "--output-dir", metavar="DIR",
                                             help="Each chart goes to DIR/<chart name>/ (default: dist)."),
    version: Optional[str] = typer.Option(None, "--version", help="Chart version (overrides chart.version)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 with a diff when DIR is not up to date."),
    output_flag: str = typer.Option("text", "--output", "-o", metavar="FORMAT", autocompletion=_formats,
                                    help="text, or json for CI."),
    old_out: Optional[str] = typer.Option(None, "--out", hidden=True, help="Deprecated: --output-dir."),
) -> None:
    """Render specs into versioned Helm charts, validated with the Helm engine before anything is written."""
    from . import render as render_mod

    output, legacy = _format(output_flag, "--output-dir")
    out = output_dir or legacy or _renamed("--out", "--output-dir", old_out) or "dist"

    results, failed, stale = [], 0, 0
    claimed: dict[str, str] = {}  # chart name -> the spec that renders it in this run
    with _progress(specs, "rendering") as items:
        for file in items:
            try:
                result = render_mod.build(file, version)
                if result.name in claimed:
                    raise ChartgenError(
                        f"chart {result.name} is also rendered from {claimed[result.name]} in this run: both would "
                        f"write {Path(out) / result.name}; give one spec another chart.name, or render it separately")
                claimed[result.name] = file
                entry = {"spec": file, "chart": result.name, "version": result.version}
                diff_text = render_mod.check(result, out) if check else None
                path = None if check else render_mod.write(result, out)
            except ChartgenError as exc:
                failed += 1
                _report_error(exc, output, results, file)
                continue
            print_problems(result.spec.warnings, output)
            entry["warnings"] = [p.as_dict() for p in result.spec.warnings]
            if check:
                entry["upToDate"] = not diff_text
                if diff_text:
                    stale += 1
                    if output is Output.text:
                        typer.echo(diff_text, nl=False)
                        typer.echo(f"{file}: {out}/{result.name} is out of date", err=True)
                elif output is Output.text and not _State.quiet:
                    typer.echo(f"{file}: {out}/{result.name} is up to date")
            else:
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


class ValuesFor(str, Enum):
    spilo_supabase = "spilo-supabase"
    supabase_kubernetes = "supabase-kubernetes"


@app.command("values")
def values_cmd(
    spec: str = typer.Argument(..., metavar="SPEC"),
    output: Output = typer.Option(Output.text, "--output", "-o", help="text (YAML), or json."),
    target: ValuesFor = typer.Option(ValuesFor.spilo_supabase, "--for",
                                     help="spilo-supabase: this database's chart. supabase-kubernetes: the "
                                          "supabase-community services chart, pointed at this database."),
    out: Optional[str] = typer.Option(None, "--output-file", metavar="FILE", help="Write FILE instead of stdout."),
) -> None:
    """Print the chart values a spec gives, for installing the published base chart with -f.

    With --for supabase-kubernetes: the values for Supabase's services chart (helm install supabase ... -f)."""
    from . import values as values_mod
    from .chart import commented_yaml

    s = _load_or_fail(spec, output)
    print_problems(s.warnings, output)
    if target is ValuesFor.supabase_kubernetes:
        from . import supabase_services

        try:
            text = (json.dumps(supabase_services.values(s), indent=2, sort_keys=True) + "\n"
                    if output is Output.json else supabase_services.values_yaml(s))
            if out:
                atomic.write_text(out, text, private=False)
        except ChartgenError as exc:
            fail(exc, output)
        if not out:
            typer.echo(text, nl=False)
        elif not _State.quiet:
            typer.echo(f"wrote {out}", err=True)
        return
    vals = values_mod.build(s)
    if output is Output.json:
        typer.echo(json.dumps(vals.data, indent=2, sort_keys=True))
    else:
        typer.echo(commented_yaml(vals.data, vals.sources), nl=False)


@app.command()
def keys(
    spec: str = typer.Argument(..., metavar="SPEC"),
    jwt_secret_file: Optional[str] = typer.Option(
        None, "--jwt-secret-file", metavar="FILE",
        help="The database's JWT secret ('-' reads stdin). Omitted: a new one, for spec.supabase.jwt.existingSecret."),
    out: Optional[str] = typer.Option(None, "--output-file", metavar="FILE", help="Write FILE (mode 0600), not stdout."),
    days: int = typer.Option(5 * 365, "--days", help="Lifetime of the anon and service-role keys."),
    force: bool = typer.Option(False, "--force", help="Overwrite FILE."),
    output: Output = typer.Option(Output.text, "--output", "-o", help="text (YAML), or json (kubectl reads both)."),
) -> None:
    """Write the Secret the Supabase services chart needs: JWT secret, anon and service-role keys, service secrets.

    Create it once: chartgen keys SPEC --jwt-secret-file - < jwt.txt | kubectl create -f -
    (every run makes new keys; replacing them invalidates issued tokens and Realtime's encrypted data)."""
    import time

    from . import supabase_services

    s = _load_or_fail(spec, output)
    try:
        jwt = None
        if jwt_secret_file:
            raw = sys.stdin.buffer.read() if jwt_secret_file == "-" else Path(jwt_secret_file).read_bytes()
            try:
                jwt = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ChartgenError(f"{jwt_secret_file}: the JWT secret is not UTF-8 text") from None
        text = supabase_services.keys_manifest(s, jwt, issued_at=int(time.time()), days=days,
                                               as_json=output is Output.json)
        if out:
            if Path(out).exists() and not force:
                raise ChartgenError(f"{out} already exists: pass --force to overwrite it (new keys invalidate every "
                                    "token signed with the old ones)")
            atomic.write_text(out, text, private=True)
    except ChartgenError as exc:
        fail(exc, output)
    except OSError as exc:
        fail(ChartgenError(f"cannot read {jwt_secret_file}: {exc.strerror or exc}"), output)
    if not out:
        typer.echo(text, nl=False)
    elif not _State.quiet:
        typer.echo(f"wrote {out}", err=True)


@app.command()
def explain(
    spec: str = typer.Argument(..., metavar="SPEC"),
    path: str = typer.Option(..., "--path", "-p", help="A values key, e.g. postgresql.parameters.shared_buffers."),
    output: Output = typer.Option(Output.text, "--output", "-o"),
) -> None:
    """Say where a chart value comes from: a spec field, a preset, a formula, the chart's default or its templates."""
    from . import explain as explain_mod

    try:
        found = explain_mod.explain(spec, path)
    except ChartgenError as exc:
        fail(exc, output)
    if output is Output.json:
        typer.echo(json.dumps(found.as_dict(), indent=2))
    else:
        typer.echo(f"{found.path} = {json.dumps(found.value)}")
        first, *rest = found.source.splitlines() or [""]
        typer.echo(f"  from: {first}")
        for line in rest:  # a mapping's sources, one leaf a line, under the first
            typer.echo(f"        {line}")
        if found.parameter:
            typer.echo(f"  postgres: {found.parameter}")


@app.command()
def diff(
    spec: str = typer.Argument(..., metavar="SPEC"),
    against: str = typer.Option(..., "--against", help="A rendered chart dir, a .tgz, or oci://HOST/PATH/NAME:VERSION."),
    plain_http: bool = typer.Option(False, "--plain-http", help="Talk HTTP to the registry (local registries)."),
    timeout: float = typer.Option(120.0, "--timeout", min=1.0, help="Seconds a registry pull may take."),
    output: Output = typer.Option(Output.text, "--output", "-o"),
) -> None:
    """Show what upgrading to this spec changes in the rendered manifests, and warn on dangerous changes.

    Exit 0 when nothing changes, 1 when something does (like diff(1)), 2 when a change cannot work (a major
    version downgrade)."""
    from . import diff as diff_mod, isolated, render as render_mod

    try:
        new = render_mod.build(spec)
        target = diff_mod.load_against(against if not Path(against, new.name).is_dir() else str(Path(against, new.name)),
                                       plain_http=plain_http, timeout=timeout)
        # Not chartgen's chart: rendered in a child process with a memory cap (chartgen.isolated).
        old = isolated.render(target, label=against, release=new.name, namespace=new.namespace,
                              kube_version=render_mod.KUBE_VERSION, api_versions=render_mod.api_versions_for(new.spec))
    except ChartgenError as exc:
        fail(exc, output)
    result = diff_mod.manifest_diff(old, new.manifests, old_label=against, new_label=spec)
    if output is Output.json:
        typer.echo(json.dumps({"changed": result.changed, "errors": result.errors, "dangers": result.dangers,
                               "diff": result.text}, indent=2))
    else:
        typer.echo(result.text, nl=False)
        for danger in result.dangers:
            typer.echo(_color(f"warning: {danger}", "33", sys.stderr), err=True)
        for error in result.errors:
            typer.echo(_color(f"error: {error}", "31", sys.stderr), err=True)
        if not result.changed and not _State.quiet:
            typer.echo("no changes")
    if result.errors:
        raise typer.Exit(2)
    if result.changed:
        raise typer.Exit(1)


@app.command("restore-spec")
def restore_spec(
    spec: str = typer.Argument(..., metavar="SPEC", help="The source cluster's spec (its backup target is read)."),
    at: str = typer.Option(..., "--at", help='Recovery target: ISO 8601 with an offset (Z accepted), or "latest".'),
    output_file: Optional[str] = typer.Option(None, "--output-file", metavar="NEW_SPEC",
                                              help="Where the new spec is written."),
    name: Optional[str] = typer.Option(None, "--name", help="New cluster name (default <name>-restored)."),
    force: bool = typer.Option(False, "--force", help="Overwrite NEW_SPEC."),
    output_flag: str = typer.Option("text", "--output", "-o", metavar="FORMAT", autocompletion=_formats,
                                    help="text, or json for CI."),
    old_out: Optional[str] = typer.Option(None, "--out", hidden=True, help="Deprecated: --output-file."),
) -> None:
    """Write a spec for a NEW cluster bootstrapped from SPEC's backups at a point in time."""
    from . import restore

    output, legacy = _format(output_flag, "--output-file")
    out = output_file or legacy or _renamed("--out", "--output-file", old_out)
    if out is None:
        raise typer.BadParameter("the new spec's path is needed: --output-file NEW_SPEC", param_hint="--output-file")

    try:
        result = restore.restore_spec(spec, at, out, name, force=force)
    except ChartgenError as exc:
        fail(exc, output)
    if output is Output.json:
        typer.echo(json.dumps(result, indent=2))
        return
    for message in result["warnings"]:
        warn(message)
    if not _State.quiet:
        for note in result["notes"]:
            typer.echo(f"note: {note}", err=True)
        typer.echo(f"wrote {result['path']}: {result['name']} from {result['source']} at {result['targetTime']}")
        typer.echo(f"next: chartgen render {result['path']} --output-dir dist/  (then docs/backup-restore.md: verify, cut over)")


@app.command()
def package(
    sources: List[str] = typer.Argument(..., metavar="SPEC|CHART_DIR...", help="Specs or rendered chart directories."),
    destination: str = typer.Option(".", "--destination", "-d", help="Where <name>-<version>.tgz is written."),
    version: Optional[str] = typer.Option(None, "--version", help="Chart version, for specs."),
    sign: bool = typer.Option(False, "--sign", help="Also write a Helm provenance file, <archive>.prov."),
    key: Optional[str] = typer.Option(None, "--key", help="Signing key in the keyring: name, email or key id."),
    keyring: Optional[str] = typer.Option(
        None, "--keyring", help="Legacy GnuPG secret keyring (gpg --export-secret-keys > FILE). Default: "
                                "$GNUPGHOME/secring.gpg (~/.gnupg) if it exists, else KEY exported from GnuPG."),
    passphrase_file: Optional[str] = typer.Option(None, "--passphrase-file",
                                                  help="File whose first line unlocks the key."),
    output: Output = typer.Option(Output.text, "--output", "-o"),
) -> None:
    """Package charts into reproducible .tgz archives (same input, same bytes), optionally signed.

    Verify a signed chart with: helm verify ARCHIVE --keyring PUBRING (gpg --export > PUBRING)."""
    from . import package as package_mod, provenance

    if sign and not key:
        raise typer.BadParameter("--sign needs --key NAME (the signing key in --keyring)", param_hint="--key")
    if not sign and (key or passphrase_file):
        raise typer.BadParameter("--key and --passphrase-file only apply with --sign", param_hint="--sign")
    ring = Path(keyring).expanduser() if keyring else None
    if sign and ring is not None and not ring.is_file():
        fail(ChartgenError(f"{ring}: no such keyring file (export one with: gpg --export-secret-keys > FILE)"), output)
    written = []
    with _progress(sources, "packaging") as items:
        for src in items:
            prov = None
            try:
                files = _chart_files(src, version)
                if sign:
                    # The archive appears only together with its signature: a failed --sign leaves nothing.
                    archive, prov = provenance.write_signed(
                        files, Path(destination), key=key, keyring=ring,
                        passphrase_file=Path(passphrase_file) if passphrase_file else None)
                else:
                    archive = package_mod.write_archive(files, Path(destination))
            except ChartgenError as exc:
                fail(exc, output)
            if prov is None:
                _warn_stale_prov(archive)
            written.append({"source": src, "archive": str(archive), "sha256": _file_sha(archive),
                            "provenance": str(prov) if prov else None})
            if output is Output.text and not _State.quiet:
                typer.echo(f"{src}: packaged {archive}" + (f", signed {prov.name}" if prov else ""))
            detail(f"{archive.name}: {_file_sha(archive)}")
    if output is Output.json:
        typer.echo(json.dumps(written, indent=2))


def _warn_stale_prov(archive: Path) -> None:
    from . import provenance
    from .errors import PackageError

    prov = provenance.prov_path(archive)
    if prov.is_file():
        try:
            provenance.check_matches(archive, prov)
        except PackageError as exc:
            warn(str(exc))


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
    timeout: float = typer.Option(120.0, "--timeout", min=1.0, help="Seconds the whole publish may take."),
    output: Output = typer.Option(Output.text, "--output", "-o"),
) -> None:
    """Push a chart to an OCI registry. An existing version is never overwritten.

    A provenance file beside a .tgz (ARCHIVE.prov, from package --sign) is pushed with it."""
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
                                 registry_config=registry_config, timeout=timeout)
    except ChartgenError as exc:
        fail(exc, output)
    if output is Output.json:
        typer.echo(json.dumps({"ref": result.ref, "digest": result.digest, "contentDigest": result.content_digest,
                               "pushed": result.pushed, "provenance": result.provenance}, indent=2))
    else:
        what = "pushed" if result.pushed else "already published (identical), nothing pushed"
        if result.provenance:
            what += " with its provenance (.prov)"
        typer.echo(f"{result.ref}: {what}")
        typer.echo(f"Digest: {result.digest}")
        detail(f"chart archive: {result.content_digest}")


def _choices(key: str):
    def complete(incomplete: str) -> list[str]:
        from . import init as init_mod

        return [c for c in init_mod.BY_KEY[key].choices() if c.startswith(incomplete)]

    return complete


def _ask(question, default: str, answers: dict) -> str:
    """Prompt until the answer is valid. Prompts go to stderr, so --output json keeps stdout clean."""
    import click

    from . import init as init_mod

    choices = question.choices() if question.choices else None
    text = question.text + (f" [{'/'.join(choices)}]" if choices else "") + (" (optional)" if question.optional else "")
    while True:
        try:
            value = typer.prompt(text, default=default, show_default=bool(default), err=True).strip()
        except (click.exceptions.Abort, typer.Abort):  # EOF on stdin, or Ctrl-C
            if sys.stdin.isatty():
                raise KeyboardInterrupt from None
            flag = "--" + question.key.replace("_", "-")
            raise ChartgenError(f"no answer for {flag} on stdin: pass {flag}, or --yes to take the defaults") from None
        problem = init_mod.check_answer(question.key, value, answers)
        if problem is None:
            return value
        typer.echo(_color(f"  {problem}", "31", sys.stderr), err=True)


@app.command()
def init(
    directory: str = typer.Argument(".", metavar="[DIR]", help="Where <name>.yaml is written."),
    output_file: Optional[str] = typer.Option(None, "--output-file", metavar="FILE",
                                              help="Write FILE instead of DIR/<name>.yaml."),
    name: Optional[str] = typer.Option(None, "--name", help="Cluster name (DNS label, at most 51 characters)."),
    namespace: Optional[str] = typer.Option(None, "--namespace", help="Kubernetes namespace."),
    topology: Optional[str] = typer.Option(None, "--topology", autocompletion=_choices("topology"),
                                           help="single | duo | trio."),
    durability: Optional[str] = typer.Option(None, "--durability", autocompletion=_choices("durability"),
                                             help="async | sync | strict (default: sync for trio, else async)."),
    pg_version: Optional[str] = typer.Option(None, "--pg-version", autocompletion=_choices("pg_version"),
                                             help="PostgreSQL major: 15 | 17."),
    size: Optional[str] = typer.Option(None, "--size", autocompletion=_choices("size"), help="xsmall .. xlarge."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Volume size per instance, e.g. 50Gi."),
    storage_class: Optional[str] = typer.Option(None, "--storage-class", help="StorageClass (default: the cluster's)."),
    image: Optional[str] = typer.Option(None, "--image", help="Image repository, built from image/."),
    image_tag: Optional[str] = typer.Option(None, "--image-tag", help="Image tag."),
    backup: Optional[str] = typer.Option(None, "--backup", autocompletion=_choices("backup"),
                                         help="Backup target: s3 | gcs | azure | none."),
    bucket: Optional[str] = typer.Option(None, "--bucket", help="S3 or GCS bucket."),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="S3-compatible endpoint URL (MinIO ...)."),
    region: Optional[str] = typer.Option(None, "--region", help="S3 region."),
    storage_account: Optional[str] = typer.Option(None, "--storage-account", help="Azure storage account."),
    container: Optional[str] = typer.Option(None, "--container", help="Azure blob container."),
    credentials_secret: Optional[str] = typer.Option(None, "--credentials-secret",
                                                     help="Secret with the backup credentials (you create it)."),
    ca_bundle: Optional[str] = typer.Option(None, "--ca-bundle", metavar="SECRET",
                                            help="Secret with the S3 endpoint's CA certificate (key ca.crt)."),
    schedule: Optional[str] = typer.Option(None, "--schedule", help="Base backup cron schedule, UTC "
                                           "(default: the spec's default, 0 1 * * *)."),
    pooler: Optional[bool] = typer.Option(None, "--pooler/--no-pooler", help="PgBouncer in front of the primary "
                                          "(default: on)."),
    pooler_instances: Optional[str] = typer.Option(None, "--pooler-instances", metavar="N", help="Pooler pods."),
    chart_version: Optional[str] = typer.Option(None, "--chart-version", help="Chart version (SemVer)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Ask nothing: flags, then defaults (for scripts)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    output_flag: str = typer.Option("text", "--output", "-o", metavar="FORMAT", autocompletion=_formats,
                                    help="text, or json for CI."),
    old_out: Optional[str] = typer.Option(None, "--out", hidden=True, help="Deprecated: --output-file."),
) -> None:
    """Write a commented starter spec: asks on a terminal, or takes flags and --yes for scripts."""
    from . import init as init_mod

    output, legacy = _format(output_flag, "--output-file")
    out = output_file or legacy or _renamed("--out", "--output-file", old_out)

    given = {k: v for k, v in dict(
        name=name, namespace=namespace, topology=topology, durability=durability, pg_version=pg_version, size=size,
        storage=storage, storage_class=storage_class, image=image, image_tag=image_tag, backup=backup, bucket=bucket,
        endpoint=endpoint, region=region, storage_account=storage_account, container=container,
        credentials_secret=credentials_secret, chart_version=chart_version, ca_bundle=ca_bundle, schedule=schedule,
        pooler=None if pooler is None else ("on" if pooler else "off"),
        pooler_instances=pooler_instances).items() if v is not None}
    bad = [f"--{k.replace('_', '-')}: {why}" for k, v in given.items()
           if (why := init_mod.check_answer(k, v, {**init_mod.defaults(given), **given}))]
    if bad:
        # A usage error (exit 2), one line per flag: typer's boxed message would wrap the suggestion.
        if output is Output.json:
            typer.echo(json.dumps([{"severity": "error", "message": line} for line in bad], indent=2))
        for line in bad:
            typer.echo(_color(f"error: {line}", "31", sys.stderr), err=True)
        raise typer.Exit(2)

    if out is None and directory.endswith((".yaml", ".yml")) and not Path(directory).is_dir():
        out = directory  # `chartgen init specs/acme.yaml` means the file, not a directory named so

    def target(answers: dict) -> Path:
        return Path(out) if out else Path(directory) / f"{answers['name']}.yaml"

    def refuse_overwrite(path: Path) -> None:
        if path.exists() and not force:
            fail(ChartgenError(f"{path} already exists: pass --force to overwrite it"), output)

    if out or "name" in given:
        refuse_overwrite(target(given))  # before any question: don't ask, then refuse
    answers = dict(given)
    try:
        while todo := init_mod.pending(answers):
            q = todo[0]
            default = q.default(answers)
            answers[q.key] = default if yes else _ask(q, default, answers)
    except ChartgenError as exc:
        fail(exc, output)
    path = target(answers)
    refuse_overwrite(path)
    text = init_mod.render(answers)
    spec, problems = init_mod.check_text(text, str(path))
    if spec is None:
        errors = "; ".join(f"{p.path}: {p.message}" for p in problems if p.severity == "error")
        fail(ChartgenError(f"these answers give an invalid spec: {errors}"), output)
    try:
        atomic.write_text(path, text, private=False)
    except ChartgenError as exc:
        fail(exc, output)
    print_problems(spec.warnings, output)
    if output is Output.json:
        typer.echo(json.dumps({"path": str(path), "answers": init_mod.defaults(answers),
                               "warnings": [p.as_dict() for p in spec.warnings]}, indent=2))
    elif not _State.quiet:
        typer.echo(f"wrote {path}")
        typer.echo(f"next: chartgen validate {path} && chartgen render {path} --output-dir dist/")


def _chart_docs():
    """The chart's generated files (README.md, values.yaml) and their generators, else None when missing."""
    try:
        from .chartdocs import GENERATED
    except ImportError:
        return None
    return GENERATED


@app.command()
def docs(
    root: str = typer.Option(".", "--root", help="The chartgen source tree (holds schemas/ and charts/)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 with a diff when a document is stale."),
    output: Output = typer.Option(Output.text, "--output", "-o", help="text, or json for CI."),
) -> None:
    """Regenerate the reference docs: docs/spec-reference.md (spec schema), the chart's README and values.yaml
    (values schema)."""
    from . import specdocs
    from .output import unified_diff

    base = Path(root)
    if not (base / specdocs.SOURCE).is_file():
        fail(ChartgenError(f"{base}: not a chartgen source tree (no {specdocs.SOURCE}): run from the "
                           "repository root or pass --root"), output)
    wanted: dict[str, str] = {specdocs.OUTPUT: specdocs.render_repo(base)}
    skipped = []
    chart_dir = base / "charts" / "spilo-supabase"
    generators = _chart_docs()
    if generators is None:
        skipped.append("charts/spilo-supabase/README.md, values.yaml: skipped, chartgen.chartdocs is not available")
    elif not (chart_dir / "Chart.yaml").is_file():
        skipped.append("charts/spilo-supabase/README.md, values.yaml: skipped, no chart at charts/spilo-supabase")
    else:
        for file_name, make in generators.items():
            try:
                wanted[f"charts/spilo-supabase/{file_name}"] = make(chart_dir)
            except (OSError, KeyError, ValueError) as exc:
                fail(ChartgenError(f"cannot generate the chart's {file_name}: {exc}"), output)
    results, stale = [], 0
    for rel, text in wanted.items():
        path = base / rel
        have = path.read_bytes() if path.is_file() else None
        current = have == text.encode("utf-8")
        entry = {"file": rel, "upToDate": current}
        if check:
            if not current:
                stale += 1
                if output is Output.text:
                    typer.echo(unified_diff({rel: text.encode()}, {rel: have} if have is not None else {}, "."),
                               nl=False)
                    typer.echo(_color(f"{rel} is out of date: run chartgen docs", "31", sys.stderr), err=True)
            elif output is Output.text and not _State.quiet:
                typer.echo(f"{rel} is up to date")
        elif not current:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            entry["written"] = True
            if output is Output.text and not _State.quiet:
                typer.echo(f"wrote {rel}")
        elif output is Output.text and not _State.quiet:
            typer.echo(f"{rel} is up to date")
        results.append(entry)
    for line in skipped:
        if output is Output.text:
            warn(line)
    if output is Output.json:
        typer.echo(json.dumps({"files": results, "skipped": skipped}, indent=2))
    if stale:
        raise typer.Exit(1)


@app.command()
def lab(
    spec: str = typer.Argument(..., metavar="SPEC"),
    experiments: str = typer.Option(
        "hard_kill,switchover", "--experiments", "-e",
        help="Comma-separated: hard_kill, graceful_stop, switchover, freeze, sync_replica_loss, dcs_stall; "
             "'none' only brings the cluster up."),
    runs: int = typer.Option(1, "--runs", min=1, max=50, help="Repetitions of each experiment."),
    payload: Optional[str] = typer.Option(
        None, "--payload", envvar="CHARTGEN_LAB_PAYLOAD",
        help="Supabase's SQL in the /docker-entrypoint-initdb.d layout, as image/fetch-supabase-sql.sh LOCK DIR "
             "writes it; members then bootstrap like the image and Supabase's invariants are checked."),
    hold: bool = typer.Option(False, "--hold", help="Keep the cluster running after the experiments until Ctrl-C."),
    output_file: Optional[str] = typer.Option(None, "--output-file", metavar="FILE",
                                              help="Write the results as JSON to this file."),
    old_out: Optional[str] = typer.Option(None, "--out", hidden=True, help="Deprecated: --output-file."),
    artifacts: Optional[str] = typer.Option(
        None, "--artifacts", help="Keep every member's logs and configs here when the cluster does not start or "
                                  "a run fails, loses writes or breaks an invariant."),
    output: Output = typer.Option(Output.text, "--output", "-o"),
) -> None:
    """Run a spec's cluster locally (etcd + Patroni + PostgreSQL + PgBouncer) and break it on purpose.

    Prints the time until the cluster is Supabase-ready and its connection strings, then runs the
    experiments and checks Supabase's invariants after each. Needs Debian's postgresql-15, etcd-server and
    pgbouncer and a Patroni venv ($CHARTGEN_PATRONI_VENV); everything binds to 127.0.0.1 and is stopped
    when the command ends, also on Ctrl-C."""
    from . import lab as lab_mod
    from . import render as render_mod

    out = output_file or _renamed("--out", "--output-file", old_out)
    names = [e.strip() for e in experiments.split(",") if e.strip() and e.strip() != "none"]
    say = (lambda line: typer.echo(line, err=True)) if output is Output.json else typer.echo

    def wait_for_ctrl_c(cluster) -> None:
        say("holding the cluster; Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            say("stopping")

    try:
        manifests = render_mod.render_manifests(spec)
        result = lab_mod.run_from_manifests(manifests, experiments=names, runs=runs, out=out, log=say,
                                            artifacts=artifacts, payload=payload,
                                            on_cluster=wait_for_ctrl_c if hold else None)
    except ChartgenError as exc:
        fail(exc, output)
    if output is Output.json:
        typer.echo(json.dumps(result, indent=2))


def main() -> None:
    try:
        app()
    except ChartgenError as exc:  # pragma: no cover - commands catch their own; this is the last net
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # the last net for a file system error a command did not expect
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        typer.echo(f"error: {exc.strerror or exc}{where}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
