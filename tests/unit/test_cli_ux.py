"""The command line's manners: --output json everywhere, -q/-v, colour only on a terminal and never with
NO_COLOR, and typer's shell completion."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chartgen.cli import app

ROOT = Path(__file__).resolve().parents[2]
CHARTGEN = str(Path(sys.executable).parent / "chartgen")
runner = CliRunner()

BAD_SPEC = """apiVersion: chartgen/v1
kind: SupabaseDatabase
metadata: {name: db, namespace: ns}
spec:
  topology: tri
  image: {repository: ghcr.io/x/y, tag: t}
"""
WARN_SPEC = """apiVersion: chartgen/v1
kind: SupabaseDatabase
metadata: {name: db, namespace: ns}
spec:
  topology: duo
  durability: sync
  image: {repository: ghcr.io/x/y, tag: t}
"""
CHART = {"Chart.yaml": "apiVersion: v2\nname: demo\nversion: 1.0.0\n", "values.yaml": "a: 1\n"}


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "bad.yaml").write_text(BAD_SPEC)
    (tmp_path / "warn.yaml").write_text(WARN_SPEC)
    chart = tmp_path / "demo"
    chart.mkdir()
    for rel, text in CHART.items():
        (chart / rel).write_text(text)
    return tmp_path


def test_every_command_has_output_json():
    group = typer.main.get_command(app)
    assert set(group.commands) >= {"validate", "schema", "render", "values", "explain", "diff", "package", "publish",
                                   "init", "docs"}
    for name, command in group.commands.items():
        opts = {o for p in command.params for o in getattr(p, "opts", [])}
        assert "--output" in opts, name


def test_output_flags_mean_the_same_in_every_command():
    """-o/--output is the output format everywhere (Helm's convention); paths have their own long flags."""
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        by_opt = {o: p for p in command.params for o in getattr(p, "opts", [])}
        assert by_opt["-o"] is by_opt["--output"], name
        visible = {o for p in command.params if not getattr(p, "hidden", False) for o in getattr(p, "opts", [])}
        assert "--out" not in visible, name
    for name, flag in (("render", "--output-dir"), ("restore-spec", "--output-file"), ("init", "--output-file"),
                       ("lab", "--output-file"), ("package", "--destination")):
        assert flag in {o for p in group.commands[name].params for o in getattr(p, "opts", [])}, name


def test_render_o_json_is_the_format_not_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["render", str(ROOT / "examples" / "single.yaml"), "-o", "json"])
    assert res.exit_code == 0, res.output
    [entry] = json.loads(res.stdout)
    assert entry["path"] == str(Path("dist") / entry["chart"])
    assert not (tmp_path / "json").exists()


def test_render_json_carries_the_warnings(tmp_path, files):
    res = runner.invoke(app, ["render", str(files / "warn.yaml"), "--output-dir", str(tmp_path / "d"),
                              "--version", "1.0.0", "--output", "json"])
    assert res.exit_code == 0, res.output
    [entry] = json.loads(res.stdout)
    assert [w["path"] for w in entry["warnings"]] == ["spec.durability"]
    assert entry["warnings"][0]["severity"] == "warning"


@pytest.mark.parametrize(("args", "old", "new"), [
    (["render", "{spec}", "-o", "{tmp}/legacy"], "-o {tmp}/legacy", "--output-dir {tmp}/legacy"),
    (["render", "{spec}", "--out", "{tmp}/legacy"], "--out is deprecated", "use --output-dir"),
    (["restore-spec", "{backup_spec}", "--at", "latest", "-o", "{tmp}/legacy/r.yaml"], "-o {tmp}/legacy/r.yaml",
     "--output-file {tmp}/legacy/r.yaml"),
    (["init", "--yes", "--out", "{tmp}/legacy/i.yaml"], "--out is deprecated", "use --output-file"),
])
def test_renamed_flags_still_work_with_a_warning(tmp_path, args, old, new):
    fill = {"spec": str(ROOT / "examples" / "single.yaml"), "backup_spec": str(ROOT / "examples" / "duo.yaml"),
            "tmp": str(tmp_path)}
    res = runner.invoke(app, [a.format(**fill) for a in args])
    assert res.exit_code == 0, res.output
    assert old.format(**fill) in res.stderr and new.format(**fill) in res.stderr
    assert "warning:" in res.stderr
    assert (tmp_path / "legacy").exists()


