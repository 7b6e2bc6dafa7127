"""chartgen restore-spec: a new, valid, renderable spec restoring a source spec's backups."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from chartgen import backup, render, restore
from chartgen.cli import app
from chartgen.errors import ChartgenError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def clone_of(path: Path) -> dict:
    (cr,) = [d for d in render.build(str(path)).manifests if d["kind"] == "postgresql"]
    return cr["spec"]


def test_restore_to_a_time_keeps_comments_storage_and_secrets(tmp_path):
    out = tmp_path / "restored.yaml"
    result = run("restore-spec", str(EXAMPLES / "minio-backup.yaml"), "--at", "2025-03-01T10:00Z", "--output-file", str(out))
    assert result.exit_code == 0, result.output
    assert '"2025-03-01T10:00Z" is written as "2025-03-01T10:00:00+00:00"' in result.output
    text = out.read_text()
    assert "# Backups to an in-cluster MinIO" in text and "# writes block unless one replica has them" in text
    assert 'version: "17"' in text  # quoting survives the round trip
    data = yaml.safe_load(text)
    assert data["metadata"] == {"name": "selfhost-db-restored", "namespace": "supabase"}
    source = yaml.safe_load((EXAMPLES / "minio-backup.yaml").read_text())
    assert data["spec"]["restore"] == {"cluster": "selfhost-db", "targetTime": "2025-03-01T10:00:00+00:00",
                                       "s3": source["spec"]["backup"]["s3"]}
    assert data["spec"]["backup"] == source["spec"]["backup"]
    assert data["spec"]["supabase"] == {"jwt": {"existingSecret": "selfhost-db-supabase-jwt"},
                                        "rootKey": {"existingSecret": "selfhost-db-supabase-root-key"},
                                        "services": {"enabled": True}}
    assert data["chart"] == source["chart"]
    spec = clone_of(out)
    assert spec["clone"]["cluster"] == "selfhost-db" and spec["clone"]["timestamp"] == "2025-03-01T10:00:00+00:00"
    assert spec["clone"]["s3_wal_path"] == "s3://supabase-backups/spilo/selfhost-db/wal/17"
    mounted = {s["secret"]["name"] for v in spec["additionalVolumes"] if v["name"] == "supabase-secrets"
               for s in v["volumeSource"]["projected"]["sources"] if "secret" in s}
    assert {"selfhost-db-supabase-jwt", "selfhost-db-supabase-root-key"} <= mounted


def test_latest_from_gcs_with_json_output(tmp_path):
    out = tmp_path / "r.yaml"
    result = run("restore-spec", str(EXAMPLES / "duo.yaml"), "--at", "latest", "--output-file", str(out), "--output", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["name"] == "shop-db-restored" and report["targetTime"] == "latest"
    assert any("confirm shop-db runs major version 17" in w for w in report["warnings"])
    env = {e["name"]: e.get("value") for e in clone_of(out)["env"]}
    assert env["CLONE_SCOPE"] == "shop-db" and "CLONE_TARGET_TIME" not in env
    assert env["CLONE_WALG_GS_PREFIX"] == "gs://shop-db-wal/spilo/shop-db/wal/17"


def test_existing_secrets_and_a_previous_restore_are_carried_over(tmp_path):
    out = tmp_path / "again.yaml"
    result = run("restore-spec", str(EXAMPLES / "pitr-restore.yaml"), "--at", "2026-01-01T00:00:00-05:00",
                 "--output-file", str(out), "--name", "selfhost-db-2")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(out.read_text())
    assert data["spec"]["restore"]["cluster"] == "selfhost-db-restored"
    assert data["spec"]["supabase"]["rootKey"] == {"existingSecret": "selfhost-db-root-key"}
    assert data["spec"]["supabase"]["jwt"] == {"existingSecret": "selfhost-db-jwt"}


@pytest.mark.parametrize(("at", "fragment"), [
    ("2025-03-01 10:00", "has no UTC offset"),
    ("yesterday", "not a time"),
    ("2999-01-01T00:00:00+00:00", "is in the future"),
])
def test_bad_times_are_refused(tmp_path, at, fragment):
    result = run("restore-spec", str(EXAMPLES / "minio-backup.yaml"), "--at", at, "--output-file", str(tmp_path / "x.yaml"))
    assert result.exit_code == 1 and fragment in result.output
    assert not (tmp_path / "x.yaml").exists()


def test_names(tmp_path):
    long = "a" * 48
    assert restore.restored_name(long) == "a" * 42 + "-restored" and len(restore.restored_name(long)) == 51
    src = tmp_path / "long.yaml"
    src.write_text((EXAMPLES / "duo.yaml").read_text().replace("name: shop-db", f"name: {long}"))
    result = run("restore-spec", str(src), "--at", "latest", "--output-file", str(tmp_path / "o.yaml"))
    assert result.exit_code == 0 and "shortened" in result.output
    for name, fragment in (("shop-db", "needs a new name"), ("Shop", "DNS-1035")):
        result = run("restore-spec", str(EXAMPLES / "duo.yaml"), "--at", "latest", "--output-file", str(tmp_path / "n.yaml"),
                     "--name", name)
        assert result.exit_code == 1 and fragment in result.output


def test_refusals(tmp_path):
    out = tmp_path / "o.yaml"
    out.write_text("keep")
    with pytest.raises(ChartgenError, match="already exists"):
        restore.restore_spec(str(EXAMPLES / "duo.yaml"), "latest", str(out))
    assert out.read_text() == "keep"
    plain = tmp_path / "plain.yaml"
    shutil.copy(EXAMPLES / "duo.yaml", plain)
    plain.write_text(plain.read_text().replace("enabled: true\n    gcs:", "enabled: false\n    gcs:"))
    with pytest.raises(ChartgenError, match="no backups to restore from"):
        restore.restore_spec(str(plain), "latest", str(tmp_path / "p.yaml"))


def test_normalise_time():
    assert backup.normalise_time("2026-11-20 10:00+0130") == "2026-11-20T10:00:00+01:30"
    assert backup.normalise_time("2026-11-20T10:00:00.5z") == "2026-11-20T10:00:00.500000+00:00"
    assert backup.CRD_TIMESTAMP.match(backup.normalise_time("2026-11-20T10:00:00.5z"))
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ChartgenError, match="in the future"):
        restore.restore_spec(str(EXAMPLES / "duo.yaml"), "2026-01-02T00:00:00+00:00", "/nonexistent/x.yaml", now=when)


def test_restore_of_a_restore_keeps_one_copy_of_each_comment(tmp_path):
    first, second, third = (tmp_path / f"r{i}.yaml" for i in (1, 2, 3))
    assert run("restore-spec", str(EXAMPLES / "duo.yaml"), "--at", "latest", "--output-file", str(first)).exit_code == 0
    assert run("restore-spec", str(first), "--at", "latest", "--output-file", str(second)).exit_code == 0
    assert run("restore-spec", str(second), "--at", "latest", "--output-file", str(third)).exit_code == 0
    text = third.read_text()
    for marker in ("a new cluster restored from", "# Bootstrap from", "by reference (same namespace)",
                   "tokens are signed with that JWT secret", "must stay the source's major version"):
        assert text.count(marker) == 1, (marker, text)
    assert text.startswith("# shop-db-restored-restored-restored: a new cluster restored from "
                           "shop-db-restored-restored's backups")
    data = yaml.safe_load(text)
    # the Secrets are still the original cluster's: the data was encrypted and signed with those
    assert data["spec"]["supabase"]["rootKey"]["existingSecret"] == "shop-db-supabase-root-key"
    assert "shop-db-restored's Secrets" not in text and "shop-db-restored-restored's Secrets" not in text
    # everything of the user's own survives once
    assert text.count("# A small production database") == 1 and text.count("# ttl 20 s") == 1
