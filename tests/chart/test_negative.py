"""Bad values fail the render with a message that names the value, never a traceback or a silent default."""

from __future__ import annotations

import pytest

from chartgen.errors import RenderError

CASES = {
    # schema (values.schema.json)
    "typo at the top": ({"instancs": 3}, "additional properties 'instancs' not allowed"),
    "typo deep down": ({"backup": {"s3": {"bucket": "abc", "regoin": "x"}}}, "'/backup/s3'"),
    "pg version enum": ({"postgresql": {"version": 17}}, "'/postgresql/version'"),
    "pool mode enum": ({"pooler": {"mode": "statement"}}, "'/pooler/mode'"),
    "bootstrap mode enum": ({"bootstrap": {"mode": "clone"}}, "'/bootstrap/mode'"),
    "timestamp with Z": ({"bootstrap": {"mode": "restore", "restore": {"cluster": "a", "targetTime": "2026-01-01T00:00:00Z"}}},
                         "'/bootstrap/restore/targetTime'"),
    "lower-case extra env": ({"extraEnv": [{"name": "use_walg", "value": "true"}]}, "'/extraEnv/0/name'"),
    "ttl below Patroni's minimum": ({"patroni": {"ttl": 10}}, "'/patroni/ttl'"),
    "cluster name too long": ({"clusterName": "a" * 52}, "'/clusterName'"),
    "unknown user flag": ({"supabase": {"users": {"x": ["login"]}}}, "'/supabase/users/x/0'"),
    # template rules (`fail`)
    "release name not DNS-1035": ({}, "not a DNS-1035 label"),
    "backup without target": ({"backup": {"enabled": True}}, "backup.enabled is true but no target is set"),
    "two backup targets": ({"backup": {"enabled": True, "s3": {"bucket": "abc"}, "gcs": {"bucket": "abc"}}},
                           "backup names 2 storage targets"),
    "target without enabled": ({"backup": {"s3": {"bucket": "abc"}}}, "backup.enabled is false"),
    "restore into itself": ({"clusterName": "db", "bootstrap": {"mode": "restore", "restore": {"cluster": "db", "gcs": {"bucket": "abc"}}}},
                            "this cluster's own name"),
    "restore without storage": ({"bootstrap": {"mode": "restore", "restore": {"cluster": "old"}}}, "source storage is unknown"),
    "restore section in fresh mode": ({"bootstrap": {"restore": {"cluster": "old"}}}, "bootstrap.mode is fresh"),
    "standby from azure": ({"bootstrap": {"mode": "standby", "standby": {"cluster": "old"}},
                            "backup": {"enabled": True, "azure": {"storageAccount": "abc", "container": "wal"}}},
                           "supports only S3 and GCS"),
    "chart-owned parameter": ({"postgresql": {"parameters": {"archive_command": "/bin/true"}}},
                              "postgresql.parameters.archive_command is set by the chart"),
    "preload override": ({"postgresql": {"parameters": {"shared_preload_libraries": "pg_cron"}}},
                         "postgresql.parameters.shared_preload_libraries is set by the chart"),
    "operator-dropped env": ({"extraEnv": [{"name": "SPILO_CONFIGURATION", "value": "{}"}]}, "dropped by the operator"),
    "env set twice": ({"backup": {"enabled": True, "s3": {"bucket": "abc"}}, "extraEnv": [{"name": "WAL_S3_BUCKET", "value": "x"}]},
                      "WAL_S3_BUCKET\" is set twice"),
    "sync with one member": ({"instances": 1, "patroni": {"synchronous_mode": True}}, "at least 2 instances"),
    "strict without sync": ({"patroni": {"synchronous_mode_strict": True}}, "needs patroni.synchronous_mode: true"),
    "sync count too high": ({"instances": 2, "patroni": {"synchronous_mode": True, "synchronous_node_count": 2}},
                            "must be below instances"),
    "Patroni timing rule": ({"patroni": {"ttl": 20, "loop_wait": 10, "retry_timeout": 10}}, "exceeds ttl"),
    "unknown extension": ({"supabase": {"extensions": ["pg_nope"]}}, "\"pg_nope\" is not in the image's extension list"),
    "owner not a user": ({"supabase": {"databases": {"app": "nobody"}}}, "owner \"nobody\" is not in supabase.users"),
    "no supabase_admin": ({"supabase": {"users": {"supabase_admin": None}}}, "must contain supabase_admin"),
    "service monitor without exporter": ({"monitoring": {"serviceMonitor": {"enabled": True}}}, "needs monitoring.exporter.enabled"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_values_fail_clearly(render, name):
    values, message = CASES[name]
    release = "1-bad" if name == "release name not DNS-1035" else "db"
    with pytest.raises(RenderError) as err:
        render(values, release=release)
    assert message in str(err.value)
    assert "Traceback" not in str(err.value)
