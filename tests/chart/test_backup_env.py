"""The WAL-G environment and clone/standby sections the chart renders for each storage target and mode."""

from __future__ import annotations

from chartgen import manifests

from .conftest import AZURE, GCS, S3_AWS, S3_MINIO, cr, env_of


def value(env: dict, name: str) -> str:
    return env[name]["value"]


def secret_ref(env: dict, name: str) -> tuple[str, str]:
    ref = env[name]["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def test_s3_on_aws(render):
    docs = render({"clusterName": "acme-db", "backup": {"enabled": True, "s3": S3_AWS, "retention": 14}})
    env = env_of(docs)
    assert value(env, "WAL_S3_BUCKET") == "acme-db-backups"
    assert value(env, "WAL_BUCKET_SCOPE_PREFIX") == ""  # postgres-operator#2116
    assert value(env, "USE_WALG_BACKUP") == "true" and value(env, "USE_WALG_RESTORE") == "true"
    assert value(env, "AWS_REGION") == "eu-central-1"
    assert secret_ref(env, "AWS_ACCESS_KEY_ID") == ("acme-db-s3", "AWS_ACCESS_KEY_ID")
    assert secret_ref(env, "AWS_SECRET_ACCESS_KEY") == ("acme-db-s3", "AWS_SECRET_ACCESS_KEY")
    assert value(env, "BACKUP_SCHEDULE") == "0 1 * * *" and value(env, "BACKUP_NUM_TO_RETAIN") == "14"
    assert value(env, "WALG_COMPRESSION_METHOD") == "lz4"
    # nothing that only makes sense off AWS, and no path override: Spilo builds s3://bucket/spilo/acme-db/wal/17
    assert not {"AWS_ENDPOINT", "AWS_S3_FORCE_PATH_STYLE", "WALG_DISABLE_S3_SSE", "WALG_S3_PREFIX"} & set(env)
    assert "WALG_BACKUP_FROM_REPLICA" not in env
    assert cr(docs)["spec"]["postgresql"]["parameters"]["archive_timeout"] == "60"
    assert manifests.validate(docs) == []


def test_s3_compatible_endpoint_with_ca_bundle(render):
    docs = render({"backup": {"enabled": True, "s3": {**S3_MINIO, "prefix": "prod"}, "fromReplica": True,
                              "maxDataLossSeconds": 120, "compression": "zstd"}})
    env = env_of(docs)
    assert value(env, "AWS_ENDPOINT") == "https://minio.minio.svc:9000"
    assert value(env, "AWS_REGION") == "us-east-1"
    assert value(env, "AWS_S3_FORCE_PATH_STYLE") == "true"
    assert value(env, "WALG_DISABLE_S3_SSE") == "true"
    assert value(env, "WALG_S3_PREFIX") == "s3://supabase-backups/prod/spilo/db/wal/17"
    assert value(env, "WALE_S3_PREFIX") == value(env, "WALG_S3_PREFIX")
    assert value(env, "WALG_S3_CA_CERT_FILE") == "/run/secrets/wal-g/backup-ca/ca.crt"
    assert secret_ref(env, "AWS_ACCESS_KEY_ID") == ("minio-creds", "user")
    assert secret_ref(env, "AWS_SECRET_ACCESS_KEY") == ("minio-creds", "pass")
    assert value(env, "WALG_BACKUP_FROM_REPLICA") == "true"
    volumes = {v["name"]: v for v in cr(docs)["spec"]["additionalVolumes"]}
    assert volumes["walg-backup-ca"]["volumeSource"] == {"secret": {"secretName": "minio-ca", "defaultMode": 288}}
    assert volumes["walg-backup-ca"]["mountPath"] == "/run/secrets/wal-g/backup-ca"
    assert cr(docs)["spec"]["postgresql"]["parameters"]["archive_timeout"] == "120"
    assert manifests.validate(docs) == []


def test_endpoint_defaults_region_path_style_and_sse(render):
    env = env_of(render({"backup": {"enabled": True, "s3": {"bucket": "b-1", "endpoint": "http://minio:9000"}}}))
    assert value(env, "AWS_REGION") == "us-east-1"  # off AWS Spilo would guess "loca"
    assert value(env, "AWS_S3_FORCE_PATH_STYLE") == "true"
    assert value(env, "WALG_DISABLE_S3_SSE") == "true"
    env = env_of(render({"backup": {"enabled": True, "s3": {
        "bucket": "b-1", "endpoint": "https://s3.example.com", "forcePathStyle": False, "disableSSE": False}}}))
    assert value(env, "WALE_S3_ENDPOINT") == "https+virtualhost://s3.example.com"
    assert "AWS_S3_FORCE_PATH_STYLE" not in env
    assert value(env, "WALG_DISABLE_S3_SSE") == "false"


def test_gcs(render):
    docs = render({"postgresql": {"version": "15"}, "backup": {"enabled": True, "gcs": GCS}})
    env = env_of(docs)
    assert value(env, "WAL_GS_BUCKET") == "shop-db-wal"
    assert value(env, "USE_WALG_BACKUP") == "true" and value(env, "USE_WALG_RESTORE") == "true"
    assert value(env, "GOOGLE_APPLICATION_CREDENTIALS") == "/run/secrets/wal-g/backup-gcs/key.json"
    assert not any(name.startswith("AWS_") for name in env)
    volumes = {v["name"]: v for v in cr(docs)["spec"]["additionalVolumes"]}
    assert volumes["walg-backup-gcs"]["volumeSource"]["secret"]["secretName"] == "shop-db-gcs"
    assert manifests.validate(docs) == []


def test_azure(render):
    docs = render({"clusterName": "acme-db", "backup": {"enabled": True, "azure": {**AZURE, "prefix": "x/y"}}})
    env = env_of(docs)
    assert value(env, "WALG_AZ_PREFIX") == "azure://wal/x/y/spilo/acme-db/wal/17"
    assert value(env, "AZURE_STORAGE_ACCOUNT") == "acmebackups"
    assert secret_ref(env, "AZURE_STORAGE_ACCESS_KEY") == ("acme-az", "AZURE_STORAGE_ACCESS_KEY")
    assert manifests.validate(docs) == []


def test_no_backup_means_no_archive_env(render):
    docs = render({})
    assert "env" not in cr(docs)["spec"]
    assert "archive_timeout" not in cr(docs)["spec"]["postgresql"]["parameters"]


def test_restore_to_a_time_renders_clone_and_clone_env(render):
    docs = render({"clusterName": "selfhost-db-restored", "backup": {"enabled": True, "s3": S3_MINIO},
                   "bootstrap": {"mode": "restore", "restore": {
                       "cluster": "selfhost-db", "targetTime": "2026-11-20T10:00:00+00:00",
                       "uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}}})
    clone = cr(docs)["spec"]["clone"]
    path = "s3://supabase-backups/spilo/selfhost-db/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/wal/17"
    assert clone == {"cluster": "selfhost-db", "timestamp": "2026-11-20T10:00:00+00:00",
                     "uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "s3_wal_path": path,
                     "s3_endpoint": "https://minio.minio.svc:9000", "s3_force_path_style": True}
    env = env_of(docs)
    # the clone inherits nothing from the main backup settings
    assert value(env, "CLONE_WALG_S3_PREFIX") == path
    assert value(env, "CLONE_AWS_REGION") == "us-east-1"
    assert value(env, "CLONE_AWS_ENDPOINT") == "https://minio.minio.svc:9000"
    assert value(env, "CLONE_WALG_DISABLE_S3_SSE") == "true"
    assert value(env, "CLONE_USE_WALG_RESTORE") == "true"
    assert value(env, "CLONE_WALG_S3_CA_CERT_FILE") == "/run/secrets/wal-g/restore-ca/ca.crt"
    assert secret_ref(env, "CLONE_AWS_ACCESS_KEY_ID") == ("minio-creds", "user")
    assert secret_ref(env, "CLONE_AWS_SECRET_ACCESS_KEY") == ("minio-creds", "pass")
    # the operator sets these from spec.clone; setting them twice would be ignored
    assert not {"CLONE_METHOD", "CLONE_TARGET_TIME", "CLONE_SCOPE"} & set(env)
    # the restored cluster archives under its own name
    assert value(env, "WAL_S3_BUCKET") == "supabase-backups" and "WALG_S3_PREFIX" not in env
    assert manifests.validate(docs) == []


def test_restore_latest_sets_spilo_clone_variables_without_spec_clone(render):
    docs = render({"bootstrap": {"mode": "restore", "restore": {"cluster": "old-db", "gcs": GCS}}})
    assert "clone" not in cr(docs)["spec"]
    env = env_of(docs)
    assert value(env, "CLONE_METHOD") == "CLONE_WITH_WALE"
    assert value(env, "CLONE_SCOPE") == "old-db"
    assert value(env, "CLONE_WAL_BUCKET_SCOPE_PREFIX") == ""
    assert value(env, "CLONE_WALG_GS_PREFIX") == "gs://shop-db-wal/spilo/old-db/wal/17"
    assert value(env, "CLONE_GOOGLE_APPLICATION_CREDENTIALS") == "/run/secrets/wal-g/restore-gcs/key.json"
    assert "CLONE_TARGET_TIME" not in env
    assert not any(name.startswith("WAL_") for name in env)  # no backup configured: nothing archived
    assert manifests.validate(docs) == []


def test_standby_from_s3_and_gcs(render):
    docs = render({"instances": 1, "bootstrap": {"mode": "standby", "standby": {"cluster": "main-db", "s3": S3_AWS}}})
    assert cr(docs)["spec"]["standby"] == {"s3_wal_path": "s3://acme-db-backups/spilo/main-db/wal/17"}
    env = env_of(docs)
    assert value(env, "STANDBY_AWS_REGION") == "eu-central-1"
    assert secret_ref(env, "STANDBY_AWS_ACCESS_KEY_ID") == ("acme-db-s3", "AWS_ACCESS_KEY_ID")
    assert manifests.validate(docs) == []
    docs = render({"backup": {"enabled": True, "gcs": GCS},
                   "bootstrap": {"mode": "standby", "standby": {"cluster": "main-db"}}})
    assert cr(docs)["spec"]["standby"] == {"gs_wal_path": "gs://shop-db-wal/spilo/main-db/wal/17"}
    assert value(env_of(docs), "STANDBY_GOOGLE_APPLICATION_CREDENTIALS").endswith("standby-gcs/key.json")
    assert manifests.validate(docs) == []


def test_extra_env_is_appended(render):
    env = env_of(render({"extraEnv": [{"name": "WALG_DELTA_MAX_STEPS", "value": "6"}]}))
    assert value(env, "WALG_DELTA_MAX_STEPS") == "6"
