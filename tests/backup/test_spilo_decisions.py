"""What Spilo 4.0-p3 does with the rendered env, reproduced by a small script written from the facts in
issue 6 (configure_spilo.py's contract as listed there), not from Spilo's code; and the S3 side checked
against a real S3 API (moto) with boto3."""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.support.procs import LOOPBACK, Server, free_port, port_open

from .conftest import AWS, AZURE, GCS, MINIO, spec

_STORAGE = {"s3": ("WAL_S3_BUCKET", "s3"), "gcs": ("WAL_GS_BUCKET", "gs")}


def operator_env(cr: dict) -> dict[str, str]:
    """spec.env, then what the operator appends from spec.clone / spec.standby (the last of a name wins)."""
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in cr["spec"].get("env", [])}
    clone, standby = cr["spec"].get("clone"), cr["spec"].get("standby")
    if clone and clone.get("timestamp"):
        env.update(CLONE_SCOPE=clone["cluster"], CLONE_METHOD="CLONE_WITH_WALE", CLONE_TARGET_TIME=clone["timestamp"],
                   CLONE_WAL_BUCKET_SCOPE_PREFIX="")
        if clone.get("s3_wal_path"):
            env["CLONE_WALE_S3_PREFIX"] = clone["s3_wal_path"]
        if clone.get("s3_endpoint"):
            env.update(CLONE_AWS_ENDPOINT=clone["s3_endpoint"], CLONE_WALE_S3_ENDPOINT=clone["s3_endpoint"])
        if "s3_force_path_style" in clone:
            env["CLONE_AWS_S3_FORCE_PATH_STYLE"] = "1" if clone["s3_force_path_style"] else "0"
    if standby:
        key = "STANDBY_WALE_S3_PREFIX" if "s3_wal_path" in standby else "STANDBY_WALE_GS_PREFIX"
        env.update({key: standby.get("s3_wal_path") or standby.get("gs_wal_path"), "STANDBY_METHOD": "STANDBY_WITH_WALE",
                    "STANDBY_WAL_BUCKET_SCOPE_PREFIX": ""})
    return env


