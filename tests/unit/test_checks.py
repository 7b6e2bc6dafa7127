"""Semantic checks (chartgen.checks) on plain data, with the schema's defaults applied as validate does."""

from __future__ import annotations

import copy

import pytest

from chartgen import checks, schema

MINIMAL = {
    "apiVersion": "chartgen/v1",
    "kind": "SupabaseDatabase",
    "metadata": {"name": "acme-db", "namespace": "supabase"},
    "spec": {"image": {"repository": "ghcr.io/acme/spilo-supabase", "tag": "t1"}},
}
S3 = {"bucket": "acme-backups", "credentials": {"secretName": "acme-s3"}}


def findings(**spec) -> list[tuple[str, str, str]]:
    data = copy.deepcopy(MINIMAL)
    data["spec"].update(spec)
    if ("restore" in spec or "standby" in spec) and "supabase" not in spec:
        # the source's Secrets, which a restore or standby needs (tested on their own below)
        data["spec"]["supabase"] = {"jwt": {"existingSecret": "old-jwt"}, "rootKey": {"existingSecret": "old-key"}}
    return [(schema.dotted(p), m, s) for p, m, s in checks.check(schema.apply_defaults(data))]


def only(found, severity=None):
    assert len(found) == 1, found
    path, message, sev = found[0]
    if severity:
        assert sev == severity, found
    return path, message


def test_minimal_spec_has_no_findings():
    assert findings() == []


# ---- durability x topology -----------------------------------------------------------------------------

@pytest.mark.parametrize(("topology", "durability", "severity"), [
    ("single", "async", None), ("single", "sync", "warning"), ("single", "strict", "error"),
    ("duo", "async", None), ("duo", "sync", "warning"), ("duo", "strict", "warning"),
    ("trio", "async", None), ("trio", "sync", None), ("trio", "strict", None),
])
def test_durability_matrix(topology, durability, severity):
    found = findings(topology=topology, durability=durability)
    assert [s for _, _, s in found] == ([severity] if severity else [])
    assert all(p == "spec.durability" for p, _, _ in found)


def test_sync_with_duo_explains_the_risk():
    _, message = only(findings(topology="duo", durability="sync"), "warning")
    assert "only replica is down" in message


# ---- backup ---------------------------------------------------------------------------------------------

def test_backup_enabled_without_target():
    assert only(findings(backup={"enabled": True}), "error") == (
        "spec.backup", "backup is enabled but has no target: set exactly one of s3, gcs, azure")


def test_two_targets():
    found = findings(backup={"enabled": True, "s3": S3, "gcs": {"bucket": "g-1", "credentials": {"secretName": "g"}}})
    path, message = only(found, "error")
    assert path == "spec.backup.gcs" and "more than one backup target (s3, gcs)" in message


def test_s3_endpoint_needs_credentials():
    path, message = only(findings(backup={"enabled": True, "s3": {"bucket": "b-1", "endpoint": "https://m:9000"}}),
                         "error")
    assert path == "spec.backup.s3.credentials" and "S3-compatible endpoint needs a credentials Secret" in message


def test_aws_s3_without_credentials_is_a_warning():
    path, message = only(findings(backup={"enabled": True, "s3": {"bucket": "b-1"}}), "warning")
    assert path == "spec.backup.s3.credentials" and "IRSA" in message


def test_plain_http_endpoint_warns():
    found = findings(backup={"enabled": True, "s3": {**S3, "endpoint": "http://minio:9000"}})
    assert only(found, "warning")[0] == "spec.backup.s3.endpoint"


def test_azure_needs_credentials():
    found = findings(backup={"enabled": True, "azure": {"storageAccount": "acct1", "container": "c-1"}})
    assert only(found, "error")[0] == "spec.backup.azure.credentials"


def test_target_without_enabled_warns():
    assert only(findings(backup={"s3": S3}), "warning")[0] == "spec.backup.enabled"


# ---- restore / standby ------------------------------------------------------------------------------------

@pytest.mark.parametrize("when", ["2026-11-20T10:00:00+00:00", "2026-11-20T10:00:00-05:00",
                                  "2026-11-20T10:00:00.123+01:00"])
def test_target_time_with_offset_is_fine(when):
    assert findings(backup={"s3": S3, "enabled": True}, restore={"cluster": "old", "targetTime": when}) == []


