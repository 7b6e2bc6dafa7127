"""Pooler resources, scheduling (tolerations, node affinity, priority class, host spread) and TLS: from the
spec to the postgresql resource, checked strictly against the operator's CRD (../shared/crds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chartgen import manifests, presets, render
from chartgen.quantity import to_bytes, to_cores

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT.parent / "shared" / "crds" / "postgresql.acid.zalan.do-v1.schema.json"

BASE = {"apiVersion": "chartgen/v1", "kind": "SupabaseDatabase",
        "metadata": {"name": "acme-db", "namespace": "supabase"},
        "spec": {"topology": "trio", "postgres": {"version": "17", "size": "small"},
                 "image": {"repository": "ghcr.io/acme/spilo-supabase", "tag": "17-4.0-p3-supabase-15.8.1.085"}},
        "chart": {"version": "1.0.0"}}

#: postgres-operator v2.0.1 manifests/configmap.yaml: connection_pooler_default_cpu_request "500m",
#: connection_pooler_default_cpu_limit "1", connection_pooler_default_memory_request/limit 100Mi.
OPERATOR_POOLER_DEFAULT = {"cpu_request": 0.5, "cpu_limit": 1.0, "memory": 100 * 2**20}


def build(tmp_path: Path, **spec) -> dict:
    data = json.loads(json.dumps(BASE))
    data["spec"].update(spec)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    result = render.build(str(path))
    (cr,) = [d for d in result.manifests if d["kind"] == "postgresql"]
    assert manifests.validate([cr]) == []
    _strict_against_shared_crd(cr)
    return cr


def _strict_against_shared_crd(cr: dict) -> None:
    import jsonschema

    schema = json.loads(CRD.read_text())
    jsonschema.Draft202012Validator(schema).validate(cr)


@pytest.mark.parametrize("size", sorted(presets.load("sizes")))
def test_pooler_presets_are_at_least_the_operators_default(size):
    pooler = presets.get("sizes", size)["pooler"]
    assert to_cores(pooler["cpu"]["request"]) >= OPERATOR_POOLER_DEFAULT["cpu_request"], size
    assert to_cores(pooler["cpu"]["limit"]) >= OPERATOR_POOLER_DEFAULT["cpu_limit"], size
    assert to_bytes(pooler["memory"]) >= OPERATOR_POOLER_DEFAULT["memory"], size


@pytest.mark.parametrize("size", ["xsmall", "small"])
def test_small_sizes_render_an_unthrottled_pooler(tmp_path, size):
    cr = build(tmp_path, postgres={"version": "17", "size": size})
    res = cr["spec"]["connectionPooler"]["resources"]
    assert to_cores(res["requests"]["cpu"]) >= 0.5 and to_cores(res["limits"]["cpu"]) >= 1


def test_pooler_resources_from_the_spec(tmp_path):
    cr = build(tmp_path, pooler={"resources": {"requests": {"cpu": "750m"}, "limits": {"memory": "200Mi"}}})
    assert cr["spec"]["connectionPooler"]["resources"] == {
        "requests": {"cpu": "750m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "200Mi"}}


def test_scheduling_and_tls_reach_the_resource(tmp_path):
    tolerations = [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]
    affinity = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["db"]}]}]}}
    cr = build(tmp_path, scheduling={"tolerations": tolerations, "nodeAffinity": affinity,
                                     "priorityClassName": "db-critical"},
               tls={"secretName": "acme-db-tls", "caSecretName": "acme-ca"})
    spec = cr["spec"]
    assert spec["tolerations"] == tolerations and spec["nodeAffinity"] == affinity
    assert spec["podPriorityClassName"] == "db-critical"
    assert spec["tls"] == {"secretName": "acme-db-tls", "caSecretName": "acme-ca", "caFile": "ca.crt"}


def test_nothing_is_rendered_without_the_settings(tmp_path):
    spec = build(tmp_path)["spec"]
    assert not {"tolerations", "nodeAffinity", "podPriorityClassName", "tls"} & set(spec)


@pytest.mark.parametrize(("host_spread", "when"), [(None, "DoNotSchedule"), ("required", "DoNotSchedule"),
                                                   ("preferred", "ScheduleAnyway")])
def test_host_spread_has_a_way_out_for_one_node_clusters(tmp_path, host_spread, when):
    cr = build(tmp_path, **({"scheduling": {"hostSpread": host_spread}} if host_spread else {}))
    host = [c for c in cr["spec"]["topologySpreadConstraints"] if c["topologyKey"] == "kubernetes.io/hostname"]
    assert [c["whenUnsatisfiable"] for c in host] == [when]
