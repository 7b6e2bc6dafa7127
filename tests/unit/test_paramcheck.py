"""spec.postgres.parameters checked against PostgreSQL's catalog (chartgen.paramcheck), through the same
checks validate runs; the memory fit; the restart parameters diff names."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from chartgen import checks, diff, paramcheck, presets, schema, spec as spec_mod, values

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {
    "apiVersion": "chartgen/v1",
    "kind": "SupabaseDatabase",
    "metadata": {"name": "acme-db", "namespace": "supabase"},
    "spec": {"image": {"repository": "ghcr.io/acme/spilo-supabase", "tag": "t1"}},
}


def findings(parameters: dict | None = None, version: str = "17", **postgres) -> list[tuple[str, str, str]]:
    data = copy.deepcopy(MINIMAL)
    data["spec"]["postgres"] = {"version": version, **postgres, "parameters": parameters or {}}
    assert schema.errors(data) == [] or not list(schema.errors(data)), list(schema.errors(data))
    return [(schema.dotted(p), m, s) for p, m, s in checks.check(schema.apply_defaults(data))]


def one(found: list, severity: str) -> tuple[str, str]:
    assert len(found) == 1, found
    path, message, sev = found[0]
    assert sev == severity, found
    return path, message


def test_a_typo_gets_a_did_you_mean():
    path, message = one(findings({"shared_bufers": "1GB"}), "error")
    assert path == "spec.postgres.parameters.shared_bufers"
    assert message == 'PostgreSQL 17 has no such parameter; did you mean "shared_buffers"?'


def test_a_parameter_of_another_major_says_so():
    _, message = one(findings({"force_parallel_mode": "on"}), "error")
    assert message.startswith("PostgreSQL 17 has no such parameter (PostgreSQL 15 has it)")
    assert findings({"force_parallel_mode": "on"}, version="15") == []
    _, message = one(findings({"debug_parallel_query": "on"}, version="15"), "error")
    assert "(PostgreSQL 17 has it)" in message


def test_work_mem_lots():
    path, message = one(findings({"work_mem": "lots"}), "error")
    assert path == "spec.postgres.parameters.work_mem"
    assert message.startswith('"lots" is not an integer (a number in kB')


@pytest.mark.parametrize(("params", "fragment"), [
    ({"work_mem": "32kB"}, '"32kB" is outside the valid range 64kB .. ~2TB'),
    ({"autovacuum_max_workers": 0}, '"0" is outside the valid range 1 .. 262143'),
    ({"random_page_cost": -1.5}, '"-1.5" is outside the valid range 0 ..'),
    ({"synchronous_commit": "fast"}, '"fast" is not one of its values (allowed: local, remote_write'),
    ({"log_min_messages": "warn"}, 'did you mean "warning"?'),
    ({"maintenance_work_mem": "64mb"}, 'has an invalid unit; did you mean "64MB"?'),
    ({"statement_timeout": "10sec"}, 'did you mean "10s"?'),
    ({"max_connections": "200 conns"}, "this parameter takes no unit"),
    ({"fsync": "enabled"}, "is not a boolean"),
    ({"work_mem": True}, '"on" is not an integer'),
    ({"block_size": 8192}, "block_size is read-only: PostgreSQL sets it when it is built or when initdb runs"),
    ({"cron.max_running_jobs": "many"}, '"many" is not an integer'),
])
def test_values_the_server_refuses_are_errors(params, fragment):
    _, message = one(findings(params), "error")
    assert fragment in message, message


@pytest.mark.parametrize("params", [
    {"work_mem": "6MB", "statement_timeout": "60s", "random_page_cost": 1.1, "max_connections": 150},
    {"log_connections": True, "fsync": "on", "synchronous_commit": "REMOTE_APPLY", "datestyle": "iso, mdy"},
    {"pg_stat_statements.max": 10000, "pg_stat_statements.track": "all", "cron.max_running_jobs": 8},
    {"auto_explain.log_min_duration": "1s", "pgaudit.log": "ddl"},
    # Libraries of the image without PostgreSQL 17 data: accepted unchecked.
    {"pg_net.batch_size": 500, "pgsodium.enable_event_trigger": "off", "supautils.reserved_roles": "x"},
    # A custom setting nobody's prefix resembles: PostgreSQL keeps it, so do we.
    {"myapp.tenant": "acme"},
])
def test_valid_parameters_have_no_findings(params):
    assert findings(params) == []


def test_library_parameters_are_checked_where_the_catalog_has_the_library():
    # pg_net was loaded for the PostgreSQL 15 catalog (a real build of Supabase's pinned version).
    _, message = one(findings({"pg_net.batch_size": "lots"}, version="15"), "error")
    assert '"lots" is not an integer' in message
    assert findings({"pg_net.batch_size": 500}, version="15") == []


def test_an_unknown_name_under_a_loaded_library_is_a_warning():
    path, message = one(findings({"pg_stat_statements.maxx": 100}), "warning")
    assert path == 'spec.postgres.parameters["pg_stat_statements.maxx"]'
    assert message.startswith("the library that owns the prefix pg_stat_statements. has no such parameter")
    assert message.endswith('did you mean "pg_stat_statements.max"?')


def test_a_prefix_typo_is_a_warning_with_a_did_you_mean():
    _, message = one(findings({"pg_stat_statement.max": 100}), "warning")
    assert message.startswith("no library in the image uses the prefix pg_stat_statement.")
    assert message.endswith('did you mean "pg_stat_statements.max"?')


def test_owned_parameters_are_reported_once_by_their_own_check():
    found = findings({"archive_mode": "bogus", "wal_level": "bogus"})
    assert len(found) == 2 and all(s == "error" for _, _, s in found)
    assert "cannot be set here" in found[0][1] and "is not a wal_level" in found[1][1]


# ---- memory fit --------------------------------------------------------------------------------------------


def test_shared_buffers_4gb_on_small_warns():
    path, message = one(findings({"shared_buffers": "4GB"}, size="small"), "warning")
    assert path == "spec.postgres.parameters.shared_buffers"
    assert message.startswith("estimated peak memory 5GiB exceeds the memory limit 2Gi (size small): "
                              "shared_buffers 4GiB + wal_buffers 16MiB + max_connections 100 x work_mem 5MiB")


def test_a_small_memory_limit_warns_at_the_limit():
    # requests too: a lone 256Mi limit under the preset's 2Gi request is an error of its own (Kubernetes refuses it)
    path, message = one(findings(size="small", resources={"requests": {"memory": "256Mi"},
                                                          "limits": {"memory": "256Mi"}}), "warning")
    assert path == "spec.postgres.resources.limits.memory"
    assert "exceeds the memory limit 256Mi (spec.postgres.resources.limits.memory)" in message


def test_connections_times_work_mem_counts():
    assert findings({"work_mem": "8MB"}, size="small") == []
    _, message = one(findings({"work_mem": "8MB", "max_connections": 200}, size="small"), "warning")
    assert "max_connections 200 x work_mem 8MiB" in message


@pytest.mark.parametrize("size", sorted(presets.load("sizes")))
@pytest.mark.parametrize("version", ["15", "17"])
def test_every_size_preset_fits_its_own_memory(size, version):
    assert findings(size=size, version=version) == []


def test_the_estimate_uses_postgresqls_defaults_where_nothing_is_derived():
    params = {"autovacuum_max_workers": 10, "autovacuum_work_mem": "1GB"}
    _, message = one(findings(params, size="medium"), "warning")
    assert "autovacuum_max_workers 10 x 1GiB" in message
    assert "wal_buffers 16MiB" in message  # -1: shared_buffers / 32, at most one WAL segment


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_examples_stay_valid_without_parameter_findings(example):
    spec, problems = spec_mod.check_file(str(example))
    assert spec is not None
    assert [p for p in problems if "parameters" in p.path or "memory" in p.message] == []


def test_a_boolean_is_rendered_as_on_or_off():
    data = copy.deepcopy(MINIMAL)
    data["spec"]["postgres"] = {"parameters": {"log_connections": True, "fsync": False}}
    full = schema.apply_defaults(data)
    spec = spec_mod.Spec("x.yaml", data, full, "")
    params = values.build(spec).data["postgresql"]["parameters"]
    assert (params["log_connections"], params["fsync"]) == ("on", "off")


# ---- restarts ------------------------------------------------------------------------------------------------


def test_restart_changes_name_postmaster_parameters_only():
    old = {"shared_buffers": "2048MB", "work_mem": "4MB", "max_connections": "200"}
    new = {"shared_buffers": "2GB", "work_mem": "64MB", "max_connections": "300", "wal_buffers": "32MB",
           "pg_stat_statements.max": "10000"}
    assert paramcheck.restart_changes(old, new, "17") == [
        "max_connections (200 -> 300)", "pg_stat_statements.max (default -> 10000)", "wal_buffers (default -> 32MB)"]


def test_diff_warns_about_a_restart_and_names_the_pod_roll():
    def cr(params):
        return {"postgresql/acme-db": {"kind": "postgresql", "spec": {
            "postgresql": {"version": "17", "parameters": params}, "numberOfInstances": 3,
            "volume": {"size": "10Gi"}}}}

    found = diff.dangers(cr({"max_connections": "200"}), cr({"max_connections": "300"}))
    assert found == ["PostgreSQL restart needed for max_connections (200 -> 300) (context postmaster): the operator "
                     "restarts PostgreSQL on each member through Patroni, replicas first, the primary last (its "
                     "clients are disconnected)"]
    [message] = diff.dangers(cr({"shared_buffers": "1GB"}), cr({"shared_buffers": "2GB"}))
    assert "re-creates the pods one by one" in message and "shared_buffers is part of the pod template" in message
    assert diff.dangers(cr({"shared_buffers": "1GB", "work_mem": "4MB"}),
                        cr({"shared_buffers": "1024MB", "work_mem": "8MB"})) == []


def test_a_missing_catalog_is_said_not_hidden(monkeypatch):
    def missing(major):
        raise FileNotFoundError(major)

    monkeypatch.setattr(paramcheck.pgsettings, "load", missing)
    path, message = one(findings({"shared_bufers": "1GB"}), "warning")
    assert path == "spec.postgres.version"
    assert message.startswith("chartgen has no parameter catalog for PostgreSQL 17")


def test_describe_says_when_a_change_applies():
    assert paramcheck.describe("shared_buffers", "17") == (
        "PostgreSQL 17: integer in 8kB, 128kB .. ~8TB, default 128MB; a change takes effect after a restart "
        "(context postmaster)")
    assert paramcheck.describe("synchronous_commit", "15").startswith(
        "PostgreSQL 15: enum, one of local, remote_write, remote_apply, on, off, default on; a change takes effect "
        "on reload; sessions can also set it")
    assert paramcheck.describe("no_such_thing", "17") is None