@pytest.mark.parametrize(("when", "fragment"), [
    ("2026-11-20T10:00:00Z", 'uses Z: the operator needs a numeric UTC offset, write "2026-11-20T10:00:00+00:00"'),
    ("2026-11-20T10:00:00z", "uses Z"),
    ("2026-11-20T10:00:00", "not an ISO 8601 time with a numeric UTC offset"),
    ("yesterday", "not an ISO 8601 time"),
    ("2026-13-20T10:00:00+00:00", "is not a valid time: month must be in 1..12"),
])
def test_bad_target_time(when, fragment):
    path, message = only(findings(backup={"s3": S3, "enabled": True}, restore={"cluster": "old", "targetTime": when}),
                         "error")
    assert path == "spec.restore.targetTime" and fragment in message


@pytest.mark.parametrize(("when", "fixed"), [("2026-11-20 10:00:00-05:00", "2026-11-20T10:00:00-05:00"),
                                             ("2026-11-20T10:00+0200", "2026-11-20T10:00:00+02:00")])
def test_target_time_near_misses_get_one_error_with_the_fix(when, fixed):
    # An offset is there but the operator's CRD pattern wants "T", seconds and "+HH:MM" (chartgen.backup's check).
    path, message = only(findings(backup={"s3": S3, "enabled": True}, restore={"cluster": "old", "targetTime": when}),
                         "error")
    assert path == "spec.restore.targetTime" and f'write "{fixed}"' in message


def test_restore_and_standby_are_exclusive():
    found = findings(backup={"s3": S3, "enabled": True}, restore={"cluster": "a"}, standby={"cluster": "b"})
    path, message = only(found, "error")
    assert path == "spec.standby" and "mutually exclusive" in message


@pytest.mark.parametrize("mode", ["restore", "standby"])
def test_source_is_not_this_cluster(mode):
    path, message = only(findings(backup={"s3": S3, "enabled": True}, **{mode: {"cluster": "acme-db"}}), "error")
    assert path == f"spec.{mode}.cluster" and "this cluster's own name" in message


def test_restore_needs_a_source_storage():
    path, message = only(findings(restore={"cluster": "old"}), "error")
    assert path == "spec.restore" and "needs the source storage" in message


def test_restore_from_its_own_source_storage():
    assert findings(restore={"cluster": "old", "s3": S3}) == []


# ---- parameters -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["archive_command", "archive_mode", "shared_preload_libraries", "restore_command",
                                  "cron.database_name", "wal_log_hints"])
def test_owned_parameters_are_refused_with_a_reason(name):
    path, message = only(findings(postgres={"parameters": {name: "x"}}), "error")
    assert path == schema.dotted(("spec", "postgres", "parameters", name))
    assert message.startswith(f"{name} cannot be set here: ") and len(message) > len(name) + 30


@pytest.mark.parametrize(("value", "fragment"), [("replica", "wal_level replica is below logical"),
                                                 ("minimal", "below logical"),
                                                 ("hot_standby", "below logical"),
                                                 ("bogus", '"bogus" is not a wal_level'.replace('"', ""))])
def test_wal_level_below_logical(value, fragment):
    path, message = only(findings(postgres={"parameters": {"wal_level": value}}), "error")
    assert path == "spec.postgres.parameters.wal_level" and fragment in message


@pytest.mark.parametrize("value", ["logical", "LOGICAL"])
def test_wal_level_logical_is_fine(value):
    assert findings(postgres={"parameters": {"wal_level": value}}) == []


def test_non_finite_numbers_are_refused():
    path, message = only(findings(postgres={"parameters": {"random_page_cost": float("inf")}}), "error")
    assert path == "spec.postgres.parameters.random_page_cost" and ".inf is not a usable value" in message


@pytest.mark.parametrize(("max_conn", "pooler", "bad"), [
    (70, {"maxDBConnections": 60}, True),
    ("79", {"maxDBConnections": 60}, True),
    (80, {"maxDBConnections": 60}, False),
    (100.0, {"maxDBConnections": 90}, True),
    # No maxDBConnections: the size preset's (small: 60) is what the pooler gets.
    (70, {}, True),
    (500, {}, False),
    # No pooler, nothing to compare with.
    (10, {"enabled": False, "maxDBConnections": 60}, False),
    ("lots", {"maxDBConnections": 60}, False),
])
def test_max_connections_against_the_pooler(max_conn, pooler, bad):
    # Only this check's findings (the catalog check refuses "lots"; 500 connections warn on memory).
    found = [f for f in findings(postgres={"parameters": {"max_connections": max_conn}}, pooler=pooler)
             if "maxDBConnections" in f[1]]
    assert bool(found) == bad, found
    if bad:
        path, message = only(found, "error")
        assert path == "spec.postgres.parameters.max_connections"
        assert "leaves no room beside the pooler's maxDBConnections" in message


