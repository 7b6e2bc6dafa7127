"""`chartgen render`, `--check`, `diff`, `values`, `explain` and `package` on the real base chart."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
import yaml
from typer.testing import CliRunner

from chartgen import chart, manifests, package, render
from chartgen import spec as spec_mod
from chartgen.cli import app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
runner = CliRunner()


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_renders_a_valid_chart(example, tmp_path):
    res = runner.invoke(app, ["render", str(example), "--output-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (chart_dir,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    spec = yaml.safe_load(example.read_text())
    assert meta["name"] == (spec.get("chart", {}).get("name") or spec["metadata"]["name"])
    assert meta["version"] == spec["chart"]["version"]
    assert meta["appVersion"] == spec["spec"]["image"]["tag"]
    # the digest of what the spec means (its canonical parsed form), not of its bytes
    assert meta["annotations"]["chartgen.io/spec-sha256"] == chart.spec_digest(spec_mod.load(str(example)).data)
    assert meta["annotations"]["chartgen.io/spec-sha256"] != hashlib.sha256(example.read_bytes()).hexdigest()
    # What was written renders with Helm into manifests that pass the strict CRD and built-in schemas.
    docs = manifests.render(chart_dir, {}, release=meta["name"], namespace=spec["metadata"]["namespace"],
                            api_versions=render.api_versions_for(render.build(str(example), self_check=False).spec))
    assert manifests.validate(docs) == []
    pg = next(d for d in docs if d["kind"] == "postgresql")
    assert pg["metadata"]["name"] == spec["metadata"]["name"]
    assert pg["spec"]["postgresql"]["version"] == spec["spec"]["postgres"]["version"]
    assert not list(tmp_path.glob(".chartgen-*")), "staging directories must not be left behind"


def test_render_is_deterministic(tmp_path):
    spec = str(ROOT / "examples" / "trio.yaml")
    render.write(render.build(spec), tmp_path / "a")
    # A copy of the spec elsewhere, rendered in a new process: the same bytes.
    other = tmp_path / "elsewhere" / "trio.yaml"
    other.parent.mkdir()
    shutil.copy(spec, other)
    chartgen = str(Path(sys.executable).parent / "chartgen")
    subprocess.run([chartgen, "render", str(other), "--output-dir", str(tmp_path / "b")], check=True, capture_output=True)
    assert tree(tmp_path / "a" / "acme-db") == tree(tmp_path / "b" / "acme-db")


def test_values_yaml_documents_sources_and_parses(tmp_path):
    result = render.build(str(ROOT / "examples" / "trio.yaml"))
    text = result.files["values.yaml"].decode()
    assert "# preset sizes.medium.memory" in text
    assert "# spec: spec.postgres.parameters.statement_timeout" in text
    data = yaml.safe_load(text)
    assert data["postgresql"]["parameters"]["statement_timeout"] == "60s"
    assert data["instances"] == 3


def test_credentials_are_only_referenced(tmp_path):
    """Credentials reach pods through secretKeyRef or mounted Secrets, never as literal values."""
    import re

    for example in EXAMPLES:
        result = render.build(str(example))
        pg = next(d for d in result.manifests if d["kind"] == "postgresql")
        for entry in pg["spec"].get("env", []):
            if not re.search(r"SECRET|PASSWORD|ACCESS_KEY|CREDENTIALS|TOKEN", entry["name"]):
                continue
            if "value" in entry:  # a path to a Secret mounted as a file is fine; the secret itself is not
                assert entry["value"].startswith("/run/secrets/"), (example.name, entry)
            else:
                assert "secretKeyRef" in entry["valueFrom"], (example.name, entry)
        values_text = result.files["values.yaml"].decode()
        assert not re.search(r"(?i)(password|secret(AccessKey)?|token)\s*:\s*\"[^\"]{8,}\"", values_text.replace(
            "existingSecret", "").replace("secretName", "").replace("secretAccessKeyKey", "")), example.name


def test_check_reports_stale_output(tmp_path):
    spec = str(ROOT / "examples" / "duo.yaml")
    out = tmp_path / "dist"
    assert runner.invoke(app, ["render", spec, "--output-dir", str(out)]).exit_code == 0
    res = runner.invoke(app, ["render", spec, "--output-dir", str(out), "--check"])
    assert res.exit_code == 0, res.output
    values = out / "shop-db" / "values.yaml"
    values.write_text(values.read_text().replace('"transaction"', '"session"'))
    res = runner.invoke(app, ["render", spec, "--output-dir", str(out), "--check"])
    assert res.exit_code == 1
    assert "--- " in res.output and '+  mode: "transaction"' in res.output
    assert 'mode: "session"' in values.read_text(), "--check must not write"


def test_failed_self_check_writes_nothing(tmp_path, monkeypatch):
    spec = str(ROOT / "examples" / "trio.yaml")
    out = tmp_path / "dist"
    render.write(render.build(spec), out)
    before = tree(out)
    monkeypatch.setattr(manifests, "validate", lambda docs, **kw: ["postgresql/acme-db: spec.x: injected failure"])
    res = runner.invoke(app, ["render", spec, "--output-dir", str(out), "--version", "9.9.9"])
    assert res.exit_code == 1
    assert "injected failure" in res.output and "nothing was written" in res.output
    assert tree(out) == before


def test_many_specs_in_one_call_with_one_bad(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "examples" / "single.yaml").read_text().replace("topology: single", "topology: tri"))
    res = runner.invoke(app, ["render", *map(str, EXAMPLES), str(bad), "--output-dir", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert f"{bad}:8:13: spec.topology:" in res.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))
    assert len(written) == len(EXAMPLES)


def test_version_flag_and_missing_version(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text((ROOT / "examples" / "single.yaml").read_text().replace("chart:\n  version: 0.1.0\n", ""))
    res = runner.invoke(app, ["render", str(spec), "--output-dir", str(tmp_path / "o")])
    assert res.exit_code == 1 and "chart.version is not set" in res.output
    res = runner.invoke(app, ["render", str(spec), "--output-dir", str(tmp_path / "o"), "--version", "2.0.0-rc.1"])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load((tmp_path / "o" / "dev-db" / "Chart.yaml").read_text())["version"] == "2.0.0-rc.1"


def test_packaged_chart_renders_like_the_directory(tmp_path):
    spec = str(ROOT / "examples" / "trio.yaml")
    result = render.build(spec)
    chart_dir = render.write(result, tmp_path / "dist")
    a = package.write_archive(result.files, tmp_path / "p1")
    b = package.write_archive(package.read_chart_dir(chart_dir), tmp_path / "p2")
    assert a.read_bytes() == b.read_bytes()
    d = helm_python.Chart.load(str(chart_dir)).render({}, name="acme-db", namespace="supabase")
    t = helm_python.Chart.load(str(a)).render({}, name="acme-db", namespace="supabase")

    def stable(rendered):  # generated secrets differ per render; everything else must not
        return {k: v for k, v in rendered.items() if not k.endswith("secrets.yaml")}

    assert stable(d) == stable(t)


def test_explain_and_values(tmp_path):
    spec = str(ROOT / "examples" / "trio.yaml")
    res = runner.invoke(app, ["explain", spec, "--path", "postgresql.parameters.shared_buffers"])
    assert res.exit_code == 0
    assert '"2048MB"' in res.output and "formula: memory / 4" in res.output
    assert "postgres: PostgreSQL 17: integer in 8kB" in res.output and "after a restart (context postmaster)" in res.output
    res = runner.invoke(app, ["explain", spec, "--path", "postgresql.parameters.statement_timeout", "--output", "json"])
    assert json.loads(res.output)["source"] == "spec: spec.postgres.parameters.statement_timeout"
    assert json.loads(res.output)["parameter"].startswith("PostgreSQL 17: integer in ms, 0 .. ")
    res = runner.invoke(app, ["explain", spec, "--path", "postgresql.paramters"])
    assert res.exit_code == 1 and 'did you mean "parameters"' in res.output
    res = runner.invoke(app, ["values", spec, "--output", "json"])
    assert json.loads(res.output)["clusterName"] == "acme-db"


def _variant(tmp_path: Path, name: str, **replace: str) -> str:
    text = (ROOT / "examples" / "trio.yaml").read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_diff_warns_on_dangerous_changes(tmp_path):
    out = tmp_path / "dist"
    render.write(render.build(str(ROOT / "examples" / "trio.yaml")), out)
    res = runner.invoke(app, ["diff", str(ROOT / "examples" / "trio.yaml"), "--against", str(out)])
    assert res.exit_code == 0 and "no changes" in res.output
    risky = _variant(tmp_path, "risky.yaml", **{"size: 100Gi": "size: 60Gi", "topology: trio": "topology: duo",
                                                 "bucket: acme-db-backups": "bucket: other-bucket"})
    res = runner.invoke(app, ["diff", risky, "--against", str(out / "acme-db")])
    assert res.exit_code == 1
    for phrase in ("storage shrinks", "topology shrinks from 3 to 2", "backup target changes"):
        assert phrase in res.output, phrase
    # the old side is what --against named, not an "installed" release
    assert f"--- {out / 'acme-db'} postgresql/acme-db" in res.stdout and f"+++ {risky} postgresql/acme-db" in res.stdout
    assert "installed" not in res.stdout


def test_diff_refuses_a_major_downgrade_and_warns_on_an_upgrade(tmp_path):
    old15 = tmp_path / "old15"
    render.write(render.build(_variant(tmp_path, "v15.yaml", **{'version: "17"': 'version: "15"'})), old15)
    res = runner.invoke(app, ["diff", str(ROOT / "examples" / "trio.yaml"), "--against", str(old15)])
    assert res.exit_code == 1, res.output
    assert "warning: PostgreSQL major version changes from 15 to 17" in res.output
    old17 = tmp_path / "old17"
    render.write(render.build(str(ROOT / "examples" / "trio.yaml")), old17)
    down = _variant(tmp_path, "down.yaml", **{'version: "17"': 'version: "15"'})
    res = runner.invoke(app, ["diff", down, "--against", str(old17)])
    assert res.exit_code == 2, res.output
    assert "error: PostgreSQL major version goes down from 17 to 15" in res.output
    assert "in-place major upgrade" not in res.output
    res = runner.invoke(app, ["diff", down, "--against", str(old17), "--output", "json"])
    report = json.loads(res.stdout)
    assert res.exit_code == 2 and report["errors"] and report["changed"]
    assert not any("major version" in d for d in report["dangers"])


def test_self_check_refuses_values_the_chart_schema_rejects(tmp_path, monkeypatch):
    """The in-process values check gives Helm's verdict: a bad value never reaches the output."""
    from chartgen import values as values_mod

    real = values_mod.build

    def broken(spec):
        v = real(spec)
        v.set("pooler.mode", "statement", "test")
        return v

    monkeypatch.setattr(values_mod, "build", broken)
    res = runner.invoke(app, ["render", str(ROOT / "examples" / "trio.yaml"), "--output-dir", str(tmp_path)])
    assert res.exit_code == 1
    assert "values.schema.json" in res.output and "/pooler/mode" in res.output
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]


