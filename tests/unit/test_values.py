"""spec -> values: presets, formulas, user overrides and provenance."""

from __future__ import annotations

from pathlib import Path

import yaml

from chartgen import presets, spec, tuning, values

ROOT = Path(__file__).resolve().parents[2]


def load(tmp_path: Path, text: str) -> spec.Spec:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return spec.load(str(p))


BASE = """\
apiVersion: chartgen/v1
kind: SupabaseDatabase
metadata: {name: db, namespace: ns}
spec:
  image: {repository: ghcr.io/a/b, tag: t1}
"""


def test_defaults_come_from_presets(tmp_path):
    v = values.build(load(tmp_path, BASE))
    assert v.data["instances"] == 3  # trio is the default topology
    assert v.sources["instances"].startswith("preset topologies.trio")
    small = presets.get("sizes", "small")
    assert v.data["resources"]["limits"]["memory"] == small["memory"]
    assert v.data["storage"]["size"] == small["storageFloor"]
    assert v.data["patroni"]["ttl"] == presets.get("failover", "balanced")["ttl"]
    assert v.data["bootstrap"] == {"mode": "fresh"}


def test_memory_formulas():
    p = tuning.derive_parameters(memory="8Gi", cpu_limit="4", max_connections=200, storage="100Gi")
    assert p["shared_buffers"][0] == "2048MB"
    assert p["effective_cache_size"][0] == "6144MB"
    assert p["maintenance_work_mem"][0] == "512MB"
    # (8192 - 2048) MiB / (3 * 200) = 10.24 MiB
    assert p["work_mem"][0] == "10MB"
    assert p["max_wal_size"][0] == "10240MB"
    assert p["max_parallel_workers"][0] == "4"


def test_small_memory_floors():
    p = tuning.derive_parameters(memory="512Mi", cpu_limit="250m", max_connections=100, storage="1Gi")
    assert p["maintenance_work_mem"][0] == "64MB"
    assert p["work_mem"][0] == "4MB"
    assert p["max_wal_size"][0] == "1024MB"
    assert p["max_worker_processes"][0] == "8"


def test_user_parameters_win_and_are_traced(tmp_path):
    v = values.build(load(tmp_path, BASE + "  postgres:\n    parameters: {work_mem: 64MB, statement_timeout: 30000}\n"))
    params = v.data["postgresql"]["parameters"]
    assert params["work_mem"] == "64MB"
    assert params["statement_timeout"] == "30000"  # numbers become the strings the CRD wants
    assert v.source("postgresql.parameters.work_mem") == "spec: spec.postgres.parameters.work_mem"
    assert v.source("postgresql.parameters.shared_buffers").startswith("formula:")


def test_resources_override(tmp_path):
    v = values.build(load(tmp_path, BASE + "  postgres:\n    size: medium\n    resources: {limits: {memory: 16Gi}}\n"))
    assert v.data["resources"]["limits"]["memory"] == "16Gi"
    assert v.data["resources"]["requests"]["memory"] == presets.get("sizes", "medium")["memory"]
    # Derived parameters follow the overridden memory.
    assert v.data["postgresql"]["parameters"]["shared_buffers"] == "4096MB"


def test_max_connections_leave_room_for_the_pooler(tmp_path):
    v = values.build(load(tmp_path, BASE + "  postgres: {size: xsmall}\n  pooler: {maxDBConnections: 150}\n"))
    assert int(v.data["postgresql"]["parameters"]["max_connections"]) == 150 + values.RESERVED_CONNECTIONS
    assert "pooler.maxDBConnections" in v.source("postgresql.parameters.max_connections")


def test_every_preset_respects_patroni_rules():
    for name, p in presets.load("failover").items():
        assert p["ttl"] >= 20, name
        assert p["loop_wait"] + 2 * p["retry_timeout"] <= p["ttl"], name


def test_every_size_keeps_pooler_under_max_connections():
    for name, size in presets.load("sizes").items():
        assert size["pooler"]["maxDBConnections"] + values.RESERVED_CONNECTIONS <= size["maxConnections"], name


def test_restore_source_defaults_to_backup_target():
    s = spec.load(str(ROOT / "examples" / "pitr-restore.yaml"))
    v = values.build(s)
    assert v.data["bootstrap"]["mode"] == "restore"
    restore = v.data["bootstrap"]["restore"]
    assert restore["cluster"] == "selfhost-db"
    assert restore["s3"]["bucket"] == s.data["spec"]["backup"]["s3"]["bucket"]
    assert restore["targetTime"] == "2026-11-20T10:00:00+00:00"


def test_every_example_builds_values_with_a_source_for_each_leaf():
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        v = values.build(spec.load(str(example)))

        def leaves(node, prefix=""):
            for k, val in node.items():
                if isinstance(val, dict) and val:
                    yield from leaves(val, values.join(prefix, k))
                else:
                    yield values.join(prefix, k)

        missing = [p for p in leaves(v.data) if p not in v.sources]
        assert not missing, (example.name, missing)
        yaml.safe_dump(v.data)  # plain data only


def test_metadata_labels_and_annotations_reach_the_chart(tmp_path):
    text = BASE.replace("metadata: {name: db, namespace: ns}",
                        "metadata: {name: db, namespace: ns, labels: {team: a}, annotations: {owner: b}}")
    v = values.build(load(tmp_path, text))
    assert v.data["labels"] == {"team": "a"} and v.data["annotations"] == {"owner": "b"}
    assert v.source("labels.team") == "spec: metadata.labels"


def test_dotted_parameter_names_stay_one_parameter(tmp_path):
    text = BASE + '  postgres:\n    parameters: {pg_stat_statements.max: "10000", "auto_explain.log_min_duration": 500ms}\n'
    v = values.build(load(tmp_path, text))
    params = v.data["postgresql"]["parameters"]
    assert params["pg_stat_statements.max"] == "10000"
    assert params["auto_explain.log_min_duration"] == "500ms"
    assert "pg_stat_statements" not in params
    assert v.source('postgresql.parameters["pg_stat_statements.max"]') == \
        'spec: spec.postgres.parameters["pg_stat_statements.max"]'
    assert values.split('postgresql.parameters["pg_stat_statements.max"]') == \
        ["postgresql", "parameters", "pg_stat_statements.max"]
    from chartgen.chart import commented_yaml

    text = commented_yaml(v.data, v.sources)
    assert '# spec: spec.postgres.parameters["pg_stat_statements.max"]\n    pg_stat_statements.max: "10000"' in text


def test_unread_slots_cannot_fill_the_volume():
    p = tuning.derive_parameters(memory="8Gi", cpu_limit="4", max_connections=200, storage="100Gi")
    assert p["max_slot_wal_keep_size"][0] == "25600MB"


def test_operator_pod_labels_replace_the_chart_default(tmp_path):
    from chartgen import chart

    text = BASE + "  networkPolicy:\n    operator: {namespace: default, podLabels: {name: postgres-operator}}\n"
    merged = chart.merged_values(values.build(load(tmp_path, text)))
    assert merged["operator"]["podLabels"] == {"name": "postgres-operator"}
    assert merged["operator"]["namespace"] == "default"
    # Without a spec value the chart's default labels stay.
    merged = chart.merged_values(values.build(load(tmp_path, BASE)))
    assert merged["operator"]["podLabels"] == {"app.kubernetes.io/name": "postgres-operator"}