def spilo_decides(env: dict, scope: str, pgversion: str, namespace: str, prefix: str = "") -> dict:
    """Archiving, binary and WAL path for one prefix ("" own archive, CLONE_, STANDBY_), from the issue's facts."""
    get = lambda name: env.get(prefix + name)  # noqa: E731
    # Archiving is on only when a storage variable is set and not empty.
    kind = next((k for k, (var, _) in _STORAGE.items() if get(var) or get(f"WALG_{k.upper()[:2]}_PREFIX")
                 or get(f"WALE_{k.upper()[:2]}_PREFIX")), None)
    if kind is None and get("WALG_AZ_PREFIX"):
        kind = "azure"
    if kind is None:
        return {"archiving": False, "archive_command": "/bin/true"}
    # WAL-G only when USE_WALG_BACKUP / USE_WALG_RESTORE are exactly "true" (GCS needs both).
    backup_tool = "wal-g" if get("USE_WALG_BACKUP") == "true" else "wal-e"
    restore_tool = "wal-g" if get("USE_WALG_RESTORE") == "true" else "wal-e"
    # An explicit prefix wins; else s3://<bucket>/spilo/<WAL_BUCKET_SCOPE_PREFIX><cluster><SUFFIX>/wal/<pg>,
    # where an unset scope prefix becomes "<namespace>-".
    explicit = {"s3": get("WALG_S3_PREFIX") or get("WALE_S3_PREFIX"), "gcs": get("WALG_GS_PREFIX") or
                get("WALE_GS_PREFIX"), "azure": get("WALG_AZ_PREFIX")}[kind]
    if explicit:
        path = explicit
    else:
        scope_prefix = get("WAL_BUCKET_SCOPE_PREFIX")
        if scope_prefix is None:
            scope_prefix = f"{namespace}-"
        var, scheme = _STORAGE[kind]
        path = f"{scheme}://{get(var)}/spilo/{scope_prefix}{get('SCOPE') or scope}{get('WAL_BUCKET_SCOPE_SUFFIX') or ''}" \
               f"/wal/{pgversion}"
    out = {"archiving": True, "kind": kind, "backup_tool": backup_tool, "restore_tool": restore_tool, "path": path,
           "archive_command": f'envdir "/run/etc/wal-e.d/env" {backup_tool} wal-push "%p"'}
    if kind == "s3":
        endpoint = get("AWS_ENDPOINT")
        # Off AWS the region must be explicit (else "loca"); an endpoint forces path style and wants no SSE.
        out.update(endpoint=endpoint, region=get("AWS_REGION") or ("loca" if endpoint else None),
                   path_style=bool(endpoint) or get("AWS_S3_FORCE_PATH_STYLE") == "true",
                   sse_disabled=get("WALG_DISABLE_S3_SSE") == "true",
                   credentials=(get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")))
    if prefix == "CLONE_":
        # A clone needs its method and scope, or Spilo starts an EMPTY database with only a log line.
        out["clone_method"] = env.get("CLONE_METHOD") if env.get("CLONE_SCOPE") else None
        out["target_time"] = env.get("CLONE_TARGET_TIME")
    return out


BACKUPS = {"aws": AWS, "minio": MINIO, "minio-prefix": {**MINIO, "prefix": "prod/eu"}}


@pytest.mark.parametrize("target", ["aws", "minio", "minio-prefix", "gcs", "azure"])
def test_spilo_decisions_script_written_from_issue_facts_archives_with_walg_to_the_intended_path(build, target):
    kind = {"gcs": "gcs", "azure": "azure"}.get(target, "s3")
    conf = {"gcs": GCS, "azure": AZURE}.get(target) or BACKUPS[target]
    cr = build(spec("acme-db", backup={"enabled": True, kind: conf}))
    decided = spilo_decides(operator_env(cr), "acme-db", "17", "supabase")
    bucket = conf.get("bucket") or conf.get("container")
    scheme = {"s3": "s3", "gcs": "gs", "azure": "azure"}[kind]
    prefix = f"/{conf['prefix']}" if conf.get("prefix") else ""
    assert decided["archiving"] and decided["kind"] == kind
    assert decided["backup_tool"] == decided["restore_tool"] == "wal-g"
    assert decided["path"] == f"{scheme}://{bucket}{prefix}/spilo/acme-db/wal/17"  # no "supabase-" namespace prefix
    if kind == "s3":
        assert decided["region"] == conf["region"] and decided["region"] != "loca"
        assert decided["sse_disabled"] == bool(conf.get("endpoint"))
        assert decided["path_style"] == bool(conf.get("endpoint"))


def test_spilo_decisions_script_written_from_issue_facts_clone_reads_the_sources_path(build):
    for section, expect_time in (({"cluster": "acme-db", "targetTime": "2026-11-20T10:00:00+00:00"}, True),
                                 ({"cluster": "acme-db"}, False)):
        for kind, conf in (("s3", MINIO), ("gcs", GCS), ("azure", AZURE)):
            cr = build(spec("acme-db-restored", backup={"enabled": True, kind: conf}, restore=section))
            env = operator_env(cr)
            own = spilo_decides(env, "acme-db-restored", "17", "supabase")
            clone = spilo_decides(env, "acme-db-restored", "17", "supabase", prefix="CLONE_")
            bucket = conf.get("bucket") or conf.get("container")
            scheme = {"s3": "s3", "gcs": "gs", "azure": "azure"}[kind]
            assert clone["path"] == f"{scheme}://{bucket}/spilo/acme-db/wal/17", (kind, section)
            assert clone["restore_tool"] == "wal-g" and clone["clone_method"] == "CLONE_WITH_WALE"
            assert (clone["target_time"] == "2026-11-20T10:00:00+00:00") == expect_time
            assert own["path"] == f"{scheme}://{bucket}/spilo/acme-db-restored/wal/17" != clone["path"]
            if kind == "s3":
                assert clone["region"] == "us-east-1" and clone["sse_disabled"] and clone["path_style"]
                assert clone["credentials"][0] == {"secretKeyRef": {"name": "minio-creds", "key": "user"}}


def test_spilo_decisions_script_written_from_issue_facts_standby_follows_the_sources_path(build):
    cr = build(spec("acme-db-dr", standby={"cluster": "acme-db", "s3": AWS}))
    decided = spilo_decides(operator_env(cr), "acme-db-dr", "17", "supabase", prefix="STANDBY_")
    assert decided["path"] == "s3://acme-backups/spilo/acme-db/wal/17" and decided["restore_tool"] == "wal-g"
    assert spilo_decides(operator_env(cr), "acme-db-dr", "17", "supabase")["archiving"] is False


def test_the_script_can_tell_a_broken_env_apart():
    # without the chart's WAL_BUCKET_SCOPE_PREFIX and flags, the same bucket means WAL-E under "<ns>-<cluster>"
    decided = spilo_decides({"WAL_S3_BUCKET": "b-1", "USE_WALG_BACKUP": "True"}, "acme-db", "17", "supabase")
    assert decided["backup_tool"] == "wal-e" and decided["path"] == "s3://b-1/spilo/supabase-acme-db/wal/17"
    assert decided["region"] is None
    assert spilo_decides({"WAL_S3_BUCKET": ""}, "acme-db", "17", "supabase")["archiving"] is False


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    server = Server("moto", [str(exe), "-H", LOOPBACK, "-p", str(port)],
                    log=tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        server.wait_ready(lambda: port_open(port), timeout=30)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.stop()


@pytest.mark.integration
def test_s3_settings_the_env_describes_reach_the_bucket(build, moto):
    conf = {**MINIO, "endpoint": moto, "prefix": "prod"}
    conf.pop("caBundle")
    cr = build(spec("acme-db", backup={"enabled": True, "s3": conf}))
    decided = spilo_decides(operator_env(cr), "acme-db", "17", "supabase")
    # the credentials are secretKeyRefs; the pod would get the Secret's values, here stand-ins of that shape
    secrets = {("minio-creds", "user"): "AKIAEXAMPLEUSER", ("minio-creds", "pass"): "example-secret-value"}
    key_id, secret_key = (secrets[(ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])]
                          for ref in decided["credentials"])
    assert decided["path_style"] and decided["endpoint"] == moto

    def client():
        return boto3.client("s3", endpoint_url=decided["endpoint"], region_name=decided["region"],
                            aws_access_key_id=key_id, aws_secret_access_key=secret_key,
                            config=Config(s3={"addressing_style": "path" if decided["path_style"] else "virtual"}))

    bucket, _, key_prefix = decided["path"].removeprefix("s3://").partition("/")
    assert (bucket, key_prefix) == ("supabase-backups", "prod/spilo/acme-db/wal/17")
    client().create_bucket(Bucket=bucket)
    segment = f"{key_prefix}/wal_005/000000010000000000000001.lz4"
    client().put_object(Bucket=bucket, Key=segment, Body=b"\0" * 1024)
    listed = client().list_objects_v2(Bucket=bucket, Prefix=f"{key_prefix}/wal_005/")
    assert [o["Key"] for o in listed["Contents"]] == [segment]
    # the restore of this cluster reads the same objects through its CLONE_ settings
    cr = build(spec("acme-db-restored", restore={"cluster": "acme-db", "s3": conf}))
    clone = spilo_decides(operator_env(cr), "acme-db-restored", "17", "supabase", prefix="CLONE_")
    assert clone["path"] == decided["path"] and clone["endpoint"] == moto and clone["region"] == decided["region"]