def test_unwritable_output_is_one_clean_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for args in (["render", str(ROOT / "examples" / "single.yaml"), "--output-dir", str(blocker / "out")],
                 ["package", str(ROOT / "examples" / "single.yaml"), "-d", str(blocker / "out")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 1, res.output
        assert "cannot write" in res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)


def test_dotted_parameter_names_render(tmp_path):
    spec = _variant(tmp_path, "dotted.yaml", **{'statement_timeout: "60s"': 'statement_timeout: "60s"\n      pg_stat_statements.max: "10000"'})
    result = render.build(spec)
    pg = next(d for d in result.manifests if d["kind"] == "postgresql")
    assert pg["spec"]["postgresql"]["parameters"]["pg_stat_statements.max"] == "10000"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_explain_agrees_with_the_rendered_resource(example):
    """What explain says for a key the CR carries is what the CR renders (teamId was "" once)."""
    from chartgen import explain

    result = render.build(str(example))
    (cr,) = [d for d in result.manifests if d["kind"] == "postgresql"]
    assert explain.explain(str(example), "teamId").value == cr["spec"]["teamId"]
    assert explain.explain(str(example), "instances").value == cr["spec"]["numberOfInstances"]
    for key in ("archive_timeout", "shared_preload_libraries"):
        if key in cr["spec"]["postgresql"]["parameters"]:
            found = explain.explain(str(example), f"postgresql.parameters.{key}")
            assert found.value == cr["spec"]["postgresql"]["parameters"][key]
            assert "not a values key" in found.source


def test_explain_hints_and_indents(tmp_path):
    spec = str(ROOT / "examples" / "trio.yaml")
    res = runner.invoke(app, ["explain", spec, "--path", "spec.postgres.storage.size"])
    assert res.exit_code == 1 and "is a spec path" in res.output and "sets storage.size" in res.output
    res = runner.invoke(app, ["explain", spec, "--path", "resources"])
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert lines[1].startswith("  from: resources.")
    assert len(lines) > 2 and all(line.startswith("        resources.") for line in lines[2:])
    single = str(ROOT / "examples" / "single.yaml")
    res = runner.invoke(app, ["explain", single, "--path", "teamId", "--output", "json"])
    assert json.loads(res.stdout)["source"].startswith("formula: metadata.name")
