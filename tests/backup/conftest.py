"""Specs for the backup tests, rendered through chartgen exactly as `chartgen render` does."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from chartgen import render

BASE = {
    "apiVersion": "chartgen/v1",
    "kind": "SupabaseDatabase",
    "metadata": {"name": "acme-db", "namespace": "supabase"},
    "spec": {"topology": "single", "postgres": {"version": "17", "size": "small"},
             "image": {"repository": "ghcr.io/acme/spilo-supabase", "tag": "17-4.0-p3-supabase-15.8.1.085"}},
    "chart": {"version": "1.0.0"},
}
AWS = {"bucket": "acme-backups", "region": "eu-central-1", "credentials": {"secretName": "acme-s3"}}
MINIO = {"bucket": "supabase-backups", "endpoint": "https://minio.minio.svc:9000", "region": "us-east-1",
         "caBundle": {"secretName": "minio-ca"},
         "credentials": {"secretName": "minio-creds", "accessKeyIdKey": "user", "secretAccessKeyKey": "pass"}}
GCS = {"bucket": "acme-wal", "credentials": {"secretName": "acme-gcs"}}
AZURE = {"storageAccount": "acmebackups", "container": "wal", "credentials": {"secretName": "acme-az"}}


def spec(name: str = "acme-db", **sections) -> dict:
    data = copy.deepcopy(BASE)
    data["metadata"]["name"] = name
    data["spec"].update(copy.deepcopy(sections))
    source = (sections.get("restore") or sections.get("standby") or {}).get("cluster")
    if source and "supabase" not in sections:
        # A restore or standby needs the source's root key (an error otherwise) and JWT secret (a warning).
        data["spec"]["supabase"] = {"jwt": {"existingSecret": f"{source}-supabase-jwt"},
                                    "rootKey": {"existingSecret": f"{source}-supabase-root-key"}}
    return data


def secret(name: str, key: str) -> dict:
    return {"valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


@pytest.fixture
def write(tmp_path):
    def _write(data: dict, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path
    return _write


@pytest.fixture
def build(write):
    """build(spec dict) -> the rendered postgresql CR (validated by the render's own strict self-check)."""
    def _build(data: dict) -> dict:
        result = render.build(str(write(data)))
        (cr,) = [d for d in result.manifests if d["kind"] == "postgresql"]
        cr["_manifests"] = result.manifests
        return cr
    return _build


def env_list(cr: dict) -> list[dict]:
    return cr["spec"].get("env", [])


def env_map(cr: dict) -> dict[str, dict]:
    out = {}
    for e in env_list(cr):
        assert e["name"] not in out, f"{e['name']} rendered twice"
        out[e["name"]] = {k: v for k, v in e.items() if k != "name"}
    return out
