"""chartgen.manifests: render, validate and lint as a library, against the real Helm engine and schemas."""

from __future__ import annotations

import copy
import shutil

import pytest

from chartgen import manifests
from chartgen.errors import RenderError

from .conftest import cr


def test_crd_schema_copy_is_identical_to_the_shared_one(crd_schema_path):
    assert manifests.CRD_SCHEMA.read_bytes() == crd_schema_path.read_bytes()


def test_default_values_render_valid_objects(render):
    docs = render({})
    assert {d["kind"] for d in docs} == {"postgresql", "Secret", "ConfigMap", "NetworkPolicy", "Pod"}
    assert manifests.validate(docs) == []


def test_validate_reports_crd_violations_with_object_and_path(render):
    docs = render({})
    broken = copy.deepcopy(cr(docs))
    broken["spec"]["numberOfInstance"] = 3
    broken["spec"]["postgresql"]["parameters"]["max_connections"] = 100
    problems = manifests.validate([broken])
    assert any(p.startswith("postgresql/db: spec: ") and "numberOfInstance" in p for p in problems)
    assert any("spec.postgresql.parameters.max_connections" in p for p in problems)


def test_validate_checks_built_in_kinds_strictly(render):
    docs = render({})
    secret = copy.deepcopy(next(d for d in docs if d["kind"] == "Secret"))
    secret["metadata"]["lables"] = {}
    problems = manifests.validate([secret])
    assert len(problems) == 1 and "lables" in problems[0] and problems[0].startswith("Secret/db-supabase-jwt")


def test_validate_applies_operator_rules_outside_the_crd(render):
    doc = copy.deepcopy(cr(render({})))
    doc["metadata"]["name"] = "a" * 52
    doc["spec"]["env"] = [{"name": "wal_s3_bucket", "value": "x"}, {"name": "SCOPE", "value": "y"}]
    problems = "\n".join(manifests.validate([doc]))
    assert "longer than 51" in problems
    assert "'wal_s3_bucket' is not UPPER CASE" in problems
    assert "SCOPE is dropped by the operator" in problems


def test_validate_names_unknown_kinds_and_versions():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    assert manifests.validate([cm], "1.31") == []
    assert "does not support version 1.20" in manifests.validate([cm], "1.20")[0]
    assert "no schema for example.com/v1 Thing" in manifests.validate(
        [{"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "x"}}])[0]


@pytest.mark.parametrize("values_check", ["helm", "python"])
def test_values_typo_is_a_render_error_naming_the_path(render, values_check):
    with pytest.raises(RenderError) as err:
        render({"pooler": {"instancs": 2}}, values_check=values_check)
    assert "'/pooler'" in str(err.value) and "instancs" in str(err.value)
    with pytest.raises(RenderError) as err:
        render({"postgresql": {"version": "16"}}, values_check=values_check)
    assert "'/postgresql/version'" in str(err.value)


def test_both_values_checks_render_the_same(render):
    values = {"instances": 2, "backup": {"enabled": True, "s3": {"bucket": "abc-backups"}}}
    assert manifests.redact(render(values, values_check="python")) == manifests.redact(render(values, values_check="helm"))


def test_template_fail_is_a_render_error_with_the_message(render):
    with pytest.raises(RenderError) as err:
        render({"backup": {"enabled": True}})
    assert "backup.enabled is true but no target is set" in str(err.value)


def test_packaged_chart_renders_like_the_directory(render, chart_dir, tmp_path):
    import helm_python

    tgz = helm_python.package(str(chart_dir), destination=str(tmp_path))
    values = {"instances": 2}
    assert manifests.redact(manifests.render(tgz, values, release="db", namespace="supabase")) == manifests.redact(render(values))


def test_lint_is_clean(chart_dir):
    assert manifests.lint(chart_dir, {}) == []


def test_lint_reports_a_broken_template(chart_dir, tmp_path):
    broken = tmp_path / "spilo-supabase"
    shutil.copytree(chart_dir, broken)
    (broken / "templates" / "broken.yaml").write_text("kind: ConfigMap\n  bad: [\n")
    problems = manifests.lint(broken, {})
    assert problems and problems[0].startswith("ERROR")


def test_missing_chart_is_a_render_error(tmp_path):
    with pytest.raises(RenderError, match="chart not found"):
        manifests.render(tmp_path / "nope", {})
