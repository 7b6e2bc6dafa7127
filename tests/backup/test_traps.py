"""Every Spilo trap is refused (or warned) at validate time, or cannot be rendered."""

from __future__ import annotations

import pytest

from chartgen import manifests, spec as spec_mod

from ..chart.conftest import CHART_DIR
from .conftest import AWS, AZURE, MINIO, spec


def problems(write, data: dict) -> list[tuple[str, str, str]]:
    _, found = spec_mod.check_file(str(write(data)))
    return [(p.path, p.severity, p.message) for p in found]


@pytest.mark.parametrize(("sections", "path", "severity", "fragment"), [
    ({"postgres": {"version": "17", "size": "small", "parameters": {"archive_mode": "off"}}},
     "spec.postgres.parameters.archive_mode", "error", "breaks WAL-G archiving"),
    ({"postgres": {"version": "17", "size": "small", "parameters": {"archive_command": "/bin/true"}}},
     "spec.postgres.parameters.archive_command", "error", "silently stops archiving"),
    ({"postgres": {"version": "17", "size": "small", "parameters": {"archive_timeout": "1800"}}},
     "spec.postgres.parameters.archive_timeout", "error", "maxDataLossSeconds"),
    ({"backup": {"enabled": True, "s3": {"bucket": "b-1", "endpoint": "https://minio:9000"}}},
     "spec.backup.s3.credentials", "error", "no instance profile off AWS"),
    ({"backup": {"enabled": True, "s3": {**AWS, "caBundle": {"secretName": "ca"}}}},
     "spec.backup.s3.caBundle", "error", "caBundle without endpoint"),
    ({"backup": {"enabled": True, "s3": AWS}, "restore": {"cluster": "old-db"}, "standby": {"cluster": "old-db"}},
     "spec.standby", "error", "mutually exclusive"),
    ({"backup": {"enabled": True, "s3": AWS}, "restore": {"cluster": "acme-db"}},
     "spec.restore.cluster", "error", "archive into the backups it restores from"),
    ({"backup": {"enabled": True, "s3": AWS}, "standby": {"cluster": "acme-db"}},
     "spec.standby.cluster", "error", "own name"),
    ({"backup": {"enabled": True, "s3": AWS}, "restore": {"cluster": "old-db", "targetTime": "2026-11-20T10:00:00Z"}},
     "spec.restore.targetTime", "error", 'write "2026-11-20T10:00:00+00:00"'),
    ({"backup": {"enabled": True, "s3": AWS}, "restore": {"cluster": "old-db", "targetTime": "2026-11-20 10:00+0100"}},
     "spec.restore.targetTime", "error", 'write "2026-11-20T10:00:00+01:00"'),
    ({"backup": {"enabled": True, "azure": AZURE}, "standby": {"cluster": "old-db"}},
     "spec.standby", "error", "cannot follow an Azure archive"),
    ({"backup": {"enabled": True, "s3": AWS, "maxDataLossSeconds": 10}},
     "spec.backup.maxDataLossSeconds", "warning", "up to 8640 times a day"),
    ({"backup": {"s3": AWS}}, "spec.backup.enabled", "warning", "nothing is archived"),
])
def test_spec_trap_is_caught_at_validate_time(write, sections, path, severity, fragment):
    found = problems(write, spec(**sections))
    assert any(p == path and s == severity and fragment in m for p, s, m in found), found


def test_restore_reading_this_clusters_own_path_is_refused(write):
    # a different name, but a prefix that makes the source path this cluster's own archive
    data = spec("acme-db", backup={"enabled": True, "s3": {**AWS, "prefix": "x/spilo/old-db/wal/17/spilo/acme-db"}},
                restore={"cluster": "old-db", "s3": {**AWS, "prefix": "x"}})
    found = problems(write, data)
    assert any(p == "spec.restore.cluster" and "overwrite its source's WAL" in m for p, _, m in found), found


def test_good_specs_have_no_backup_findings(write):
    for data in (spec(backup={"enabled": True, "s3": MINIO}),
                 spec("new-db", backup={"enabled": True, "s3": MINIO},
                      restore={"cluster": "acme-db", "targetTime": "2026-11-20T10:00:00+00:00"})):
        assert problems(write, data) == []