def test_max_connections_uses_the_size_preset_pooler():
    # large: pooler maxDBConnections 250.
    found = findings(postgres={"size": "large", "parameters": {"max_connections": 260}})
    assert "maxDBConnections 250" in only(found, "error")[1]


# ---- monitoring ------------------------------------------------------------------------------------------

def test_service_monitor_needs_exporter():
    assert only(findings(monitoring={"serviceMonitor": True}), "error")[0] == "spec.monitoring.serviceMonitor"
    assert findings(monitoring={"serviceMonitor": True, "exporter": True},
                    networkPolicy={"enabled": True, "metricsNamespaces": ["monitoring"]}) == []


# ---- extensions ------------------------------------------------------------------------------------------

def test_known_extensions_pass():
    from chartgen import extensions

    creatable = [e.name for e in extensions.load().extensions if e.sql][:3]
    assert len(creatable) == 3
    assert findings(supabase={"extensions": creatable}) == []


def test_unknown_extension_with_suggestion():
    path, message = only(findings(supabase={"extensions": ["pgvector"]}), "error")
    assert path == "spec.supabase.extensions[0]"
    assert message.startswith('extension "pgvector" is not in the image; did you mean "vector"? (allowed: ')


def test_library_without_create_extension_is_refused():
    from chartgen import extensions

    no_sql = [e.name for e in extensions.load().extensions if not e.sql]
    assert no_sql
    path, message = only(findings(supabase={"extensions": [no_sql[0]]}), "error")
    assert "library without CREATE EXTENSION" in message


def test_broken_extension_list_is_a_warning_not_a_crash(monkeypatch):
    from chartgen import extensions

    def broken():
        raise extensions.ExtensionListError("image/extensions.yaml: extensions[3].source: 'apt' is not one of ...")

    monkeypatch.setattr(extensions, "load", broken)
    path, message = only(findings(supabase={"extensions": ["vector"]}), "warning")
    assert path == "spec.supabase.extensions"
    assert message.startswith("cannot check against the image's extension list: image/extensions.yaml")


# ---- credentials -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "reference"), [
    (("spec", "supabase", "jwt", "secret"), "spec.supabase.jwt.existingSecret"),
    (("spec", "supabase", "jwtSecret"), "spec.supabase.jwt.existingSecret"),
    (("spec", "supabase", "rootKey", "key"), "spec.supabase.rootKey.existingSecret"),
    (("spec", "backup", "s3", "secretAccessKey"), "spec.backup.s3.credentials.secretName"),
    (("spec", "backup", "s3", "credentials", "accessKeyId"), "spec.backup.s3.credentials.secretName"),
    (("spec", "restore", "gcs", "privateKey"), "spec.restore.gcs.credentials.secretName"),
    (("spec", "backup", "azure", "sasToken"), "spec.backup.azure.credentials.secretName"),
    (("spec", "postgres", "password"), "postgres.acme-db.credentials.postgresql.acid.zalan.do"),
])
def test_credential_hint_names_the_secret(path, reference):
    hint = checks.credential_hint(path, "acme-db")
    assert hint and reference in hint and "literal credentials are not allowed" in hint


@pytest.mark.parametrize("path", [("spec", "topolgy"), ("spec", "backup", "bucket"), (), ("spec", 3),
                                  ("spec", "postgres", "passwords")])
def test_credential_hint_ignores_other_keys(path):
    assert checks.credential_hint(path, "acme-db") is None


# ---- robustness ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [None, [], "x", 3, {"backup": "x"}, {"backup": {"s3": []}, "restore": []},
                                  {"restore": {"cluster": 3, "s3": "x", "targetTime": 5}},
                                  {"postgres": {"parameters": []}}, {"postgres": {"parameters": {"wal_level": None}}},
                                  {"pooler": {"maxDBConnections": "x"}, "postgres": {"parameters": {"max_connections": True}}},
                                  {"supabase": {"extensions": "vector"}}, {"supabase": {"extensions": [1, None]}},
                                  {"monitoring": []}, {"topology": ["single"], "durability": {}}])
