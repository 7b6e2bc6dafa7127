"""Fixtures for the chart tests: the chart directory, rendering with the real Helm engine, value sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from chartgen import manifests

CHART_DIR = Path(__file__).resolve().parents[2] / "charts" / "spilo-supabase"
SERVICE_MONITOR_API = "monitoring.coreos.com/v1"

S3_AWS = {"bucket": "acme-db-backups", "region": "eu-central-1", "credentials": {"secretName": "acme-db-s3"}}
S3_MINIO = {
    "bucket": "supabase-backups",
    "endpoint": "https://minio.minio.svc:9000",
    "region": "us-east-1",
    "forcePathStyle": True,
    "disableSSE": True,
    "caBundle": {"secretName": "minio-ca"},
    "credentials": {"secretName": "minio-creds", "accessKeyIdKey": "user", "secretAccessKeyKey": "pass"},
}
GCS = {"bucket": "shop-db-wal", "credentials": {"secretName": "shop-db-gcs"}}
AZURE = {"storageAccount": "acmebackups", "container": "wal", "credentials": {"secretName": "acme-az"}}
TARGETS = {"s3": S3_AWS, "gcs": GCS, "azure": AZURE}


@pytest.fixture(scope="session")
def chart_dir() -> Path:
    return CHART_DIR


@pytest.fixture(scope="session")
def render():
    """render(values, **kw) -> list of objects; the chart is loaded once per session."""

    def _render(values: dict, **kw) -> list[dict]:
        kw.setdefault("release", "db")
        kw.setdefault("namespace", "supabase")
        return manifests.render(CHART_DIR, values, **kw)

    return _render


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def cr(docs: list[dict]) -> dict:
    (found,) = of_kind(docs, "postgresql")
    return found


def env_of(docs: list[dict]) -> dict[str, dict]:
    return {e["name"]: e for e in cr(docs)["spec"].get("env", [])}