@pytest.mark.parametrize(("extra", "fragment"), [
    ({"name": "USE_PAUSE_AT_RECOVERY_TARGET", "value": "false"}, '"false" included, as true'),
    ({"name": "CLONE_TARGET_INCLUSIVE", "value": "false"}, '"false" included, as true'),
    ({"name": "ALLOW_NOSSL", "value": "false"}, '"false" included, as true'),
    ({"name": "USE_WALG_BACKUP", "value": "yes"}, "WAL-G selection variables come from backup"),
    ({"name": "CLONE_USE_WALG_RESTORE", "value": "True"}, "WAL-G selection variables come from backup"),
    ({"name": "WAL_S3_BUCKET", "value": "b-1"}, "archives with WAL-E, under <namespace>-<cluster>"),
    ({"name": "WAL_BUCKET_SCOPE_PREFIX", "value": "ns-"}, "come from backup and bootstrap"),
    ({"name": "CLONE_SCOPE", "value": "old-db"}, "come from backup and bootstrap"),
    ({"name": "WALG_COMPRESSION", "value": "zstd"}, "this one would be ignored"),
])
def test_chart_refuses_extra_env_spilo_would_misread(extra, fragment):
    with pytest.raises(Exception) as err:
        manifests.render(CHART_DIR, {"extraEnv": [extra]}, release="db", namespace="supabase")
    assert fragment in str(err.value)


def test_chart_keeps_walg_tuning_that_spilo_passes_through():
    docs = manifests.render(CHART_DIR, {"extraEnv": [{"name": "WALG_UPLOAD_CONCURRENCY", "value": "4"}]},
                            release="db", namespace="supabase")
    (cr,) = [d for d in docs if d["kind"] == "postgresql"]
    assert {"name": "WALG_UPLOAD_CONCURRENCY", "value": "4"} in cr["spec"]["env"]


#: Every name postgres-operator v2.0.1 sets itself in generateSpiloPodEnvVars (pkg/cluster/k8sres.go:940-1043)
#: before it appends spec.env with appendEnvVars, which skips names already present case-insensitively
#: (isEnvVarPresent, strings.EqualFold, k8sres.go:1109-1125).
OPERATOR_SETS = ("SCOPE", "PGROOT", "POD_IP", "POD_NAMESPACE", "PGUSER_SUPERUSER", "KUBERNETES_SCOPE_LABEL",
                 "KUBERNETES_ROLE_LABEL", "PGPASSWORD_SUPERUSER", "PGUSER_STANDBY", "PGPASSWORD_STANDBY",
                 "PAM_OAUTH2", "HUMAN_ROLE", "ENABLE_WAL_PATH_COMPAT", "PGVERSION", "KUBERNETES_LABELS",
                 "SPILO_CONFIGURATION", "DCS_ENABLE_KUBERNETES_API", "KUBERNETES_BOOTSTRAP_LABELS", "ETCD_HOST",
                 "KUBERNETES_USE_CONFIGMAPS")


@pytest.mark.parametrize("name", OPERATOR_SETS)
def test_chart_refuses_every_env_name_the_operator_drops(name):
    with pytest.raises(Exception) as err:
        manifests.render(CHART_DIR, {"extraEnv": [{"name": name, "value": "x"}]}, release="db", namespace="supabase")
    # SCOPE is caught one step earlier, with the other scope/storage names (CLONE_SCOPE, ...)
    assert f'env "{name}" is dropped by the operator' in str(err.value) or (
        name == "SCOPE" and "extraEnv SCOPE: storage, scope" in str(err.value))


def test_lower_case_env_names_are_refused_too():
    with pytest.raises(Exception) as err:
        manifests.render(CHART_DIR, {"extraEnv": [{"name": "pgroot", "value": "x"}]}, release="db", namespace="supabase")
    assert "pgroot" in str(err.value)


def test_path_style_is_only_handed_to_the_operator_with_an_endpoint(write, build):
    """The operator turns s3_force_path_style into CLONE_AWS_S3_FORCE_PATH_STYLE "1" (not the chart's "true");
    harmless only because Spilo rewrites the variable from the endpoint, so it must never come without one."""
    from .conftest import env_map

    with_endpoint = build(spec("new-db", backup={"enabled": True, "s3": MINIO},
                               restore={"cluster": "acme-db", "targetTime": "2026-11-20T10:00:00+00:00"}))
    clone = with_endpoint["spec"]["clone"]
    assert clone["s3_force_path_style"] is True and clone["s3_endpoint"] == MINIO["endpoint"]
    assert env_map(with_endpoint)["CLONE_AWS_S3_FORCE_PATH_STYLE"] == {"value": "true"}
    aws = build(spec("new-db", backup={"enabled": True, "s3": AWS},
                     restore={"cluster": "acme-db", "targetTime": "2026-11-20T10:00:00+00:00"}))
    assert "s3_force_path_style" not in aws["spec"]["clone"] and "s3_endpoint" not in aws["spec"]["clone"]
    assert "same value" not in (CHART_DIR / "templates" / "_clone.tpl").read_text()
