"""Stamping and writing charts: deterministic bytes, commented values that parse back, atomic writes."""

from __future__ import annotations


import pytest
import yaml

from chartgen import chart, output
from chartgen.dicts import deep_merge
from chartgen.errors import RenderError


def test_commented_yaml_round_trips():
    data = {"a": {"b": "x: y", "c": [1, "two", {"d": None}], "e": {}}, "weird key!": True, "n": 1.5}
    text = chart.commented_yaml(data, {"a.b": "spec: spec.a"})
    assert yaml.safe_load(text) == data
    assert "# spec: spec.a\n  b:" in text
    assert "# chart default" in text


def test_deep_merge_is_helm_like():
    assert deep_merge({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": 3}, "l": [2]}) == {"a": {"b": 3, "c": 2}, "l": [2]}


def test_stamp_chart_yaml_sets_identity_and_annotations():
    base = b"apiVersion: v2\nname: spilo-supabase\nversion: 0.1.0\nannotations:\n  x: y\n"
    out = yaml.safe_load(chart.stamp_chart_yaml(base, name="acme", version="1.2.3", app_version="t", digest="abc"))
    assert (out["name"], out["version"], out["appVersion"]) == ("acme", "1.2.3", "t")
    assert out["annotations"]["chartgen.io/spec-sha256"] == "abc"
    assert out["annotations"]["chartgen.io/base-chart"] == "spilo-supabase-0.1.0"
    assert out["annotations"]["x"] == "y"


@pytest.mark.parametrize("bad", ["1.0", "v1.0.0", "01.0.0", "1.0.0-"])
def test_version_must_be_semver(bad):
    with pytest.raises(RenderError):
        chart.chart_version({"metadata": {"name": "x"}}, bad)


def test_version_is_required():
    with pytest.raises(RenderError, match="chart.version"):
        chart.chart_version({"metadata": {"name": "x"}}, None)


def test_write_chart_replaces_its_own_directory(tmp_path):
    out = tmp_path / "out"
    output.write_chart({"a": b"1", "sub/b": b"2"}, out, "c")
    output.write_chart({"a": b"new"}, out, "c")
    assert output.read_tree(out / "c") == {"a": b"new"}
    assert sorted(p.name for p in out.iterdir()) == ["c"]


def test_unified_diff_names_files():
    text = output.unified_diff({"values.yaml": b"a: 2\n"}, {"values.yaml": b"a: 1\n", "extra": b"x\n"}, "dist/c")
    assert "--- dist/c/values.yaml" in text and "+a: 2" in text and "-a: 1" in text
    assert "--- dist/c/extra" in text and "+++ /dev/null" in text
    assert output.unified_diff({"a": b"1"}, {"a": b"1"}, "x") == ""


def test_artifact_hub_lists_the_specs_image():
    base = (b"apiVersion: v2\nname: spilo-supabase\nversion: 0.1.0\nannotations:\n  artifacthub.io/images: |\n"
            b"    - name: spilo-supabase\n      image: ghcr.io/placeholder/x:1\n"
            b"    - name: postgres-exporter\n      image: quay.io/e:v1\n")
    out = yaml.safe_load(chart.stamp_chart_yaml(
        base, name="a", version="1.0.0", app_version="t", digest="d",
        image={"repository": "ghcr.io/acme/img", "tag": "t", "digest": "sha256:" + "a" * 64}))
    images = yaml.safe_load(out["annotations"]["artifacthub.io/images"])
    assert images[0] == {"name": "spilo-supabase", "image": "ghcr.io/acme/img:t@sha256:" + "a" * 64}
    assert images[1] == {"name": "postgres-exporter", "image": "quay.io/e:v1"}


def test_same_meaning_same_chart_bytes(tmp_path):
    """A comment, key order, quoting or a spelled-out default does not change the chart; a value does."""
    from pathlib import Path

    from typer.testing import CliRunner

    from chartgen import render
    from chartgen.cli import app

    original = (Path(__file__).resolve().parents[2] / "examples" / "trio.yaml").read_text()
    a = tmp_path / "a.yaml"
    a.write_text(original)
    b = tmp_path / "b.yaml"
    edited = "# a new comment at the top\n" + original.replace("kind: SupabaseDatabase",
                                                              "kind: 'SupabaseDatabase'   # quoted now")
    assert "topology: trio" in edited
    b.write_text(edited.replace("topology: trio", "topology: trio  # spelled out"))
    assert render.build(str(a)).files == render.build(str(b)).files
    out = tmp_path / "dist"
    assert CliRunner().invoke(app, ["render", str(a), "--output-dir", str(out)]).exit_code == 0
    res = CliRunner().invoke(app, ["render", str(b), "--output-dir", str(out), "--check"])
    assert res.exit_code == 0, res.output
    c = tmp_path / "c.yaml"
    c.write_text(original.replace("acme-db-backups", "acme-db-backups-2"))
    assert chart.spec_digest(render.build(str(c)).spec.data) != chart.spec_digest(render.build(str(a)).spec.data)


def test_canonical_spec_keeps_types_apart():
    assert chart.spec_digest({"v": "17"}) != chart.spec_digest({"v": 17})
    assert chart.spec_digest({"a": 1, "b": 2}) == chart.spec_digest({"b": 2, "a": 1})