def test_checks_survive_any_shape(spec):
    data = {"metadata": {"name": ["x"]}, "spec": spec}
    for check in checks.CHECKS:
        list(check(data))
    list(checks.check(schema.apply_defaults(data)))


def test_credential_looking_parameters_are_refused():
    from chartgen import checks as checks_mod

    data = {"spec": {"postgres": {"parameters": {"pgrst.jwt_secret": "x" * 32, "work_mem": "8MB"}}}}
    found = [f for f in checks_mod.check(data) if f[0][-1] == "pgrst.jwt_secret"]
    assert found and found[0][2] == "error" and "looks like a credential" in found[0][1]
    assert not [f for f in checks_mod.check(data) if f[0][-1] == "work_mem"]


def test_service_monitor_behind_a_network_policy_needs_a_scrape_namespace():
    from chartgen import checks as checks_mod

    data = {"spec": {"monitoring": {"exporter": True, "serviceMonitor": True},
                     "networkPolicy": {"enabled": True, "metricsNamespaces": []}}}
    found = [f for f in checks_mod.check(data) if f[0] == ("spec", "networkPolicy", "metricsNamespaces")]
    assert found and found[0][2] == "warning"
    data["spec"]["networkPolicy"]["metricsNamespaces"] = ["monitoring"]
    assert not [f for f in checks_mod.check(data) if f[0] == ("spec", "networkPolicy", "metricsNamespaces")]


# ---- data risk: secrets of a restore/standby, fromReplica per topology ------------------------------------

@pytest.mark.parametrize("mode", ["restore", "standby"])
def test_restore_or_standby_needs_the_sources_root_key(mode):
    found = findings(backup={"enabled": True, "s3": S3}, supabase={}, **{mode: {"cluster": "old-db"}})
    assert [(p, s) for p, _, s in found] == [(f"spec.{mode}", "error"), (f"spec.{mode}", "warning")], found
    assert "old-db-supabase-root-key" in found[0][1] and "old-db-supabase-jwt" in found[1][1]
    only_jwt = findings(backup={"enabled": True, "s3": S3}, supabase={"rootKey": {"existingSecret": "k"}},
                        **{mode: {"cluster": "old-db"}})
    assert [s for _, _, s in only_jwt] == ["warning"]


@pytest.mark.parametrize(("topology", "severity", "fragment"), [
    ("single", "error", "never takes a base backup"),
    ("duo", "warning", "none while the only replica is down"),
    ("trio", "warning", "both replicas take a base backup at the same time"),
])
def test_from_replica_per_topology(topology, severity, fragment):
    found = findings(topology=topology, backup={"enabled": True, "s3": S3, "fromReplica": True})
    path, message = only(found, severity)
    assert path == "spec.backup.fromReplica" and fragment in message
    assert findings(topology=topology, backup={"enabled": True, "s3": S3, "fromReplica": False}) == []


@pytest.mark.parametrize("part, resources, path, fragment", [
    # a lone limit under the size preset's request (medium: 1 CPU, 8Gi; its pooler: 500m, 128Mi)
    ("postgres", {"limits": {"cpu": "100m"}}, "spec.postgres.resources.limits.cpu", "request 1 (the size preset's)"),
    ("postgres", {"limits": {"memory": "64Mi"}}, "spec.postgres.resources.limits.memory", "request 8Gi (the size"),
    ("pooler", {"limits": {"cpu": "100m"}}, "spec.pooler.resources.limits.cpu", "request 500m (the size preset's)"),
    # a lone request above the preset's limit
    ("pooler", {"requests": {"memory": "1Gi"}}, "spec.pooler.resources.requests.memory", "above the limit 128Mi"),
])
def test_requests_above_limits_count_the_size_presets_values(part, resources, path, fragment):
    spec = {"postgres": {"size": "medium", "resources": resources}} if part == "postgres" else {
        "postgres": {"size": "medium"}, "pooler": {"enabled": True, "resources": resources}}
    errors = [f for f in findings(**spec) if f[2] == "error"]
    assert len(errors) == 1, errors
    assert errors[0][0] == path and fragment in errors[0][1] and "Kubernetes refuses" in errors[0][1]


def test_limits_that_fit_the_size_presets_requests_pass():
    ok = findings(postgres={"size": "medium", "resources": {"limits": {"cpu": "2", "memory": "8Gi"}}},
                  pooler={"enabled": True, "resources": {"limits": {"cpu": "2"}}})
    assert [f for f in ok if f[2] == "error"] == []