def test_a_bad_format_is_a_usage_error():
    res = runner.invoke(app, ["validate", "-o", "xml", str(ROOT / "examples" / "single.yaml")])
    assert res.exit_code == 2


def test_validate_json_names_path_and_position(files):
    res = runner.invoke(app, ["validate", str(files / "bad.yaml"), "--output", "json"])
    assert res.exit_code == 1
    [problem] = json.loads(res.stdout)
    assert (problem["path"], problem["line"], problem["column"]) == ("spec.topology", 5, 13)
    assert 'did you mean "trio"?' in problem["message"]


def test_schema_json_is_the_schema():
    res = runner.invoke(app, ["schema", "--output", "json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["$schema"].endswith("2020-12/schema")


def test_package_json_and_verbose(files, tmp_path):
    res = runner.invoke(app, ["-v", "package", str(files / "demo"), "-d", str(tmp_path / "out"), "--output", "json"])
    assert res.exit_code == 0, res.output
    [entry] = json.loads(res.stdout)  # stdout stays pure JSON; -v detail goes to stderr
    assert entry["archive"].endswith("demo-1.0.0.tgz") and entry["provenance"] is None
    assert f"demo-1.0.0.tgz: {entry['sha256']}" in res.stderr


def test_publish_error_as_json(files):
    res = runner.invoke(app, ["publish", str(files / "demo"), "https://example.invalid/x", "--output", "json"])
    assert res.exit_code == 1
    [err] = json.loads(res.stdout)
    assert err["severity"] == "error" and "oci://" in err["message"]


def test_values_json(files):
    res = runner.invoke(app, ["values", str(ROOT / "examples" / "trio.yaml"), "--output", "json"])
    assert res.exit_code == 0, res.output
    assert isinstance(json.loads(res.stdout), dict)


def test_quiet_prints_errors_only(files):
    res = runner.invoke(app, ["-q", "validate", str(files / "warn.yaml")])
    assert res.exit_code == 0 and res.output == ""
    loud = runner.invoke(app, ["validate", str(files / "warn.yaml")])
    assert "warning:" in loud.stderr and "valid" in loud.stdout
    res = runner.invoke(app, ["-q", "validate", str(files / "bad.yaml")])
    assert res.exit_code == 1 and "spec.topology" in res.stderr


def test_verbose_and_quiet_package(files, tmp_path):
    quiet = runner.invoke(app, ["-q", "package", str(files / "demo"), "-d", str(tmp_path / "q")])
    assert quiet.exit_code == 0 and quiet.output == ""
    plain = runner.invoke(app, ["package", str(files / "demo"), "-d", str(tmp_path / "p")])
    assert "packaged" in plain.stdout and "sha256:" not in plain.output


def _run_with_stderr_on_a_tty(args: list[str], env: dict) -> str:
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([CHARTGEN, *args], stdout=subprocess.PIPE, stderr=slave, env=env, timeout=60)
        assert proc.returncode == 1
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the terminal is drained and closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(files):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    args = ["validate", str(files / "bad.yaml")]
    on_tty = _run_with_stderr_on_a_tty(args, env)
    assert "\x1b[31m" in on_tty and "spec.topology" in on_tty
    no_color = _run_with_stderr_on_a_tty(args, {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in no_color and "spec.topology" in no_color
    piped = subprocess.run([CHARTGEN, *args], capture_output=True, text=True, env=env, timeout=60)
    assert piped.returncode == 1 and "\x1b[" not in piped.stderr and "spec.topology" in piped.stderr


def test_shell_completion_completes_commands_and_choices(tmp_path):
    def complete(words: str, cword: int) -> list[str]:
        # The same protocol the installed bash script speaks (env vars in, candidates out), in-process.
        env = {"_CHARTGEN_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
        res = runner.invoke(app, [], env=env, prog_name="chartgen")
        assert res.exit_code == 0, res.output
        return res.output.split()

    assert "init" in complete("chartgen ini", 1)
    assert complete("chartgen init --topology t", 3) == ["trio"]
    assert complete("chartgen init --backup ", 3) == ["s3", "gcs", "azure", "none"]

    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    proc = subprocess.run([CHARTGEN, "--install-completion", "bash"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    script = tmp_path / ".bash_completions" / "chartgen.sh"
    assert "_CHARTGEN_COMPLETE" in script.read_text()
    assert str(script.name) in (tmp_path / ".bashrc").read_text()


def test_help_mentions_completion():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0 and "--install-completion" in res.output
