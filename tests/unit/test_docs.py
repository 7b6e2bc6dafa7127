"""The reference docs are generated: the committed copy must be what the schema gives, and --check says so."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from chartgen import specdocs
from chartgen.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def schema() -> dict:
    return json.loads((ROOT / specdocs.SOURCE).read_text())


def test_committed_spec_reference_is_up_to_date():
    committed = (ROOT / specdocs.OUTPUT).read_text(encoding="utf-8")
    assert committed == specdocs.render_repo(ROOT), (
        f"{specdocs.OUTPUT} is stale: run `chartgen docs` and commit the result")


def _leaf_paths(node: dict, defs: dict, prefix: str = "") -> list[str]:
    out = []
    for key, child in node.get("properties", {}).items():
        while "$ref" in child:
            child = {**defs[child["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in child.items() if k != "$ref"}}
        path = f"{prefix}.{key}" if prefix else key
        out.append(path)
        out += _leaf_paths(child, defs, path)
    return out


def test_every_schema_field_is_documented_with_type_and_description():
    s = schema()
    text = specdocs.render(s)
    paths = _leaf_paths(s, s["$defs"])
    assert len(paths) > 80  # $refs are followed: the S3 target appears under backup, restore and standby
    for path in paths:
        assert re.search(rf"^#{{2,6}} {re.escape(path)}$", text, re.MULTILINE), path
    for f in specdocs.fields(s):
        assert f.type and f.description, f.path


def test_field_details_come_from_the_schema():
    fields = {f.path: f for f in specdocs.fields(schema(), [{"spec": {"backup": {"s3": {"bucket": "wal-bkt"}}}}])}
    topo = fields["spec.topology"]
    assert (topo.type, topo.default) == ("string", "trio")
    assert topo.allowed == "`single`, `duo`, `trio`"
    assert fields["spec.postgres.version"].default == "'17'"  # quoted: it is a string, as YAML needs it
    assert fields["apiVersion"].required and fields["apiVersion"].allowed == "`chartgen/v1` only"
    assert "SemVer" in fields["chart.version"].allowed
    assert fields["spec.pooler.instances"].allowed == "1 to 20"
    # Examples: the schema's, else an example spec's (also under a twin path sharing the definition).
    assert fields["metadata.name"].example == "name: acme-db"
    assert fields["spec.backup.s3.bucket"].example == "bucket: wal-bkt"
    assert fields["spec.restore.s3.bucket"].example == "bucket: wal-bkt"
    assert fields["spec.image"].example.startswith("image: {repository: ")


def _copy_tree(tmp: Path) -> Path:
    root = tmp / "repo"
    shutil.copytree(ROOT / "schemas", root / "schemas")
    shutil.copytree(ROOT / "examples", root / "examples")
    (root / specdocs.SIZES).parent.mkdir(parents=True)
    shutil.copy(ROOT / specdocs.SIZES, root / specdocs.SIZES)
    (root / "docs").mkdir()
    (root / specdocs.OUTPUT).write_text(specdocs.render_repo(ROOT))
    return root


def test_docs_check_fails_with_a_diff_when_the_schema_changes(tmp_path):
    root = _copy_tree(tmp_path)
    res = runner.invoke(app, ["docs", "--root", str(root), "--check"])
    assert res.exit_code == 0, res.output
    assert "docs/spec-reference.md is up to date" in res.output

    changed = json.loads((root / specdocs.SOURCE).read_text())
    changed["properties"]["spec"]["properties"]["topology"]["description"] = "How many instances, newly worded."
    (root / specdocs.SOURCE).write_text(json.dumps(changed))
    res = runner.invoke(app, ["docs", "--root", str(root), "--check"])
    assert res.exit_code == 1
    assert "+How many instances, newly worded." in res.output
    assert "docs/spec-reference.md is out of date: run chartgen docs" in res.output

    res = runner.invoke(app, ["docs", "--root", str(root)])
    assert res.exit_code == 0 and "wrote docs/spec-reference.md" in res.output
    assert "How many instances, newly worded." in (root / specdocs.OUTPUT).read_text()
    assert runner.invoke(app, ["docs", "--root", str(root), "--check"]).exit_code == 0


def test_docs_without_a_chart_says_the_readme_was_skipped(tmp_path):
    root = _copy_tree(tmp_path)
    res = runner.invoke(app, ["docs", "--root", str(root), "--output", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["files"] == [{"file": "docs/spec-reference.md", "upToDate": True}]
    assert len(data["skipped"]) == 1 and "charts/spilo-supabase/README.md, values.yaml: skipped" in data["skipped"][0]


def test_docs_regenerates_a_stale_chart_readme(tmp_path):
    root = _copy_tree(tmp_path)
    shutil.copytree(ROOT / "charts" / "spilo-supabase", root / "charts" / "spilo-supabase")
    readme = root / "charts" / "spilo-supabase" / "README.md"
    readme.write_text("hand-edited\n")
    res = runner.invoke(app, ["docs", "--root", str(root), "--check"])
    try:
        import chartgen.chartdocs  # noqa: F401
    except ImportError:
        assert res.exit_code == 0 and "chartgen.chartdocs is not available" in res.output
        return
    assert res.exit_code == 1 and "-hand-edited" in res.output
    assert runner.invoke(app, ["docs", "--root", str(root)]).exit_code == 0
    assert readme.read_text() != "hand-edited\n"
    assert runner.invoke(app, ["docs", "--root", str(root), "--check"]).exit_code == 0


def test_docs_regenerates_the_chart_values_yaml_and_names_itself(tmp_path):
    root = _copy_tree(tmp_path)
    shutil.copytree(ROOT / "charts" / "spilo-supabase", root / "charts" / "spilo-supabase")
    values = root / "charts" / "spilo-supabase" / "values.yaml"
    values.write_text("instances: 9\n")
    res = runner.invoke(app, ["docs", "--root", str(root), "--check"])
    assert res.exit_code == 1 and "charts/spilo-supabase/values.yaml is out of date" in res.output
    assert runner.invoke(app, ["docs", "--root", str(root)]).exit_code == 0
    assert "by `chartgen docs`" in values.read_text()
    readme = (root / "charts" / "spilo-supabase" / "README.md").read_text()
    assert "Generated by `chartgen docs`" in readme and "python -m" not in readme


def test_docs_outside_a_source_tree_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["docs", "--root", str(tmp_path)])
    assert res.exit_code == 1 and "not a chartgen source tree" in res.output


def test_readme_size_table_matches_the_presets():
    """The README's size table quotes chartgen/presets/sizes.yaml; a preset change must update it."""
    import yaml as _yaml

    readme = (ROOT / "README.md").read_text()
    sizes = _yaml.safe_load((ROOT / "chartgen" / "presets" / "sizes.yaml").read_text())
    for name, size in sizes.items():
        row = next(line for line in readme.splitlines() if line.strip().startswith(f"| `{name}`"))
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        assert cells[1:] == [f"{size['cpu']['request']} / {size['cpu']['limit']}", size["memory"],
                             size["storageFloor"], str(size["pooler"]["maxDBConnections"])], row
    assert "## Size presets" in (ROOT / "docs" / "spec-reference.md").read_text()


def test_readme_installs_only_what_exists():
    readme = (ROOT / "README.md").read_text()
    assert "pip install spilo-supabase-chartgen" not in readme  # not published to PyPI
    assert "pip wheel --no-deps" in readme and "**values library**" in readme
