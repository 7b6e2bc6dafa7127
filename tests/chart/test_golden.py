"""Golden files: the full rendered output for three representative value sets, reviewed in diffs.

Regenerate after an intended template change with

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/chart/test_golden.py

and review the diff of tests/chart/golden/ like code. Secret values are redacted (generated ones are random
on every offline render).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from chartgen import manifests

from .conftest import CHART_DIR, S3_AWS, S3_MINIO, SERVICE_MONITOR_API

GOLDEN = Path(__file__).resolve().parent / "golden"

CASES = {
    # examples/trio.yaml: production, sync replication, S3 on AWS, metrics, Realtime slot
    "trio-s3-sync": dict(
        release="acme-db", namespace="supabase", api_versions=[SERVICE_MONITOR_API],
        values={
            "clusterName": "acme-db", "teamId": "acme", "instances": 3,
            "postgresql": {"version": "17", "parameters": {"statement_timeout": "60s", "shared_buffers": "2GB"}},
            "resources": {"requests": {"cpu": "1", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}},
            "storage": {"size": "100Gi", "storageClass": "gp3"},
            "patroni": {"synchronous_mode": True, "synchronous_node_count": 1},
            "pooler": {"instances": 2, "maxDBConnections": 120},
            "backup": {"enabled": True, "s3": S3_AWS, "schedule": "0 2 * * *", "retention": 14},
            "supabase": {"realtime": {"slots": ["supabase_realtime_replication_slot"]}, "services": {"enabled": True}},
            "monitoring": {"exporter": {"enabled": True}, "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
            "networkPolicy": {"allowedNamespaces": ["supabase-apps"], "metricsNamespaces": ["monitoring"]},
        }),
    # examples/pitr-restore.yaml: a new cluster restored from MinIO backups at a point in time
    "restore-minio-strict": dict(
        release="selfhost-db-restored", namespace="supabase", api_versions=[],
        values={
            "clusterName": "selfhost-db-restored",
            "patroni": {"synchronous_mode": True, "synchronous_mode_strict": True},
            "backup": {"enabled": True, "s3": S3_MINIO, "fromReplica": True, "compression": "zstd",
                       "maxDataLossSeconds": 120},
            "bootstrap": {"mode": "restore", "restore": {"cluster": "selfhost-db",
                                                         "targetTime": "2026-11-20T10:00:00+00:00"}},
            "supabase": {"jwt": {"existingSecret": "selfhost-db-jwt"},
                         "rootKey": {"existingSecret": "selfhost-db-root-key"}},
        }),
    # examples/single.yaml: development, one member, PG 15, no backups, no NetworkPolicy
    "single-dev-pg15": dict(
        release="dev-db", namespace="supabase-dev", api_versions=[],
        values={
            "instances": 1, "postgresql": {"version": "15"},
            "image": {"tag": "15-4.0-p3-supabase-15.8.1.085",
                      "digest": "sha256:4f5e2a0c9d1b7e6f3a8c2d5e9b0f1a4c7d3e6b9a2f5c8e1d4b7a0c3f6e9d2b5a"},
            "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "pooler": {"instances": 1},
            "networkPolicy": {"enabled": False},
            "supabase": {"extensions": ["pg_graphql", "pgcrypto", "pg_net"], "jwt": {"expiry": 7200}},
            "extraEnv": [{"name": "WALG_DELTA_MAX_STEPS", "value": "6"}],
        }),
}




def rendered(case: dict) -> str:
    docs = manifests.render(CHART_DIR, case["values"], release=case["release"], namespace=case["namespace"],
                            api_versions=case["api_versions"])
    assert manifests.validate(docs) == []
    return yaml.safe_dump_all(manifests.redact(docs), sort_keys=True, width=120)


@pytest.mark.parametrize("name", list(CASES))
def test_golden(name):
    case = CASES[name]
    outputs = {
        GOLDEN / f"{name}.yaml": rendered(case),
        GOLDEN / f"{name}.NOTES.txt": manifests.notes(CHART_DIR, case["values"], release=case["release"],
                                                      namespace=case["namespace"]),
    }
    for path, text in outputs.items():
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.write_text(text)
        assert path.is_file(), f"{path} is missing; run UPDATE_GOLDEN=1 pytest tests/chart/test_golden.py"
        assert path.read_text() == text, f"{path.name} differs; if intended, regenerate (see module docstring)"
