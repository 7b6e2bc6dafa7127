"""Supabase's JWT secret and root key: generated once and kept, or existing; never plain text in values."""

from __future__ import annotations

import base64
import json
import re

from chartgen import manifests

from .conftest import S3_MINIO, cr, of_kind


def projected(docs) -> dict[str, tuple[str, str]]:
    """path in the secrets directory -> (kind:name, key)."""
    (volume,) = [v for v in cr(docs)["spec"]["additionalVolumes"] if v["name"] == "supabase-secrets"]
    out = {}
    for source in volume["volumeSource"]["projected"]["sources"]:
        (kind, ref), = source.items()
        for item in ref["items"]:
            out[item["path"]] = (f"{kind}:{ref['name']}", item["key"])
    return out


def test_generated_secrets_are_kept_and_well_formed(render):
    docs = render({"clusterName": "acme-db"})
    secrets = {s["metadata"]["name"]: s for s in of_kind(docs, "Secret")}
    assert set(secrets) == {"acme-db-supabase-jwt", "acme-db-supabase-root-key"}
    for secret in secrets.values():
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    root_key = base64.b64decode(secrets["acme-db-supabase-root-key"]["data"]["key"]).decode()
    assert re.fullmatch(r"[0-9a-f]{64}", root_key)  # what the image's supabase-root-key accepts
    jwt = base64.b64decode(secrets["acme-db-supabase-jwt"]["data"]["secret"]).decode()
    assert re.fullmatch(r"[A-Za-z0-9]{64}", jwt)


def test_secret_files_land_where_the_image_reads_them(render):
    docs = render({"clusterName": "acme-db"})
    (volume,) = [v for v in cr(docs)["spec"]["additionalVolumes"] if v["name"] == "supabase-secrets"]
    assert volume["mountPath"] == "/run/secrets/supabase"  # image/bootstrap/defaults.env SUPABASE_SECRETS_DIR
    assert "targetContainers" not in volume  # the operator then mounts it in the PostgreSQL container only
    assert projected(docs) == {
        "JWT_SECRET": ("secret:acme-db-supabase-jwt", "secret"),
        "root-key": ("secret:acme-db-supabase-root-key", "key"),
        "POSTGRES_PASSWORD": ("secret:supabase-admin.acme-db.credentials.postgresql.acid.zalan.do", "password"),
        "JWT_EXP": ("configMap:acme-db-supabase", "JWT_EXP"),
    }
    params = cr(docs)["spec"]["postgresql"]["parameters"]
    assert params["pgsodium.getkey_script"] == params["vault.getkey_script"] == "/usr/local/bin/supabase-root-key"


def test_existing_secrets_are_referenced_not_created(render):
    docs = render({"supabase": {"jwt": {"existingSecret": "my-jwt"}, "rootKey": {"existingSecret": "my-root-key"}}})
    assert of_kind(docs, "Secret") == []
    files = projected(docs)
    assert files["JWT_SECRET"] == ("secret:my-jwt", "secret")
    assert files["root-key"] == ("secret:my-root-key", "key")
    assert manifests.validate(docs) == []


def test_one_existing_one_generated(render):
    docs = render({"supabase": {"rootKey": {"existingSecret": "my-root-key"}}})
    assert [s["metadata"]["name"] for s in of_kind(docs, "Secret")] == ["db-supabase-jwt"]


def test_jwt_expiry_is_a_file_not_a_secret(render):
    docs = render({"supabase": {"jwt": {"expiry": 7200}}})
    (cm,) = of_kind(docs, "ConfigMap")
    assert cm["data"]["JWT_EXP"] == "7200"


def test_no_credential_is_ever_a_literal_value(render):
    values = {"backup": {"enabled": True, "s3": S3_MINIO},
              "bootstrap": {"mode": "restore", "restore": {"cluster": "old-db", "targetTime": "2026-01-01T00:00:00+00:00"}},
              "monitoring": {"exporter": {"enabled": True}}}
    docs = render(values)
    spec = cr(docs)["spec"]
    secretish = re.compile(r"(SECRET|PASSWORD|PASS|ACCESS_KEY|CREDENTIALS|TOKEN)")
    containers_env = spec["env"] + spec["sidecars"][0]["env"]
    for entry in containers_env:
        if secretish.search(entry["name"]) and not entry["name"].endswith(("_FILE", "CREDENTIALS")):
            assert "value" not in entry, entry
            assert "secretKeyRef" in entry["valueFrom"], entry
    # the CRD's plain-text clone credentials are never used
    assert not {"s3_access_key_id", "s3_secret_access_key"} & set(spec["clone"])
    # nothing from the credential Secrets' names leaks as a value either
    text = json.dumps(manifests.redact(docs))
    assert "minio-creds" in text  # referenced by name...
    assert '"value": "minio-creds"' not in text  # ...never as a value
