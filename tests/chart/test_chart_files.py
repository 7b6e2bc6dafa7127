"""Chart.yaml, the generated values.yaml and README.md, and the Kubernetes versions the chart admits."""

from __future__ import annotations

import json

import pytest
import yaml

from chartgen import chartdocs, manifests
from chartgen.errors import RenderError


def test_values_yaml_and_readme_are_generated_from_the_schema(chart_dir):
    # refresh: python -m chartgen.chartdocs charts/spilo-supabase --write
    assert chartdocs.stale(chart_dir) == []


def test_values_yaml_is_exactly_the_schema_defaults(chart_dir):
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    schema = json.loads((chart_dir / "values.schema.json").read_text())
    assert list(values) == [k for k, v in schema["properties"].items() if "default" in v]
    assert values["instances"] == schema["properties"]["instances"]["default"]
    assert values["supabase"]["users"] == schema["properties"]["supabase"]["properties"]["users"]["default"]


def test_readme_documents_every_value(chart_dir):
    readme = chartdocs.chart_readme(chart_dir)
    for path in ("clusterName", "backup.s3.bucket", "backup.s3.credentials", "bootstrap.restore.targetTime",
                 "supabase.rootKey.existingSecret", "monitoring.serviceMonitor.force", "topologySpread.zone"):
        assert f"| `{path}` |" in readme


def test_stale_docs_are_detected(chart_dir, tmp_path):
    import shutil

    copy = tmp_path / "spilo-supabase"
    shutil.copytree(chart_dir, copy)
    schema = json.loads((copy / "values.schema.json").read_text())
    schema["properties"]["instances"]["default"] = 5
    (copy / "values.schema.json").write_text(json.dumps(schema))
    assert chartdocs.stale(copy) == ["README.md", "values.yaml"]
    assert chartdocs.main([str(copy)]) == 1
    assert chartdocs.main([str(copy), "--write"]) == 0 and chartdocs.stale(copy) == []


def test_every_schema_object_is_closed(chart_dir):
    schema = json.loads((chart_dir / "values.schema.json").read_text())
    open_objects = []

    def walk(node, path):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(path)
            for key, child in node.items():
                walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{path}/{i}")

    walk(schema, "")
    assert open_objects == []


def test_chart_yaml_metadata(chart_dir):
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == chart_dir.name
    ann = chart["annotations"]
    images = yaml.safe_load(ann["artifacthub.io/images"])
    assert {i["name"] for i in images} == {"spilo-supabase", "postgres-exporter"}
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    default_image = f"{values['image']['repository']}:{values['image']['tag']}"
    exporter = values["monitoring"]["exporter"]["image"]
    assert {i["image"] for i in images} == {default_image, f"{exporter['repository']}:{exporter['tag']}"}
    assert chart["appVersion"] == values["image"]["tag"]
    assert ann["artifacthub.io/license"] == "Apache-2.0"
    links = yaml.safe_load(ann["artifacthub.io/links"])
    assert any("postgres-operator" in link["url"] and "v2.0.1" in link["name"] for link in links)


@pytest.mark.parametrize("kube_version", ["v1.27.0", "v1.31.0", "v1.34.0"])
def test_admitted_kubernetes_versions(render, kube_version):
    docs = render({}, kube_version=kube_version)
    assert manifests.validate(docs, kube_version) == []


def test_too_old_kubernetes_is_refused(render):
    with pytest.raises(RenderError, match="kubeVersion"):
        render({}, kube_version="v1.25.0")
