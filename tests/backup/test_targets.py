"""Each backup target, restore (a time, the latest state) and standby: the exact env, CR sections, strict CR."""

from __future__ import annotations

from chartgen import backup, manifests

from .conftest import AWS, AZURE, GCS, MINIO, env_map, secret, spec


def v(value: str) -> dict:
    return {"value": value}


COMMON = {"WAL_BUCKET_SCOPE_PREFIX": v(""), "WAL_BUCKET_SCOPE_SUFFIX": v(""), "USE_WALG_BACKUP": v("true"),
          "USE_WALG_RESTORE": v("true"), "BACKUP_SCHEDULE": v("0 1 * * *"), "BACKUP_NUM_TO_RETAIN": v("7"),
          "WALG_COMPRESSION_METHOD": v("lz4")}


def checked(cr: dict) -> dict:
    assert manifests.validate(cr.pop("_manifests")) == []
    assert backup.env_problems(cr["spec"].get("env", [])) == []
    return env_map(cr)


def test_aws_s3(build):
    cr = build(spec(backup={"enabled": True, "s3": AWS, "maxDataLossSeconds": 300}))
    assert checked(cr) == {
        "WAL_S3_BUCKET": v("acme-backups"), "AWS_REGION": v("eu-central-1"),
        "AWS_ACCESS_KEY_ID": secret("acme-s3", "AWS_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": secret("acme-s3", "AWS_SECRET_ACCESS_KEY"), **COMMON}
    assert cr["spec"]["postgresql"]["parameters"]["archive_timeout"] == "300"
    assert "clone" not in cr["spec"] and "standby" not in cr["spec"]


def test_s3_compatible_endpoint_with_ca_bundle(build):
    cr = build(spec(topology="duo", backup={"enabled": True, "s3": {**MINIO, "prefix": "prod"}, "fromReplica": True,
                            "compression": "zstd", "schedule": "30 2 * * *", "retention": 3}))
    path = "s3://supabase-backups/prod/spilo/acme-db/wal/17"
    assert checked(cr) == {
        "WAL_S3_BUCKET": v("supabase-backups"), "WALE_S3_PREFIX": v(path), "WALG_S3_PREFIX": v(path),
        "AWS_REGION": v("us-east-1"), "AWS_ENDPOINT": v("https://minio.minio.svc:9000"),
        "AWS_S3_FORCE_PATH_STYLE": v("true"), "WALG_DISABLE_S3_SSE": v("true"),
        "WALG_S3_CA_CERT_FILE": v("/run/secrets/wal-g/backup-ca/ca.crt"),
        "AWS_ACCESS_KEY_ID": secret("minio-creds", "user"), "AWS_SECRET_ACCESS_KEY": secret("minio-creds", "pass"),
        **COMMON, "BACKUP_SCHEDULE": v("30 2 * * *"), "BACKUP_NUM_TO_RETAIN": v("3"),
        "WALG_COMPRESSION_METHOD": v("zstd"), "WALG_BACKUP_FROM_REPLICA": v("true")}
    volumes = {x["name"]: x for x in cr["spec"]["additionalVolumes"]}
    assert volumes["walg-backup-ca"] == {"name": "walg-backup-ca", "mountPath": "/run/secrets/wal-g/backup-ca",
                                         "volumeSource": {"secret": {"secretName": "minio-ca", "defaultMode": 288}}}


def test_gcs(build):
    cr = build(spec(backup={"enabled": True, "gcs": GCS}))
    assert checked(cr) == {
        "WAL_GS_BUCKET": v("acme-wal"), "WAL_S3_BUCKET": v(""),
        "GOOGLE_APPLICATION_CREDENTIALS": v("/run/secrets/wal-g/backup-gcs/key.json"), **COMMON}
    volumes = {x["name"]: x for x in cr["spec"]["additionalVolumes"]}
    assert volumes["walg-backup-gcs"]["volumeSource"]["secret"]["secretName"] == "acme-gcs"


def test_azure(build):
    cr = build(spec(backup={"enabled": True, "azure": AZURE}))
    assert checked(cr) == {
        "WALG_AZ_PREFIX": v("azure://wal/spilo/acme-db/wal/17"), "AZURE_STORAGE_ACCOUNT": v("acmebackups"),
        "AZURE_STORAGE_ACCESS_KEY": secret("acme-az", "AZURE_STORAGE_ACCESS_KEY"),
        "WAL_S3_BUCKET": v(""), "WAL_GS_BUCKET": v(""), **COMMON}


MINIO_CLONE = {
    "CLONE_WAL_S3_BUCKET": v("supabase-backups"), "CLONE_AWS_REGION": v("us-east-1"),
    "CLONE_AWS_ENDPOINT": v("https://minio.minio.svc:9000"), "CLONE_AWS_S3_FORCE_PATH_STYLE": v("true"),
    "CLONE_WALG_DISABLE_S3_SSE": v("true"), "CLONE_WALG_S3_CA_CERT_FILE": v("/run/secrets/wal-g/restore-ca/ca.crt"),
    "CLONE_AWS_ACCESS_KEY_ID": secret("minio-creds", "user"),
    "CLONE_AWS_SECRET_ACCESS_KEY": secret("minio-creds", "pass"),
    "CLONE_USE_WALG_BACKUP": v("true"), "CLONE_USE_WALG_RESTORE": v("true")}


def test_restore_to_a_time_from_minio(build):
    cr = build(spec("acme-db-restored", backup={"enabled": True, "s3": MINIO},
                    restore={"cluster": "acme-db", "targetTime": "2026-11-20T10:00:00+01:00"}))
    path = "s3://supabase-backups/spilo/acme-db/wal/17"
    assert cr["spec"]["clone"] == {"cluster": "acme-db", "timestamp": "2026-11-20T10:00:00+01:00",
                                   "s3_wal_path": path, "s3_endpoint": "https://minio.minio.svc:9000",
                                   "s3_force_path_style": True}
    env = checked(cr)
    assert {k: x for k, x in env.items() if k.startswith("CLONE_")} == {
        **MINIO_CLONE, "CLONE_WALE_S3_PREFIX": v(path), "CLONE_WALG_S3_PREFIX": v(path)}
    # the new cluster archives under its own name, never into its source's path
    assert env["WAL_S3_BUCKET"] == v("supabase-backups") and "WALG_S3_PREFIX" not in env


def test_restore_latest_sets_the_clone_variables_itself(build):
    cr = build(spec("acme-db-restored", restore={"cluster": "acme-db", "s3": MINIO}))
    assert "clone" not in cr["spec"]  # the operator would clone by pg_basebackup from a running source
    path = "s3://supabase-backups/spilo/acme-db/wal/17"
    assert checked(cr) == {**MINIO_CLONE, "CLONE_SCOPE": v("acme-db"), "CLONE_METHOD": v("CLONE_WITH_WALE"),
                           "CLONE_WAL_BUCKET_SCOPE_PREFIX": v(""), "CLONE_WALE_S3_PREFIX": v(path),
                           "CLONE_WALG_S3_PREFIX": v(path)}


def test_restore_to_a_time_from_gcs_needs_no_spec_clone(build):
    cr = build(spec("acme-db-restored", backup={"enabled": True, "gcs": GCS},
                    restore={"cluster": "acme-db", "targetTime": "2026-11-20T10:00:00+00:00",
                             "uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}))
    assert "clone" not in cr["spec"]
    path = "gs://acme-wal/spilo/acme-db/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/wal/17"
    env = checked(cr)
    assert {k: x for k, x in env.items() if k.startswith("CLONE_")} == {
        "CLONE_SCOPE": v("acme-db"), "CLONE_METHOD": v("CLONE_WITH_WALE"), "CLONE_WAL_BUCKET_SCOPE_PREFIX": v(""),
        "CLONE_TARGET_TIME": v("2026-11-20T10:00:00+00:00"), "CLONE_WAL_GS_BUCKET": v("acme-wal"),
        "CLONE_WALE_GS_PREFIX": v(path), "CLONE_WALG_GS_PREFIX": v(path),
        "CLONE_GOOGLE_APPLICATION_CREDENTIALS": v("/run/secrets/wal-g/restore-gcs/key.json"),
        "CLONE_USE_WALG_BACKUP": v("true"), "CLONE_USE_WALG_RESTORE": v("true")}


def test_restore_from_a_virtual_host_endpoint_keeps_the_endpoint_out_of_spec_clone(build):
    source = {"bucket": "b-1", "endpoint": "https://s3.example.com", "forcePathStyle": False,
              "credentials": {"secretName": "s3-creds"}}
    cr = build(spec("new-db", restore={"cluster": "old-db", "targetTime": "2026-11-20T10:00:00+00:00", "s3": source}))
    # the operator would copy s3_endpoint into CLONE_WALE_S3_ENDPOINT verbatim, which Spilo reads as path style
    assert set(cr["spec"]["clone"]) == {"cluster", "timestamp", "s3_wal_path"}
    env = checked(cr)
    assert env["CLONE_WALE_S3_ENDPOINT"] == v("https+virtualhost://s3.example.com")
    assert env["CLONE_AWS_ENDPOINT"] == v("https://s3.example.com") and "CLONE_AWS_S3_FORCE_PATH_STYLE" not in env


def test_standby_from_s3_and_gcs(build):
    cr = build(spec("acme-db-dr", standby={"cluster": "acme-db", "s3": AWS}))
    path = "s3://acme-backups/spilo/acme-db/wal/17"
    assert cr["spec"]["standby"] == {"s3_wal_path": path}
    assert checked(cr) == {
        "STANDBY_WAL_S3_BUCKET": v("acme-backups"), "STANDBY_WALE_S3_PREFIX": v(path),
        "STANDBY_WALG_S3_PREFIX": v(path), "STANDBY_AWS_REGION": v("eu-central-1"),
        "STANDBY_AWS_ACCESS_KEY_ID": secret("acme-s3", "AWS_ACCESS_KEY_ID"),
        "STANDBY_AWS_SECRET_ACCESS_KEY": secret("acme-s3", "AWS_SECRET_ACCESS_KEY"),
        "STANDBY_USE_WALG_BACKUP": v("true"), "STANDBY_USE_WALG_RESTORE": v("true")}
    cr = build(spec("acme-db-dr", backup={"enabled": True, "gcs": GCS}, standby={"cluster": "acme-db"}))
    assert cr["spec"]["standby"] == {"gs_wal_path": "gs://acme-wal/spilo/acme-db/wal/17"}
    env = checked(cr)
    assert env["STANDBY_GOOGLE_APPLICATION_CREDENTIALS"] == v("/run/secrets/wal-g/standby-gcs/key.json")
    assert env["STANDBY_USE_WALG_BACKUP"] == env["STANDBY_USE_WALG_RESTORE"] == v("true")
    assert env["WAL_GS_BUCKET"] == v("acme-wal")  # its own archive, used once promoted
